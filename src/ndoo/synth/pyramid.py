"""England's age and sex structure, and dates of birth drawn from it.

The shape is that of the ONS mid-year population estimates for England
(mid-2022, thousands by five-year band, rounded): slightly more boys than
girls among children, more women than men from the late twenties, and about
two women to every man aged 90 and over.  GP lists hold more people than the
ONS estimates (about 64 million against 57 million) but have the same shape.

Ages are whole years on the reference date.  Inside a five-year band each
single year is equally likely; the open band 90+ is spread over ages 90 to
104, each year 0.72 times as populous as the one before.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ndoo.synth.dates import DAYS_PER_YEAR, Days
from ndoo.synth.streams import Uniforms

MALE = 1
FEMALE = 2
MAX_AGE = 104
AGES = MAX_AGE + 1

BAND_STARTS = (0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90)

# Thousands of (males, females) by five-year band, 0-4 … 85-89, 90+.
POPULATION_BY_BAND: tuple[tuple[int, int], ...] = (
    (1_626, 1_546),
    (1_778, 1_690),
    (1_813, 1_723),
    (1_687, 1_596),
    (1_771, 1_716),
    (1_856, 1_880),
    (1_941, 1_995),
    (1_860, 1_913),
    (1_785, 1_807),
    (1_684, 1_719),
    (1_898, 1_952),
    (1_888, 1_936),
    (1_633, 1_690),
    (1_379, 1_456),
    (1_321, 1_440),
    (1_030, 1_176),
    (628, 780),
    (347, 495),
    (184, 349),
)
OLDEST_DECAY = 0.72


def band_of_age(ages: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Index of the five-year band (0 = 0-4 … 18 = 90+) of each age."""
    return np.minimum(ages // 5, len(BAND_STARTS) - 1)


def single_year_weights() -> npt.NDArray[np.float64]:
    """Share of the population of each (sex, age): shape ``(2, AGES)``, summing to 1."""
    weights = np.zeros((2, AGES), dtype=np.float64)
    # Repeated multiplication, not ``**``: libm's pow may differ between machines.
    oldest = np.cumprod(np.full(AGES - BAND_STARTS[-1], OLDEST_DECAY)) / OLDEST_DECAY
    oldest /= oldest.sum()
    for band, start in enumerate(BAND_STARTS):
        for sex in (0, 1):
            count = float(POPULATION_BY_BAND[band][sex])
            if start == BAND_STARTS[-1]:
                weights[sex, start:] = count * oldest
            else:
                weights[sex, start : start + 5] = count / 5.0
    result: npt.NDArray[np.float64] = weights / weights.sum()
    return result


_CUMULATIVE = np.cumsum(single_year_weights().ravel())
_CUMULATIVE /= _CUMULATIVE[-1]


def draw_sex_and_age(u: Uniforms) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """Sex (:data:`MALE` or :data:`FEMALE`) and age in years for each uniform draw."""
    cell = np.minimum(np.searchsorted(_CUMULATIVE, u, side="right"), 2 * AGES - 1)
    sex = (cell // AGES + 1).astype(np.int8)
    return sex, (cell % AGES).astype(np.int64)


def draw_date_of_birth(ages: npt.NDArray[np.int64], u: Uniforms, reference_day: int) -> Days:
    """A birth date giving each age on the reference day, uniform within the year of age."""
    days_old = np.floor((ages + u) * DAYS_PER_YEAR).astype(np.int64)
    born: Days = reference_day - 1 - days_old
    return born
