"""Whether the organisation must set up the technical solution, worked out from its register.

The implementation guide (action 2) says the technical solution (the Check for National
Data Opt-outs service over MESH) must be set up to become compliant when a current
disclosure is in scope of the national data opt-out, or when none is but an in-scope
disclosure will start very soon.  When neither holds, and none is likely within the next
3 to 4 months, it is optional: compliance can be declared without it, but it must be set
up, and opt-outs applied, before any new in-scope data is disclosed.

Here a disclosure is *in scope* when its current assessment is APPLY; *current* means
active today (:meth:`~ndoo.disclosures.record.Disclosure.active_on`); *soon* means it
starts within the planning horizon (the ``planning_horizon_days`` setting).  A
disclosure running now or starting within the horizon whose scope is not settled (not
assessed, more information needed, changed or assessed under older rules) makes the
verdict *provisional*.  Disclosures that have ended are ignored.

The guide also says that GP practices on the principal GP systems, and organisations
using TPP SystmOne's Strategic Reporting Extract, need not set the solution up
themselves, because the supplier's system applies opt-outs for them, unless other IT
systems create their disclosures (the ``technical_solution_by_supplier`` setting,
``by_supplier`` here).  The verdict does not change: opt-outs must be applied either
way.  What changes is who applies them (:attr:`TechnicalSolution.must_set_up`): the
supplier's system, for as long as every in-scope disclosure is made from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection

from ndoo.db import Database
from ndoo.disclosures.assessments import (
    CHANGED,
    NOT_ASSESSED,
    RULES_CHANGED,
    Standing,
    standing_in,
)
from ndoo.disclosures.scope import APPLY, MORE_INFORMATION
from ndoo.disclosures.store import entries_in
from ndoo.settings import SETTINGS_BY_NAME
from ndoo.timeutil import utcnow

REQUIRED = "required"
OPTIONAL = "optional"

#: The planning horizon when the caller gives none: the setting's default.
DEFAULT_HORIZON_DAYS: int = SETTINGS_BY_NAME["planning_horizon_days"].default({})

OBLIGATION_REQUIRED = (
    "The technical solution (the Check for National Data Opt-outs service, over MESH) must "
    "be set up before compliance is declared, and national data opt-outs applied to every "
    "in-scope disclosure before its data is disclosed."
)
OBLIGATION_OPTIONAL = (
    "Compliance can be declared without the technical solution, but the organisation must "
    "be ready to set it up at any time: before any new or changed disclosure in scope of "
    "the national data opt-out, follow actions 3 and 4 so that opt-outs are applied before "
    "the data is disclosed."
)
OBLIGATION_SUPPLIER = (
    "The organisation's clinical system supplier applies national data opt-outs for it, so "
    "it need not set up the technical solution itself; but national data opt-outs must "
    "still be applied to every in-scope disclosure, by the supplier's system, before its "
    "data is disclosed. Before making any in-scope disclosure from another system, the "
    "organisation must set up the technical solution itself (actions 3 and 4)."
)


def today_utc() -> date:
    """Today's date in UTC, the day the programme's checks are made for by default."""
    return utcnow().date()


@dataclass(frozen=True)
class Listed:
    """A disclosure behind the verdict, as the verdict names it."""

    reference: str
    title: str
    recipient: str
    state: str
    start_date: date | None
    end_date: date | None

    @classmethod
    def of(cls, standing: Standing) -> Listed:
        disclosure = standing.entry.disclosure
        return cls(
            reference=disclosure.reference,
            title=disclosure.title,
            recipient=disclosure.recipient,
            state=standing.state,
            start_date=disclosure.start_date,
            end_date=disclosure.end_date,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "title": self.title,
            "recipient": self.recipient,
            "state": self.state,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
        }


@dataclass(frozen=True)
class TechnicalSolution:
    """The verdict on the technical solution, why, and the disclosures behind it.

    ``in_scope_now`` run today and are assessed APPLY; ``in_scope_soon`` are assessed
    APPLY and start within the horizon; ``in_scope_later`` are assessed APPLY and start
    after it (they do not make the solution required yet, but it must be ready before
    they start); ``unknown`` run now or start within the horizon with no current,
    decided assessment.  ``by_supplier`` says the organisation's clinical system supplier
    applies opt-outs for it.
    """

    verdict: str
    as_of: date
    horizon_days: int
    reasons: tuple[str, ...]
    obligation: str
    in_scope_now: tuple[Listed, ...] = ()
    in_scope_soon: tuple[Listed, ...] = ()
    in_scope_later: tuple[Listed, ...] = ()
    unknown: tuple[Listed, ...] = ()
    by_supplier: bool = False

    @property
    def required(self) -> bool:
        """Whether the verdict is required: an in-scope disclosure runs now or starts soon."""
        return self.verdict == REQUIRED

    @property
    def must_set_up(self) -> bool:
        """Whether the organisation must set up the technical solution itself (action 3).

        It must when the solution is required and no clinical system supplier applies
        opt-outs for it.
        """
        return self.required and not self.by_supplier

    @property
    def provisional(self) -> bool:
        """Whether disclosures of unsettled scope could still change the verdict."""
        return bool(self.unknown)

    @property
    def references(self) -> tuple[str, ...]:
        """Every disclosure the verdict rests on or waits for."""
        groups = (self.in_scope_now, self.in_scope_soon, self.in_scope_later, self.unknown)
        return tuple(item.reference for group in groups for item in group)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "provisional": self.provisional,
            "by_supplier": self.by_supplier,
            "must_set_up": self.must_set_up,
            "as_of": self.as_of.isoformat(),
            "horizon_days": self.horizon_days,
            "reasons": list(self.reasons),
            "obligation": self.obligation,
            "in_scope_now": [item.as_dict() for item in self.in_scope_now],
            "in_scope_soon": [item.as_dict() for item in self.in_scope_soon],
            "in_scope_later": [item.as_dict() for item in self.in_scope_later],
            "unknown": [item.as_dict() for item in self.unknown],
        }


def decide(
    standings: Iterable[Standing],
    *,
    today: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    by_supplier: bool = False,
) -> TechnicalSolution:
    """The verdict for these disclosures' standings, as of ``today``.

    ``by_supplier`` says the organisation's clinical system supplier applies opt-outs
    for it (the ``technical_solution_by_supplier`` setting).
    """
    if horizon_days <= 0:
        raise ValueError("the planning horizon is a whole number of days above 0")
    horizon_end = today + timedelta(days=horizon_days)
    now: list[Listed] = []
    soon: list[Listed] = []
    later: list[Listed] = []
    unknown: list[Listed] = []
    for standing in standings:
        disclosure = standing.entry.disclosure
        if disclosure.end_date is not None and disclosure.end_date < today:
            continue
        running = disclosure.active_on(today)
        start = disclosure.start_date
        starts_soon = not running and start is not None and today < start <= horizon_end
        item = Listed.of(standing)
        if standing.state == APPLY:
            if running:
                now.append(item)
            elif starts_soon:
                soon.append(item)
            else:
                later.append(item)
        elif not standing.decided and (running or starts_soon):
            unknown.append(item)
    verdict = REQUIRED if now or soon else OPTIONAL
    reasons = _reasons(now, soon, later, unknown, horizon_days, by_supplier)
    if by_supplier:
        obligation = OBLIGATION_SUPPLIER
    else:
        obligation = OBLIGATION_REQUIRED if verdict == REQUIRED else OBLIGATION_OPTIONAL
    return TechnicalSolution(
        verdict,
        today,
        horizon_days,
        tuple(reasons),
        obligation,
        tuple(now),
        tuple(soon),
        tuple(later),
        tuple(unknown),
        by_supplier,
    )


def technical_solution_in(
    conn: Connection,
    organisation: str,
    *,
    today: date | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    by_supplier: bool = False,
) -> TechnicalSolution:
    """The verdict for ``organisation``'s register, read inside the caller's transaction."""
    return decide(
        standings_in(conn, organisation),
        today=today or today_utc(),
        horizon_days=horizon_days,
        by_supplier=by_supplier,
    )


def technical_solution(
    db: Database,
    organisation: str,
    *,
    today: date | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    by_supplier: bool = False,
) -> TechnicalSolution:
    """Whether ``organisation`` must set up the technical solution, and why."""
    with db.read() as conn:
        return technical_solution_in(
            conn, organisation, today=today, horizon_days=horizon_days, by_supplier=by_supplier
        )


def standings_in(conn: Connection, organisation: str) -> list[Standing]:
    """Every disclosure of ``organisation`` with where it stands, by reference."""
    return [standing_in(conn, entry) for entry in entries_in(conn, organisation=organisation)]


def _names(items: list[Listed]) -> str:
    return ", ".join(item.reference for item in items)


def _count(items: list[Listed], one: str, many: str) -> str:
    return f"{len(items)} {one if len(items) == 1 else many}"


def _reasons(
    now: list[Listed],
    soon: list[Listed],
    later: list[Listed],
    unknown: list[Listed],
    horizon_days: int,
    by_supplier: bool,
) -> list[str]:
    reasons: list[str] = []
    if now:
        reasons.append(
            f"{_count(now, 'disclosure running now is', 'disclosures running now are')} in "
            f"scope of the national data opt-out (assessed APPLY): {_names(now)}."
        )
    if soon:
        starts = ", ".join(f"{item.reference} (starts {item.start_date})" for item in soon)
        reasons.append(
            f"{_count(soon, 'disclosure', 'disclosures')} assessed APPLY "
            f"{'starts' if len(soon) == 1 else 'start'} within the next {horizon_days} days: "
            f"{starts}."
        )
    if not now and not soon:
        reasons.append(
            "No disclosure running now is in scope of the national data opt-out, and none "
            f"assessed in scope starts within the next {horizon_days} days."
        )
    if by_supplier:
        reasons.append(
            "The organisation's clinical system supplier applies national data opt-outs for "
            "it, so it need not set up the technical solution itself while every in-scope "
            "disclosure is made from that system; opt-outs must still be applied to each "
            "in-scope disclosure, by the supplier's system."
        )
    if later:
        starts = ", ".join(f"{item.reference} (starts {item.start_date})" for item in later)
        ready = (
            "opt-outs must be applied to them by the supplier's system, or, if they are made "
            "from another system, the technical solution set up before then"
            if by_supplier
            else "the technical solution must be in place before then"
        )
        reasons.append(
            f"Assessed APPLY but starting after the next {horizon_days} days: {starts}; {ready}."
        )
    if unknown:
        listed = ", ".join(f"{item.reference} ({item.state})" for item in unknown)
        reasons.append(
            f"Provisional: {_count(unknown, 'disclosure', 'disclosures')} running now or "
            f"starting within the next {horizon_days} days "
            f"{'has' if len(unknown) == 1 else 'have'} no current, decided assessment, so "
            f"the verdict may change once assessed: {listed}."
        )
    return reasons


#: Why a disclosure's scope is not settled, by its state, as a sentence ends.
_UNSETTLED = {
    NOT_ASSESSED: "has not been assessed against the national data opt-out policy",
    CHANGED: "changed in a way that bears on scope since it was last assessed",
    RULES_CHANGED: "was assessed under scope rules no longer in force",
    MORE_INFORMATION: "needs more information before it can be assessed",
}


def why_unsettled(state: str) -> str:
    """Why a disclosure in ``state`` has no current, decided assessment, in words."""
    return _UNSETTLED.get(state, f"has no current, decided assessment ({state})")
