"""The organisation's end of the Check for National Data Opt-outs service.

:func:`send` turns a validated, de-duplicated list (:mod:`ndoo.uphold.lists`) into a
request file named ``<mailbox>-<DDMMYYYY>-<sequence>.dat`` — the four-digit sequence
counts this mailbox's requests in the month, as NHS England recommends — with the
file's stem as subject and local id (only letters, digits and ``-``: a ``:`` makes
the live service drop a request), and sends it to the service's mailbox on workflow
``SPINE_NTT_UPHOLDING``.  The list sent is kept with the request, so the answer can
be checked against it.

:func:`run` sends, then waits with back-off for the answer up to a limit, which
:func:`ndoo.uphold.answers.receive` takes; :func:`refresh` checks a cached cohort
again.  The records of requests are in :mod:`ndoo.uphold.requests`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from ndoo import audit, checkfile
from ndoo.db import Database
from ndoo.db.models import CACHE_MODES, check_request
from ndoo.errors import CheckPending, InputError, MeshError, MeshUnavailable
from ndoo.mesh.transport import CHECK_WORKFLOW, Mailbox
from ndoo.timeutil import to_db, utcnow
from ndoo.uphold import cache
from ndoo.uphold.answers import Answer, receive
from ndoo.uphold.lists import NumberList, from_numbers
from ndoo.uphold.requests import CheckRequest, fail, get_request, requests

__all__ = [
    "Answer",
    "CheckRequest",
    "get_request",
    "receive",
    "refresh",
    "requests",
    "run",
    "send",
    "wait_for",
]

log = logging.getLogger(__name__)

MAX_SEQUENCE = 9999


# ---------------------------------------------------------------------------
# Sending


def _validate_cohort(cohort: str, mode: str) -> None:
    if mode not in CACHE_MODES:
        raise InputError(f"mode must be one of {', '.join(CACHE_MODES)}, not {mode!r}")
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
            fail(db, int(request_id), f"not sent: {exc.message}", actor=actor)
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
