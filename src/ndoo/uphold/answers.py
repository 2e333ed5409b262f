"""Receiving the checking service's answers: receipts, cleaned lists and MESH reports.

:func:`receive` reads the mailbox: the service's JSON receipt (subject ``SUCCESS``
or ``ERROR``) is kept with the request; the response file is parsed, must hold only
numbers that were sent, and is stored as a cleaned list in the organisation's cache
(:mod:`ndoo.uphold.cache`); a rejected file (the service's single line ``The file
contains one or more invalid NHS Numbers.``) or a MESH error report marks the request
failed with the reason.  Messages for no request of ours are left in the inbox.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import select, update

from ndoo import audit, checkfile
from ndoo.db import Database
from ndoo.db.models import check_request
from ndoo.errors import CheckError, CheckRejected, CheckResponseMismatch, InputError
from ndoo.mesh.transport import CHECK_WORKFLOW, Mailbox, Received
from ndoo.timeutil import parse_when, to_db, utcnow
from ndoo.uphold import cache
from ndoo.uphold.allowlist import in_sorted
from ndoo.uphold.lists import distinct
from ndoo.uphold.requests import CheckRequest, fail, get_request

log = logging.getLogger(__name__)

RECEIPT_SUBJECTS = ("SUCCESS", "ERROR")


@dataclass(frozen=True)
class Answer:
    """What became of one request when its answer arrived."""

    request: CheckRequest
    cache_entry: cache.CacheEntry | None
    problem: CheckError | None = None

    def raise_for_problem(self) -> None:
        if self.problem is not None:
            raise self.problem


def _is_receipt(message: Received) -> bool:
    return (message.subject or "").upper() in RECEIPT_SUBJECTS or (
        (message.content_type or "").startswith("application/json")
    )


def _requests_by_local_id(db: Database, recipient: str) -> dict[str, tuple[int, str]]:
    with db.read() as conn:
        rows = conn.execute(
            select(check_request.c.local_id, check_request.c.id, check_request.c.state).where(
                check_request.c.state != "prepared", check_request.c.recipient == recipient
            )
        ).all()
    return {local_id: (int(request_id), state) for local_id, request_id, state in rows}


def receive(db: Database, mailbox: Mailbox, *, service: str, actor: str) -> list[Answer]:
    """Handle every message answering one of our requests; others stay in the inbox.

    Receipts are kept whenever they arrive; a response is taken for a request still
    waiting, and a second response to an answered request is acknowledged and ignored.
    """
    known = _requests_by_local_id(db, service)
    answers: list[Answer] = []
    if not any(state == "sent" for _id, state in known.values()):
        return answers
    for message_id in list(mailbox.message_ids(workflow_id=CHECK_WORKFLOW)):
        message = mailbox.download(message_id)
        local_id = message.local_id or message.headers.get("localid") or ""
        if local_id not in known:
            continue
        request_id, state = known[local_id]
        if message.is_report:
            if state == "sent":
                reason = message.headers.get("statusdescription") or "MESH reported an error"
                code = message.headers.get("statuscode", "?")
                fail(db, request_id, f"MESH error report {code}: {reason}", actor=actor)
                problem = CheckError(
                    f"{get_request(db, request_id).filename}: MESH error report {code}: {reason}"
                )
                answers.append(Answer(get_request(db, request_id), None, problem))
                known[local_id] = (request_id, "failed")
        elif message.sender != service:
            continue
        elif _is_receipt(message):
            _keep_receipt(db, request_id, message)
        elif state == "sent":
            answer = _take_response(db, request_id, message, actor=actor)
            answers.append(answer)
            known[local_id] = (request_id, answer.request.state)
        else:
            log.warning("a second response to request %d was ignored", request_id)
        mailbox.acknowledge(message_id)
    return answers


def _keep_receipt(db: Database, request_id: int, message: Received) -> None:
    try:
        body = json.loads(message.data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        body = {"unreadable": True, "subject": message.subject}
    body.setdefault("subject", message.subject)
    with db.write() as conn:
        conn.execute(
            update(check_request)
            .where(check_request.c.id == request_id)
            .values(receipt=json.dumps(body))
        )


def _sent_numbers(db: Database, request_id: int) -> npt.NDArray[np.int64]:
    with db.read() as conn:
        blob = conn.execute(
            select(check_request.c.numbers).where(check_request.c.id == request_id)
        ).scalar_one()
    return cache.decode_numbers(blob)


def _take_response(db: Database, request_id: int, message: Received, *, actor: str) -> Answer:
    request = get_request(db, request_id)
    if message.data.strip().rstrip(b",") == checkfile.INVALID_FILE_LINE.encode():
        lines = (request.receipt or {}).get("invalid_lines") or []
        where = f" (first invalid lines: {', '.join(map(str, lines))})" if lines else ""
        reason = f"the service rejected the file: {checkfile.INVALID_FILE_LINE}{where}"
        fail(db, request_id, reason, actor=actor)
        return Answer(
            get_request(db, request_id), None, CheckRejected(f"{request.filename}: {reason}")
        )
    parsed = checkfile.parse(message.data)
    sent = _sent_numbers(db, request_id)
    kept = distinct(parsed.numbers)
    if not parsed.valid:
        reason = "the response file is not in the .dat format; it was not stored"
        fail(db, request_id, reason, actor=actor)
        return Answer(
            get_request(db, request_id),
            None,
            CheckResponseMismatch(f"{request.filename}: {reason}"),
        )
    strangers = int(np.count_nonzero(~in_sorted(sent, kept)))
    if strangers:
        reason = (
            f"the response holds {strangers} numbers that were not sent; it was not stored "
            "(was it the answer to another request?)"
        )
        fail(db, request_id, reason, actor=actor)
        return Answer(
            get_request(db, request_id),
            None,
            CheckResponseMismatch(f"{request.filename}: {reason}"),
        )
    checked_at = _checked_at(request, message)
    with db.write() as conn:
        entry = cache.store(
            conn,
            cohort=request.cohort,
            mode=request.mode,
            check_request_id=request_id,
            message_id=str(request.message_id),
            checked_at=checked_at,
            covered=sent,
            kept=kept,
            actor=actor,
        )
        conn.execute(
            update(check_request)
            .where(check_request.c.id == request_id)
            .values(
                state="received",
                received_at=to_db(utcnow()),
                response_message_id=message.message_id,
                returned_count=len(kept),
            )
        )
        audit.record(
            conn,
            actor=actor,
            action="check.receive",
            request_id=request_id,
            message_id=message.message_id,
            returned=len(kept),
            cache_entry=entry.id,
        )
    log.info("received the answer to request %s", request.filename)
    return Answer(get_request(db, request_id), entry)


def _checked_at(request: CheckRequest, message: Received) -> datetime:
    """When the service checked: its receipt's snapshot time, else when we sent."""
    snapshot_at = (request.receipt or {}).get("snapshot_at")
    if isinstance(snapshot_at, str):
        try:
            return parse_when(snapshot_at, what="snapshot time")
        except InputError:
            pass
    assert request.sent_at is not None
    return request.sent_at
