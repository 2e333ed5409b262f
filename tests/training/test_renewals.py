"""Renewal reminders at 90, 30 and 7 days and on expiry: each sent exactly once, however
often the job runs and wherever a run stops."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from ndoo.errors import NotificationFailed
from ndoo.identity.notify import OutboxNotifier, outbox
from ndoo.settings import load_settings
from ndoo.training import roster
from ndoo.training.renewals import remind, reminders
from tests.training.helpers import completed_on, person, take_module

SETTINGS = load_settings({})
EXPIRES = date(2027, 3, 1)


def _trained(db, name: str, **kw) -> int:
    learner = person(db, name, **kw)
    completed_on(db, take_module(db, learner.id), date(2026, 3, 1))
    return learner.id


def _reminders_sent(db) -> list[tuple[str, str]]:
    """(recipient, subject) of every reminder in the outbox, oldest first."""
    return [
        (m.recipient, m.subject or "")
        for m in reversed(outbox(db, 1000))
        if (m.reference or "").startswith("training-reminder-")
    ]


def test_running_every_day_sends_each_reminder_once(db):
    learner = _trained(db, "Daily Runner")
    notifier = OutboxNotifier(db)
    day = EXPIRES - timedelta(days=120)
    while day <= EXPIRES + timedelta(days=20):
        remind(db, notifier, SETTINGS, today=day)
        remind(db, notifier, SETTINGS, today=day)  # cron twice the same day
        day += timedelta(days=1)
    kinds = [(r.kind, r.status) for r in reminders(db, learner)]
    assert kinds == [("due-90", "sent"), ("due-30", "sent"), ("due-7", "sent"), ("expired", "sent")]
    sent = _reminders_sent(db)
    assert len(sent) == 4
    assert [s for _, s in sent].count("Your national data opt-out training has expired") == 1
    first = outbox(db, 1000)[-1]
    assert "1 March 2027" in first.body and "/training" in first.body


def test_a_late_run_sends_only_the_latest_reminder(db):
    learner = _trained(db, "Late Runner")
    run = remind(db, OutboxNotifier(db), SETTINGS, today=EXPIRES - timedelta(days=5))
    assert (run.sent, run.superseded) == (1, 2)
    assert [(r.kind, r.status) for r in reminders(db, learner)] == [
        ("due-90", "superseded"),
        ("due-30", "superseded"),
        ("due-7", "sent"),
    ]


class _Crash(BaseException):
    """The process dying: nothing after it runs (not an Exception, so nothing catches it)."""


class _CrashAfterSending(OutboxNotifier):
    def __init__(self, db, after: int) -> None:
        super().__init__(db)
        self.left = after

    def send_email(self, to, subject, body, *, reference):
        super().send_email(to, subject, body, reference=reference)
        self.left -= 1
        if self.left == 0:
            raise _Crash  # sent, but the run dies before recording it


class _CrashBeforeSending(OutboxNotifier):
    def send_email(self, to, subject, body, *, reference):
        raise _Crash  # claimed, never sent


def test_a_run_that_dies_after_sending_is_finished_without_sending_again(db):
    for name in ("One", "Two", "Three"):
        _trained(db, f"Person {name}")
    today = EXPIRES - timedelta(days=30)
    with pytest.raises(_Crash):
        remind(db, _CrashAfterSending(db, after=2), SETTINGS, today=today)
    assert len(_reminders_sent(db)) == 2
    run = remind(db, OutboxNotifier(db), SETTINGS, today=today)
    assert (run.finished, run.sent) == (1, 1)
    sent = _reminders_sent(db)
    assert len(sent) == 3 and len(set(sent)) == 3, "everyone once, nobody twice"
    assert remind(db, OutboxNotifier(db), SETTINGS, today=today).sent == 0


def test_a_run_that_dies_before_sending_is_sent_once_the_claim_is_stale(db):
    learner = _trained(db, "Claimed Only")
    today = EXPIRES - timedelta(days=7)
    with pytest.raises(_Crash):
        remind(db, _CrashBeforeSending(db), SETTINGS, today=today)
    assert [r.status for r in reminders(db, learner)][-1] == "claimed"
    fresh = remind(db, OutboxNotifier(db), SETTINGS, today=today)
    assert fresh.sent == 0, "a fresh claim may be another run still sending"
    run = remind(db, OutboxNotifier(db), SETTINGS, today=today, stale_after=timedelta(0))
    assert run.sent == 1
    assert len(_reminders_sent(db)) == 1


class _Smtpish(OutboxNotifier):
    """A backend that cannot say what it sent (like SMTP)."""

    def sent(self, reference):
        return None


def test_a_backend_that_cannot_tell_is_never_sent_twice(db):
    learner = _trained(db, "Smtp User")
    today = EXPIRES - timedelta(days=7)
    with pytest.raises(_Crash):
        remind(db, _CrashBeforeSending(db), SETTINGS, today=today)
    run = remind(db, _Smtpish(db), SETTINGS, today=today, stale_after=timedelta(0))
    assert (run.uncertain, run.sent) == (1, 0)
    assert "not sent again" in run.summary()
    assert reminders(db, learner)[-1].status == "uncertain"


class _Refusing(OutboxNotifier):
    def send_email(self, to, subject, body, *, reference):
        raise NotificationFailed("the service is down")


def test_a_failed_send_is_reported_and_tried_next_run(db):
    _trained(db, "Retry Me")
    today = EXPIRES - timedelta(days=30)
    run = remind(db, _Refusing(db), SETTINGS, today=today)
    assert run.sent == 0 and run.failed == ["NotificationFailed: the service is down"]
    assert remind(db, OutboxNotifier(db), SETTINGS, today=today).sent == 1
    assert len(_reminders_sent(db)) == 1


def test_runs_at_the_same_time_send_each_reminder_once(db):
    for n in range(8):
        _trained(db, f"Concurrent {n}")
    today = EXPIRES - timedelta(days=90)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            remind(db, OutboxNotifier(db), SETTINGS, today=today)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sent = _reminders_sent(db)
    assert len(sent) == 8 and len(set(sent)) == 8


def test_leavers_people_not_required_and_renewers_get_no_reminder(db):
    leaver = _trained(db, "Has Left")
    roster.leave(db, roster.get_by_id(db, leaver).email, actor="t")
    _trained(db, "Porter", role="Porter")
    renewer = _trained(db, "Renewed Early")
    completed_on(db, take_module(db, renewer), date(2026, 11, 1))
    settings = load_settings({"NDOO_TRAINING_REQUIRED_ROLES": "Receptionist"})
    run = remind(db, OutboxNotifier(db), settings, today=EXPIRES - timedelta(days=30))
    assert run.sent == 0 and _reminders_sent(db) == []


def test_the_reminder_days_are_a_setting(db):
    learner = _trained(db, "Custom Days")
    settings = load_settings({"NDOO_TRAINING_REMINDER_DAYS": "60,14"})
    day = EXPIRES - timedelta(days=100)
    while day <= EXPIRES:
        remind(db, OutboxNotifier(db), settings, today=day)
        day += timedelta(days=1)
    assert [r.kind for r in reminders(db, learner)] == ["due-60", "due-14", "expired"]
