"""Loading a whole population and its opt-out history (synthetic England's Parquet files).

``practices.parquet``, ``people.parquet`` and ``events.parquet`` are checked in full —
NHS numbers, codes, and every register rule for every event, vectorised — and then
written in one transaction with one audit entry.  A bad row stops the load with
its file and row number, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select

from ndoo import audit
from ndoo.db import Database
from ndoo.db.bulk import insert_table
from ndoo.db.models import ACTORS, CHANNELS, STATES, choice_event, gp_practice, person
from ndoo.errors import DuplicateEvent, FileFormatError, InputError
from ndoo.nhs_number import parse_array
from ndoo.register import records, rules
from ndoo.timeutil import to_db, utcnow

PEOPLE_COLUMNS = (
    "nhs_number",
    "date_of_birth",
    "gender",
    "gp_practice_code",
    "lsoa_code",
    "date_of_death",
    "lacks_capacity",
    "detained",
)
EVENT_COLUMNS = (
    "nhs_number",
    "state",
    "effective_at",
    "channel",
    "actor",
    "proxy_name",
    "proxy_evidence",
    "case_reference",
)
PRACTICE_COLUMNS = ("code", "name", "sub_icb_code", "postcode")


@dataclass(frozen=True)
class LoadSummary:
    practices: int
    people: int
    events: int
    opted_out: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _read(directory: Path, name: str, columns: tuple[str, ...]) -> pa.Table:
    path = directory / name
    if not path.is_file():
        raise InputError(f"{path} does not exist; generate it with `ndoo synth population`")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise FileFormatError(f"is not a readable Parquet file: {exc}", file=name) from exc
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise FileFormatError(f"has no column {missing[0]!r}", file=name, field=missing[0])
    return table.select(list(columns))


def _first_false(mask: np.ndarray[Any, np.dtype[np.bool_]]) -> int | None:
    bad = np.flatnonzero(~mask)
    return int(bad[0]) if bad.size else None


def _require(mask: Any, file: str, field: str, problem: str) -> None:
    row = _first_false(np.asarray(mask, dtype=bool))
    if row is not None:
        raise FileFormatError(f"row {row + 1}: {problem}", file=file, field=field)


def _check_people(table: pa.Table) -> np.ndarray[Any, np.dtype[np.int64]]:
    numbers, ok = parse_array(table.column("nhs_number"))
    _require(ok, "people.parquet", "nhs_number", "not a valid NHS number")
    _check_no_repeats(numbers)
    gender = pc.is_in(table.column("gender"), pa.array(["0", "1", "2", "9"]))
    _require(
        pc.fill_null(gender, False).to_numpy(zero_copy_only=False),
        "people.parquet",
        "gender",
        "gender must be 0, 1, 2 or 9",
    )
    _require(
        pc.is_valid(table.column("date_of_birth")).to_numpy(zero_copy_only=False),
        "people.parquet",
        "date_of_birth",
        "the date of birth is missing",
    )
    return numbers


def _check_no_repeats(numbers: np.ndarray[Any, np.dtype[np.int64]]) -> None:
    ordered = np.sort(numbers)
    repeated = np.flatnonzero(ordered[1:] == ordered[:-1])
    if repeated.size == 0:
        return
    value = ordered[repeated[0]]
    row = int(np.flatnonzero(numbers == value)[1])
    raise FileFormatError(
        f"row {row + 1}: this NHS number appears twice", file="people.parquet", field="nhs_number"
    )


def _event_facts(
    events: pa.Table, people: pa.Table, people_numbers: np.ndarray[Any, np.dtype[np.int64]]
) -> rules.EventFacts:
    numbers, ok = parse_array(events.column("nhs_number"))
    _require(ok, "events.parquet", "nhs_number", "not a valid NHS number")
    order = np.argsort(people_numbers)
    position = np.searchsorted(people_numbers, numbers, sorter=order)
    position = np.minimum(position, people_numbers.size - 1)
    index = order[position]
    _require(
        people_numbers[index] == numbers,
        "events.parquet",
        "nhs_number",
        "this person is not in people.parquet",
    )
    for name, allowed in (("state", STATES), ("channel", CHANNELS), ("actor", ACTORS)):
        valid = pc.fill_null(pc.is_in(events.column(name), pa.array(list(allowed))), False)
        _require(
            valid.to_numpy(zero_copy_only=False),
            "events.parquet",
            name,
            f"{name} must be one of {', '.join(allowed)}",
        )
    effective = events.column("effective_at")
    _require(
        pc.is_valid(effective).to_numpy(zero_copy_only=False),
        "events.parquet",
        "effective_at",
        "the effective time is missing",
    )
    effective_us = np.asarray(effective.cast(pa.timestamp("us")).to_numpy(), dtype="datetime64[us]")

    def person_column(name: str) -> np.ndarray[Any, Any]:
        return np.asarray(people.column(name).to_numpy(zero_copy_only=False))[index]

    return rules.EventFacts(
        actor=np.asarray(events.column("actor").to_numpy(zero_copy_only=False), dtype=str),
        channel=np.asarray(events.column("channel").to_numpy(zero_copy_only=False), dtype=str),
        effective_at=effective_us,
        recorded_at=effective_us,
        date_of_birth=person_column("date_of_birth").astype("datetime64[D]"),
        date_of_death=person_column("date_of_death").astype("datetime64[D]"),
        lacks_capacity=person_column("lacks_capacity").astype(bool),
        detained=person_column("detained").astype(bool),
        has_proxy_name=pc.is_valid(events.column("proxy_name")).to_numpy(zero_copy_only=False),
        has_proxy_evidence=pc.is_valid(events.column("proxy_evidence")).to_numpy(
            zero_copy_only=False
        ),
    )


def _check_unique_times(events: pa.Table) -> None:
    numbers = events.column("nhs_number").to_numpy(zero_copy_only=False)
    times = np.asarray(
        events.column("effective_at").cast(pa.timestamp("us")).to_numpy(), dtype="datetime64[us]"
    ).astype(np.int64)
    order = np.lexsort((times, numbers))
    same = (numbers[order][1:] == numbers[order][:-1]) & (times[order][1:] == times[order][:-1])
    if same.any():
        row = int(order[np.flatnonzero(same)[0] + 1])
        raise DuplicateEvent(
            f"events.parquet, row {row + 1}: the person already has an event at that exact time"
        )


def load_population(db: Database, directory: Path, *, actor: str) -> LoadSummary:
    """Load practices, people and events from ``directory`` into an empty register."""
    practices = _read(directory, "practices.parquet", PRACTICE_COLUMNS)
    people = _read(directory, "people.parquet", PEOPLE_COLUMNS)
    events = _read(directory, "events.parquet", EVENT_COLUMNS)
    people_numbers = _check_people(people)
    facts = _event_facts(events, people, people_numbers)
    now = utcnow()
    violation = rules.first_violation(facts, np.datetime64(to_db(now), "us"))
    if violation is not None:
        raise FileFormatError(
            f"row {violation.row + 1}: {violation.error.message}", file="events.parquet"
        )
    _check_unique_times(events)
    # Inserting in key order appends to the B-trees instead of splitting pages at random.
    people = people.take(pc.sort_indices(people, [("nhs_number", "ascending")]))
    events = events.take(
        pc.sort_indices(events, [("nhs_number", "ascending"), ("effective_at", "ascending")])
    )
    with db.write() as conn:
        if conn.execute(select(func.count()).select_from(person)).scalar_one():
            raise InputError(
                "the register already holds people: load a population into an empty register"
            )
        loaded_practices = insert_table(conn, gp_practice, practices)
        insert_table(conn, person, people)
        before = records.last_event_id(conn)
        stamped = events.append_column("recorded_at", events.column("effective_at"))
        insert_table(conn, choice_event, stamped)
        records.rebuild(conn, after_event_id=before)
        opted_out = records.count_opted_out(conn, now)
        audit.record(
            conn,
            actor=actor,
            action="register.load_population",
            practices=loaded_practices,
            people=people.num_rows,
            events=events.num_rows,
            opted_out=opted_out,
        )
    return LoadSummary(loaded_practices, people.num_rows, events.num_rows, opted_out)
