"""The organisation's end of the Check for National Data Opt-outs service.

:func:`send` turns a validated, de-duplicated list (:mod:`ndoo.uphold.lists`) into a
request file named ``<mailbox>-<DDMMYYYY>-<sequence>.dat`` — the four-digit sequence
counts this mailbox's requests in the month, as NHS England recommends — with the
file's stem as subject and local id (only letters, digits and ``-``: a ``:`` makes
the live service drop a request), and sends it to the service's mailbox on workflow
``SPINE_NTT_UPHOLDING``.  The list sent is kept with the request, so the answer can
be checked against it.

:func:`receive` reads the mailbox: the service's JSON receipt (subject ``SUCCESS``
or ``ERROR``) is kept with the request; the response file is parsed, must hold only
numbers that were sent, and is stored as a cleaned list in the organisation's cache
(:mod:`ndoo.uphold.cache`); a rejected file (the service's single line ``The file
contains one or more invalid NHS Numbers.``) or a MESH error report marks the request
failed with the reason.  Messages for no request of ours are left in the inbox.

:func:`run` sends, then waits with back-off for the answer up to a limit.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select, update

from ndoo import audit, checkfile
from ndoo.db import Database
from ndoo.db.models import check_request
from ndoo.errors import (
    CheckError,
    CheckPending,
    CheckRejected,
    CheckResponseMismatch,
    InputError,
    MeshError,
    MeshUnavailable,
    NotFound,
)
from ndoo.mesh.transport import CHECK_WORKFLOW, Mailbox, Received
from ndoo.timeutil import from_db, iso, parse_when, to_db, utcnow
from ndoo.uphold import cache
from ndoo.uphold.lists import NumberList, distinct, from_numbers

log = logging.getLogger(__name__)

MODES = ("disclosure", "cohort")
MAX_SEQUENCE = 9999
RECEIPT_SUBJECTS = ("SUCCESS", "ERROR")


@dataclass(frozen=True)
class CheckRequest:
    """A request this organisation sent (never its numbers)."""

    id: int
    mailbox: str
    recipient: str
    filename: str
    subject: str
    local_id: str
    cohort: str
    mode: str
    numbers_sent: int
    state: str
    created_at: datetime
    sent_at: datetime | None
    message_id: str | None
    received_at: datetime | None
    returned_count: int | None
    receipt: dict[str, Any] | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("created_at", "sent_at", "received_at"):
            value = out[key]
            out[key] = iso(value) if value is not None else None
        return out


def _request(row: Any) -> CheckRequest:
    return CheckRequest(
        id=int(row["id"]),
        mailbox=row["mailbox"],
        recipient=row["recipient"],
        filename=row["filename"],
        subject=row["subject"],
        local_id=row["local_id"],
        cohort=row["cohort"],
        mode=row["mode"],
        numbers_sent=int(row["numbers_sent"]),
        state=row["state"],
        created_at=from_db(row["created_at"]),
        sent_at=from_db(row["sent_at"]) if row["sent_at"] else None,
        message_id=row["message_id"],
        received_at=from_db(row["received_at"]) if row["received_at"] else None,
        returned_count=int(row["returned_count"]) if row["returned_count"] is not None else None,
        receipt=json.loads(row["receipt"]) if row["receipt"] else None,
        error=row["error"],
    )


_COLUMNS = [c for c in check_request.c if c.name != "numbers"]


def requests(db: Database, *, limit: int = 50, pending_only: bool = False) -> list[CheckRequest]:
    """Requests sent, newest first."""
    query = select(*_COLUMNS).order_by(check_request.c.id.desc()).limit(limit)
    if pending_only:
        query = query.where(check_request.c.state == "sent")
    with db.read() as conn:
        return [_request(row) for row in conn.execute(query).mappings()]


def get_request(db: Database, request_id: int) -> CheckRequest:
    with db.read() as conn:
        row = (
            conn.execute(select(*_COLUMNS).where(check_request.c.id == request_id))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"no check request {request_id}; `ndoo check status` lists them")
    return _request(row)


# ---------------------------------------------------------------------------
# Sending


def _validate_cohort(cohort: str, mode: str) -> None:
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    cache.check_cohort(cohort)


def _allocate(conn: Any, mailbox: str, now: datetime) -> tuple[str, int, str]:
    month = now.strftime("%Y-%m")
    last = conn.execute(
        select(func.max(check_request.c.sequence)).where(
            check_request.c.mailbox == mailbox, check_request.c.month == month
        )
    ).scalar_one()
    sequence = int(last or 0) + 1
    if sequence > MAX_SEQUENCE:
        raise InputError(
            f"mailbox {mailbox} has sent {MAX_SEQUENCE} requests this month, the most the "
            "four-digit file sequence allows; combine lists into fewer requests"
        )
    stem = f"{mailbox}-{now:%d%m%Y}-{sequence:04d}"
    return month, sequence, stem


def send(
    db: Database,
    mailbox: Mailbox,
    numbers: NumberList,
    *,
    recipient: str,
    cohort: str,
    mode: str,
    actor: str,
) -> CheckRequest:
    """Record and send one request; the MESH send is attempted exactly once."""
    _validate_cohort(cohort, mode)
    if len(numbers.numbers) == 0:
        raise InputError(f"{numbers.source}: the list holds no NHS numbers; nothing to check")
    now = utcnow()
    with db.write() as conn:
        month, sequence, stem = _allocate(conn, mailbox.mailbox, now)
        request_id = conn.execute(
            check_request.insert().values(
                mailbox=mailbox.mailbox,
                recipient=recipient,
                month=month,
                sequence=sequence,
                filename=f"{stem}.dat",
                subject=stem,
                local_id=stem,
                cohort=cohort,
                mode=mode,
                numbers_sent=len(numbers.numbers),
                numbers=cache.encode_numbers(numbers.numbers),
                state="prepared",
                created_at=to_db(now),
            )
        ).inserted_primary_key[0]
    data = checkfile.format_numbers(numbers.numbers)
    try:
        message_id = mailbox.send(
            recipient,
            data,
            workflow_id=CHECK_WORKFLOW,
            filename=f"{stem}.dat",
            subject=stem,
            local_id=stem,
        )
    except MeshError as exc:
        if not (isinstance(exc, MeshUnavailable) and "timed out" in exc.message):
            _fail(db, int(request_id), f"not sent: {exc.message}", actor=actor)
            raise
        # MESH may have accepted it before the time ran out: it stays waiting, and an
        # answer that comes is matched by its local id. It is never sent twice.
        with db.write() as conn:
            conn.execute(
                update(check_request)
                .where(check_request.c.id == request_id)
                .values(state="sent", sent_at=to_db(now), error=f"send uncertain: {exc.message}")
            )
        raise
    with db.write() as conn:
        conn.execute(
            update(check_request)
            .where(check_request.c.id == request_id)
            .values(state="sent", sent_at=to_db(utcnow()), message_id=message_id)
        )
        audit.record(
            conn,
            actor=actor,
            action="check.send",
            request_id=int(request_id),
            message_id=message_id,
            cohort=cohort,
            mode=mode,
            numbers=len(numbers.numbers),
        )
    log.info("sent check request %s (%d numbers)", stem, len(numbers.numbers))
    return get_request(db, int(request_id))


def _fail(db: Database, request_id: int, reason: str, *, actor: str) -> None:
    with db.write() as conn:
        conn.execute(
            update(check_request)
            .where(check_request.c.id == request_id)
            .values(state="failed", error=reason, received_at=to_db(utcnow()))
        )
        audit.record(
            conn, actor=actor, action="check.failed", outcome="failed", request_id=request_id
        )


# ---------------------------------------------------------------------------
# Receiving


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
                _fail(db, request_id, f"MESH error report {code}: {reason}", actor=actor)
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
        _fail(db, request_id, reason, actor=actor)
        return Answer(
            get_request(db, request_id), None, CheckRejected(f"{request.filename}: {reason}")
        )
    parsed = checkfile.parse(message.data)
    sent = _sent_numbers(db, request_id)
    kept = distinct(parsed.numbers)
    if not parsed.valid:
        reason = "the response file is not in the .dat format; it was not stored"
        _fail(db, request_id, reason, actor=actor)
        return Answer(
            get_request(db, request_id),
            None,
            CheckResponseMismatch(f"{request.filename}: {reason}"),
        )
    strangers = int(np.count_nonzero(~_within(kept, sent)))
    if strangers:
        reason = (
            f"the response holds {strangers} numbers that were not sent; it was not stored "
            "(was it the answer to another request?)"
        )
        _fail(db, request_id, reason, actor=actor)
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


def _within(
    values: npt.NDArray[np.int64], sorted_set: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which ``values`` are in ``sorted_set`` (ascending, distinct)."""
    if sorted_set.size == 0:
        return np.zeros(values.shape, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return np.asarray(sorted_set[at] == values)


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


# ---------------------------------------------------------------------------
# Send and wait


def wait_for(
    db: Database,
    mailbox: Mailbox,
    request: CheckRequest,
    *,
    service: str,
    actor: str,
    wait: float,
    poll_max: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """Poll with back-off (1 s, 2 s, 4 s ... up to ``poll_max``) until answered or ``wait``."""
    deadline = time.monotonic() + wait
    pause = 1.0
    while True:
        for answer in receive(db, mailbox, service=service, actor=actor):
            if answer.request.id == request.id:
                return answer
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CheckPending(
                f"no answer to {request.filename} after {wait:g} s; it stays pending — "
                "collect it later with `ndoo check receive`",
                request_id=request.id,
            )
        sleep(min(pause, remaining))
        pause = min(pause * 2, poll_max)


def run(
    db: Database,
    mailbox: Mailbox,
    numbers: NumberList,
    *,
    service: str,
    cohort: str,
    mode: str,
    actor: str,
    wait: float,
    poll_max: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """Send a list, wait for the answer and store the cleaned list; errors raise."""
    request = send(db, mailbox, numbers, recipient=service, cohort=cohort, mode=mode, actor=actor)
    answer = wait_for(
        db,
        mailbox,
        request,
        service=service,
        actor=actor,
        wait=wait,
        poll_max=poll_max,
        sleep=sleep,
    )
    answer.raise_for_problem()
    return answer


def refresh(
    db: Database,
    mailbox: Mailbox,
    cohort: str,
    *,
    service: str,
    actor: str,
    wait: float,
    poll_max: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """Check a cached cohort again: send the numbers it covers and cache the new answer."""
    entry = cache.current(db, cohort)
    numbers = from_numbers(cache.covered_numbers(db, cohort), source=f"cohort {cohort!r}")
    return run(
        db,
        mailbox,
        numbers,
        service=service,
        cohort=cohort,
        mode=entry.mode,
        actor=actor,
        wait=wait,
        poll_max=poll_max,
        sleep=sleep,
    )
