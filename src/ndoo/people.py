"""Demographics: the people the register knows, as a demographic service would give them.

The register needs a person's date of birth (a child under 13 cannot set their own
choice), date of death (a deceased person's choice cannot change), and two facts
recorded by staff: lacking capacity (a proxy acts) and being in a detained or secure
estate (a healthcare professional completes the form).  In the national service
these come from PDS; here they live in the ``person`` table, loaded from synthetic
England or added one at a time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, select, update

from ndoo import audit
from ndoo.db import Database
from ndoo.db.models import person
from ndoo.errors import InputError, PersonNotFound
from ndoo.nhs_number import parse

GENDERS = {"1": "Male", "2": "Female", "0": "Not known", "9": "Not specified"}


@dataclass(frozen=True)
class Person:
    nhs_number: str
    date_of_birth: date
    gender: str
    gp_practice_code: str | None = None
    lsoa_code: str | None = None
    date_of_death: date | None = None
    lacks_capacity: bool = False
    detained: bool = False

    def __post_init__(self) -> None:
        if self.gender not in GENDERS:
            raise InputError(f"gender must be one of {', '.join(GENDERS)} (1 male, 2 female)")
        if self.date_of_death is not None and self.date_of_death < self.date_of_birth:
            raise InputError("the date of death is before the date of birth")

    def deceased_on(self, day: date) -> bool:
        return self.date_of_death is not None and self.date_of_death <= day

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def get(conn: Connection, nhs_number: str) -> Person:
    """The person with this (valid, normalised) NHS number, or :class:`PersonNotFound`."""
    row = conn.execute(select(person).where(person.c.nhs_number == nhs_number)).mappings().first()
    if row is None:
        raise PersonNotFound("no person with that NHS number is known to the register")
    return Person(**dict(row))


def find(db: Database, nhs_number: str) -> Person:
    with db.read() as conn:
        return get(conn, parse(nhs_number))


def add(db: Database, new: Person, *, actor: str) -> Person:
    """Add one person; refuses a number already known."""
    number = parse(new.nhs_number)
    with db.write() as conn:
        exists = conn.execute(
            select(person.c.nhs_number).where(person.c.nhs_number == number)
        ).first()
        if exists:
            raise InputError("a person with that NHS number is already known")
        conn.execute(person.insert().values(**{**new.as_dict(), "nhs_number": number}))
        audit.record(conn, actor=actor, action="person.add", people=1)
        return get(conn, number)


def update_facts(
    db: Database,
    nhs_number: str,
    *,
    actor: str,
    lacks_capacity: bool | None = None,
    detained: bool | None = None,
    date_of_death: date | None = None,
) -> Person:
    """Record what staff learn: capacity, detention, death.  A death cannot be undone."""
    number = parse(nhs_number)
    changes: dict[str, Any] = {}
    if lacks_capacity is not None:
        changes["lacks_capacity"] = lacks_capacity
    if detained is not None:
        changes["detained"] = detained
    if date_of_death is not None:
        changes["date_of_death"] = date_of_death
    if not changes:
        raise InputError("nothing to change: give capacity, detention or a date of death")
    with db.write() as conn:
        current = get(conn, number)
        if current.date_of_death is not None and date_of_death is not None:
            raise InputError("a date of death is already recorded for this person")
        if date_of_death is not None and date_of_death < current.date_of_birth:
            raise InputError("the date of death is before the date of birth")
        conn.execute(update(person).where(person.c.nhs_number == number).values(**changes))
        audit.record(conn, actor=actor, action="person.update", fields=sorted(changes), people=1)
        return get(conn, number)
