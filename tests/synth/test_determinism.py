"""The same request always gives the same population; chunking changes nothing."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ndoo.errors import InputError
from ndoo.synth import (
    DEFAULT_REFERENCE_DATE,
    EVENTS_SCHEMA,
    PEOPLE_SCHEMA,
    PRACTICES_SCHEMA,
    generate_population,
)
from tests.synth.checks import read
from tests.synth.conftest import PEOPLE, SEED, England

FILES = ("practices", "people", "events")


def test_the_default_reference_date_is_fixed_not_today() -> None:
    assert date(2026, 10, 1) == DEFAULT_REFERENCE_DATE


def test_files_have_the_published_schemas(england: England) -> None:
    for name, schema in zip(FILES, (PRACTICES_SCHEMA, PEOPLE_SCHEMA, EVENTS_SCHEMA), strict=True):
        assert pq.read_schema(england.out_dir / f"{name}.parquet") == schema, name
    assert sorted(p.name for p in england.out_dir.iterdir()) == sorted(
        f"{n}.parquet" for n in FILES
    )


def test_the_same_seed_gives_identical_tables(tmp_path: Path) -> None:
    first = generate_population(20_000, 3, tmp_path / "a")
    second = generate_population(20_000, 3, tmp_path / "b")
    assert first.as_dict() | {"out_dir": ""} == second.as_dict() | {"out_dir": ""}
    for a, b in zip(read(tmp_path / "a"), read(tmp_path / "b"), strict=True):
        assert a.equals(b)


def test_another_seed_gives_other_people(tmp_path: Path) -> None:
    generate_population(20_000, 3, tmp_path / "a")
    generate_population(20_000, 4, tmp_path / "b")
    for a, b in zip(read(tmp_path / "a"), read(tmp_path / "b"), strict=True):
        assert not a.equals(b)
    people_a, people_b = read(tmp_path / "a")[1], read(tmp_path / "b")[1]
    shared = set(people_a["nhs_number"].to_pylist()) & set(people_b["nhs_number"].to_pylist())
    assert len(shared) < 100


def test_small_chunks_give_the_same_population(england: England, tmp_path: Path) -> None:
    summary = generate_population(PEOPLE, SEED, tmp_path, chunk_size=40_000)
    assert summary.as_dict() | {"out_dir": ""} == england.summary.as_dict() | {"out_dir": ""}
    assert pq.ParquetFile(tmp_path / "people.parquet").metadata.num_row_groups > 1
    for ours, reference in zip(
        read(tmp_path), (england.practices, england.people, england.events), strict=True
    ):
        assert ours.equals(reference)


def test_a_later_reference_date_describes_the_population_later(tmp_path: Path) -> None:
    summary = generate_population(5_000, 3, tmp_path, reference_date=date(2030, 1, 1))
    assert summary.reference_date == date(2030, 1, 1)
    assert summary.people == 5_000


@pytest.mark.parametrize(
    "people,seed,when,chunk",
    [
        (0, 1, DEFAULT_REFERENCE_DATE, 10),
        (10, -1, DEFAULT_REFERENCE_DATE, 10),
        (10, 1, date(2018, 1, 1), 10),
        (10, 1, DEFAULT_REFERENCE_DATE, 0),
    ],
)
def test_impossible_requests_are_input_errors(
    tmp_path: Path, people: int, seed: int, when: date, chunk: int
) -> None:
    with pytest.raises(InputError):
        generate_population(people, seed, tmp_path, reference_date=when, chunk_size=chunk)
    assert not list(tmp_path.iterdir())


def test_an_unwritable_folder_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InputError, match="cannot create"):
        generate_population(100, 1, blocker / "out")


GOLDEN_DIGEST = "300256b5bd5f03293d0b97e68c7afd26ef5b9f162f7761baf48c06ff37a1765f"
"""SHA-256 of every value of the population (3,000 people, seed 1).

It changes only when the model or the random streams change: on purpose (then
record the new digest and say so in the change) or because a NumPy or Arrow
upgrade changed their output, which would break reproducibility for users.
"""


def test_content_is_the_same_on_every_machine(tmp_path: Path) -> None:
    generate_population(3_000, 1, tmp_path)
    digest = hashlib.sha256()
    for table in read(tmp_path):
        for name in table.column_names:
            digest.update(name.encode())
            digest.update(repr(table[name].to_pylist()).encode())
    assert digest.hexdigest() == GOLDEN_DIGEST
