"""Loading synthetic England into the register, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from ndoo import audit
from ndoo.db.models import choice_event, person
from ndoo.errors import DuplicateEvent, FileFormatError, InputError
from ndoo.register import snapshot
from ndoo.register.load import load_population
from ndoo.register.summary import summarise
from ndoo.synth import generate_population

REFERENCE = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def england(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("england")
    generate_population(20_000, 3, out)
    return out


def rows(db, table) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_loaded_register_agrees_with_the_files(db, england):
    summary = load_population(db, england, actor="loader")
    people = pq.read_table(england / "people.parquet")
    events = pq.read_table(england / "events.parquet")
    assert (summary.people, summary.events) == (people.num_rows, events.num_rows)
    assert rows(db, person) == people.num_rows
    with db.read() as conn:
        null_names = conn.execute(
            select(func.count()).where(choice_event.c.proxy_name.is_(None))
        ).scalar_one()
        deaths = conn.execute(
            select(func.count()).where(person.c.date_of_death.is_not(None))
        ).scalar_one()
    assert null_names == events["proxy_name"].null_count
    assert deaths == people.num_rows - people["date_of_death"].null_count
    # The snapshot at the reference date is exactly the people whose last event is OUT.
    last = (
        events.group_by("nhs_number", use_threads=False)
        .aggregate([("effective_at", "max")])
        .rename_columns(["nhs_number", "effective_at"])
        .join(events, ["nhs_number", "effective_at"])
    )
    expected = np.sort(
        pc.cast(
            pc.filter(last["nhs_number"], pc.equal(last["state"], "OUT")), pa.int64()
        ).to_numpy()
    )
    assert np.array_equal(snapshot(db, REFERENCE), expected)
    entry = audit.entries(db, limit=1)[0]
    assert (entry.action, entry.detail["people"]) == ("register.load_population", people.num_rows)
    register = summarise(db, REFERENCE)
    assert 4.5 < register.rate < 6.5
    assert {r.code for r in register.regions} <= {
        "Y56",
        "Y58",
        "Y59",
        "Y60",
        "Y61",
        "Y62",
        "Y63",
        "Unallocated",
    }


def test_loading_twice_is_refused_and_changes_nothing(db, england):
    load_population(db, england, actor="loader")
    before = rows(db, choice_event)
    with pytest.raises(InputError, match="already holds people"):
        load_population(db, england, actor="loader")
    assert rows(db, choice_event) == before


def copy_with(england: Path, tmp_path: Path, name: str, table: pa.Table) -> Path:
    for file in ("practices.parquet", "people.parquet", "events.parquet"):
        (tmp_path / file).write_bytes((england / file).read_bytes())
    pq.write_table(table, tmp_path / name)
    return tmp_path


def test_an_event_breaking_a_rule_stops_the_load_with_its_row(db, england, tmp_path):
    events = pq.read_table(england / "events.parquet")
    actors = events["actor"].to_pylist()
    row = next(i for i, a in enumerate(actors) if a == "GUARDIAN")
    actors[row] = "SELF"
    broken = events.set_column(events.schema.get_field_index("actor"), "actor", pa.array(actors))
    folder = copy_with(england, tmp_path, "events.parquet", broken)
    with pytest.raises(FileFormatError, match=f"row {row + 1}: a child under 13") as caught:
        load_population(db, folder, actor="loader")
    assert caught.value.file == "events.parquet"
    assert rows(db, person) == 0 and rows(db, choice_event) == 0


def test_a_bad_nhs_number_stops_the_load(db, england, tmp_path):
    people = pq.read_table(england / "people.parquet")
    numbers = people["nhs_number"].to_pylist()
    numbers[5] = numbers[5][:-1] + str((int(numbers[5][-1]) + 1) % 10)
    broken = people.set_column(0, "nhs_number", pa.array(numbers))
    folder = copy_with(england, tmp_path, "people.parquet", broken)
    with pytest.raises(FileFormatError, match="row 6: not a valid NHS number"):
        load_population(db, folder, actor="loader")
    assert rows(db, person) == 0


def test_two_events_at_one_time_stop_the_load(db, england, tmp_path):
    events = pq.read_table(england / "events.parquet")
    duplicated = pa.concat_tables([events, events.slice(0, 1)])
    folder = copy_with(england, tmp_path, "events.parquet", duplicated)
    with pytest.raises(DuplicateEvent):
        load_population(db, folder, actor="loader")
    assert rows(db, choice_event) == 0


def test_missing_files_say_how_to_make_them(db, tmp_path):
    with pytest.raises(InputError, match="ndoo synth population"):
        load_population(db, tmp_path, actor="loader")


def test_synth_writes_exactly_the_columns_the_loader_reads():
    from ndoo.register.load import EVENT_COLUMNS, PEOPLE_COLUMNS, PRACTICE_COLUMNS
    from ndoo.synth import EVENTS_SCHEMA, PEOPLE_SCHEMA, PRACTICES_SCHEMA

    assert tuple(PRACTICES_SCHEMA.names) == PRACTICE_COLUMNS
    assert tuple(PEOPLE_SCHEMA.names) == PEOPLE_COLUMNS
    assert tuple(EVENTS_SCHEMA.names) == EVENT_COLUMNS
