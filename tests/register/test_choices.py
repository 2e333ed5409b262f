"""Setting, viewing and tracing choices, against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ndoo import audit
from ndoo.db import Database
from ndoo.db.models import audit_entry, choice_event
from ndoo.errors import (
    DeceasedPerson,
    DuplicateEvent,
    InputError,
    InvalidNHSNumber,
    PersonNotFound,
    ProxyNotPermitted,
    RuleViolation,
    SelfNotPermitted,
)
from ndoo.register import (
    Channel,
    ChoiceChange,
    ProxyRole,
    State,
    current_choice,
    history,
    set_choice,
)
from tests.conftest import ADULT, CHILD, ELDER, OTHER

WHEN = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)


def out(number: str, **kw: object) -> ChoiceChange:
    defaults: dict[str, object] = {"channel": Channel.OP, "by_self": True, "effective_at": WHEN}
    return ChoiceChange(number, State.OUT, **{**defaults, **kw})  # type: ignore[arg-type]


def counts(db: Database) -> tuple[int, int]:
    with db.read() as conn:
        events = conn.execute(select(func.count()).select_from(choice_event)).scalar_one()
        entries = conn.execute(select(func.count()).select_from(audit_entry)).scalar_one()
    return int(events), int(entries)


def test_default_is_opted_in_with_no_record(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    choice = current_choice(db, ADULT)
    assert choice.state is State.IN
    assert choice.since is None
    assert history(db, ADULT).events == []


def test_adult_opts_out_then_withdraws_and_history_keeps_both(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    first = set_choice(db, out(ADULT), actor="web")
    assert first.changed and first.state is State.OUT and first.since == WHEN
    later = WHEN + timedelta(days=30)
    second = set_choice(
        db,
        ChoiceChange(ADULT, State.IN, Channel.PFSP, by_self=True, effective_at=later),
        actor="app",
    )
    assert second.state is State.IN
    assert current_choice(db, "943 476 5919").state is State.IN
    found = history(db, ADULT)
    assert [(e.state, e.channel) for e in found.events] == [
        (State.OUT, Channel.OP),
        (State.IN, Channel.PFSP),
    ]
    assert [(r.state, r.record_start, r.record_end) for r in found.records] == [
        (State.OUT, WHEN, later),
        (State.IN, later, None),
    ]


def test_setting_the_same_choice_again_records_nothing(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    set_choice(db, out(ADULT), actor="web")
    again = set_choice(db, out(ADULT, effective_at=WHEN + timedelta(hours=1)), actor="web")
    assert not again.changed
    assert again.state is State.OUT
    assert len(history(db, ADULT).events) == 1


def test_withdrawing_with_nothing_recorded_changes_nothing(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    result = set_choice(
        db, ChoiceChange(ADULT, State.IN, Channel.OP, by_self=True, effective_at=WHEN), actor="web"
    )
    assert not result.changed
    assert history(db, ADULT).events == []


def test_thirteenth_birthday_is_the_first_day_a_person_sets_their_own_choice(db, add_person):
    add_person(CHILD, born=date(2011, 6, 2))  # 13 on 2024-06-02
    with pytest.raises(SelfNotPermitted, match="under 13"):
        set_choice(
            db, out(CHILD, effective_at=datetime(2024, 6, 1, 23, 59, tzinfo=UTC)), actor="web"
        )
    choice = set_choice(db, out(CHILD, effective_at=datetime(2024, 6, 2, tzinfo=UTC)), actor="web")
    assert choice.state is State.OUT


def test_guardian_acts_for_a_child_with_evidence(db, add_person):
    add_person(CHILD, born=date(2016, 3, 1))
    change = out(
        CHILD,
        by_self=False,
        proxy_role=ProxyRole.GUARDIAN,
        proxy_name="A Parent",
        proxy_evidence="PR-1234",
        channel=Channel.PP,
        case_reference="12345-C",
    )
    assert set_choice(db, change, actor="paper").state is State.OUT
    event = history(db, CHILD).events[0]
    assert (event.actor, event.proxy_name, event.proxy_evidence, event.case_reference) == (
        "GUARDIAN",
        "A Parent",
        "PR-1234",
        "12345-C",
    )


@pytest.mark.parametrize(
    ("role", "name", "evidence", "error", "message"),
    [
        (ProxyRole.GUARDIAN, "A Parent", None, ProxyNotPermitted, "evidence"),
        (ProxyRole.GUARDIAN, None, "PR-1", ProxyNotPermitted, "name"),
        (ProxyRole.GUARDIAN, "A Parent", "PR-1", ProxyNotPermitted, "child under 13"),
        (ProxyRole.POA, "An Attorney", "LPA-1", ProxyNotPermitted, "lacking capacity"),
        (ProxyRole.COURTDEP, "A Deputy", "CO-1", ProxyNotPermitted, "lacking capacity"),
        (ProxyRole.HCP, "A Nurse", "SE-1", ProxyNotPermitted, "detained"),
    ],
)
def test_a_proxy_cannot_act_for_an_adult_with_capacity(
    db, add_person, role, name, evidence, error, message
):
    add_person(ADULT, born=date(1980, 1, 1))
    before = counts(db)
    change = out(
        ADULT,
        by_self=False,
        proxy_role=role,
        proxy_name=name,
        proxy_evidence=evidence,
        channel=Channel.CC,
    )
    with pytest.raises(error, match=message):
        set_choice(db, change, actor="cc")
    assert counts(db) == before


def test_attorney_acts_for_an_adult_recorded_as_lacking_capacity(db, add_person):
    add_person(ELDER, born=date(1940, 5, 5), lacks_capacity=True)
    with pytest.raises(SelfNotPermitted, match="lacking capacity"):
        set_choice(db, out(ELDER), actor="web")
    change = out(
        ELDER,
        by_self=False,
        proxy_role=ProxyRole.POA,
        proxy_name="B Attorney",
        proxy_evidence="LPA-77",
        channel=Channel.PP,
    )
    assert set_choice(db, change, actor="paper").state is State.OUT
    guardian = out(
        ELDER,
        by_self=False,
        proxy_role=ProxyRole.GUARDIAN,
        proxy_name="X",
        proxy_evidence="PR-2",
        channel=Channel.PP,
        effective_at=WHEN + timedelta(days=1),
    )
    with pytest.raises(ProxyNotPermitted, match="guardian"):
        set_choice(db, guardian, actor="paper")


def test_healthcare_professional_acts_in_a_detained_estate(db, add_person):
    add_person(OTHER, born=date(1990, 1, 1), detained=True)
    change = out(
        OTHER,
        by_self=False,
        proxy_role=ProxyRole.HCP,
        proxy_name="C Nurse",
        proxy_evidence="SE-9",
        channel=Channel.PP,
    )
    assert set_choice(db, change, actor="paper").changed


def test_exactly_one_of_self_or_proxy():
    with pytest.raises(RuleViolation, match="not both"):
        ChoiceChange(ADULT, State.OUT, Channel.OP, by_self=True, proxy_role=ProxyRole.POA)
    with pytest.raises(RuleViolation, match="say who acted"):
        ChoiceChange(ADULT, State.OUT, Channel.OP)


def test_type2_channel_is_not_for_people():
    with pytest.raises(InputError, match="Type 2"):
        ChoiceChange(ADULT, State.OUT, Channel.T2, by_self=True)


def test_opt_out_persists_after_death_and_cannot_change(db, add_person):
    add_person(ELDER, born=date(1940, 5, 5))
    set_choice(db, out(ELDER), actor="web")
    from ndoo import people

    people.update_facts(db, ELDER, actor="pds", date_of_death=date(2025, 1, 1))
    choice = current_choice(db, ELDER)
    assert choice.state is State.OUT and choice.deceased
    before = counts(db)
    withdraw = ChoiceChange(ELDER, State.IN, Channel.CC, by_self=True)
    with pytest.raises(DeceasedPerson):
        set_choice(db, withdraw, actor="cc")
    backdated = ChoiceChange(
        ELDER, State.IN, Channel.CC, by_self=True, effective_at=datetime(2024, 12, 1, tzinfo=UTC)
    )
    with pytest.raises(DeceasedPerson):
        set_choice(db, backdated, actor="cc")
    assert counts(db) == before
    assert current_choice(db, ELDER).state is State.OUT


def test_two_events_at_the_same_effective_time_are_refused(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    set_choice(db, out(ADULT), actor="web")
    with pytest.raises(DuplicateEvent):
        set_choice(
            db,
            ChoiceChange(ADULT, State.IN, Channel.OP, by_self=True, effective_at=WHEN),
            actor="web",
        )


def test_backdated_paper_form_slots_into_history(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    t1, t2, t3 = WHEN, WHEN + timedelta(days=60), WHEN + timedelta(days=30)
    set_choice(db, out(ADULT, effective_at=t1), actor="web")
    set_choice(
        db, ChoiceChange(ADULT, State.IN, Channel.OP, by_self=True, effective_at=t2), actor="web"
    )
    # A paper withdrawal posted earlier, processed later, takes effect between them.
    set_choice(
        db,
        ChoiceChange(ADULT, State.IN, Channel.PP, by_self=True, effective_at=t3),
        actor="paper",
    )
    records = history(db, ADULT).records
    assert [(r.state, r.record_start, r.record_end) for r in records] == [
        (State.OUT, t1, t3),
        (State.IN, t3, None),
    ]


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (datetime(2018, 5, 24, tzinfo=UTC), "25 May 2018"),
        (datetime.now(UTC) + timedelta(days=1), "future"),
        (datetime(1979, 12, 31, tzinfo=UTC), "before the person was born"),
    ],
)
def test_effective_time_limits(db, add_person, when, message):
    add_person(ADULT, born=date(1980, 1, 1))
    with pytest.raises((RuleViolation, InputError), match=message):
        set_choice(db, out(ADULT, effective_at=when), actor="web")


def test_unknown_person_and_bad_numbers_are_clear(db, add_person):
    with pytest.raises(PersonNotFound):
        current_choice(db, ADULT)
    with pytest.raises(InvalidNHSNumber, match="check digit"):
        current_choice(db, "9434765918")
    with pytest.raises(InvalidNHSNumber, match="10 digits"):
        set_choice(db, out("943476591"), actor="web")


def test_every_change_is_audited_without_the_nhs_number(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    choice = set_choice(db, out(ADULT), actor="cc-agent-7")
    newest = audit.entries(db, limit=1)[0]
    assert newest.action == "register.set"
    assert newest.actor == "cc-agent-7"
    assert newest.detail["event"] == choice.event_id
    assert ADULT not in repr(newest)
    assert audit.verify(db).ok
