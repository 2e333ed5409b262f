"""Generate Synthetic England: practices, people and opt-out events as Parquet.

:func:`generate_population` is the library entry point.  The output depends
only on ``(people, seed, reference_date)``: the chunk size changes how many
people are held in memory at once, never the rows written, and no draw
depends on the machine or on today's date.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ndoo.errors import InputError
from ndoo.nhs_number import generate_synthetic
from ndoo.synth.areas import areas
from ndoo.synth.dates import day_number
from ndoo.synth.population import Model, generate_chunk
from ndoo.synth.practices import make_practices
from ndoo.synth.rates import opt_out_rates
from ndoo.synth.schemas import EVENTS_FILE, PEOPLE_FILE, PRACTICES_FILE
from ndoo.synth.streams import BLOCK_SIZE, Stream, generator
from ndoo.synth.timeline import T2_LAST_BIRTH
from ndoo.synth.writer import parquet_sink

log = logging.getLogger(__name__)

DEFAULT_REFERENCE_DATE = date(2026, 10, 1)
"""The day the population is described at; fixed so output never depends on today."""
DEFAULT_CHUNK_SIZE = 2_000_000
MAX_PEOPLE = 90_000_000
"""About 90.9 million valid NHS numbers exist in the never-issued 9xx range."""
EARLIEST_REFERENCE_DATE = date(2019, 1, 1)
LATEST_REFERENCE_DATE = date(2099, 12, 31)
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class SynthSummary:
    """What was generated.  ``rate`` is active opt-outs among the living."""

    people: int
    living: int
    deceased: int
    practices: int
    events: int
    active_opt_outs: int
    """Living people whose opt-out is active on the reference date."""
    active_opt_outs_deceased: int
    """Deceased people whose last event is an opt-out (kept after death)."""
    rate: float
    seed: int
    reference_date: date
    out_dir: Path

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["reference_date"] = self.reference_date.isoformat()
        values["out_dir"] = str(self.out_dir)
        return values


def _check(people: int, seed: int, reference_date: date, chunk_size: int) -> None:
    if not 1 <= people <= MAX_PEOPLE:
        raise InputError(f"people must be between 1 and {MAX_PEOPLE:,}, not {people:,}")
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"seed must be between 0 and {MAX_SEED}, not {seed}")
    if not EARLIEST_REFERENCE_DATE <= reference_date <= LATEST_REFERENCE_DATE:
        raise InputError(
            f"reference date must be between {EARLIEST_REFERENCE_DATE} and "
            f"{LATEST_REFERENCE_DATE}, not {reference_date}"
        )
    if chunk_size < 1:
        raise InputError(f"chunk size must be positive, not {chunk_size}")


def build_model(people: int, seed: int, reference_date: date) -> Model:
    """The fixed parts of a population: practices, rates and NHS numbers."""
    where = areas()
    practices = make_practices(people, seed, where)
    numbers = generate_synthetic(people, generator(seed, Stream.NHS_NUMBERS))
    return Model(
        people=people,
        seed=seed,
        reference_date=reference_date,
        areas=where,
        practices=practices,
        rates=opt_out_rates(where, day_number(reference_date), day_number(T2_LAST_BIRTH)),
        nhs_numbers=np.asarray(numbers, dtype=np.int64),
        practice_codes=practices.codes,
    )


def generate_population(
    people: int,
    seed: int,
    out_dir: Path,
    reference_date: date = DEFAULT_REFERENCE_DATE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> SynthSummary:
    """Write ``practices.parquet``, ``people.parquet`` and ``events.parquet`` to ``out_dir``.

    People are generated ``chunk_size`` at a time (rounded up to whole blocks
    of 16,384), so memory stays bounded however many are asked for.  Existing
    files of those names are replaced only once all three are complete.
    """
    _check(people, seed, reference_date, chunk_size)
    model = build_model(people, seed, reference_date)
    blocks = math.ceil(people / BLOCK_SIZE)
    per_chunk = max(1, math.ceil(chunk_size / BLOCK_SIZE))
    chunks = math.ceil(blocks / per_chunk)
    deceased = events = active = active_deceased = 0
    with parquet_sink(Path(out_dir)) as sink:
        sink.write(PRACTICES_FILE, model.practices.table(model.areas))
        for number, first in enumerate(range(0, blocks, per_chunk), start=1):
            chunk = generate_chunk(model, first, min(blocks, first + per_chunk))
            sink.write(PEOPLE_FILE, chunk.people)
            sink.write(EVENTS_FILE, chunk.events)
            deceased += chunk.deceased
            events += chunk.events.num_rows
            active += chunk.active_living
            active_deceased += chunk.active_deceased
            log.info(
                "synth: chunk %d of %d written (%d people)", number, chunks, chunk.people.num_rows
            )
    living = people - deceased
    return SynthSummary(
        people=people,
        living=living,
        deceased=deceased,
        practices=len(model.practices),
        events=events,
        active_opt_outs=active,
        active_opt_outs_deceased=active_deceased,
        rate=active / living if living else 0.0,
        seed=seed,
        reference_date=reference_date,
        out_dir=Path(out_dir),
    )
