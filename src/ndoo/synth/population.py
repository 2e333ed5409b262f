"""One chunk of Synthetic England: people, their circumstances and their opt-outs.

For each person, in order: sex and age from the pyramid, a date of birth, a
gender code (0.05% not known or not specified), a practice, an LSOA of
residence, death, capacity and detention, and whether they ever opt out.
Those who do get an opt-out history (:mod:`ndoo.synth.optouts`).  Random
draws come block by block (:mod:`ndoo.synth.streams`), so a chunk is the same
whichever chunks surround it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ndoo.synth.areas import Areas
from ndoo.synth.conditions import draw_conditions
from ndoo.synth.dates import day_number
from ndoo.synth.optouts import UNIFORM_ROWS, Person, histories
from ndoo.synth.practices import Practices
from ndoo.synth.pyramid import draw_date_of_birth, draw_sex_and_age
from ndoo.synth.rates import GENDER_UNKNOWN, UNKNOWN_GENDER_SHARE, OptOutRates
from ndoo.synth.streams import Stream, block_bounds, uniforms
from ndoo.synth.writer import events_table, people_table

Index = npt.NDArray[np.int64]

PEOPLE_ROWS = 12
NOT_KNOWN_SHARE = 0.6
"""Of people without a recorded gender, the share coded ``0`` (not known) rather than ``9``."""


@dataclass(frozen=True, eq=False)
class Model:
    """Everything fixed for one population: its size, seed, date and reference data."""

    people: int
    seed: int
    reference_date: date
    areas: Areas
    practices: Practices
    rates: OptOutRates
    nhs_numbers: Index
    practice_codes: pa.Array

    @property
    def reference_day(self) -> int:
        return day_number(self.reference_date)


@dataclass(frozen=True)
class Chunk:
    """The tables of one chunk and the counts the summary needs."""

    people: pa.Table
    events: pa.Table
    deceased: int
    active_living: int
    active_deceased: int


def generate_chunk(model: Model, first_block: int, stop_block: int) -> Chunk:
    """People of blocks ``first_block:stop_block`` and their events."""
    bounds = block_bounds(model.people, first_block, stop_block)
    start, stop = bounds[0][1], bounds[-1][2]
    u = uniforms(model.seed, Stream.PEOPLE, [(b, hi - lo) for b, lo, hi in bounds], PEOPLE_ROWS)

    sex, age = draw_sex_and_age(u[0])
    born = draw_date_of_birth(age, u[1], model.reference_day)
    unknown = u[2] < UNKNOWN_GENDER_SHARE
    gender = np.where(unknown, np.where(u[3] < NOT_KNOWN_SHARE, 2, 3), sex - 1).astype(np.int64)
    gender_row = np.where(unknown, GENDER_UNKNOWN, sex - 1).astype(np.int64)
    practice = model.practices.draw(u[4])
    lsoa = model.areas.draw_residence(model.practices.sub_icb[practice], u[5], u[6])
    conditions = draw_conditions(sex, age, born, u[7:11], model.reference_day)
    la = model.areas.lsoa_la[lsoa]
    ever = u[11] < model.rates.ever_probability(gender_row, age, la)

    # Event draws: one block's worth for the people of that block who opt out.
    counts = [int(ever[lo - start : hi - start].sum()) for _, lo, hi in bounds]
    u_events = uniforms(
        model.seed,
        Stream.EVENTS,
        [(b, n) for (b, _, _), n in zip(bounds, counts, strict=True)],
        UNIFORM_ROWS,
    )
    who = np.flatnonzero(ever)
    events = histories(
        Person(
            born=born[who],
            died=conditions.date_of_death[who],
            deceased=conditions.deceased[who],
            lacks_capacity=conditions.lacks_capacity[who],
            detained=conditions.detained[who],
        ),
        u_events,
        model.rates.t2_given_eligible,
        model.reference_date,
    )
    numbers = model.nhs_numbers[start:stop]
    people = people_table(
        numbers,
        born,
        gender,
        model.practice_codes.take(pa.array(practice)),
        model.areas.lsoa_codes.take(pa.array(lsoa)),
        conditions.date_of_death,
        conditions.deceased,
        conditions.lacks_capacity,
        conditions.detained,
    )
    active_deceased = int((events.active & conditions.deceased[who]).sum())
    return Chunk(
        people=people,
        events=events_table(events, numbers[who[events.person]]),
        deceased=int(conditions.deceased.sum()),
        active_living=int(events.active.sum()) - active_deceased,
        active_deceased=active_deceased,
    )
