"""The Check for National Data Opt-outs service: the worker behind ``ndoo pos serve``.

Each poll handshakes when a day has passed since the last handshake, then lists the
inbox for workflow ``SPINE_NTT_UPHOLDING`` page by page and handles every message:

1. download it (all chunks, decompressed) and record its headers;
2. a MESH ``REPORT`` is logged and acknowledged, never processed as data;
3. check the numbers against the register as it is at that moment;
4. send the JSON receipt (subject ``SUCCESS``, or ``ERROR`` saying why);
5. send the response ``.dat`` to the sender, on the same workflow, with the request's
   file name, subject and local id (a request without subject or local id gets only
   the error receipt);
6. acknowledge the request — only now does it leave the inbox.

Every step is recorded in ``pos_request`` (:mod:`ndoo.pos.state`) once it is certain.
After a crash, a request is still in the inbox until step 6, so the next poll finds
it again and resumes from its recorded state: nothing is lost, and nothing recorded
as sent is sent again.  The one uncertain moment, a send accepted by MESH but not yet
recorded, is settled by asking MESH's outbox tracking before re-sending.

MESH failures (unreachable, 5xx, timeouts) end the poll; :func:`serve` waits with
exponential back-off and polls again, and no request is lost meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ndoo import audit
from ndoo.db import Database
from ndoo.errors import MeshError, MeshMessageGone, MeshUnavailable
from ndoo.mesh.transport import CHECK_WORKFLOW, Mailbox, Received, Tracked
from ndoo.numberset import NumberSet
from ndoo.pos import receipt as receipts
from ndoo.pos import state
from ndoo.pos.core import CheckOutcome, check_request
from ndoo.pos.state import RequestState
from ndoo.register.records import last_event_id, snapshot
from ndoo.timeutil import utcnow

log = logging.getLogger(__name__)

HANDSHAKE_EVERY = timedelta(days=1)
ACTOR = "pos-service"

#: Points at which tests stop the worker to prove a restart resumes correctly.
FAULT_POINTS = (
    "after_download",
    "after_process",
    "after_receipt_send",
    "after_response_send",
    "before_acknowledge",
)


class RegisterOptOuts:
    """The register's opt-outs as of now, rebuilt only when a choice has been recorded.

    Choices cannot take effect in the future, so the set in force now changes only
    when an event is added; the snapshot is reused while the last event id stands.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._key: int | None = None
        self._index: NumberSet | None = None

    def current(self) -> tuple[NumberSet, datetime]:
        taken_at = utcnow()
        with self.db.read() as conn:
            key = last_event_id(conn)
        if self._index is None or key != self._key:
            self._index = NumberSet.from_numbers(snapshot(self.db, taken_at))
            self._key = key
        return self._index, taken_at

    def as_of(self, moment: datetime) -> NumberSet:
        """The opt-outs in force at an earlier ``moment`` (not cached)."""
        return NumberSet.from_numbers(snapshot(self.db, moment))


