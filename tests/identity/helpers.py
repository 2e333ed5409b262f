"""People with exact demographic records, for the identity and citizen journey tests."""

from __future__ import annotations

from datetime import date

from ndoo import people
from ndoo.db import Database
from ndoo.db.models import demographics


def add(
    db: Database,
    number: str,
    *,
    born: date,
    given: str = "Ada",
    family: str = "Lovelace",
    postcode: str = "LS1 4AP",
    mobile: str | None = "07700900123",
    email: str | None = "ada.lovelace.1@example.com",
    gender: str = "2",
    **facts: object,
) -> str:
    """Add a person and their demographic record; their NHS number."""
    people.add(db, people.Person(number, born, gender), actor="test")
    if facts:
        people.update_facts(db, number, actor="test", **facts)  # type: ignore[arg-type]
    with db.write() as conn:
        conn.execute(
            demographics.insert().values(
                nhs_number=number,
                given_name=given,
                family_name=family,
                postcode=postcode,
                mobile=mobile,
                email=email,
            )
        )
    return number
