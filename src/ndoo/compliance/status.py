"""The whole picture of an organisation's compliance, read in one transaction.

:func:`status` gathers the programme's steps, the technical-solution verdict, the latest
declaration, the register's disclosures by assessment state, any breaches, and the next
things to do.  The overall state is one of :data:`STATES`:

- ``not started``: no step has been started and compliance has not been declared;
- ``in progress``: something stands in the way of declaring
  (:func:`~ndoo.compliance.declaration.blockers`);
- ``ready to declare``: nothing does;
- ``declared``: compliance has been declared and nothing breaks it;
- ``declared, in breach``: a disclosure was added or changed in scope after the
  declaration and has no current, decided assessment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from shlex import quote
from typing import Any

from ndoo.compliance.declaration import Breach, Declaration, blockers, breaches, latest_in
from ndoo.compliance.programme import (
    DONE,
    NOT_NEEDED,
    NOT_STARTED,
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
from ndoo.disclosures.assessments import Standing

NOT_STARTED_STATE = "not started"
IN_PROGRESS = "in progress"
READY = "ready to declare"
DECLARED = "declared"
IN_BREACH = "declared, in breach"
STATES = (NOT_STARTED_STATE, IN_PROGRESS, READY, DECLARED, IN_BREACH)


@dataclass(frozen=True)
class NextAction:
    """One thing to do next, with the programme action and disclosures it concerns."""

    text: str
    action: int | None = None
    references: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "action": self.action, "references": list(self.references)}


@dataclass(frozen=True)
class ComplianceStatus:
    """Where an organisation stands with the national data opt-out policy."""

    organisation: str
    as_of: date
    state: str
    steps: tuple[Step, ...]
    solution: TechnicalSolution
    declaration: Declaration | None
    disclosures: dict[str, tuple[str, ...]]
    breaches: tuple[Breach, ...]
    next_actions: tuple[NextAction, ...]

    @property
    def counts(self) -> dict[str, int]:
        """How many disclosures are in each assessment state."""
        return {state: len(refs) for state, refs in self.disclosures.items()}

    def as_dict(self) -> dict[str, Any]:
        declaration = None
        if self.declaration is not None:
            declaration = {
                "declared_on": self.declaration.declared_on.isoformat(),
                "declared_at": self.declaration.as_dict()["declared_at"],
                "declared_by": self.declaration.declared_by,
                "technical_solution": self.declaration.technical_solution,
            }
        return {
            "organisation": self.organisation,
            "as_of": self.as_of.isoformat(),
            "state": self.state,
            "steps": [step.as_dict() for step in self.steps],
            "technical_solution": self.solution.as_dict(),
            "declaration": declaration,
            "disclosures": {
                "total": sum(self.counts.values()),
                "counts": self.counts,
                "references": {state: list(refs) for state, refs in self.disclosures.items()},
            },
            "breaches": [breach.as_dict() for breach in self.breaches],
            "next_actions": [action.as_dict() for action in self.next_actions],
        }


def status(
    db: Database,
    organisation: str,
    today: date | None = None,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    by_supplier: bool = False,
) -> ComplianceStatus:
    """The whole picture of ``organisation``'s compliance as of ``today``.

    ``by_supplier`` says the organisation's clinical system supplier applies opt-outs
    for it (the ``technical_solution_by_supplier`` setting).
    """
    organisation = check_organisation(organisation)
    today = today or today_utc()
    with db.read() as conn:
        steps = steps_in(conn, organisation)
        standings = standings_in(conn, organisation)
        declaration = latest_in(conn, organisation)
    solution = decide(standings, today=today, horizon_days=horizon_days, by_supplier=by_supplier)
    found = breaches(standings, declaration)
    in_the_way = blockers(steps, solution, standings, today=today, on=today, previous=declaration)
    if declaration is not None:
        state = IN_BREACH if found else DECLARED
    elif all(step.status == NOT_STARTED for step in steps):
        state = NOT_STARTED_STATE
    else:
        state = READY if not in_the_way else IN_PROGRESS
    by_state: dict[str, list[str]] = {}
    for standing in standings:
        by_state.setdefault(standing.state, []).append(standing.entry.reference)
    return ComplianceStatus(
        organisation=organisation,
        as_of=today,
        state=state,
        steps=tuple(steps),
        solution=solution,
        declaration=declaration,
        disclosures={name: tuple(refs) for name, refs in sorted(by_state.items())},
        breaches=tuple(found),
        next_actions=tuple(
            _next_actions(steps, solution, standings, declaration, found, state, today)
        ),
    )


def _next_actions(
    steps: Sequence[Step],
    solution: TechnicalSolution,
    standings: Sequence[Standing],
    declaration: Declaration | None,
    found: Sequence[Breach],
    state: str,
    today: date,
) -> list[NextAction]:
    actions = [
        NextAction(
            f"Assess it now (ndoo disclosures assess {quote(breach.reference)}): {breach.message}.",
            1,
            (breach.reference,),
        )
        for breach in found
    ]
    in_breach = {breach.reference for breach in found}
    for standing in standings:
        disclosure = standing.entry.disclosure
        ended = disclosure.end_date is not None and disclosure.end_date < today
        if standing.decided or ended or disclosure.reference in in_breach:
            continue
        actions.append(
            NextAction(
                f"Assess disclosure {disclosure.reference} ({disclosure.title}): it "
                f"{why_unsettled(standing.state)} "
                f"(ndoo disclosures assess {quote(disclosure.reference)}).",
                1,
                (disclosure.reference,),
            )
        )
    solution_step = steps[TECHNICAL_SOLUTION_ACTION - 1]
    if solution.must_set_up and solution_step.status == NOT_NEEDED:
        actions.append(
            NextAction(
                "Set up the technical solution (action 3) and update the procedures "
                "(action 4): action 3 is marked not needed, but the technical solution is now "
                f"required. {' '.join(solution.reasons)}",
                TECHNICAL_SOLUTION_ACTION,
                tuple(item.reference for item in solution.in_scope_now + solution.in_scope_soon),
            )
        )
    if solution.by_supplier and not solution_step.settled:
        actions.append(
            NextAction(
                "Action 3 (Set up the technical solution) can be marked not needed "
                "(ndoo compliance step 3 --status not_needed): the organisation's clinical "
                "system supplier applies national data opt-outs for it. Opt-outs must still "
                "be applied to every in-scope disclosure, by the supplier's system; set the "
                "technical solution up before making any in-scope disclosure from another "
                "system.",
                TECHNICAL_SOLUTION_ACTION,
            )
        )
    if (
        solution.in_scope_later
        and not solution.required
        and not solution.by_supplier
        and solution_step.status != DONE
    ):
        first = solution.in_scope_later[0]
        actions.append(
            NextAction(
                f"Have the technical solution (action 3) in place before {first.start_date}, "
                f"when disclosure {first.reference}, assessed APPLY, starts.",
                TECHNICAL_SOLUTION_ACTION,
                tuple(item.reference for item in solution.in_scope_later),
            )
        )
    for step in steps:
        if step.overdue(today):
            actions.append(
                NextAction(
                    f"Action {step.action} ({step.title}) was due on {step.due} and is "
                    f"{step.status_label}; owner: {step.owner_label}.",
                    step.action,
                )
            )
    if declaration is None:
        unsettled = [step for step in steps if not step.settled]
        # With a supplier applying opt-outs, action 3 is already named above.
        if solution.by_supplier:
            unsettled = [item for item in unsettled if item.action != TECHNICAL_SOLUTION_ACTION]
        if unsettled and not unsettled[0].overdue(today):
            step = unsettled[0]
            verb = "Start" if step.status == NOT_STARTED else "Complete"
            actions.append(
                NextAction(
                    f"{verb} action {step.action} ({step.title}); owner: {step.owner_label}.",
                    step.action,
                )
            )
        if state == READY:
            actions.append(
                NextAction(
                    "Every action is complete: agree the compliance date and declare "
                    "compliance (ndoo compliance declare --on YYYY-MM-DD).",
                    5,
                )
            )
    return actions
