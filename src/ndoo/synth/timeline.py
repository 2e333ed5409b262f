"""When people opt out: the history of the national data opt-out since 2014.

- **Type 2 conversions.** Type 2 objections recorded at GP practices from
  January 2014 (many in spring 2014, around care.data) up to the cut-off of
  11 October 2018 were converted into national data opt-outs; about 40% of
  everyone who has ever opted out started that way.
- **The service** opened on 25 May 2018: a trickle of opt-outs (1,414 in its
  first month; a bump in October-November 2020 after social-media posts)
  brought the rate to about 2.77% at the end of May 2021.
- **GPDPR.** In June 2021 the GP data for planning and research programme
  drove about 1.3 million opt-outs, taking the rate to about 4.97%.
- **Since then** growth has been slow.

Each curve is a piecewise-linear cumulative share over time.  First opt-outs
are drawn from it by inverse transform, truncated to the span in which the
person could act (born, alive, not after the reference date); withdrawals and
repeat opt-outs are uniform over what is left of that span.  Times are
``int64`` microseconds since 1970 (UTC).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from ndoo.synth.dates import MICROS_PER_DAY, Micros, day_number
from ndoo.synth.streams import Uniforms

Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

T2_START = date(2014, 1, 1)
T2_CUTOFF = date(2018, 10, 11)
"""Type 2 objections recorded on or before this day were converted."""
T2_LAST_BIRTH = date(2018, 10, 1)
"""People born after this day are too young to have had a Type 2 objection converted."""
LAUNCH = date(2018, 5, 25)
"""The national data opt-out service opened; every non-Type 2 event is on or after it."""
PFSP_START = date(2019, 7, 1)
"""The NHS App (``PFSP``) channel exists from this day."""

T2_CURVE: tuple[tuple[date, float], ...] = (
    (T2_START, 0.0),
    (date(2014, 3, 31), 0.30),
    (date(2015, 12, 31), 0.62),
    (date(2017, 12, 31), 0.88),
    (T2_CUTOFF, 1.0),
)
SERVICE_CURVE: tuple[tuple[date, float], ...] = (
    (LAUNCH, 0.0),
    (date(2018, 6, 27), 0.001),
    (date(2020, 6, 1), 0.055),
    (date(2020, 10, 1), 0.063),
    (date(2020, 12, 1), 0.085),
    (date(2021, 5, 31), 0.100),
    (date(2021, 6, 30), 0.728),
    (date(2022, 6, 30), 0.820),
)
TAIL_END = date(2026, 10, 1)
"""After the last knot the service curve grows linearly, reaching 1.0 here."""


def micros(value: date) -> int:
    """Microseconds from 1970-01-01 to the start of ``value``."""
    return day_number(value) * MICROS_PER_DAY


@dataclass(frozen=True)
class Curve:
    """A cumulative share over time: strictly increasing ``times`` and ``shares``."""

    times: Floats
    shares: Floats

    def draw(self, low: Micros, high: Micros, u: Uniforms) -> tuple[Micros, Mask]:
        """A time in ``[low, high)`` for each person, and whether the span had any weight."""
        share_low = np.interp(low.astype(np.float64), self.times, self.shares)
        share_high = np.interp(high.astype(np.float64), self.times, self.shares)
        ok = (share_high > share_low) & (high > low)
        share = share_low + u * (share_high - share_low)
        drawn = np.floor(np.interp(share, self.shares, self.times)).astype(np.int64)
        return np.clip(drawn, low, np.maximum(low, high - 1)), ok


def _curve(knots: tuple[tuple[date, float], ...]) -> Curve:
    return Curve(
        times=np.asarray([micros(day) for day, _ in knots], dtype=np.float64),
        shares=np.asarray([share for _, share in knots], dtype=np.float64),
    )


@functools.cache
def t2_curve() -> Curve:
    """When Type 2 objections that were later converted had been recorded."""
    return _curve(T2_CURVE)


@functools.cache
def service_curve(reference_date: date) -> Curve:
    """When people first opted out through the service, up to ``reference_date``."""
    last_day, last_share = SERVICE_CURVE[-1]
    slope = (1.0 - last_share) / (TAIL_END - last_day).days
    knots = SERVICE_CURVE
    if reference_date > last_day:
        tail = last_share + slope * (reference_date - last_day).days
        knots = (*SERVICE_CURVE, (reference_date, tail))
    return _curve(knots)


def uniform_between(low: Micros, high: Micros, u: Uniforms) -> tuple[Micros, Mask]:
    """A time uniform in ``[low, high)``, and whether that span is at least a day long."""
    span = np.maximum(high - low, 0)
    drawn = low + np.floor(u * span).astype(np.int64)
    return np.minimum(drawn, np.maximum(low, high - 1)), span >= MICROS_PER_DAY


def avoid(
    times: Micros, low: Micros, high: Micros, centre: Micros, margin: int
) -> tuple[Micros, Mask]:
    """Move times out of ``[centre - margin, centre + margin)``, staying in ``[low, high)``.

    Used to keep events a day away from a 13th birthday, where whether the
    person acts for themselves would depend on how age is reckoned.  A time
    that can move neither forward nor back is reported as not ok.
    """
    inside = (times >= centre - margin) & (times < centre + margin)
    later = times + 2 * margin
    earlier = times - 2 * margin
    moved = np.where(later < high, later, earlier)
    ok = ~inside | (later < high) | (earlier >= low)
    return np.where(inside, moved, times), ok
