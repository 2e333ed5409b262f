"""Renewal reminders: before a pass expires, and on the day it does, each sent once.

A pass is valid for a year.  :func:`remind` sends each member of staff whose role
requires the training a reminder 90, 30 and 7 days before their latest pass expires
(the setting ``training_reminder_days``) and one on the day it expires, through the
notification interface.  It is meant to run from cron, as often as you like:

- **Each reminder once.**  A reminder is a ``training_reminder`` row, unique for its
  pass and kind.  The row is *claimed* in its own transaction before the message is
  sent and marked *sent* after, so two runs at once cannot both send it, and a run
  that finds it claimed or sent does nothing.
- **A run that stops midway** (killed, a crash, the machine going down) leaves a
  claimed row.  The next run asks the notification service whether a message with the
  reminder's reference was accepted (:meth:`Notifier.sent`): if it was, the row is
  marked sent; if it was not, the reminder is sent now.  A claim is only looked at
  once it is older than ``stale_after`` (another run may be sending it).  SMTP keeps
  no record to ask, so such a reminder is marked *uncertain* and reported rather than
  risk sending it twice.
- **Late runs.**  If no run happened while several reminders fell due (cron was off
  for a month), only the latest is sent; the earlier ones are recorded as
  *superseded*, so nobody receives three reminders in one morning.
- **A failed send** (the service refused or was down) releases the claim and is
  reported; the next run tries again.  Other reminders in the run still go.

Leavers, staff whose role no longer requires the training, and people who renewed
(a newer pass) are not reminded about the old pass.  Nothing is logged but counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ndoo.db import Database
from ndoo.db.models import training_reminder
from ndoo.errors import NdooError
from ndoo.identity.notify import Notifier
from ndoo.settings import Settings
from ndoo.timeutil import from_db, to_db, utcnow
from ndoo.training.dashboard import latest_completions
from ndoo.training.roster import Member, members

log = logging.getLogger(__name__)

CLAIMED, SENT, SUPERSEDED, UNCERTAIN = "claimed", "sent", "superseded", "uncertain"
EXPIRED = "expired"
STALE_AFTER = timedelta(minutes=15)


def schedule(settings: Settings) -> list[tuple[str, int]]:
    """The reminders, earliest first: (kind, days before expiry)."""
    days: tuple[int, ...] = settings.training_reminder_days
    return [(f"due-{d}", d) for d in days] + [(EXPIRED, 0)]


@dataclass
class ReminderRun:
    """What one run did."""

    today: date
    sent: int = 0
    superseded: int = 0
    finished: int = 0  # claims of a stopped run found sent and marked so
    uncertain: int = 0
    failed: list[str] = field(default_factory=list)  # reasons, without addresses

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "today": self.today.isoformat()}

    def summary(self) -> str:
        text = (
            f"{self.sent} reminders sent, {self.superseded} superseded by a later one, "
            f"{self.finished} found sent by an earlier run"
        )
        if self.uncertain:
            text += (
                f"; {self.uncertain} may or may not have gone (an earlier run stopped while "
                "sending, and the notification backend cannot tell): not sent again"
            )
        if self.failed:
            text += f"; {len(self.failed)} failed and will be tried again: {self.failed[0]}"
        return text


def reference(reminder_id: int) -> str:
    return f"training-reminder-{reminder_id}"


def message(member: Member, kind: str, expires_on: date, base_url: str) -> tuple[str, str]:
    """The subject and body of a reminder."""
    when = f"{expires_on.day} {expires_on:%B %Y}"
    link = f"{base_url}/training"
    if kind == EXPIRED:
        return (
            "Your national data opt-out training has expired",
            f"Dear {member.name},\n\nYour national data opt-out training expired on {when}. "
            f"Your role requires it every year, so please take the module again as soon as "
            f"you can: {link}\n\nUntil you do, you are shown as overdue on your "
            "organisation's training record.",
        )
    days = int(kind.removeprefix("due-"))
    return (
        "Your national data opt-out training is due for renewal",
        f"Dear {member.name},\n\nYour national data opt-out training expires on {when} "
        f"(in {days} days or less). Your role requires it every year: take the module "
        f"again before then at {link}\n\nIt takes about 25 minutes, and you can take it in "
        "English, Welsh or Polish.",
    )


def _finish_stopped_runs(
    db: Database, notifier: Notifier, run: ReminderRun, now: datetime, stale_after: timedelta
) -> None:
    with db.read() as conn:
        claims = list(
            conn.execute(select(training_reminder).where(training_reminder.c.status == CLAIMED))
        )
    for claim in claims:
        stale = from_db(claim.claimed_at) <= now - stale_after
        try:
            accepted = notifier.sent(reference(int(claim.id)))
        except NdooError as exc:  # the service cannot be asked now; ask next run
            run.failed.append(f"{type(exc).__name__}: {exc.message}")
            continue
        with db.write() as conn:
            if accepted:
                conn.execute(
                    update(training_reminder)
                    .where(training_reminder.c.id == claim.id)
                    .values(status=SENT, sent_at=to_db(now))
                )
                run.finished += 1
            elif stale and accepted is None:
                conn.execute(
                    update(training_reminder)
                    .where(training_reminder.c.id == claim.id)
                    .values(status=UNCERTAIN)
                )
                run.uncertain += 1
            elif stale:
                conn.execute(delete(training_reminder).where(training_reminder.c.id == claim.id))


def _claim(
    db: Database, completion_id: int, member: Member, kind: str, earlier: list[str], expires: date
) -> int | None:
    """Claim the reminder (and record the ``earlier`` kinds as superseded); its id, or
    ``None`` when another run has it already."""
    now = to_db(utcnow())
    row = {
        "completion_id": completion_id,
        "trainee_id": member.id,
        "expires_on": expires,
        "claimed_at": now,
    }
    with db.write() as conn:
        try:
            with conn.begin_nested():  # a savepoint: losing the race leaves nothing behind
                for old in earlier:
                    conn.execute(
                        training_reminder.insert().values(kind=old, status=SUPERSEDED, **row)
                    )
                new_id = conn.execute(
                    training_reminder.insert().values(kind=kind, status=CLAIMED, **row)
                ).inserted_primary_key[0]
        except IntegrityError:  # another run claimed it first
            return None
    return int(new_id)


def remind(
    db: Database,
    notifier: Notifier,
    settings: Settings,
    *,
    today: date | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> ReminderRun:
    """Send the reminders due on ``today`` (see the module's notes)."""
    now = utcnow()
    today = today or now.date()
    run = ReminderRun(today)
    _finish_stopped_runs(db, notifier, run, now, stale_after)
    plan = schedule(settings)
    latest = latest_completions(db)
    with db.read() as conn:
        recorded: dict[int, set[str]] = {}
        for row in conn.execute(
            select(training_reminder.c.completion_id, training_reminder.c.kind)
        ):
            recorded.setdefault(int(row.completion_id), set()).add(row.kind)
    for member in members(db):
        done = latest.get(member.id)
        if done is None or not settings.training_required_roles.requires(member.role):
            continue
        due = [kind for kind, days in plan if today >= done.expires_on - timedelta(days=days)]
        have = recorded.get(done.id, set())
        if not due or due[-1] in have:
            continue
        kind = due[-1]
        claim = _claim(
            db, done.id, member, kind, [k for k in due[:-1] if k not in have], done.expires_on
        )
        if claim is None:
            continue
        run.superseded += len([k for k in due[:-1] if k not in have])
        subject, body = message(member, kind, done.expires_on, settings.web_base_url)
        try:
            notifier.send_email(member.email, subject, body, reference=reference(claim))
        except NdooError as exc:
            accepted = notifier.sent(reference(claim))
            if not accepted:
                with db.write() as conn:
                    conn.execute(delete(training_reminder).where(training_reminder.c.id == claim))
                run.failed.append(f"{type(exc).__name__}: {exc.message}")
                continue
        with db.write() as conn:
            conn.execute(
                update(training_reminder)
                .where(training_reminder.c.id == claim)
                .values(status=SENT, sent_at=to_db(utcnow()))
            )
        run.sent += 1
    log.info(
        "training reminders: %d sent, %d superseded, %d finished, %d uncertain, %d failed",
        run.sent,
        run.superseded,
        run.finished,
        run.uncertain,
        len(run.failed),
    )
    return run


@dataclass(frozen=True)
class Reminder:
    kind: str
    expires_on: date
    status: str
    claimed_at: datetime
    sent_at: datetime | None


def reminders(db: Database, trainee_id: int) -> list[Reminder]:
    """The reminders recorded for one person, oldest first."""
    with db.read() as conn:
        rows = conn.execute(
            select(training_reminder)
            .where(training_reminder.c.trainee_id == trainee_id)
            .order_by(training_reminder.c.id)
        )
        return [
            Reminder(
                r.kind,
                r.expires_on,
                r.status,
                from_db(r.claimed_at),
                from_db(r.sent_at) if r.sent_at else None,
            )
            for r in rows
        ]
