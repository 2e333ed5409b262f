"""The disclosure register in the database: add, change, read, and every version kept.

Each disclosure belongs to one organisation (its ODS code) and has a reference that is
unique there.  Every change writes a new row to ``disclosure_version`` and an audit
entry in the same transaction.  A change to any field that bears on scope
(:data:`~ndoo.disclosures.facts.SCOPE_FIELDS`) marks the disclosure for re-assessment.
Recording a decided assessment clears the mark (:mod:`ndoo.disclosures.assessments`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from ndoo import audit
from ndoo.db import Database
from ndoo.db.models import disclosure as disclosure_table
from ndoo.db.models import disclosure_version
from ndoo.disclosures.facts import SCOPE_FIELDS
from ndoo.disclosures.record import Disclosure, check
from ndoo.errors import DisclosureNotFound, InputError
from ndoo.timeutil import from_db, iso, to_db, utcnow


@dataclass(frozen=True)
class Entry:
    """A disclosure as the register holds it now."""

    id: int
    organisation: str
    disclosure: Disclosure
    version: int
    needs_assessment: bool
    scope_changed_at: datetime
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    @property
    def reference(self) -> str:
        return self.disclosure.reference

    def as_dict(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation,
            "reference": self.reference,
            "version": self.version,
            "needs_assessment": self.needs_assessment,
            "scope_changed_at": iso(self.scope_changed_at),
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
            "updated_at": iso(self.updated_at),
            "updated_by": self.updated_by,
            "record": self.disclosure.as_dict(),
        }


@dataclass(frozen=True)
class Version:
    """One version of a disclosure: what it said, who changed what, and when."""

    version: int
    at: datetime
    actor: str
    change: str
    changed: tuple[str, ...]
    scope_changed: bool
    disclosure: Disclosure

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "at": iso(self.at),
            "actor": self.actor,
            "change": self.change,
            "changed": list(self.changed),
            "scope_changed": self.scope_changed,
            "record": self.disclosure.as_dict(),
        }


def changed_fields(before: Disclosure | None, after: Disclosure) -> tuple[str, ...]:
    """The fields whose values differ (every set field for a new disclosure)."""
    names = [f.name for f in fields(Disclosure)]
    if before is None:
        return tuple(n for n in names if getattr(after, n) not in (None, ()))
    return tuple(n for n in names if getattr(before, n) != getattr(after, n))


def save(
    conn: Connection,
    disclosure: Disclosure,
    *,
    organisation: str,
    actor: str,
    change: str,
    create: bool | None = None,
) -> tuple[Entry, str]:
    """Write ``disclosure`` inside the caller's transaction: ``added``, ``changed`` or
    ``unchanged``.

    ``create`` True refuses an existing reference, False refuses a new one, None takes
    either (an import).
    """
    disclosure = check(disclosure)
    row = _row(conn, organisation, disclosure.reference, lock=True)
    if row is None and create is False:
        raise DisclosureNotFound(f"no disclosure {disclosure.reference!r} in the register")
    if row is not None and create is True:
        raise InputError(
            f"disclosure {disclosure.reference!r} is already in the register; change it instead",
            field="reference",
        )
    now = to_db(utcnow())
    before = _entry(row) if row is not None else None
    changed = changed_fields(before.disclosure if before else None, disclosure)
    if before is not None and not changed:
        return before, "unchanged"
    scope_changed = before is None or any(name in SCOPE_FIELDS for name in changed)
    record_text = json.dumps(disclosure.as_dict(), sort_keys=True)
    if before is None:
        version = 1
        new_id = conn.execute(
            disclosure_table.insert()
            .values(
                organisation=organisation,
                reference=disclosure.reference,
                version=version,
                record=record_text,
                needs_assessment=True,
                scope_changed_at=now,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
            .returning(disclosure_table.c.id)
        ).scalar_one()
    else:
        version = before.version + 1
        new_id = before.id
        values: dict[str, Any] = {
            "version": version,
            "record": record_text,
            "updated_at": now,
            "updated_by": actor,
        }
        if scope_changed:
            values.update(needs_assessment=True, scope_changed_at=now)
        conn.execute(
            update(disclosure_table).where(disclosure_table.c.id == new_id).values(**values)
        )
    conn.execute(
        disclosure_version.insert().values(
            disclosure_id=new_id,
            version=version,
            at=now,
            actor=actor,
            change=change,
            record=record_text,
            changed=json.dumps(list(changed)),
            scope_changed=scope_changed,
        )
    )
    audit.record(
        conn,
        actor=actor,
        action="disclosures.add" if before is None else "disclosures.change",
        organisation=organisation,
        reference=disclosure.reference,
        version=version,
        change=change,
        changed=list(changed),
        scope_changed=scope_changed,
    )
    entry = _row(conn, organisation, disclosure.reference)
    assert entry is not None
    return _entry(entry), "added" if before is None else "changed"


def add(db: Database, disclosure: Disclosure, *, organisation: str, actor: str) -> Entry:
    """Add a new disclosure; refuses a reference already in the register."""
    with db.write() as conn:
        entry, _ = save(
            conn, disclosure, organisation=organisation, actor=actor, change="created", create=True
        )
    return entry


def change(
    db: Database,
    reference: str,
    changes: Mapping[str, Any],
    *,
    organisation: str,
    actor: str,
    how: str = "updated",
) -> Entry:
    """Change some fields of a disclosure (values already parsed: codes, dates, tuples)."""
    unknown = set(changes) - {f.name for f in fields(Disclosure)}
    if unknown:
        raise InputError(f"a disclosure has no field {sorted(unknown)[0]!r}")
    if "reference" in changes and changes["reference"] != reference:
        raise InputError("a disclosure's reference cannot change; add a new one instead")
    with db.write() as conn:
        row = _row(conn, organisation, reference, lock=True)
        if row is None:
            raise DisclosureNotFound(f"no disclosure {reference!r} in the register")
        current = _entry(row).disclosure
        entry, _ = save(
            conn,
            current.with_values(**changes),
            organisation=organisation,
            actor=actor,
            change=how,
            create=False,
        )
    return entry


def get(db: Database, reference: str, *, organisation: str) -> Entry:
    """The disclosure ``reference``; :class:`DisclosureNotFound` if the register has none."""
    with db.read() as conn:
        return get_in(conn, reference, organisation=organisation)


def get_in(conn: Connection, reference: str, *, organisation: str) -> Entry:
    row = _row(conn, organisation, reference)
    if row is None:
        raise DisclosureNotFound(
            f"no disclosure {reference!r} in the register of {organisation}; "
            "add it (ndoo disclosures add) or import the record of processing "
            "(ndoo disclosures import)"
        )
    return _entry(row)


def entries(db: Database, *, organisation: str) -> list[Entry]:
    """Every disclosure of ``organisation``, by reference."""
    with db.read() as conn:
        return entries_in(conn, organisation=organisation)


def entries_in(conn: Connection, *, organisation: str) -> list[Entry]:
    rows = conn.execute(
        select(disclosure_table)
        .where(disclosure_table.c.organisation == organisation)
        .order_by(disclosure_table.c.reference)
    ).mappings()
    return [_entry(row) for row in rows]


def history(db: Database, reference: str, *, organisation: str) -> list[Version]:
    """Every version of a disclosure, oldest first."""
    with db.read() as conn:
        entry = get_in(conn, reference, organisation=organisation)
        rows = conn.execute(
            select(disclosure_version)
            .where(disclosure_version.c.disclosure_id == entry.id)
            .order_by(disclosure_version.c.version)
        ).mappings()
        return [
            Version(
                version=int(row["version"]),
                at=from_db(row["at"]),
                actor=row["actor"],
                change=row["change"],
                changed=tuple(json.loads(row["changed"])),
                scope_changed=bool(row["scope_changed"]),
                disclosure=Disclosure.from_dict(json.loads(row["record"])),
            )
            for row in rows
        ]


def mark_assessed(conn: Connection, entry_id: int) -> None:
    """A decided assessment was recorded for the current version: clear the mark."""
    conn.execute(
        update(disclosure_table)
        .where(disclosure_table.c.id == entry_id)
        .values(needs_assessment=False)
    )


def _row(
    conn: Connection, organisation: str, reference: str, *, lock: bool = False
) -> RowMapping | None:
    query = select(disclosure_table).where(
        disclosure_table.c.organisation == organisation,
        disclosure_table.c.reference == reference,
    )
    if lock:
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def _entry(row: RowMapping) -> Entry:
    return Entry(
        id=int(row["id"]),
        organisation=row["organisation"],
        disclosure=Disclosure.from_dict(json.loads(row["record"])),
        version=int(row["version"]),
        needs_assessment=bool(row["needs_assessment"]),
        scope_changed_at=from_db(row["scope_changed_at"]),
        created_at=from_db(row["created_at"]),
        created_by=row["created_by"],
        updated_at=from_db(row["updated_at"]),
        updated_by=row["updated_by"],
    )
