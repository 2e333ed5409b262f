"""Who is in date, due, not started or overdue, by team and role."""

from __future__ import annotations

from datetime import date, timedelta

from ndoo.settings import load_settings
from ndoo.training import roster
from ndoo.training.dashboard import DUE, IN_DATE, NOT_STARTED, OVERDUE, dashboard
from tests.training.helpers import completed_on, joined_on, person, take_module

TODAY = date(2027, 6, 1)


def _settings(**env: str):
    return load_settings({f"NDOO_{k.upper()}": v for k, v in env.items()})


def test_standings_percentages_and_lists(db):
    settings = _settings(
        training_required_roles="Nurse, Receptionist", training_new_starter_days="30"
    )
    fresh = person(db, "In Date", team="Ward 1", role="Nurse")
    completed_on(db, take_module(db, fresh.id), TODAY - timedelta(days=100))
    soon = person(db, "Due Soon", team="Ward 1", role="Nurse")
    completed_on(db, take_module(db, soon.id), TODAY - timedelta(days=300))
    lapsed = person(db, "Lapsed", team="Reception", role="Receptionist")
    completed_on(db, take_module(db, lapsed.id), TODAY - timedelta(days=400))
    starter = person(db, "New Starter", team="Reception", role="Receptionist")
    joined_on(db, starter.id, TODAY - timedelta(days=10))
    late = person(db, "Never Trained", team="Reception", role="Receptionist")
    joined_on(db, late.id, TODAY - timedelta(days=45))
    person(db, "Porter", team="Estates", role="Porter")  # not required
    leaver = person(db, "Leaver", team="Ward 1", role="Nurse")
    roster.leave(db, leaver.email, actor="t")

    board = dashboard(db, settings, TODAY)
    status = {s.member.name: s.status for s in board.standings}
    assert status == {
        "In Date": IN_DATE,
        "Due Soon": DUE,
        "Lapsed": OVERDUE,
        "New Starter": NOT_STARTED,
        "Never Trained": OVERDUE,
        "Porter": "",
    }
    assert board.overall.required == 5 and board.overall.in_date == 2
    assert board.overall.percent == 40.0 and board.not_required == 1
    teams = {g.name: (g.required, g.in_date, g.percent) for g in board.teams}
    assert teams == {"Reception": (3, 0, 0.0), "Ward 1": (2, 2, 100.0)}
    assert [r.name for r in board.roles] == ["Nurse", "Receptionist"]
    assert [s.member.name for s in board.due] == ["New Starter", "Due Soon"]
    assert [s.member.name for s in board.overdue] == ["Lapsed", "Never Trained"]
    due_soon = next(s for s in board.due if s.member.name == "Due Soon")
    assert due_soon.days_left == 65


def test_on_the_expiry_day_a_pass_no_longer_counts(db):
    settings = _settings()
    learner = person(db, "Edge Case")
    completion = take_module(db, learner.id)
    completed_on(db, completion, date(2026, 6, 1))
    assert dashboard(db, settings, date(2027, 5, 31)).standings[0].status == DUE
    assert dashboard(db, settings, date(2027, 6, 1)).standings[0].status == OVERDUE


def test_changing_the_required_roles_changes_who_counts(db):
    person(db, "Care Worker", role="Care worker")
    assert dashboard(db, _settings(), TODAY).overall.required == 1
    assert dashboard(db, _settings(training_required_roles="nurse"), TODAY).overall.required == 0
    assert dashboard(db, _settings(training_required_roles="nurse"), TODAY).overall.percent == 100.0


def test_a_renewal_counts_the_newest_pass(db):
    learner = person(db, "Renewer")
    completed_on(db, take_module(db, learner.id), date(2025, 1, 10))
    completed_on(db, take_module(db, learner.id), date(2026, 1, 5))
    board = dashboard(db, _settings(), date(2026, 6, 1))
    assert board.standings[0].status == IN_DATE
    assert board.standings[0].latest.completed_on == date(2026, 1, 5)