@dataclass
class PollResult:
    listed: int = 0
    answered: int = 0
    reports: int = 0
    resumed: int = 0
    skipped: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class CheckService:
    """Answers check requests arriving in ``mailbox`` from the register in ``db``."""

    def __init__(
        self,
        db: Database,
        mailbox: Mailbox,
        *,
        page_size: int = 500,
        optouts: RegisterOptOuts | None = None,
        faults: Mapping[str, Callable[[], None]] | None = None,
    ) -> None:
        self.db = db
        self.mailbox = mailbox
        self.page_size = page_size
        self.optouts = optouts or RegisterOptOuts(db)
        self.faults = dict(faults or {})
        self.last_handshake: datetime | None = None
        self.handshakes = 0

    # -- the poll ------------------------------------------------------------------

    def poll(self) -> PollResult:
        """Handle everything waiting in the inbox now; MESH errors propagate."""
        self._handshake_if_due()
        result = PollResult()
        for message_id in self.mailbox.message_ids(
            workflow_id=CHECK_WORKFLOW, page_size=self.page_size
        ):
            result.listed += 1
            try:
                self.handle(message_id, result)
            except MeshMessageGone:
                # Listed, then gone (expired or acknowledged elsewhere): nothing to answer.
                log.warning("message %s vanished before it could be handled", message_id)
                result.skipped += 1
        return result

    def _handshake_if_due(self) -> None:
        now = utcnow()
        if self.last_handshake is None or now - self.last_handshake >= HANDSHAKE_EVERY:
            self.mailbox.handshake()
            self.last_handshake = now
            self.handshakes += 1
            log.info("handshake with MESH as %s", self.mailbox.mailbox)

    def _fault(self, point: str) -> None:
        hook = self.faults.get(point)
        if hook is not None:
            hook()

    # -- one message -----------------------------------------------------------------

    def handle(self, message_id: str, result: PollResult | None = None) -> RequestState:
        """Take one message as far as it can go, resuming from its recorded state."""
        result = result if result is not None else PollResult()
        with self.db.read() as conn:
            row = state.get(conn, message_id)
        if row is not None and row.state not in (state.RECEIVED, state.ACKNOWLEDGED):
            result.resumed += 1
            with self.db.write() as conn:
                state.count_attempt(conn, message_id)
        outcome: CheckOutcome | None = None
        if row is not None and row.state == state.RECEIPT_SENDING:
            row = self._settle_receipt(row)
        if row is None or row.state in (state.RECEIVED, state.PROCESSED):
            received = self.mailbox.download(message_id)
            row = self._record_received(row, received)
            self._fault("after_download")
            if received.is_report:
                return self._report(row, received, result)
            # Checked again on every attempt until the receipt is certainly sent, so
            # the receipt, the response and the record always agree.
            row, outcome = self._process(row, received)
            self._fault("after_process")
        assert row is not None
        if row.state == state.PROCESSED:
            row = self._send_receipt(row)
        if row.state in (state.RECEIPT_SENT, state.RESPONSE_SENDING):
            row = self._send_response(row, outcome)
        if row.state == state.RESPONSE_SENT:
            self._fault("before_acknowledge")
            row = self._acknowledge(row)
            result.answered += 1
            result.outcomes[row.outcome or "?"] = result.outcomes.get(row.outcome or "?", 0) + 1
        elif row.state == state.ACKNOWLEDGED:
            # Recorded as done but listed again: the acknowledgement was lost.
            row = self._acknowledge(row)
        return row

    def _record_received(self, row: RequestState | None, received: Received) -> RequestState:
        if row is not None:
            return row
        with self.db.write() as conn:
            existing = state.get(conn, received.message_id)
            if existing is not None:
                return existing
            return state.insert_received(
                conn,
                message_id=received.message_id,
                message_type="REPORT" if received.is_report else "DATA",
                sender=received.sender,
                workflow_id=received.workflow_id,
                filename=received.filename,
                subject=received.subject,
                local_id=received.local_id,
            )

    def _report(self, row: RequestState, received: Received, result: PollResult) -> RequestState:
        code = received.headers.get("statuscode", "?")
        linked = received.headers.get("linkedmsgid") or None
        log.warning(
            "MESH report in %s: status %s (%s), linked message %s",
            self.mailbox.mailbox,
            code,
            received.headers.get("statusdescription", "no description"),
            linked or "none",
        )
        with self.db.write() as conn:
            row = state.advance(conn, row.message_id, state.RESPONSE_SENT, outcome="report")
            audit.record(
                conn,
                actor=ACTOR,
                action="pos.report",
                outcome="logged",
                message_id=row.message_id,
                status_code=code,
                linked_message_id=linked,
            )
        result.reports += 1
        return self._acknowledge(row)

    def _process(self, row: RequestState, received: Received) -> tuple[RequestState, CheckOutcome]:
        index, taken_at = self.optouts.current()
        outcome = check_request(received.data, index)
        status: str = outcome.status
        if not (received.subject and received.local_id):
            status = "missing_headers"
        with self.db.write() as conn:
            row = state.advance(
                conn,
                row.message_id,
                state.PROCESSED,
                outcome=status,
                received_count=outcome.received,
                returned_count=outcome.returned if status == "success" else 0,
                invalid_count=outcome.invalid_count,
                invalid_lines=outcome.invalid_lines,
                snapshot_at=taken_at,
            )
            audit.record(
                conn,
                actor=ACTOR,
                action="pos.check",
                outcome=status,
                message_id=row.message_id,
                sender=row.sender,
                received=outcome.received,
                returned=row.returned_count,
                invalid=outcome.invalid_count,
            )
        log.info(
            "checked %s from %s: %s, %d received, %d returned",
            row.message_id,
            row.sender,
            status,
            outcome.received,
            row.returned_count or 0,
        )
        return row, outcome

    # -- sending, with the uncertain moment settled ----------------------------------------

    def _settle_receipt(self, row: RequestState) -> RequestState:
        """After a receipt send was interrupted: sent (move on) or not (check again)."""
        found = self._already_sent(row, receipts.receipt_filename(row))
        if found is not None:
            return self._mark(row, state.RECEIPT_SENT, receipt_message_id=found or None)
        return self._mark(row, state.PROCESSED)

    def _send_receipt(self, row: RequestState) -> RequestState:
        made = receipts.build(row, mailbox=self.mailbox.mailbox)
        row = self._mark(row, state.RECEIPT_SENDING, send_marked_at=utcnow())
        sent = self.mailbox.send(
            str(row.sender),
            made.body,
            workflow_id=CHECK_WORKFLOW,
            filename=made.filename,
            subject=made.subject,
            local_id=row.reply_local_id,
            content_type=receipts.CONTENT_TYPE,
        )
        self._fault("after_receipt_send")
        return self._mark(row, state.RECEIPT_SENT, receipt_message_id=sent)

    def _send_response(self, row: RequestState, outcome: CheckOutcome | None) -> RequestState:
        if row.outcome == "missing_headers":
            return self._mark(row, state.RESPONSE_SENT)
        filename = row.filename or f"{row.message_id}.dat"
        if row.state == state.RESPONSE_SENDING:
            found = self._already_sent(row, filename)
            if found is not None:
                return self._mark(row, state.RESPONSE_SENT, response_message_id=found or None)
        if outcome is None:
            # Resumed after the receipt went: check the request again against the
            # register as it was at the recorded snapshot, so the answer matches it.
            received = self.mailbox.download(row.message_id)
            assert row.snapshot_at is not None
            outcome = check_request(received.data, self.optouts.as_of(row.snapshot_at))
        row = self._mark(row, state.RESPONSE_SENDING, send_marked_at=utcnow())
        sent = self.mailbox.send(
            str(row.sender),
            outcome.response,
            workflow_id=CHECK_WORKFLOW,
            filename=filename,
            subject=row.subject,
            local_id=row.reply_local_id,
        )
        self._fault("after_response_send")
        return self._mark(row, state.RESPONSE_SENT, response_message_id=sent)

    def _already_sent(self, row: RequestState, filename: str) -> str | None:
        """After an interrupted send: the message id if MESH has it ("" if its id is
        unknown), or None if it was never accepted and must be sent."""
        answer = self.mailbox.track_local_id(row.reply_local_id)
        with self.db.read() as conn:
            recorded = state.recorded_sends(conn, row.reply_local_id)
        if answer == "none":
            return None
        if isinstance(answer, Tracked):
            if recorded == 0 and answer.recipient == row.sender and answer.filename == filename:
                log.info("interrupted send of %s found in the outbox", row.message_id)
                return answer.message_id
            return None
        if recorded == 1:
            log.info("interrupted send of %s found in the outbox", row.message_id)
            return ""
        # Several earlier replies share this local id, so tracking cannot tell; sending
        # again may duplicate a reply but never loses one.
        log.warning("cannot tell whether a reply to %s was sent; sending it", row.message_id)
        return None

    def _mark(self, row: RequestState, new_state: str, **fields: object) -> RequestState:
        with self.db.write() as conn:
            return state.advance(conn, row.message_id, new_state, **fields)

    def _acknowledge(self, row: RequestState) -> RequestState:
        try:
            self.mailbox.acknowledge(row.message_id)
        except MeshMessageGone:
            log.info("message %s was already acknowledged", row.message_id)
        return self._mark(row, state.ACKNOWLEDGED)


def serve(
    service: CheckService,
    *,
    interval: float,
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
    max_polls: int | None = None,
) -> int:
    """Poll every ``interval`` seconds until ``stop()``; back off on MESH failures.

    Returns the number of polls made.  Failures wait 1, 2, 4, ... seconds (never more
    than ``interval``) before the next try.
    """
    polls = 0
    failures = 0
    while not stop() and (max_polls is None or polls < max_polls):
        started = time.monotonic()
        polls += 1
        try:
            result = service.poll()
        except MeshError as exc:
            failures += 1
            wait = min(interval, 2.0 ** (failures - 1))
            level = logging.WARNING if isinstance(exc, MeshUnavailable) else logging.ERROR
            log.log(level, "MESH failed (%s); trying again in %.0f s", exc.message, wait)
            sleep(wait)
            continue
        failures = 0
        if result.listed:
            log.info(
                "poll: %d listed, %d answered, %d reports",
                result.listed,
                result.answered,
                result.reports,
            )
        remaining = interval - (time.monotonic() - started)
        if remaining > 0 and not stop():
            sleep(remaining)
    return polls
