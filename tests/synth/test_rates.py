"""Opt-out rates and their history follow the published statistics."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow.compute as pc

from ndoo import geography
from ndoo.synth import DEFAULT_REFERENCE_DATE
from tests.synth.checks import active_at, age_on, day_of, days, living_on, rate_on, strings
from tests.synth.conftest import England


def _now(england: England) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per person: active now, living now, ten-year age band, gender."""
    people = england.people
    born = days(people["date_of_birth"])
    band = np.minimum(age_on(born, np.full(born.size, day_of(DEFAULT_REFERENCE_DATE))) // 10, 9)
    return (
        active_at(people, england.events, DEFAULT_REFERENCE_DATE),
        living_on(people, DEFAULT_REFERENCE_DATE),
        band,
        strings(people["gender"]),
    )


def test_overall_rate_is_about_5_4_percent(england: England) -> None:
    active, living, _, _ = _now(england)
    rate = active[living].mean()
    assert abs(rate - 0.054) < 0.004
    assert england.summary.active_opt_outs == int((active & living).sum())
    assert england.summary.rate == rate
    assert england.summary.deceased == int((~living).sum())


def test_women_in_their_thirties_opt_out_most_and_children_least(england: England) -> None:
    active, living, band, gender = _now(england)
    rates = {
        (sex, b): active[living & (gender == sex) & (band == b)].mean()
        for sex in "12"
        for b in range(10)
    }
    highest = max(rates, key=lambda key: rates[key])
    assert highest in {("2", 3), ("2", 4)}
    assert 0.07 < rates["2", 3] < 0.09
    assert min(rates, key=lambda key: rates[key])[1] == 0
    assert 0.01 < rates["2", 0] < 0.025
    women = active[living & (gender == "2")].mean()
    men = active[living & (gender == "1")].mean()
    assert 0.7 < men / women < 0.92


def test_local_authority_rates_range_from_about_1_to_over_10_percent(england: England) -> None:
    active, living, _, _ = _now(england)
    lsoas = geography.lsoas()
    where = pc.index_in(england.people["lsoa_code"], value_set=lsoas["LSOA_CODE"])
    la = strings(lsoas["LA_CODE"].take(where))
    _, index = np.unique(la, return_inverse=True)
    residents = np.bincount(index, weights=living)
    rates = np.bincount(index, weights=active & living) / residents
    big = residents >= 500
    assert big.sum() > 100
    assert rates[big].min() < 0.02
    assert rates[big].max() > 0.09


def test_history_shows_type_2_conversions_and_the_june_2021_burst(england: England) -> None:
    people, events = england.people, england.events
    before = rate_on(people, events, date(2021, 6, 1))
    after = rate_on(people, events, date(2021, 7, 1))
    assert abs(before - 0.0277) < 0.003
    assert abs(after - 0.0497) < 0.004
    assert after - before > 0.018
    assert rate_on(people, events, date(2018, 10, 12)) > 0.02

    j = england.joined
    first = j.position == 0
    assert 0.36 < (j.channel[first] == "T2").mean() < 0.44
    opt_outs = j.at_day[(j.state == "OUT") & (j.channel != "T2")]
    months = opt_outs.astype("datetime64[D]").astype("datetime64[M]")
    busiest, count = np.unique(months, return_counts=True)
    assert str(busiest[np.argmax(count)]) == "2021-06"
    assert count.max() > 0.3 * opt_outs.size


def test_some_withdraw_and_a_few_opt_out_again(england: England) -> None:
    j = england.joined
    opted_out = (j.position == 0).sum()
    withdrew = (j.position == 1).sum()
    again = (j.position == 2).sum()
    assert 0.05 < withdrew / opted_out < 0.09
    assert 0 < again < withdrew
    assert (j.state[j.position == 1] == "IN").all()
