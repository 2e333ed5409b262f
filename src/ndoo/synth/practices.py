"""Synthetic GP practices, and which practice each person is registered with.

England has about 6,300 practices for about 60 million registered patients,
one for every ~9,500 people.  Synthetic practices keep that ratio, with at
least one in each of the 106 Sub-ICB locations, and are spread over the
locations in proportion to their number of LSOAs (largest remainder).

- ``code``: ``Z`` and five digits.  Real ODS practice codes are a letter and
  five digits too, but no real practice code starts with ``Z``.
- ``name``: built from a street word, a place or a surname
  ("Oak Surgery", "Halton Medical Centre", "Dr Patel and Partners").
- ``postcode``: plausible for the region ("BS14 3QX"); about 1% are null, as
  for a practice without an active list, which the official statistics count
  as "Unallocated".  A synthetic postcode may happen to exist.

List sizes vary: people choose a Sub-ICB location in proportion to its LSOAs
and then a practice in it with weight uniform in [0.4, 1.6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ndoo.synth.areas import Areas, Index
from ndoo.synth.names import (
    LAST_NAMES,
    POSTCODE_AREAS,
    POSTCODE_UNIT_LETTERS,
    PRACTICE_SUFFIXES,
    STREET_WORDS,
)
from ndoo.synth.schemas import PRACTICES_SCHEMA
from ndoo.synth.streams import Stream, Uniforms, generator

PEOPLE_PER_PRACTICE = 9_500
NO_POSTCODE_SHARE = 0.01
MAX_PRACTICES = 100_000
_LSOA_SUFFIX = re.compile(r"\s+\w+$")


def practice_count(people: int, locations: int) -> int:
    """How many practices serve ``people``: one per ~9,500, at least one per location."""
    return min(MAX_PRACTICES, max(locations, round(people / PEOPLE_PER_PRACTICE)))


def allocate(total: int, weights: Index) -> Index:
    """``total`` split over groups in proportion to ``weights``, at least one each."""
    extra = total - len(weights)
    exact = extra * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    short = extra - int(counts.sum())
    if short:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    result: Index = counts + 1
    return result


@dataclass(frozen=True)
class Practices:
    """The practices of one population, in code order."""

    codes: pa.Array
    names: pa.Array
    sub_icb: Index
    postcodes: pa.Array
    cumulative: npt.NDArray[np.float64]
    """Cumulative chance of registering with each practice, ending at 1."""

    def __len__(self) -> int:
        return len(self.codes)

    def draw(self, u: Uniforms) -> Index:
        """The practice (index) each person registers with, from one uniform each."""
        chosen = np.searchsorted(self.cumulative, u, side="right")
        result: Index = np.minimum(chosen, len(self.codes) - 1).astype(np.int64)
        return result

    def table(self, areas: Areas) -> pa.Table:
        """The ``practices.parquet`` table."""
        return pa.table(
            [
                self.codes,
                self.names,
                areas.sub_icb_codes.take(pa.array(self.sub_icb)),
                self.postcodes,
            ],
            schema=PRACTICES_SCHEMA,
        )


def _names(rng: np.random.Generator, places: list[str]) -> list[str]:
    count = len(places)
    template = rng.integers(0, 4, count)
    street = rng.integers(0, len(STREET_WORDS), count)
    surname = rng.integers(0, len(LAST_NAMES), count)
    suffix = rng.integers(0, len(PRACTICE_SUFFIXES), count)
    names = []
    for i in range(count):
        end = PRACTICE_SUFFIXES[suffix[i]]
        match template[i]:
            case 0:
                names.append(f"{STREET_WORDS[street[i]]} {end}")
            case 1:
                names.append(f"{places[i]} {end}")
            case 2:
                names.append(f"The {STREET_WORDS[street[i]]} Practice")
            case _:
                names.append(f"Dr {LAST_NAMES[surname[i]]} and Partners")
    return names


def _postcodes(rng: np.random.Generator, regions: list[str]) -> list[str | None]:
    count = len(regions)
    area = rng.random(count)
    district = rng.integers(1, 30, count)
    sector = rng.integers(0, 10, count)
    units = rng.integers(0, len(POSTCODE_UNIT_LETTERS), (count, 2))
    missing = rng.random(count) < NO_POSTCODE_SHARE
    postcodes: list[str | None] = []
    for i, region in enumerate(regions):
        if missing[i]:
            postcodes.append(None)
            continue
        areas = POSTCODE_AREAS[region]
        unit = "".join(POSTCODE_UNIT_LETTERS[j] for j in units[i])
        postcodes.append(f"{areas[int(area[i] * len(areas))]}{district[i]} {sector[i]}{unit}")
    return postcodes


def make_practices(people: int, seed: int, areas: Areas) -> Practices:
    """The practices for a population of ``people``; depends only on ``(people, seed)``."""
    rng = generator(seed, Stream.PRACTICES)
    per_location = areas.lsoas_per_sub_icb()
    count = practice_count(people, len(per_location))
    sub_icb = np.repeat(np.arange(len(per_location), dtype=np.int64), allocate(count, per_location))
    numbers = np.sort(rng.choice(MAX_PRACTICES, size=count, replace=False))
    codes = [f"Z{number:05d}" for number in numbers]

    order, starts, sizes = areas.sub_icb_lsoas
    some_lsoa = order[starts[sub_icb] + (rng.random(count) * sizes[sub_icb]).astype(np.int64)]
    lsoa_names = areas.lsoa_names.take(pa.array(some_lsoa)).to_pylist()
    places = [_LSOA_SUFFIX.sub("", name) for name in lsoa_names]
    regions = areas.region_codes.take(pa.array(areas.sub_icb_region[sub_icb])).to_pylist()

    weight = 0.4 + 1.2 * rng.random(count)
    location_total = np.bincount(sub_icb, weights=weight, minlength=len(per_location))
    share = per_location / per_location.sum()
    chance = share[sub_icb] * weight / location_total[sub_icb]
    cumulative = np.cumsum(chance)
    cumulative /= cumulative[-1]
    return Practices(
        codes=pa.array(codes, type=pa.string()),
        names=pa.array(_names(rng, places), type=pa.string()),
        sub_icb=sub_icb,
        postcodes=pa.array(_postcodes(rng, regions), type=pa.string()),
        cumulative=cumulative,
    )
