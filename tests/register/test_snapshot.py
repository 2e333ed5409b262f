"""Snapshots: who had an opt-out in force at a moment, for checking and statistics."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from ndoo import people
from ndoo.nhs_number import to_text_array
from ndoo.register import Channel, ChoiceChange, State, set_choice, snapshot
from tests.conftest import ADULT, CHILD, ELDER, OTHER


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def change(number: str, state: State, when: datetime) -> ChoiceChange:
    return ChoiceChange(number, state, Channel.OP, by_self=True, effective_at=when)


def test_snapshot_follows_history_and_keeps_the_deceased(db, add_person):
    for number in (ADULT, ELDER, OTHER):
        add_person(number, born=date(1950, 1, 1))
    add_person(CHILD, born=date(1990, 1, 1))
    set_choice(db, change(ADULT, State.OUT, at(2019, 1, 1)), actor="t")
    set_choice(db, change(ADULT, State.IN, at(2021, 1, 1)), actor="t")
    set_choice(db, change(ELDER, State.OUT, at(2021, 6, 10)), actor="t")
    people.update_facts(db, ELDER, actor="t", date_of_death=date(2023, 1, 1))
    set_choice(db, change(OTHER, State.OUT, at(2020, 5, 5)), actor="t")

    assert snapshot(db, at(2018, 12, 31)).size == 0
    assert to_text_array(snapshot(db, at(2020, 6, 1))).tolist() == sorted([ADULT, OTHER])
    # The record boundary: the withdrawal takes effect at its start instant.
    assert ADULT not in to_text_array(snapshot(db, at(2021, 1, 1))).tolist()
    now = snapshot(db)
    assert to_text_array(now).tolist() == sorted([ELDER, OTHER])
    assert now.dtype == np.int64
    assert np.all(np.diff(now) > 0)


def test_the_stored_snapshot_is_used_until_a_choice_changes(db, add_person):
    from sqlalchemy import select

    from ndoo.db.models import register_snapshot
    from ndoo.register import current_snapshot

    for number in (ADULT, ELDER, OTHER):
        add_person(number, born=date(1950, 1, 1))
    set_choice(db, change(ADULT, State.OUT, at(2020, 1, 1)), actor="t")

    first, taken = current_snapshot(db)
    assert to_text_array(first).tolist() == [ADULT]
    assert taken.tzinfo is not None
    with db.read() as conn:
        stored = conn.execute(select(register_snapshot)).one()
    assert stored.count == 1

    again, _ = current_snapshot(db)  # nothing changed: the stored copy
    assert np.array_equal(again, first)

    set_choice(db, change(OTHER, State.OUT, at(2021, 1, 1)), actor="t")
    set_choice(db, change(ADULT, State.IN, at(2022, 1, 1)), actor="t")
    after, _ = current_snapshot(db)
    assert to_text_array(after).tolist() == [OTHER]
    assert np.array_equal(after, snapshot(db))
    with db.read() as conn:
        assert conn.execute(select(register_snapshot.c.count)).scalar_one() == 1
