"""Every generated opt-out history obeys the rules the register enforces."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ndoo.synth import DEFAULT_REFERENCE_DATE, generate_population
from tests.synth.checks import MICROS_PER_DAY, Joined, age_on, day_of, join, read
from tests.synth.conftest import England

LAUNCH = day_of(date(2018, 5, 25)) * MICROS_PER_DAY
T2_LAST_DAY = day_of(date(2018, 10, 11))
APP_LAUNCH = day_of(date(2019, 7, 1)) * MICROS_PER_DAY
PROXIES = ["GUARDIAN", "POA", "COURTDEP", "HCP"]


def assert_rules(j: Joined, reference_date: date) -> None:
    """The register's rules, vectorised over all events."""
    assert j.person.size > 0
    # One history per person, in time order, alternating from OUT.
    person_changes = np.flatnonzero(j.person[1:] != j.person[:-1]) + 1
    assert (
        np.unique(j.person[np.concatenate([[0], person_changes])]).size == person_changes.size + 1
    )
    same = j.person[1:] == j.person[:-1]
    assert (j.at[1:][same] > j.at[:-1][same]).all(), "events of a person not strictly in time order"
    assert (j.state == np.where(j.position % 2 == 0, "OUT", "IN")).all()
    # Within life and before the reference date.
    assert (j.at_day >= j.born).all()
    assert (j.at_day <= j.died).all()
    assert (j.at < day_of(reference_date) * MICROS_PER_DAY).all()
    # Type 2 conversions only before the cut-off, everything else after launch.
    t2 = j.channel == "T2"
    assert (j.at_day[t2] <= T2_LAST_DAY).all()
    assert (j.at[~t2] >= LAUNCH).all()
    assert (j.position[t2] == 0).all() and (j.actor[t2] == "SELF").all()
    # Who may act.
    age = age_on(j.born, j.at_day)
    self_ = j.actor == "SELF"
    assert (t2[self_] | ((age[self_] >= 13) & ~j.lacks_capacity[self_])).all()
    assert not (self_ & (j.lacks_capacity | j.detained) & ~t2).any()
    child = (age < 13) & ~t2
    assert (j.actor[child] == "GUARDIAN").all()
    guardian = j.actor == "GUARDIAN"
    assert (age[guardian] < 13).all()
    attorney = np.isin(j.actor, ["POA", "COURTDEP"])
    assert (j.lacks_capacity[attorney] & (age[attorney] >= 18)).all()
    assert (j.detained[j.actor == "HCP"]).all()
    assert set(np.unique(j.actor)) <= {"SELF", *PROXIES}
    # Proxies name themselves and their evidence; others leave it empty.
    proxy = np.isin(j.actor, PROXIES)
    assert (~j.proxy_name_null == proxy).all()
    assert (~j.proxy_evidence_null == proxy).all()
    prefixes = {"GUARDIAN": "PR-", "POA": "LPA-", "COURTDEP": "COP-", "HCP": "HCP-"}
    for actor, prefix in prefixes.items():
        evidence = j.proxy_evidence[j.actor == actor]
        assert (np.char.find(evidence, prefix) == 0).all()
    # Channels.
    assert set(np.unique(j.channel)) <= {"T2", "OP", "PFSP", "FN", "CC", "PP"}
    assert np.isin(j.channel[proxy], ["PP", "CC"]).all()
    assert (j.at[j.channel == "PFSP"] >= APP_LAUNCH).all()
    by_phone_or_post = np.isin(j.channel, ["CC", "PP"])
    assert (~j.case_null == by_phone_or_post).all()
    refs = j.case_reference[by_phone_or_post]
    assert (np.char.endswith(refs, "-C") & (np.char.str_len(refs) >= 7)).all()
    assert np.char.isdigit(np.char.replace(refs, "-C", "")).all()


def test_every_event_obeys_the_register_rules(england: England) -> None:
    assert_rules(england.joined, DEFAULT_REFERENCE_DATE)


def test_every_kind_of_actor_and_channel_occurs(england: England) -> None:
    j = england.joined
    assert set(np.unique(j.actor)) == {"SELF", *PROXIES}
    assert set(np.unique(j.channel)) == {"T2", "OP", "PFSP", "FN", "CC", "PP"}
    attorneys = j.actor[np.isin(j.actor, ["POA", "COURTDEP"])]
    assert (attorneys == "COURTDEP").mean() < 0.6


def test_deceased_people_keep_opt_outs_made_in_life(england: England) -> None:
    j = england.joined
    dead_with_events = np.unique(j.person[j.died < day_of(DEFAULT_REFERENCE_DATE)])
    assert dead_with_events.size > 50
    assert england.summary.active_opt_outs_deceased > 0


@pytest.mark.parametrize("reference_date", [date(2019, 6, 1), date(2021, 6, 15), date(2035, 1, 1)])
def test_rules_hold_for_other_reference_dates(tmp_path: Path, reference_date: date) -> None:
    generate_population(20_000, 11, tmp_path, reference_date=reference_date)
    _, people, events = read(tmp_path)
    assert_rules(join(people, events), reference_date)
