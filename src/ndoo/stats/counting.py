"""The counting rules of the publication, applied to one snapshot date (``ACH_DATE``).

Opt-outs (``ndop_clean.py`` and ``ndop_aggregate.py`` of NHSDigital/NDOP-publication):

1. Only opt-out (``OUT``) records count; the official source table holds opt-outs only.
2. A record is **active on** ``ACH_DATE`` when ``Record_Start_Date ≤ ACH_DATE`` and
   (``Record_End_Date ≥ ACH_DATE`` or null).  A ``choice_record`` row maps onto those
   dates as follows: ``Record_Start_Date`` is the (UTC) day of ``record_start``;
   ``record_end`` is *exclusive* (the instant the next choice took effect), so
   ``Record_End_Date`` is the day of the last instant the record held, the day of
   ``record_end − 1 µs``.  A record ending at midnight therefore ends the day before,
   and one ending at 10:00 ends that same day.  Put simply: the record was in force
   at some moment of ``ACH_DATE`` (UTC).  A person who withdrew during ``ACH_DATE``
   still counts that day, as in the official data.
3. Test numbers are dropped before counting when asked (:func:`source.is_test_number`).
4. Living people (no date of death, or one after ``ACH_DATE``) and deceased people
   (died on or before ``ACH_DATE``) are counted **separately**.
5. The latest record per NHS number is kept, so a person counts once however many
   records they have that day; their gender, age, practice and LSOA come from the
   ``person`` table (current values).
6. Gender ``1`` is Male, ``2`` Female, anything else Unknown / Prefer not to say.  Age
   is whole years on ``ACH_DATE``, in ten-year bands ``0-9`` … ``80-89`` and ``90+``;
   a record in force before the person's birth (which the register's rules refuse) has
   age band ``Unknown``.

List sizes (``list_size.py``): the living people registered at a practice on
``ACH_DATE`` (born on or before it), Male and Female only, by age band.  Only
practices that *hold a list* that day count: the practice has a postcode (the
official pipeline's sign of an open practice) and at least one living registered
person.  Opt-outs of people with no practice, or at a practice holding no list, are
"Unallocated".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from ndoo.stats.source import FEMALE, MALE, OptedOut, Register, Registered, microseconds

Counts = npt.NDArray[np.int64]

#: Ten-year age bands, the labels of the official files.
AGE_BANDS: tuple[str, ...] = (
    "0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+",
)  # fmt: skip

#: The band of an unknown age ("Unknown" in the official files; never in list sizes).
UNKNOWN_BAND = len(AGE_BANDS)
_BANDS = UNKNOWN_BAND + 1

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class MonthCounts:
    """Everything counted on one snapshot date.

    Gender axes are indexed by the codes of :mod:`ndoo.stats.source` (0 unknown,
    1 male, 2 female); practice axes by the practice index, with one extra last entry
    for people with no known practice; LSOA axes likewise, with a last entry for
    no (known) LSOA.
    """

    day: date
    opt_out: Counts  # [11 bands (the last Unknown), 3 genders], living
    deceased: Counts  # [3 genders]
    list_size: Counts  # [11 bands, 3 genders]; gender 0 and band Unknown always 0
    holds_list: npt.NDArray[np.bool_]  # [practices]
    practice_opt_out: Counts  # [practices + 1], living
    practice_deceased: Counts  # [practices + 1]
    practice_list: Counts  # [practices]
    lsoa_opt_out: Counts  # [LSOAs + 1], living

    @property
    def total_opt_out(self) -> int:
        return int(self.opt_out.sum())

    @property
    def total_list_size(self) -> int:
        return int(self.list_size.sum())

    @property
    def total_deceased(self) -> int:
        return int(self.deceased.sum())


def _ages(
    year: npt.NDArray[np.int16], md: npt.NDArray[np.int16], day: date
) -> npt.NDArray[np.int16]:
    """Whole years on ``day``; negative for people born after it."""
    age = np.int16(day.year) - year
    age -= md > np.int16(day.month * 100 + day.day)
    result: npt.NDArray[np.int16] = age
    return result


def _bands(age: npt.NDArray[np.int16]) -> npt.NDArray[np.int64]:
    """Band index of each age: 0 for 0-9 … 9 for 90+, and :data:`UNKNOWN_BAND` for an age
    that cannot be (a record in force before the person's birth)."""
    bands: npt.NDArray[np.int64] = np.where(age < 0, UNKNOWN_BAND, np.minimum(age // 10, 9)).astype(
        np.int64
    )
    return bands


def count_month(register: Register, day: date, lsoa_count: int) -> MonthCounts:
    """Apply every counting rule on ``day``; ``lsoa_count`` is the size of the LSOA lookup."""
    practices = len(register.practices)
    day_number = (day - _EPOCH).days
    holds, practice_list, list_size = _lists(
        register.registered, day, day_number, register.practices.has_postcode
    )

    records = register.records
    start, end = microseconds(day), microseconds(day + timedelta(days=1))
    active = (records.start < end) & (records.end > start)
    numbers = np.unique(records.nhs_number[active])  # one per person: the latest record
    people = register.opted_out
    at = _positions(people, numbers)
    gender = people.gender[at].astype(np.int64)
    practice = np.where(people.practice[at] >= 0, people.practice[at], practices).astype(np.int64)
    lsoa = np.where(people.lsoa[at] >= 0, people.lsoa[at], lsoa_count).astype(np.int64)
    living = people.death[at] > day_number
    bands = _bands(_ages(people.birth_year[at], people.birth_md[at], day))
    opt_out = np.bincount(bands[living] * 3 + gender[living], minlength=_BANDS * 3)
    opt_out = opt_out.reshape(_BANDS, 3)
    dead = ~living
    return MonthCounts(
        day=day,
        opt_out=opt_out.astype(np.int64),
        deceased=np.bincount(gender[dead], minlength=3).astype(np.int64),
        list_size=list_size,
        holds_list=holds,
        practice_opt_out=np.bincount(practice[living], minlength=practices + 1).astype(np.int64),
        practice_deceased=np.bincount(practice[dead], minlength=practices + 1).astype(np.int64),
        practice_list=practice_list.astype(np.int64),
        lsoa_opt_out=np.bincount(lsoa[living], minlength=lsoa_count + 1).astype(np.int64),
    )


def _positions(people: OptedOut, numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Rows of ``people`` for ``numbers`` (records of people not in ``person`` are dropped)."""
    if people.nhs_number.size == 0:
        return np.empty(0, dtype=np.int64)
    at = np.minimum(np.searchsorted(people.nhs_number, numbers), people.nhs_number.size - 1)
    result: npt.NDArray[np.int64] = at[people.nhs_number[at] == numbers].astype(np.int64)
    return result


def _lists(
    registered: Registered, day: date, day_number: int, has_postcode: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.bool_], Counts, Counts]:
    """Which practices hold a list, their list sizes, and list sizes by band and gender."""
    practices = has_postcode.size
    year, md = np.int16(day.year), np.int16(day.month * 100 + day.day)
    alive = registered.death > day_number
    alive &= (registered.birth_year < year) | (
        (registered.birth_year == year) & (registered.birth_md <= md)
    )
    holds = (np.bincount(registered.practice[alive], minlength=practices) > 0) & has_postcode
    listed = alive
    listed &= (registered.gender == MALE) | (registered.gender == FEMALE)
    listed &= holds[registered.practice]
    per_practice = np.bincount(registered.practice[listed], minlength=practices)
    bands = _bands(_ages(registered.birth_year[listed], registered.birth_md[listed], day))
    key = bands * 3 + registered.gender[listed].astype(np.int64)
    by_band = np.bincount(key, minlength=_BANDS * 3).reshape(_BANDS, 3)
    return holds, per_practice.astype(np.int64), by_band.astype(np.int64)
