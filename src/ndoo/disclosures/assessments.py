"""Scope assessments: run the engine on a disclosure, record the result, and say what holds.

An assessment is *current* when it is the newest for the disclosure, no fact bearing
on scope changed after it, and it used the rule set in force.  Only a current
assessment that decided (APPLY or DO NOT APPLY) lets data be released
(:func:`release_decision`).  Every assessment is kept, with the disclosure version and
the rule-set version it used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from ndoo import audit
from ndoo.db import Database
from ndoo.db.models import assessment as assessment_table
from ndoo.disclosures import rules, scope
from ndoo.disclosures.record import contradictions, field_for_fact, scope_facts
from ndoo.disclosures.scope import MORE_INFORMATION, Outcome, Reason
from ndoo.disclosures.store import Entry, get_in, mark_assessed
from ndoo.errors import AssessmentNeeded
from ndoo.timeutil import from_db, iso, to_db, utcnow

#: What a disclosure's assessment state can be, as lists and the compliance status show it.
NOT_ASSESSED = "not assessed"
CHANGED = "changed since assessed"
RULES_CHANGED = "rules changed since assessed"


@dataclass(frozen=True)
class Assessment:
    """One recorded assessment."""

    id: int
    reference: str
    disclosure_version: int
    result: Outcome
    assessed_at: datetime
    assessed_by: str

    @property
    def outcome(self) -> str:
        return self.result.outcome

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "disclosure_version": self.disclosure_version,
            "assessed_at": iso(self.assessed_at),
            "assessed_by": self.assessed_by,
            **self.result.as_dict(),
        }


def evaluate(entry: Entry, version: str | None = None) -> Outcome:
    """What the rules say of the disclosure now, without recording anything."""
    disclosure = entry.disclosure
    result = scope.assess(scope_facts(disclosure), rules.load(version), contradictions(disclosure))
    fields = tuple(dict.fromkeys(field_for_fact(fact, disclosure) for fact in result.missing))
    return replace(result, missing=fields)


def assess(db: Database, reference: str, *, organisation: str, actor: str) -> Assessment:
    """Assess the disclosure as it stands under the current rules, and record it."""
    with db.write() as conn:
        entry = get_in(conn, reference, organisation=organisation)
        result = evaluate(entry)
        now = utcnow()
        new_id = conn.execute(
            assessment_table.insert()
            .values(
                disclosure_id=entry.id,
                disclosure_version=entry.version,
                ruleset=result.ruleset,
                outcome=result.outcome,
                result=json.dumps(result.as_dict(), sort_keys=True),
                assessed_at=to_db(now),
                assessed_by=actor,
            )
            .returning(assessment_table.c.id)
        ).scalar_one()
        if result.decided:
            mark_assessed(conn, entry.id)
        audit.record(
            conn,
            actor=actor,
            action="disclosures.assess",
            organisation=organisation,
            reference=reference,
            version=entry.version,
            ruleset=result.ruleset,
            result=result.outcome,
            missing=list(result.missing),
        )
    return Assessment(int(new_id), reference, entry.version, result, now, actor)


def latest_in(conn: Connection, entry: Entry) -> Assessment | None:
    """The newest assessment of ``entry``, current or not."""
    row = (
        conn.execute(
            select(assessment_table)
            .where(assessment_table.c.disclosure_id == entry.id)
            .order_by(assessment_table.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return _assessment(row, entry.reference) if row is not None else None


def latest(db: Database, reference: str, *, organisation: str) -> Assessment | None:
    with db.read() as conn:
        return latest_in(conn, get_in(conn, reference, organisation=organisation))


def history(db: Database, reference: str, *, organisation: str) -> list[Assessment]:
    """Every assessment of the disclosure, oldest first."""
    with db.read() as conn:
        entry = get_in(conn, reference, organisation=organisation)
        rows = conn.execute(
            select(assessment_table)
            .where(assessment_table.c.disclosure_id == entry.id)
            .order_by(assessment_table.c.id)
        ).mappings()
        return [_assessment(row, reference) for row in rows]


@dataclass(frozen=True)
class Standing:
    """Where a disclosure stands: its newest assessment and whether it still holds."""

    entry: Entry
    assessment: Assessment | None
    state: str  # an outcome while current, else NOT_ASSESSED, CHANGED or RULES_CHANGED

    @property
    def current(self) -> bool:
        return self.state in (scope.APPLY, scope.DO_NOT_APPLY, MORE_INFORMATION)

    @property
    def decided(self) -> bool:
        return self.state in (scope.APPLY, scope.DO_NOT_APPLY)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.entry.reference,
            "state": self.state,
            "assessment": self.assessment.as_dict() if self.assessment else None,
        }


def standing_in(conn: Connection, entry: Entry) -> Standing:
    """Whether ``entry``'s newest assessment is current, and what it said."""
    found = latest_in(conn, entry)
    if found is None:
        return Standing(entry, None, NOT_ASSESSED)
    if found.result.ruleset != rules.current_version():
        return Standing(entry, found, RULES_CHANGED)
    if found.outcome == MORE_INFORMATION:
        # Open questions stay open until answered; a later change may have answered them.
        changed = entry.version != found.disclosure_version
        return Standing(entry, found, CHANGED if changed else MORE_INFORMATION)
    if entry.needs_assessment:
        return Standing(entry, found, CHANGED)
    return Standing(entry, found, found.outcome)


