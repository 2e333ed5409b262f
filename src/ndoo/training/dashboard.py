"""Who is trained: each member of staff's standing, and the organisation's percentages.

Everyone on the roster whose job role requires the training (the setting
``training_required_roles``) has a standing on a given day:

- **in date**: their latest pass has not expired;
- of those, **due** when it expires within :data:`DUE_WINDOW` days;
- **not started**: never passed, but still within ``training_new_starter_days`` of
  joining or of moving into a role that requires it;
- **overdue**: their pass has expired, or they never passed and that time is up.

The percentage is of required staff in date, for the whole organisation, by team and by
job role.  Leavers and staff whose role does not require the training are not counted;
their records stay for the evidence (:mod:`ndoo.training.evidence`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from ndoo.db import Database
from ndoo.db.models import training_completion
from ndoo.settings import Settings
from ndoo.timeutil import utcnow
from ndoo.training.assessment import Completion, completion_from_row
from ndoo.training.roster import Member, members

#: Staff whose training expires within this many days are listed as due.
DUE_WINDOW = 90

IN_DATE, DUE, NOT_STARTED, OVERDUE = "in date", "due", "not started", "overdue"


@dataclass(frozen=True)
class Standing:
    member: Member
    required: bool
    status: str  # one of IN_DATE, DUE, NOT_STARTED, OVERDUE; "" when not required
    latest: Completion | None
    due_on: date | None  # when the training (or its renewal) is due
    days_left: int | None  # until due_on; negative when overdue

    @property
    def in_date(self) -> bool:
        return self.status in (IN_DATE, DUE)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.member.name,
            "email": self.member.email,
            "team": self.member.team,
            "role": self.member.role,
            "required": self.required,
            "status": self.status,
            "completed_on": self.latest.completed_on.isoformat() if self.latest else None,
            "score": self.latest.score if self.latest else None,
            "expires_on": self.latest.expires_on.isoformat() if self.latest else None,
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "days_left": self.days_left,
        }


@dataclass(frozen=True)
class Group:
    """Counts for the organisation, a team or a role."""

    name: str
    required: int
    in_date: int
    due: int
    not_started: int
    overdue: int

    @property
    def percent(self) -> float:
        """Share of required staff in date, 0 to 100 (100 when nobody is required)."""
        return round(100 * self.in_date / self.required, 1) if self.required else 100.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "percent": self.percent}


@dataclass(frozen=True)
class Dashboard:
    today: date
    overall: Group
    teams: tuple[Group, ...]
    roles: tuple[Group, ...]
    due: tuple[Standing, ...]  # due within DUE_WINDOW days (renewals and new starters)
    overdue: tuple[Standing, ...]
    not_required: int
    standings: tuple[Standing, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "overall": self.overall.as_dict(),
            "teams": [g.as_dict() for g in self.teams],
            "roles": [g.as_dict() for g in self.roles],
            "due": [s.as_dict() for s in self.due],
            "overdue": [s.as_dict() for s in self.overdue],
            "not_required": self.not_required,
        }


def latest_completions(db: Database) -> dict[int, Completion]:
    """Each person's pass that expires last."""
    latest: dict[int, Completion] = {}
    with db.read() as conn:
        rows = conn.execute(
            select(training_completion).order_by(
                training_completion.c.expires_on, training_completion.c.id
            )
        )
        for row in rows:
            latest[int(row.trainee_id)] = completion_from_row(row)
    return latest


def standing(
    member: Member, latest: Completion | None, settings: Settings, today: date
) -> Standing:
    """One member's standing on ``today``."""
    required = member.active and settings.training_required_roles.requires(member.role)
    if not required:
        return Standing(member, False, "", latest, None, None)
    if latest is not None and latest.in_date(today):
        days = (latest.expires_on - today).days
        status = DUE if days <= DUE_WINDOW else IN_DATE
        return Standing(member, True, status, latest, latest.expires_on, days)
    if latest is not None:
        days = (latest.expires_on - today).days
        return Standing(member, True, OVERDUE, latest, latest.expires_on, days)
    due_on = member.role_since + timedelta(days=settings.training_new_starter_days)
    days = (due_on - today).days
    return Standing(member, True, NOT_STARTED if days > 0 else OVERDUE, None, due_on, days)


def standings(db: Database, settings: Settings, today: date | None = None) -> list[Standing]:
    """The standing of every current member of staff."""
    today = today or utcnow().date()
    latest = latest_completions(db)
    return [standing(m, latest.get(m.id), settings, today) for m in members(db)]


def _group(name: str, items: Iterable[Standing]) -> Group:
    items = [s for s in items if s.required]
    count = {
        status: sum(1 for s in items if s.status == status)
        for status in (IN_DATE, DUE, NOT_STARTED, OVERDUE)
    }
    return Group(
        name=name,
        required=len(items),
        in_date=count[IN_DATE] + count[DUE],
        due=count[DUE],
        not_started=count[NOT_STARTED],
        overdue=count[OVERDUE],
    )


def dashboard(db: Database, settings: Settings, today: date | None = None) -> Dashboard:
    """The organisation's training compliance on ``today``."""
    today = today or utcnow().date()
    everyone = standings(db, settings, today)
    required = [s for s in everyone if s.required]
    teams = sorted({s.member.team for s in required}, key=str.casefold)
    roles = sorted({s.member.role for s in required}, key=str.casefold)
    due = [
        s
        for s in required
        if s.status == DUE or (s.status == NOT_STARTED and (s.days_left or 0) <= DUE_WINDOW)
    ]
    overdue = [s for s in required if s.status == OVERDUE]
    return Dashboard(
        today=today,
        overall=_group("All required staff", required),
        teams=tuple(_group(t, (s for s in required if s.member.team == t)) for t in teams),
        roles=tuple(_group(r, (s for s in required if s.member.role == r)) for r in roles),
        due=tuple(sorted(due, key=lambda s: (s.due_on or today, s.member.name))),
        overdue=tuple(sorted(overdue, key=lambda s: (s.due_on or today, s.member.name))),
        not_required=len(everyone) - len(required),
        standings=tuple(everyone),
    )
