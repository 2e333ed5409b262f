"""The check requests this organisation has sent, as records (never their numbers)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from ndoo import audit
from ndoo.db import Database
from ndoo.db.models import check_request
from ndoo.errors import NotFound
from ndoo.timeutil import from_db, iso, to_db, utcnow


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


def _record(row: Any) -> CheckRequest:
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
        return [_record(row) for row in conn.execute(query).mappings()]


def get_request(db: Database, request_id: int) -> CheckRequest:
    with db.read() as conn:
        row = (
            conn.execute(select(*_COLUMNS).where(check_request.c.id == request_id))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"no check request {request_id}; `ndoo check status` lists them")
    return _record(row)


def fail(db: Database, request_id: int, reason: str, *, actor: str) -> None:
    with db.write() as conn:
        conn.execute(
            update(check_request)
            .where(check_request.c.id == request_id)
            .values(state="failed", error=reason, received_at=to_db(utcnow()))
        )
        audit.record(
            conn, actor=actor, action="check.failed", outcome="failed", request_id=request_id
        )
