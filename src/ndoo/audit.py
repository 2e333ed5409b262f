"""The audit trail: an append-only, hash-chained log of every write and every use of data.

Each entry records who acted, what they did, when, the outcome and counts — never
clinical data, and never an NHS number (entries refer to register events by id).
Its hash is SHA-256 over the entry's fields and the previous entry's hash, so
altering, removing or inserting an entry breaks the chain from that point on.  The
``audit_head`` row holds the newest sequence number and hash: every append locks it,
which serialises appends, and comparing it with the last entry reveals a cut tail.

:func:`verify` walks the chain and names the first entry that is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Generator, Mapping
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from ndoo.db import Database
from ndoo.db.models import audit_entry, audit_head
from ndoo.timeutil import iso, utcnow

GENESIS_HASH = "0" * 64

# Ten digits in a row, or in 3-3-4 groups: an NHS number must never reach the log.
_NHS_LIKE = re.compile(r"(?<!\d)(\d{10}|\d{3}[ -]\d{3}[ -]\d{4})(?!\d)")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    """The result of :func:`verify`.  ``first_bad`` is the sequence number at fault."""

    ok: bool
    checked: int
    first_bad: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.checked} entries, chain and head agree"
        return f"audit trail broken at entry {self.first_bad}: {self.problem}"


# MESH message ids are opaque hex or digit strings that can hold ten digits in a row by
# chance; under these keys a value must look like a message id and nothing else.
_MESSAGE_ID_KEYS = frozenset(
    {"message_id", "response_message_id", "receipt_message_id", "linked_message_id"}
)
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def canonical_detail(detail: Mapping[str, Any]) -> str:
    ids = {k: v for k, v in detail.items() if k in _MESSAGE_ID_KEYS and v is not None}
    for key, value in ids.items():
        if not isinstance(value, str) or not _MESSAGE_ID.fullmatch(value):
            raise ValueError(f"audit detail {key!r} must be a MESH message id")
    rest = {k: v for k, v in detail.items() if k not in ids}
    if _NHS_LIKE.search(json.dumps(rest, ensure_ascii=False)):
        raise ValueError("audit detail must not contain an NHS number")
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    seq: int, at: str, actor: str, action: str, outcome: str, detail: str, prev_hash: str
) -> str:
    payload = json.dumps(
        [seq, at, actor, action, outcome, detail, prev_hash],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(
    conn: Connection, *, actor: str, action: str, outcome: str = "ok", **detail: Any
) -> AuditEntry:
    """Append one entry inside the caller's transaction, so it commits with the change."""
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
    ).one()
    seq = int(head.seq) + 1
    at = iso(utcnow())
    detail_text = canonical_detail(detail)
    digest = entry_hash(seq, at, actor, action, outcome, detail_text, head.hash)
    conn.execute(
        audit_entry.insert().values(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            outcome=outcome,
            detail=detail_text,
            prev_hash=head.hash,
            hash=digest,
        )
    )
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=digest))
    return AuditEntry(seq, at, actor, action, outcome, dict(detail), head.hash, digest)


def entries(db: Database, *, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
    """The newest entries first."""
    query = select(audit_entry).order_by(audit_entry.c.seq.desc()).limit(limit)
    if action:
        query = query.where(audit_entry.c.action == action)
    with db.read() as conn:
        return [_entry(row) for row in conn.execute(query).mappings()]


def _entry(row: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        seq=int(row["seq"]),
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        outcome=row["outcome"],
        detail=json.loads(row["detail"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _rows(conn: Connection) -> Generator[RowMapping, None, None]:
    """Entries in order, streamed; the cursor is closed even if the caller stops early."""
    result = conn.execution_options(yield_per=5000).execute(
        select(audit_entry).order_by(audit_entry.c.seq)
    )
    try:
        yield from result.mappings()
    finally:
        result.close()


def verify(db: Database) -> Verification:
    """Recompute the chain and name the first entry that was altered, removed or inserted."""
    with db.read() as conn:
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).mappings().first()
        expected_seq = 1
        prev_hash = GENESIS_HASH
        before_prev = GENESIS_HASH
        checked = 0
        with closing(_rows(conn)) as rows:
            for row in rows:
                seq = int(row["seq"])
                if seq > expected_seq:
                    return Verification(
                        False, checked, expected_seq, "this entry is missing: it was removed"
                    )
                if row["prev_hash"] != prev_hash:
                    if checked and row["prev_hash"] == before_prev:
                        return Verification(
                            False,
                            checked,
                            seq - 1,
                            "this entry was inserted: the entry after it links past it",
                        )
                    return Verification(
                        False,
                        checked,
                        seq,
                        "it does not link to the entry before it: an entry was removed, "
                        "inserted or altered here",
                    )
                recomputed = entry_hash(
                    seq,
                    row["at"],
                    row["actor"],
                    row["action"],
                    row["outcome"],
                    row["detail"],
                    row["prev_hash"],
                )
                if recomputed != row["hash"]:
                    return Verification(
                        False, checked, seq, "its content was altered after it was written"
                    )
                before_prev, prev_hash = prev_hash, row["hash"]
                expected_seq = seq + 1
                checked += 1
        last_seq = expected_seq - 1
        if head is None:
            return Verification(False, checked, last_seq + 1, "the chain head row is missing")
        if int(head["seq"]) > last_seq:
            return Verification(
                False,
                checked,
                last_seq + 1,
                f"entries {last_seq + 1} to {head['seq']} are missing: the tail was removed",
            )
        if int(head["seq"]) < last_seq:
            return Verification(
                False,
                checked,
                int(head["seq"]) + 1,
                "this entry is not in the chain head: it was inserted",
            )
        if head["hash"] != prev_hash:
            return Verification(
                False, checked, last_seq, "the chain head does not match this entry"
            )
        return Verification(True, checked)
