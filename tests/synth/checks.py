"""Vectorised readers of a synthetic population, written independently of the generator.

Ages and dates are worked out here from first principles (calendar arithmetic
on ``datetime64``), not with the generator's helpers, so the tests check the
output rather than repeat the code that made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

MICROS_PER_DAY = 86_400_000_000


def read(out_dir: Path) -> tuple[pa.Table, pa.Table, pa.Table]:
    """``(practices, people, events)`` as written."""
    practices, people, events = (
        pq.read_table(out_dir / f"{name}.parquet") for name in ("practices", "people", "events")
    )
    return practices, people, events


def strings(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.str_]:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=str)


def days(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """A date32 column as day numbers; nulls become a large sentinel."""
    filled = column.fill_null(pa.scalar(date(2999, 1, 1), pa.date32()))
    return np.asarray(filled.cast(pa.int32()).to_numpy(), dtype=np.int64)


def micros(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    return np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)


def day_of(value: date) -> int:
    return (value - date(1970, 1, 1)).days


def age_on(born: npt.NDArray[np.int64], on: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Whole years from each birth day to each day, as people count birthdays."""
    b = born.astype("datetime64[D]")
    o = on.astype("datetime64[D]")
    by, oy = b.astype("datetime64[Y]"), o.astype("datetime64[Y]")
    bm = (b.astype("datetime64[M]") - by.astype("datetime64[M]")).astype(np.int64)
    om = (o.astype("datetime64[M]") - oy.astype("datetime64[M]")).astype(np.int64)
    bd = (b - b.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    od = (o - o.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    years = (oy - by).astype(np.int64)
    before_birthday = (om < bm) | ((om == bm) & (od < bd))
    return years - before_birthday.astype(np.int64)


@dataclass(frozen=True)
class Joined:
    """Events with their person's fields, in file order."""

    person: npt.NDArray[np.int64]
    state: npt.NDArray[np.str_]
    at: npt.NDArray[np.int64]
    at_day: npt.NDArray[np.int64]
    channel: npt.NDArray[np.str_]
    actor: npt.NDArray[np.str_]
    proxy_name_null: npt.NDArray[np.bool_]
    proxy_evidence: npt.NDArray[np.str_]
    proxy_evidence_null: npt.NDArray[np.bool_]
    case_reference: npt.NDArray[np.str_]
    case_null: npt.NDArray[np.bool_]
    born: npt.NDArray[np.int64]
    died: npt.NDArray[np.int64]
    lacks_capacity: npt.NDArray[np.bool_]
    detained: npt.NDArray[np.bool_]
    position: npt.NDArray[np.int64]
    """0-based position of each event in its person's history."""


def join(people: pa.Table, events: pa.Table) -> Joined:
    numbers = np.asarray(people["nhs_number"].cast(pa.int64()).to_numpy(), dtype=np.int64)
    order = np.argsort(numbers)
    event_numbers = np.asarray(events["nhs_number"].cast(pa.int64()).to_numpy(), dtype=np.int64)
    person = order[np.searchsorted(numbers[order], event_numbers)]
    assert (numbers[person] == event_numbers).all(), "an event has no person"
    at = micros(events["effective_at"])
    new_person = np.ones(person.size, dtype=bool)
    new_person[1:] = person[1:] != person[:-1]
    starts = np.flatnonzero(new_person)
    group = np.cumsum(new_person) - 1
    position = np.arange(person.size) - starts[group]

    def nulls(name: str) -> npt.NDArray[np.bool_]:
        return np.asarray(events[name].is_null().to_numpy(zero_copy_only=False), dtype=bool)

    def filled(name: str) -> npt.NDArray[np.str_]:
        return strings(events[name].fill_null(""))

    return Joined(
        person=person,
        state=strings(events["state"]),
        at=at,
        at_day=np.floor_divide(at, MICROS_PER_DAY),
        channel=strings(events["channel"]),
        actor=strings(events["actor"]),
        proxy_name_null=nulls("proxy_name"),
        proxy_evidence=filled("proxy_evidence"),
        proxy_evidence_null=nulls("proxy_evidence"),
        case_reference=filled("case_reference"),
        case_null=nulls("case_reference"),
        born=days(people["date_of_birth"])[person],
        died=days(people["date_of_death"])[person],
        lacks_capacity=np.asarray(people["lacks_capacity"].to_numpy(), dtype=bool)[person],
        detained=np.asarray(people["detained"].to_numpy(), dtype=bool)[person],
        position=position,
    )


def active_at(people: pa.Table, events: pa.Table, when: date) -> npt.NDArray[np.bool_]:
    """Per person: is their latest event before the start of ``when`` an ``OUT``?"""
    joined = join(people, events)
    before = joined.at < day_of(when) * MICROS_PER_DAY
    active = np.zeros(people.num_rows, dtype=bool)
    # Events are in person-then-time order, so the last assignment per person wins.
    rows = np.flatnonzero(before)
    last = np.ones(rows.size, dtype=bool)
    last[:-1] = joined.person[rows][1:] != joined.person[rows][:-1]
    rows = rows[last]
    active[joined.person[rows]] = joined.state[rows] == "OUT"
    return active


def living_on(people: pa.Table, when: date) -> npt.NDArray[np.bool_]:
    """Born before and not dead by the start of ``when``."""
    day = day_of(when)
    return (days(people["date_of_birth"]) < day) & (days(people["date_of_death"]) >= day)


def rate_on(people: pa.Table, events: pa.Table, when: date) -> float:
    living = living_on(people, when)
    return float(active_at(people, events, when)[living].mean())
