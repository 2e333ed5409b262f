"""Dates as whole days and instants as microseconds since 1970-01-01 (UTC).

Arrays of people and events keep dates as ``int64`` day numbers and times as
``int64`` microseconds, the encodings of Arrow's ``date32`` and
``timestamp[us, tz=UTC]``, so no per-person objects are ever made.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

Days = npt.NDArray[np.int64]
Micros = npt.NDArray[np.int64]

MICROS_PER_DAY = 86_400_000_000
DAYS_PER_YEAR = 365.2425
EPOCH = date(1970, 1, 1)


def day_number(value: date) -> int:
    """Days from 1970-01-01 to ``value``."""
    return (value - EPOCH).days


def add_years(days: Days, years: int) -> Days:
    """The same calendar day ``years`` later: a birthday.

    29 February moves to 1 March in years without one, the date from which
    someone born on a leap day counts as a year older in England.
    """
    as_dates = days.astype("datetime64[D]")
    months = as_dates.astype("datetime64[M]")
    into_month = as_dates - months.astype("datetime64[D]")
    shifted = (months + np.timedelta64(12 * years, "M")).astype("datetime64[D]") + into_month
    result: Days = shifted.astype(np.int64)
    return result


def start_of_day(days: Days | int) -> Micros:
    """The first microsecond of each day."""
    return np.asarray(days, dtype=np.int64) * MICROS_PER_DAY
