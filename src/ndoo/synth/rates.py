"""Who opts out: rates by age, sex and local authority, calibrated to the statistics.

The published pattern (``[MI] National Data Opt-Out``): about **5.4%** of
GP-registered people had an active opt-out in April 2023; the highest rate is
among **women aged 30-39 (about 8%)**, men run at about 0.8 times women, the
lowest are **children** (girls aged 0-9 about 1.7%), and **local-authority**
rates range from about 1% to over 10%.

A person's chance of holding an active opt-out on the reference date is
``min(CAP, k * age_sex_factor * area_factor)``.  The age-sex factors are the
published rates by ten-year band; the area factors spread the 309 local
authorities from 0.19 to 2.05 times the national rate (higher in the South
West and South East, lower in the North), the same for every seed.  ``k`` is
solved from the expected population (pyramid, deaths, LSOA shares of each
authority), so the expected rate among the living is exactly
:data:`TARGET_RATE`.  Because some who opt out later withdraw, the chance of
*ever* opting out is that divided by :data:`ACTIVE_GIVEN_EVER`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndoo.synth.areas import Areas, Index
from ndoo.synth.calibrate import scale_for_rate
from ndoo.synth.conditions import capacity_probability, death_probability, detention_probability
from ndoo.synth.dates import DAYS_PER_YEAR
from ndoo.synth.pyramid import AGES, single_year_weights
from ndoo.synth.streams import Stream, generator

Floats = npt.NDArray[np.float64]

TARGET_RATE = 0.054
CAP = 0.5
WITHDRAWAL_SHARE = 0.07
"""Share of people who opted out who later withdraw (an ``IN`` event)."""
REOPT_SHARE = 0.15
"""Share of those who withdrew who opt out again later."""
ACTIVE_GIVEN_EVER = 1.0 - WITHDRAWAL_SHARE * (1.0 - REOPT_SHARE)
T2_SHARE = 0.40
"""Share of everyone who ever opted out whose first opt-out was a Type 2 conversion."""
UNKNOWN_GENDER_SHARE = 0.0005

# Active opt-out rate (%) by ten-year band 0-9 … 90+, NDOP April 2022 shape.
FEMALE_RATES = (1.67, 3.3, 6.8, 8.06, 7.9, 7.2, 6.6, 6.1, 5.3, 4.5)
MALE_RATES = (1.72, 3.1, 5.5, 6.6, 6.4, 5.9, 5.4, 5.0, 4.4, 3.7)

# Piecewise-linear quantile function of the area factors over local authorities.
AREA_QUANTILES = (0.0, 0.03, 0.2, 0.5, 0.8, 0.97, 1.0)
AREA_FACTORS = (0.19, 0.45, 0.75, 0.95, 1.2, 1.6, 2.05)
# Shift of each region's authorities up or down the ranking.
REGION_TILT = {
    "Y56": 0.05,
    "Y58": 0.30,
    "Y59": 0.25,
    "Y60": -0.10,
    "Y61": 0.05,
    "Y62": -0.20,
    "Y63": -0.25,
}
AREA_SEED = 2022

GENDER_MALE, GENDER_FEMALE, GENDER_UNKNOWN = 0, 1, 2
"""Rows of the age-sex factor table (gender codes '1', '2', and '0'/'9')."""


def age_sex_factors() -> Floats:
    """Relative rates, shape ``(3, AGES)``: male, female, unknown (their mean)."""
    band = np.minimum(np.arange(AGES) // 10, 9)
    male = np.asarray(MALE_RATES)[band]
    female = np.asarray(FEMALE_RATES)[band]
    return np.stack([male, female, (male + female) / 2.0])


def area_factors(areas: Areas) -> Floats:
    """One factor per local authority, fixed for all seeds."""
    count = len(areas.la_codes)
    tilt = np.asarray([REGION_TILT[code] for code in areas.region_codes.to_pylist()])
    key = generator(AREA_SEED, Stream.AREAS).random(count) + tilt[areas.la_region]
    rank = np.empty(count, dtype=np.int64)
    rank[np.argsort(key, kind="stable")] = np.arange(count)
    factors: Floats = np.interp((rank + 0.5) / count, AREA_QUANTILES, AREA_FACTORS)
    return factors


def _population_cells() -> tuple[Floats, Floats]:
    """Share of all people and of living people, by (gender row, age)."""
    people = single_year_weights()
    living = people * (1.0 - death_probability())
    rows = []
    for table in (people, living):
        known = table * (1.0 - UNKNOWN_GENDER_SHARE)
        unknown = table.sum(axis=0) * UNKNOWN_GENDER_SHARE
        rows.append(np.vstack([known, unknown[None, :]]))
    return rows[0], rows[1]


def _t2_eligible_share(reference_day: int, t2_last_birth_day: int) -> Floats:
    """Share of each (gender row, age) born in time for a Type 2 objection and free to make one."""
    ages = np.arange(AGES, dtype=np.float64)
    gap = reference_day - 1 - t2_last_birth_day
    born_in_time = np.clip(ages + 1.0 - (gap + 1) / DAYS_PER_YEAR, 0.0, 1.0)
    free = 1.0 - capacity_probability() - detention_probability()
    free = np.vstack([free, free.mean(axis=0)[None, :]])
    share: Floats = free * born_in_time[None, :]
    return share


@dataclass(frozen=True)
class OptOutRates:
    """The calibrated model of who opts out, for one reference date."""

    ever: Floats
    """Chance of ever opting out by (gender row, age, local authority)."""
    t2_given_eligible: float
    """Chance that an eligible person who opts out does so by a Type 2 conversion."""

    def ever_probability(self, gender_row: Index, age: Index, la: Index) -> Floats:
        chance: Floats = self.ever[gender_row, age, la]
        return chance


@functools.cache
def opt_out_rates(areas: Areas, reference_day: int, t2_last_birth_day: int) -> OptOutRates:
    """Calibrate the model so the expected active rate among the living is the target."""
    people, living = _population_cells()
    la_share = areas.lsoas_per_la() / areas.lsoa_count
    factors = age_sex_factors()[:, :, None] * area_factors(areas)[None, None, :]
    weights = living[:, :, None] * la_share[None, None, :]
    scale = scale_for_rate(weights, factors, TARGET_RATE, CAP)
    active = np.minimum(CAP, scale * factors)
    ever = active / ACTIVE_GIVEN_EVER
    everyone = people[:, :, None] * la_share[None, None, :] * ever
    eligible = everyone * _t2_eligible_share(reference_day, t2_last_birth_day)[:, :, None]
    t2 = min(1.0, T2_SHARE * float(everyone.sum()) / float(eligible.sum()))
    return OptOutRates(ever=ever, t2_given_eligible=t2)
