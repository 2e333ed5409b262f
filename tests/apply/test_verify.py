"""``ndoo apply verify``: a released output re-checked against its manifest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from ndoo.apply.duck import DuckEngine
from ndoo.apply.locations import Location
from ndoo.apply.manifest import Verification
from ndoo.apply.verify import verify
from ndoo.db import Database
from ndoo.db.migrate import upgrade
from ndoo.errors import InputError
from tests.apply.helpers import digest, episodes, run, tree, write_parquet


@pytest.fixture
def engine() -> Iterator[DuckEngine]:
    duck = DuckEngine(memory_limit="1GB")
    yield duck
    duck.close()


def release(register: Database, data: Path, output: str) -> Path:
    source = write_parquet(episodes(), data / "in.parquet")
    result = run(register, str(source), str(data / output))
    assert result.manifest_path is not None
    return result.manifest_path


def check(register: Database, manifest: Path, engine: DuckEngine, **kw: object) -> Verification:
    return verify(register, manifest, engine=engine, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("output", ["out.parquet", "out.csv", "out.jsonl", "release"])
def test_an_untouched_release_verifies(register, data, engine, output):
    manifest = release(register, data, output)
    before = {p: digest(data / p) for p in tree(data) if (data / p).is_file()}
    result = check(register, manifest, engine)
    assert result.ok, result.problems
    assert "manifest matches the copy stored in the database" in result.checks
    assert "rows: 3 as recorded" in result.checks
    assert "distinct patients: 3 as recorded" in result.checks
    assert any(line.endswith("SHA-256 matches") for line in result.checks)
    assert result.as_dict()["ok"] is True
    assert {p: digest(data / p) for p in tree(data) if (data / p).is_file()} == before


def test_a_csv_release_in_its_own_dialect_verifies(register, data, engine):
    source = data / "in.csv"
    source.write_bytes("nhs_number;name\n9000000025;Zoë\n9000000009;Renée\n".encode("cp1252"))
    result = run(register, str(source), str(data / "out.csv"))
    assert result.manifest_path is not None
    assert check(register, result.manifest_path, engine).ok


def test_an_edited_output_is_found(register, data, engine):
    manifest = release(register, data, "out.csv")
    output = data / "out.csv"
    output.write_text(output.read_text() + "E99,9000000033,X,1.0\n")
    result = check(register, manifest, engine)
    assert not result.ok
    assert "out.csv: changed since release (SHA-256 differs)" in result.problems
    assert "the output holds 4 rows; the manifest says 3" in result.problems


def test_a_rewritten_parquet_output_with_a_removed_patient_put_back_is_found(
    register, data, engine
):
    manifest = release(register, data, "out.parquet")
    pq.write_table(episodes(), data / "out.parquet")
    result = check(register, manifest, engine)
    assert "out.parquet: changed since release (SHA-256 differs)" in result.problems
    assert "the output holds 5 distinct patients; the manifest says 3" in result.problems


def test_an_edited_manifest_is_found(register, data, engine):
    manifest = release(register, data, "out.parquet")
    content = json.loads(manifest.read_text())
    content["counts"]["rows_removed"] = 0
    manifest.write_text(json.dumps(content))
    result = check(register, manifest, engine)
    assert result.problems == [
        "the manifest differs from the copy stored in the database when the run ended"
    ]


def test_a_missing_output_is_found(register, data, engine):
    manifest = release(register, data, "out.parquet")
    (data / "out.parquet").unlink()
    result = check(register, manifest, engine)
    assert any("the output is missing" in p for p in result.problems)


def test_a_file_added_to_a_released_folder_is_found(register, data, engine):
    manifest = release(register, data, "release")
    pq.write_table(episodes().slice(0, 1), data / "release" / "zz-extra.parquet")
    result = check(register, manifest, engine)
    assert result.problems == [
        "zz-extra.parquet: not part of the release",
        "the output holds 4 rows; the manifest says 3",
        "the output holds 4 distinct patients; the manifest says 3",
    ]


def test_a_file_that_cannot_be_read_with_the_release_is_a_problem_not_a_crash(
    register, data, engine
):
    manifest = release(register, data, "release")
    pq.write_table(pa.table({"other": ["x"]}), data / "release" / "zz-extra.parquet")
    result = check(register, manifest, engine)
    assert result.problems[0] == "zz-extra.parquet: not part of the release"
    assert result.problems[1].startswith("the output cannot be read to count its rows")


def test_a_release_unknown_to_this_database_is_found(register, tmp_path, data, engine):
    manifest = release(register, data, "out.parquet")
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    try:
        result = verify(other, manifest, engine=engine)
    finally:
        other.dispose()
    assert result.problems == ["the database holds no release with this manifest's id"]
    assert verify(None, manifest, engine=engine).ok


def test_a_table_output_is_counted_given_its_url(register, tmp_path, data, engine):
    url = f"sqlite:///{tmp_path / 'trust.db'}"
    source = write_parquet(episodes(), data / "in.parquet")
    result = run(
        register,
        str(source),
        Location("table", url=url, table="released"),
        manifest_path=data / "released.manifest.json",
    )
    manifest = data / "released.manifest.json"
    assert result.manifest_path == manifest
    without = check(register, manifest, engine)
    assert without.problems == [
        "the output is a database table; give its URL (--url) to count its rows"
    ]
    assert check(register, manifest, engine, url=url).ok
    engine_ = sa.create_engine(url)
    with engine_.begin() as conn:
        conn.execute(sa.text('DROP TABLE "released"'))
    engine_.dispose()
    fresh = DuckEngine(memory_limit="1GB")  # an engine reads a table once, then holds it
    try:
        dropped = check(register, manifest, fresh, url=url)
    finally:
        fresh.close()
    assert not dropped.ok
    assert dropped.problems[0].startswith("the output cannot be read to count its rows")
    assert "no table 'released'" in dropped.problems[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ('{"schema": "something else"}', "not a release manifest"),
        ("[1, 2]", "not a release manifest"),
    ],
)
def test_a_file_that_is_not_a_manifest_is_refused(register, data, engine, content, message):
    path = data / "m.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        check(register, path, engine)


def test_an_absent_manifest_is_refused(register, data, engine):
    with pytest.raises(InputError, match="no such manifest"):
        check(register, data / "absent.json", engine)
