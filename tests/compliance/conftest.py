"""Disclosures for the compliance tests, recorded and assessed through the real register."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from ndoo.db import Database
from ndoo.disclosures import assessments, record, store

ORG = "X26"
TODAY = date(2026, 1, 15)

#: A research flow under section 251 support with the CAG standard condition: APPLY.
IN_SCOPE = {
    "purpose": "research",
    "contains_cpi": "yes",
    "anonymised": "no",
    "origin": "england",
    "legal_bases": "s251 reg 5",
    "cag_reference": "20/CAG/0001",
    "cag_condition": "standard",
    "national_exemption": "none",
}
#: The same flow under explicit consent: DO NOT APPLY.
CONSENTED = {**IN_SCOPE, "legal_bases": "explicit consent"}
for _name in ("cag_reference", "cag_condition", "national_exemption"):
    del CONSENTED[_name]


def days(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


AddDisclosure = Callable[..., str]


@pytest.fixture
def add_disclosure(db: Database) -> AddDisclosure:
    """``add_disclosure("R1", "apply", start=days(10))``: record a disclosure and, unless
    ``kind`` is ``"unassessed"``, assess it.  ``kind`` is apply, do_not_apply or unassessed."""

    def add(
        reference: str,
        kind: str = "apply",
        *,
        title: str | None = None,
        recipient: str = "University of Anytown",
        start: str | None = None,
        end: str | None = None,
        organisation: str = ORG,
    ) -> str:
        facts = {"apply": IN_SCOPE, "do_not_apply": CONSENTED, "unassessed": IN_SCOPE}[kind]
        values = {
            "reference": reference,
            "title": title or f"Study {reference}",
            "recipient": recipient,
            "frequency": "quarterly",
            "start_date": start,
            "end_date": end,
            **facts,
        }
        disclosure, problems = record.parse(values)
        assert disclosure is not None, problems
        store.add(db, disclosure, organisation=organisation, actor="ig-officer")
        if kind != "unassessed":
            assessments.assess(db, reference, organisation=organisation, actor="ig-officer")
        return reference

    return add
