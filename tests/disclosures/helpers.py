"""Disclosures for tests elsewhere: registered and assessed through the real library."""

from __future__ import annotations

from ndoo.db import Database
from ndoo.disclosures import assessments, store
from ndoo.disclosures.record import parse
from ndoo.errors import DisclosureNotFound

ORGANISATION = "X26"

#: What a user types for a disclosure that opt-outs apply to: research under section 251.
IN_SCOPE = {
    "title": "Outcomes study extract",
    "recipient": "University research team",
    "purpose": "Research",
    "contains_cpi": "yes",
    "anonymised": "no",
    "origin": "England",
    "legal_bases": "s251 reg 5",
    "cag_reference": "21/CAG/0042",
    "cag_condition": "standard",
    "national_exemption": "none",
}

#: And one they do not apply to: the same study with every participant's consent.
CONSENTED = {
    **IN_SCOPE,
    "legal_bases": "Explicit consent",
    "cag_reference": "",
    "cag_condition": "",
}


def assessed(
    db: Database,
    reference: str,
    values: dict[str, str] | None = None,
    *,
    organisation: str = ORGANISATION,
) -> str:
    """Register ``reference`` (in scope unless ``values`` say otherwise) and assess it;
    the outcome.  A reference already registered is left as it is."""
    try:
        store.get(db, reference, organisation=organisation)
    except DisclosureNotFound:
        disclosure, problems = parse({"reference": reference, **(values or IN_SCOPE)})
        assert disclosure is not None, problems
        store.add(db, disclosure, organisation=organisation, actor="ig-lead")
    return assessments.assess(db, reference, organisation=organisation, actor="ig-lead").outcome
