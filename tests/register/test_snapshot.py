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
