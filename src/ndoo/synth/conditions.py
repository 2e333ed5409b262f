"""Death, lack of capacity and detention: the circumstances that change who may act.

- **Deceased.** About 1% of the records belong to people who died in the five
  years before the reference date, with risk rising steeply with age (shape of
  the England and Wales annual death rates per 1,000 by five-year band, men
  about 1.4 times women).  Their opt-outs stay on the register after death.
- **Lacks capacity.** About 0.3%, adults only and mostly elderly (dementia);
  their choice is made by a lasting power of attorney or a court-appointed
  deputy.
- **Detained.** About 0.1%, adults (mostly young and middle-aged men) in
  detained and secure estates; a healthcare professional completes a proxy
  form for them.

The two flags never coincide, and both apply only to people aged
:data:`ADULT_AGE` or more, whose events all fall after their 18th birthday, so
no event of theirs is ever a child's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndoo.synth.calibrate import scale_for_rate
from ndoo.synth.dates import Days
from ndoo.synth.pyramid import AGES, band_of_age, single_year_weights
from ndoo.synth.streams import Uniforms

DECEASED_SHARE = 0.01
DEATH_WINDOW_DAYS = 1826
LACKS_CAPACITY_SHARE = 0.003
DETAINED_SHARE = 0.001
ADULT_AGE = 19
"""Minimum age on the reference date for the capacity and detention flags."""

# Deaths a year per 1,000 people by five-year band (0-4 … 90+).
MORTALITY_PER_1000 = (
    0.9, 0.08, 0.1, 0.25, 0.4, 0.5, 0.7, 1.0, 1.5, 2.2,
    3.2, 4.8, 7.3, 11.3, 18.0, 30.0, 52.0, 95.0, 200.0,
)  # fmt: skip
MORTALITY_BY_SEX = (1.2, 0.85)
# Relative chance of lacking capacity by band; none below ADULT_AGE.
CAPACITY_RELATIVE = (
    0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
    1, 1, 1.5, 3, 5, 10, 20, 35, 50,
)  # fmt: skip
# Relative chance of detention by band for men; women 5% of that.
DETENTION_RELATIVE = (
    0, 0, 0, 0, 3, 3, 3, 2.5, 2, 1.5,
    1, 0.6, 0.3, 0.1, 0.05, 0.02, 0, 0, 0,
)  # fmt: skip
DETENTION_BY_SEX = (1.0, 0.05)
_MAX_PROBABILITY = 0.9


def _by_sex_and_age(
    per_band: tuple[float, ...], by_sex: tuple[float, float]
) -> npt.NDArray[np.float64]:
    ages = np.arange(AGES, dtype=np.int64)
    band = np.asarray(per_band, dtype=np.float64)[band_of_age(ages)]
    table: npt.NDArray[np.float64] = np.asarray(by_sex, dtype=np.float64)[:, None] * band[None, :]
    return table


def _adults_only(table: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    table = table.copy()
    table[:, :ADULT_AGE] = 0.0
    return table


def _calibrated(relative: npt.NDArray[np.float64], share: float) -> npt.NDArray[np.float64]:
    scale = scale_for_rate(single_year_weights(), relative, share, _MAX_PROBABILITY)
    probability: npt.NDArray[np.float64] = np.minimum(_MAX_PROBABILITY, scale * relative)
    return probability


@functools.cache
def death_probability() -> npt.NDArray[np.float64]:
    """Chance of having died in the window, by (sex - 1, age)."""
    return _calibrated(_by_sex_and_age(MORTALITY_PER_1000, MORTALITY_BY_SEX), DECEASED_SHARE)


@functools.cache
def capacity_probability() -> npt.NDArray[np.float64]:
    """Chance of lacking capacity, by (sex - 1, age)."""
    relative = _adults_only(_by_sex_and_age(CAPACITY_RELATIVE, (1.0, 1.0)))
    return _calibrated(relative, LACKS_CAPACITY_SHARE)


@functools.cache
def detention_probability() -> npt.NDArray[np.float64]:
    """Chance of being detained, by (sex - 1, age)."""
    relative = _adults_only(_by_sex_and_age(DETENTION_RELATIVE, DETENTION_BY_SEX))
    return _calibrated(relative, DETAINED_SHARE)


@dataclass(frozen=True)
class Conditions:
    """Per person: ``date_of_death`` (day number, valid where ``deceased``) and flags."""

    deceased: npt.NDArray[np.bool_]
    date_of_death: Days
    lacks_capacity: npt.NDArray[np.bool_]
    detained: npt.NDArray[np.bool_]


def draw_conditions(
    sex: npt.NDArray[np.int8],
    age: npt.NDArray[np.int64],
    born: Days,
    u: Uniforms,
    reference_day: int,
) -> Conditions:
    """Draw conditions from four rows of ``u``: death, day of death, capacity, detention."""
    row = sex.astype(np.int64) - 1
    earliest = np.maximum(reference_day - DEATH_WINDOW_DAYS, born + 1)
    latest = reference_day - 1
    deceased = (u[0] < death_probability()[row, age]) & (earliest <= latest)
    span = np.maximum(latest - earliest + 1, 1)
    died = earliest + np.floor(u[1] * span).astype(np.int64)
    lacks = u[2] < capacity_probability()[row, age]
    detained = ~lacks & (u[3] < detention_probability()[row, age])
    return Conditions(
        deceased=deceased,
        date_of_death=np.where(deceased, died, 0),
        lacks_capacity=lacks,
        detained=detained,
    )