def standings(db: Database, *, organisation: str) -> list[Standing]:
    """Every disclosure of ``organisation`` with where it stands, by reference."""
    from ndoo.disclosures.store import entries_in

    with db.read() as conn:
        return [standing_in(conn, entry) for entry in entries_in(conn, organisation=organisation)]


def release_decision(db: Database, reference: str, *, organisation: str) -> Assessment:
    """The current, decided assessment data may be released under; else refuse, saying why.

    This is what ``ndoo apply --disclosure REF`` consults.
    """
    with db.read() as conn:
        entry = get_in(conn, reference, organisation=organisation)
        standing = standing_in(conn, entry)
    how = f"assess it first (ndoo disclosures assess {reference})"
    if standing.state == NOT_ASSESSED:
        raise AssessmentNeeded(
            f"disclosure {reference!r} has not been assessed against the national data "
            f"opt-out policy; {how}",
            reference=reference,
            state=standing.state,
        )
    if standing.state == CHANGED:
        raise AssessmentNeeded(
            f"disclosure {reference!r} changed in a way that bears on scope since it was "
            f"last assessed; {how.replace('assess it first', 'assess it again')}",
            reference=reference,
            state=standing.state,
        )
    if standing.state == RULES_CHANGED:
        raise AssessmentNeeded(
            f"disclosure {reference!r} was assessed under scope rules "
            f"{standing.assessment.result.ruleset if standing.assessment else '?'}, and the rules "
            f"in force are {rules.current_version()}; "
            f"{how.replace('assess it first', 'assess it again')}",
            reference=reference,
            state=standing.state,
        )
    assert standing.assessment is not None
    if standing.state == MORE_INFORMATION:
        missing = ", ".join(standing.assessment.result.missing)
        raise AssessmentNeeded(
            f"disclosure {reference!r} needs more information before it can be released "
            f"(missing: {missing}); answer the questions with ndoo disclosures assess {reference}",
            reference=reference,
            state=standing.state,
            missing=list(standing.assessment.result.missing),
        )
    return standing.assessment


def _assessment(row: RowMapping, reference: str) -> Assessment:
    data = json.loads(row["result"])
    result = Outcome(
        outcome=data["outcome"],
        ruleset=data["ruleset"],
        reasons=tuple(Reason(**reason) for reason in data["reasons"]),
        missing=tuple(data["missing"]),
        contradictions=tuple(data["contradictions"]),
        facts=dict(data["facts"]),
    )
    return Assessment(
        id=int(row["id"]),
        reference=reference,
        disclosure_version=int(row["disclosure_version"]),
        result=result,
        assessed_at=from_db(row["assessed_at"]),
        assessed_by=row["assessed_by"],
    )
