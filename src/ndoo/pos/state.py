"""The checking service's processing state, one row per MESH message id.

A request moves through these states; each is written only once the step's effect is
certain, so a worker restarted at any moment resumes after the last certain step:

``received``          headers recorded (the request is still in the inbox)
``processed``         checked; counts, outcome and snapshot time recorded
``receipt_sending``   about to send the receipt (``send_marked_at`` set)
``receipt_sent``      the receipt's MESH id recorded
``response_sending``  about to send the cleaned list
``response_sent``     the cleaned list's MESH id recorded
``acknowledged``      the request was acknowledged and has left the inbox

A send interrupted between MESH accepting it and the state being written is found
again by :mod:`ndoo.pos.service` through MESH's outbox tracking before anything is
re-sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from ndoo.db import Database
from ndoo.db.models import pos_request
from ndoo.timeutil import from_db, to_db, utcnow

RECEIVED = "received"
PROCESSED = "processed"
RECEIPT_SENDING = "receipt_sending"
RECEIPT_SENT = "receipt_sent"
RESPONSE_SENDING = "response_sending"
RESPONSE_SENT = "response_sent"
ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True)
class RequestState:
    """A row of ``pos_request``; times are aware UTC."""

    message_id: str
    message_type: str
    sender: str | None
    workflow_id: str | None
    filename: str | None
    subject: str | None
    local_id: str | None
    state: str
    outcome: str | None
    received_count: int | None
    returned_count: int | None
    invalid_count: int | None
    invalid_lines: tuple[int, ...]
    snapshot_at: datetime | None
    response_message_id: str | None
    receipt_message_id: str | None
    send_marked_at: datetime | None
    attempts: int
    first_seen_at: datetime
    updated_at: datetime

    @property
    def reply_local_id(self) -> str:
        """The local id replies carry: the request's own, or its MESH id when it had none."""
        return self.local_id or self.message_id

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["invalid_lines"] = list(self.invalid_lines)
        for key in ("snapshot_at", "send_marked_at", "first_seen_at", "updated_at"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        return out


def _row(row: Any) -> RequestState:
    values = dict(row)
    values["invalid_lines"] = tuple(json.loads(values["invalid_lines"] or "[]"))
    for key in ("snapshot_at", "send_marked_at", "first_seen_at", "updated_at"):
        if values[key] is not None:
            values[key] = from_db(values[key])
    values["attempts"] = int(values["attempts"])
    return RequestState(**values)


def get(conn: Connection, message_id: str) -> RequestState | None:
    row = (
        conn.execute(select(pos_request).where(pos_request.c.message_id == message_id))
        .mappings()
        .first()
    )
    return _row(row) if row is not None else None


def insert_received(
    conn: Connection,
    *,
    message_id: str,
    message_type: str,
    sender: str | None,
    workflow_id: str | None,
    filename: str | None,
    subject: str | None,
    local_id: str | None,
) -> RequestState:
    now = to_db(utcnow())
    conn.execute(
        pos_request.insert().values(
            message_id=message_id,
            message_type=message_type,
            sender=sender,
            workflow_id=workflow_id,
            filename=filename,
            subject=subject,
            local_id=local_id,
            state=RECEIVED,
            attempts=1,
            first_seen_at=now,
            updated_at=now,
        )
    )
    found = get(conn, message_id)
    assert found is not None
    return found


def advance(conn: Connection, message_id: str, state: str, **fields: Any) -> RequestState:
    """Move a row to ``state``, setting ``fields`` (datetimes converted, lines as JSON)."""
    values: dict[str, Any] = {"state": state, "updated_at": to_db(utcnow())}
    for key, value in fields.items():
        if isinstance(value, datetime):
            value = to_db(value)
        elif key == "invalid_lines":
            value = json.dumps(list(value))
        values[key] = value
    conn.execute(update(pos_request).where(pos_request.c.message_id == message_id).values(values))
    found = get(conn, message_id)
    assert found is not None
    return found


def count_attempt(conn: Connection, message_id: str) -> None:
    conn.execute(
        update(pos_request)
        .where(pos_request.c.message_id == message_id)
        .values(attempts=pos_request.c.attempts + 1, updated_at=to_db(utcnow()))
    )


def recorded_sends(conn: Connection, local_id: str) -> int:
    """How many replies this service has recorded as sent under ``local_id``."""
    reply_local_id = func.coalesce(pos_request.c.local_id, pos_request.c.message_id)
    rows = conn.execute(
        select(pos_request.c.state, pos_request.c.outcome).where(
            reply_local_id == local_id, pos_request.c.message_type == "DATA"
        )
    ).all()
    total = 0
    for state, outcome in rows:
        if state in (RECEIPT_SENT, RESPONSE_SENDING, RESPONSE_SENT, ACKNOWLEDGED):
            total += 1  # its receipt
        if state in (RESPONSE_SENT, ACKNOWLEDGED) and outcome != "missing_headers":
            total += 1  # and its cleaned list
    return total


def recent(db: Database, *, limit: int = 50) -> list[RequestState]:
    with db.read() as conn:
        rows = conn.execute(
            select(pos_request).order_by(pos_request.c.first_seen_at.desc()).limit(limit)
        ).mappings()
        return [_row(row) for row in rows]
