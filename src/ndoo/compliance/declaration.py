"""Declaring compliance, and what breaks it afterwards.

:func:`declare` records that the organisation complies with the national data opt-out
policy from a date.  It is refused (:class:`~ndoo.errors.DeclarationRefused`) while
anything stands in the way (:func:`blockers`), and the refusal names every one:

- a step of the programme that is not done (action 3 may instead be not needed, but only
  while the organisation need not set up the technical solution itself: it is optional,
  or the organisation's clinical system supplier applies opt-outs for it);
- a disclosure running at any time from today to the compliance date with no current,
  decided assessment;
- a disclosure in breach of an earlier declaration.

Each declaration keeps the picture it was made on (steps, the technical-solution verdict,
counts) as JSON.  Once compliance is declared, confidential patient information must not
be used or disclosed before it has been assessed: a disclosure added, or changed in a way
that bears on scope, after the declaration and with no current, decided assessment is a
*breach* (:func:`breaches`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from ndoo import audit
from ndoo.compliance.programme import (
    DONE,
    NOT_NEEDED,
    TECHNICAL_SOLUTION_ACTION,
    Step,
    check_organisation,
    steps_in,
)
from ndoo.compliance.solution import (
    DEFAULT_HORIZON_DAYS,
    TechnicalSolution,
    decide,
    standings_in,
    today_utc,
    why_unsettled,
)
from ndoo.db import Database
from ndoo.db.models import compliance_declaration
from ndoo.disclosures.assessments import Standing
from ndoo.disclosures.record import Disclosure
from ndoo.errors import DeclarationRefused, InputError
from ndoo.timeutil import from_db, iso, to_db, utcnow


@dataclass(frozen=True)
class Declaration:
    """One declaration of compliance: from when, recorded when and by whom, on what picture."""

    id: int
    organisation: str
    declared_on: date
    declared_at: datetime
    declared_by: str
    technical_solution: str
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organisation": self.organisation,
            "declared_on": self.declared_on.isoformat(),
            "declared_at": iso(self.declared_at),
            "declared_by": self.declared_by,
            "technical_solution": self.technical_solution,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Blocker:
    """One thing that stands in the way of declaring: a step or a disclosure."""

    message: str
    action: int | None = None
    reference: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "action": self.action, "reference": self.reference}


@dataclass(frozen=True)
class Breach:
    """A disclosure added or changed in scope after the declaration and not assessed since."""

    reference: str
    title: str
    state: str
    scope_changed_at: datetime

    @property
    def message(self) -> str:
        return (
            f"disclosure {self.reference} ({self.title}) was added or changed in scope on "
            f"{iso(self.scope_changed_at)[:10]}, after compliance was declared, and "
            f"{why_unsettled(self.state)}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "title": self.title,
            "state": self.state,
            "scope_changed_at": iso(self.scope_changed_at),
            "message": self.message,
        }


def breaches(standings: Iterable[Standing], declaration: Declaration | None) -> list[Breach]:
    """Disclosures added or changed in scope after ``declaration`` with no current decision."""
    if declaration is None:
        return []
    return [
        Breach(s.entry.reference, s.entry.disclosure.title, s.state, s.entry.scope_changed_at)
        for s in standings
        if s.entry.scope_changed_at > declaration.declared_at and not s.decided
    ]


def blockers(
    steps: Sequence[Step],
    solution: TechnicalSolution,
    standings: Sequence[Standing],
    *,
    today: date,
    on: date,
    previous: Declaration | None = None,
) -> list[Blocker]:
    """Everything that stands in the way of declaring compliance from ``on``."""
    found: list[Blocker] = []
    for step in steps:
        where = f"action {step.action} ({step.title})"
        if step.status == DONE:
            continue
        if step.status == NOT_NEEDED and step.action == TECHNICAL_SOLUTION_ACTION:
            if solution.must_set_up:
                found.append(
                    Blocker(
                        f"{where} is marked not needed, but the technical solution is now "
                        f"required: {' '.join(solution.reasons)}",
                        action=step.action,
                    )
                )
            continue
        if step.status == NOT_NEEDED:
            found.append(
                Blocker(f"{where} is marked not needed, but it must be done", action=step.action)
            )
            continue
        found.append(
            Blocker(
                f"{where} is {step.status_label} (owner: {step.owner_label})",
                action=step.action,
            )
        )
    for standing in standings:
        disclosure = standing.entry.disclosure
        if not standing.decided and _runs_between(disclosure, today, on):
            found.append(
                Blocker(
                    f"disclosure {disclosure.reference} ({disclosure.title}) "
                    f"{why_unsettled(standing.state)}",
                    reference=disclosure.reference,
                )
            )
    listed = {b.reference for b in found}
    for breach in breaches(standings, previous):
        if breach.reference not in listed:
            found.append(Blocker(breach.message, reference=breach.reference))
    return found


def declare(
    db: Database,
    organisation: str,
    *,
    actor: str,
    on: date,
    today: date | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    by_supplier: bool = False,
) -> Declaration:
    """Declare ``organisation`` compliant from ``on`` (today or later), or refuse saying why.

    ``by_supplier`` says the organisation's clinical system supplier applies opt-outs
    for it, so action 3 may be not needed though the solution is required.  Written with
    an audit entry ``compliance.declare``.
    """
    organisation = check_organisation(organisation)
    today = today or today_utc()
    if on < today:
        raise InputError(
            f"the compliance date {on.isoformat()} is in the past; declare compliance from "
            f"today ({today.isoformat()}) or a later date",
            field="on",
        )
    with db.write() as conn:
        current = steps_in(conn, organisation, lock=True)
        standings = standings_in(conn, organisation)
        solution = decide(
            standings, today=today, horizon_days=horizon_days, by_supplier=by_supplier
        )
        previous = latest_in(conn, organisation)
        found = blockers(current, solution, standings, today=today, on=on, previous=previous)
        if found:
            raise DeclarationRefused(
                f"compliance cannot be declared yet: {'; '.join(b.message for b in found)}",
                steps=[b.action for b in found if b.action is not None],
                disclosures=[b.reference for b in found if b.reference is not None],
                problems=[b.as_dict() for b in found],
            )
        now = utcnow()
        summary = _summary(organisation, on, today, current, solution, standings)
        new_id = conn.execute(
            compliance_declaration.insert()
            .values(
                organisation=organisation,
                declared_on=on,
                declared_at=to_db(now),
                declared_by=actor,
                technical_solution=solution.verdict,
                summary=json.dumps(summary, sort_keys=True),
            )
            .returning(compliance_declaration.c.id)
        ).scalar_one()
        audit.record(
            conn,
            actor=actor,
            action="compliance.declare",
            organisation=organisation,
            declared_on=on.isoformat(),
            technical_solution=solution.verdict,
            by_supplier=solution.by_supplier,
            disclosures=summary["counts"]["disclosures"],
            in_scope=summary["counts"]["in_scope"],
        )
    return Declaration(int(new_id), organisation, on, now, actor, solution.verdict, summary)


def latest(db: Database, organisation: str) -> Declaration | None:
    """The newest declaration of ``organisation``, if it has declared."""
    with db.read() as conn:
        return latest_in(conn, check_organisation(organisation))


def latest_in(conn: Connection, organisation: str) -> Declaration | None:
    row = (
        conn.execute(
            select(compliance_declaration)
            .where(compliance_declaration.c.organisation == organisation)
            .order_by(
                compliance_declaration.c.declared_at.desc(), compliance_declaration.c.id.desc()
            )
            .limit(1)
        )
        .mappings()
        .first()
    )
    return _declaration(row) if row is not None else None


def _runs_between(disclosure: Disclosure, first: date, last: date) -> bool:
    """Whether the flow runs on any day from ``first`` to ``last``."""
    started = disclosure.start_date is None or disclosure.start_date <= last
    ended = disclosure.end_date is not None and disclosure.end_date < first
    return started and not ended


def _summary(
    organisation: str,
    on: date,
    today: date,
    steps: Sequence[Step],
    solution: TechnicalSolution,
    standings: Sequence[Standing],
) -> dict[str, Any]:
    by_state = Counter(s.state for s in standings)
    return {
        "organisation": organisation,
        "declared_on": on.isoformat(),
        "as_of": today.isoformat(),
        "steps": [
            {
                "action": step.action,
                "title": step.title,
                "status": step.status,
                "owner_role": step.owner_role,
                "due": step.due.isoformat() if step.due else None,
                "evidence": step.evidence,
            }
            for step in steps
        ],
        "technical_solution": solution.as_dict(),
        "counts": {
            "disclosures": len(standings),
            "running": sum(1 for s in standings if s.entry.disclosure.active_on(today)),
            "in_scope": len(solution.in_scope_now) + len(solution.in_scope_soon),
            "by_state": dict(sorted(by_state.items())),
        },
    }


def _declaration(row: RowMapping) -> Declaration:
    return Declaration(
        id=int(row["id"]),
        organisation=row["organisation"],
        declared_on=row["declared_on"],
        declared_at=from_db(row["declared_at"]),
        declared_by=row["declared_by"],
        technical_solution=row["technical_solution"],
        summary=json.loads(row["summary"]),
    )
