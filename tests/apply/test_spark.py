"""The Spark engine: every input and output kind, and the same answers as DuckDB.

One local Spark session (two cores) is shared by the whole module: starting one costs
about ten seconds.  The property tests give both engines the same random datasets —
NHS numbers typed every way people type them, nulls, blanks, wrong check digits,
rubbish — and random opt-outs, and require the same counts and the same rows out.
"""

from __future__ import annotations

import csv
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndoo.apply import tables
from ndoo.apply.duck import DuckEngine
from ndoo.apply.engine import Step
from ndoo.apply.locations import CsvDialect, Location
from ndoo.apply.rows import Counts, Lookup, Tally, blank
from ndoo.apply.spark import SparkEngine, SparkScan, session
from ndoo.errors import ConfigurationError, FileFormatError, InputError
from ndoo.uphold.values import parse_column
from tests.apply.helpers import NOT_OPTED_OUT, OPTED_OUT, episodes

pytest.importorskip("pyspark")

pytestmark = [
    pytest.mark.slow,
    # pyspark 4 warns whenever pandas 3 is installed, though ndoo hands it Arrow only.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

WITHHELD = Lookup(np.array(sorted(int(n) for n in OPTED_OUT), dtype=np.int64))


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    spark = session("local[2]", {"spark.sql.warehouse.dir": str(warehouse)})
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def engine(spark: Any) -> Iterator[SparkEngine]:
    engine = SparkEngine(spark=spark)
    yield engine
    engine.close()


def parquet(table: pa.Table, path: Path) -> Location:
    pq.write_table(table, path)
    return Location("parquet", path=path)


def read_csv(path: Path, dialect: CsvDialect | None = None) -> list[list[str]]:
    dialect = dialect or CsvDialect()
    with path.open(encoding=dialect.encoding, newline="") as handle:
        return list(csv.reader(handle, delimiter=dialect.delimiter, quotechar=dialect.quote))


def write_csv(rows: list[list[str]], path: Path) -> Location:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return Location("csv", path=path, dialect=CsvDialect())


def tally(values: pa.Array, lookup: Lookup | None) -> Tally:
    counted = Tally(lookup)
    counted.add(values)
    counted.finish()
    return counted


def duck_apply(source: Location, column: str, out: Path, unmatched: str) -> Counts:
    """What DuckDB makes of the same input (with ``WITHHELD``): its counts, and its output."""
    duck = DuckEngine(memory_limit="500MB", keep_order=True)  # Spark keeps order too
    try:
        scan = duck.scan(source, column, WITHHELD)
        duck.write(scan, Location(out.suffix.lstrip("."), path=out), unmatched)
        return scan.counts
    finally:
        duck.close()


def rows_to_keep(values: pa.Array, lookup: Lookup | None, unmatched: str) -> list[int]:
    """The oracle: which rows an engine writes, from rows.py's own functions."""
    numbers, valid = parse_column(values)
    missing = blank(values)
    keep = valid.copy()
    if lookup is not None:
        keep &= ~np.isin(numbers, lookup.withheld)
        if lookup.covered is not None:
            keep &= np.isin(numbers, lookup.covered)
    if unmatched == "keep":
        keep |= ~valid | missing
    return [int(i) for i in np.flatnonzero(keep)]


# ---------------------------------------------------------------------------------
# Inputs and outputs


def test_parquet_to_parquet_keeps_every_column_type_and_order(engine, tmp_path):
    steps: list[Step] = []
    engine.progress = steps.append
    try:
        source = parquet(episodes(), tmp_path / "episodes.parquet")
        scan = engine.scan(source, "nhs_number", WITHHELD)
        written = engine.write(scan, Location("parquet", path=tmp_path / "out.parquet"), "stop")
    finally:
        engine.progress = lambda step: None
    assert scan.counts == Counts(rows_in=6, kept=3, withheld=3, distinct_in=5, distinct_out=3)
    assert written == 3
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.equals(episodes().schema, check_metadata=False)
    assert out.to_pylist() == episodes().take([1, 3, 5]).to_pylist()
    assert steps == [
        Step("scan", 0, 1),
        Step("scan", 1, 1),
        Step("write", 0, 3),
        Step("write", 3, 3),
    ]
    assert list(scan.distinct_numbers()) == sorted(int(n) for n in (*OPTED_OUT, *NOT_OPTED_OUT))


def test_csv_values_are_written_as_typed(engine, tmp_path):
    rows = [
        ["code", "nhs_number", "note"],
        ["007", "943 476 5919", " padded "],
        ["010", OPTED_OUT[0], "gone"],
        ["011", "900-000-0025", 'a "quoted", multi\nline note'],
        ["012", "", ""],
        ["013", "not a number", "0012"],
    ]
    source = write_csv(rows, tmp_path / "in.csv")
    scan = engine.scan(source, "nhs_number", WITHHELD)
    assert scan.counts.missing == 1 and scan.counts.invalid == 1
    assert scan.counts.first_missing == [4] and scan.counts.first_invalid == [5]
    target = Location("csv", path=tmp_path / "out.csv", dialect=CsvDialect())
    assert engine.write(scan, target, "keep") == 4
    assert read_csv(tmp_path / "out.csv") == [rows[0], rows[1], rows[3], rows[4], rows[5]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_csv_in_windows_1252_with_semicolons_and_out_with_a_bom(engine, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("nhs.number;name\r\n9434765919;Zoë\r\n9000000009;Renée\r\n".encode("cp1252"))
    dialect = CsvDialect(delimiter=";", encoding="cp1252")
    scan = engine.scan(Location("csv", path=path, dialect=dialect), "nhs.number", WITHHELD)
    assert scan.counts.withheld == 1
    engine.write(scan, Location("csv", path=tmp_path / "out.csv", dialect=dialect), "stop")
    assert (tmp_path / "out.csv").read_bytes() == "nhs.number;name\n9434765919;Zoë\n".encode(
        "cp1252"
    )
    bom = CsvDialect(delimiter=";", bom=True)
    engine.write(scan, Location("csv", path=tmp_path / "bom.csv", dialect=bom), "stop")
    assert (tmp_path / "bom.csv").read_bytes() == "\ufeffnhs.number;name\n9434765919;Zoë\n".encode()


def test_json_lines_keep_the_order_of_keys(engine, tmp_path):
    path = tmp_path / "in.jsonl"
    records = [
        {"episode": "E1", "nhs_number": "943 476 5919", "cost": 1.5, "ward": None},
        {"episode": "E2", "nhs_number": OPTED_OUT[1], "cost": 2.0, "ward": "B"},
        {"episode": "E3", "nhs_number": None, "cost": 3.25, "ward": "C"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    scan = engine.scan(Location("jsonl", path=path), "nhs_number", WITHHELD)
    assert (scan.counts.withheld, scan.counts.missing) == (1, 1)
    engine.write(scan, Location("jsonl", path=tmp_path / "out.jsonl"), "keep")
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [records[0], records[2]]
    assert list(json.loads(lines[0])) == ["episode", "nhs_number", "cost", "ward"]
    duck = duck_apply(Location("jsonl", path=path), "nhs_number", tmp_path / "duck.jsonl", "keep")
    assert duck == scan.counts
    assert (tmp_path / "duck.jsonl").read_text() == (tmp_path / "out.jsonl").read_text()


def test_a_folder_of_parquet_files_is_read_in_name_order(engine, tmp_path):
    folder = tmp_path / "in"
    (folder / "z").mkdir(parents=True)
    # Later files are bigger, so Spark lists them first: the engine must sort.
    sizes = {"a.parquet": 1, "b.parquet": 40, "z/c.parquet": 400}
    expected: list[dict[str, Any]] = []
    for name, size in sizes.items():
        numbers = [None if i % 7 == 3 else NOT_OPTED_OUT[i % 3] for i in range(size)]
        part = pa.table({"file": [name] * size, "row": list(range(size)), "nhs": numbers})
        pq.write_table(part, folder / name)
        expected += part.to_pylist()
    scan = engine.scan(Location("parquet", path=folder), "nhs", WITHHELD)
    assert isinstance(scan, SparkScan) and scan.needs_sort
    missing = [i + 1 for i, r in enumerate(expected) if r["nhs"] is None]
    assert scan.counts.first_missing == missing[:20]
    assert scan.counts.missing == len(missing)
    target = Location("parquet", path=tmp_path / "out")
    assert target.is_folder
    assert engine.write(scan, target, "keep") == len(expected)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names and all(n.startswith("part-") and n.endswith(".parquet") for n in names)
    assert pq.read_table(tmp_path / "out").to_pylist() == expected
    single = Location("parquet", path=tmp_path / "one.parquet")
    engine.write(scan, single, "drop")
    kept = [r for r in expected if r["nhs"] is not None]
    assert pq.read_table(single.path).to_pylist() == kept
    duck = duck_apply(Location("parquet", path=folder), "nhs", tmp_path / "duck.parquet", "drop")
    assert duck == scan.counts
    assert pq.read_table(tmp_path / "duck.parquet").to_pylist() == kept


def test_spark_tables_in_and_out(engine, spark):
    spark.createDataFrame(episodes()).coalesce(1).write.saveAsTable("episodes_in")
    scan = engine.scan(Location("spark", table="episodes_in"), "nhs_number", WITHHELD)
    assert scan.counts.kept == 3
    assert engine.write(scan, Location("spark", table="episodes_out"), "stop") == 3
    files = sorted(spark.table("episodes_out").inputFiles())
    out = pa.concat_tables([pq.read_table(f.removeprefix("file:")) for f in files])
    assert out.to_pylist() == episodes().take([1, 3, 5]).to_pylist()
    final = Location("spark", table="episodes_final")
    engine.move_table(Location("spark", table="episodes_out"), final, overwrite=False)
    assert engine.table_exists(final) and spark.table("episodes_final").count() == 3
    with pytest.raises(InputError, match="already exists"):
        engine.move_table(Location("spark", table="episodes_in"), final, overwrite=False)
    engine.drop_table(final)
    assert not engine.table_exists(final)


def test_database_tables_in_and_out(engine, tmp_path):
    url = f"sqlite:///{tmp_path / 'trust.db'}"
    source = Location("table", url=url, table="episodes")
    data = episodes()
    tables.write(source, iter(data.to_batches()), data.schema)
    scan = engine.scan(source, "nhs_number", WITHHELD)
    target = Location("table", url=url, table="released")
    assert engine.write(scan, target, "stop") == 3
    assert tables.reader(target).read_all().to_pylist() == data.take([1, 3, 5]).to_pylist()


def test_unmatched_rows_are_kept_or_dropped_as_decided(engine, tmp_path):
    table = pa.table({"nhs": [NOT_OPTED_OUT[0], None, "  ", "9434765918", OPTED_OUT[0]]})
    scan = engine.scan(parquet(table, tmp_path / "in.parquet"), "nhs", WITHHELD)
    assert (scan.counts.missing, scan.counts.invalid, scan.counts.withheld) == (2, 1, 1)
    assert scan.counts.first_unmatched == [2, 3, 4]
    keep, drop = (Location("parquet", path=tmp_path / f"{d}.parquet") for d in ("keep", "drop"))
    assert engine.write(scan, keep, "keep") == 4
    assert pq.read_table(keep.path).column("nhs").to_pylist() == table["nhs"].to_pylist()[:4]
    assert engine.write(scan, drop, "drop") == 1


def test_uncovered_rows_are_counted_and_never_written(engine, tmp_path):
    numbers = [NOT_OPTED_OUT[0], NOT_OPTED_OUT[1], OPTED_OUT[0], NOT_OPTED_OUT[1], None]
    covered = np.array(sorted(int(n) for n in (NOT_OPTED_OUT[0], OPTED_OUT[0])))
    lookup = Lookup(WITHHELD.withheld[:1], covered)
    scan = engine.scan(parquet(pa.table({"nhs": numbers}), tmp_path / "in.parquet"), "nhs", lookup)
    assert (scan.counts.kept, scan.counts.withheld, scan.counts.uncovered) == (1, 1, 2)
    assert scan.counts.first_uncovered == [2, 4]
    assert scan.counts.distinct_out == 1
    target = Location("parquet", path=tmp_path / "out.parquet")
    assert engine.write(scan, target, "keep") == 2
    assert pq.read_table(target.path).column("nhs").to_pylist() == [NOT_OPTED_OUT[0], None]


def test_a_missing_column_names_those_that_exist(engine, tmp_path):
    source = parquet(episodes(), tmp_path / "in.parquet")
    with pytest.raises(InputError) as caught:
        engine.scan(source, "NHS", WITHHELD)
    assert str(caught.value) == (
        "the dataset has no column 'NHS'; its columns are: 'episode', 'nhs_number', 'code', 'cost'"
    )


def test_nanosecond_timestamps_are_refused_with_a_way_out(engine, tmp_path):
    when = pa.array([0], pa.timestamp("ns"))
    source = parquet(pa.table({"nhs": [NOT_OPTED_OUT[0]], "when": when}), tmp_path / "in.parquet")
    with pytest.raises(InputError, match="use the DuckDB engine"):
        engine.scan(source, "nhs", WITHHELD)


def test_a_float32_column_is_refused_as_duckdb_refuses_it(engine, tmp_path):
    table = pa.table({"nhs": pa.array([9434765919.0], pa.float32())})
    with pytest.raises(FileFormatError, match="cannot hold ten digits exactly"):
        engine.scan(parquet(table, tmp_path / "in.parquet"), "nhs", WITHHELD)


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("bad.csv", f"nhs,code\n{NOT_OPTED_OUT[0]},A\n{NOT_OPTED_OUT[2]},B,extra\n", 3),
        ("bad.csv", f'nhs,code\n{NOT_OPTED_OUT[0]},A\n"{NOT_OPTED_OUT[2]},B\n', 3),
        ("bad.jsonl", f'{{"nhs": "{NOT_OPTED_OUT[0]}"}}\n{{"nhs": "{NOT_OPTED_OUT[2]}",\n', 2),
    ],
)
def test_a_malformed_row_names_the_file_and_line_but_no_number(
    engine, tmp_path, name, content, line
):
    path = tmp_path / name
    path.write_text(content)
    kind = "csv" if name.endswith(".csv") else "jsonl"
    source = Location(kind, path=path, dialect=CsvDialect() if kind == "csv" else None)
    with pytest.raises(FileFormatError) as caught:
        engine.scan(source, "nhs", WITHHELD)
    assert caught.value.line == line and caught.value.file == str(path)
    assert NOT_OPTED_OUT[2] not in str(caught.value) and caught.value.__cause__ is None


def test_files_spark_splits_keep_their_order_and_row_numbers(engine, spark, tmp_path):
    size = 1200
    numbers = [None if i % 11 == 5 else (*OPTED_OUT, *NOT_OPTED_OUT)[i % 5] for i in range(size)]
    table = pa.table({"row": list(range(size)), "nhs": numbers})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=100)
    with (tmp_path / "in.jsonl").open("w") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in table.to_pylist())
    expected = tally(table["nhs"].combine_chunks(), WITHHELD)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "10000")
    try:
        for source in (
            Location("parquet", path=tmp_path / "in.parquet"),
            Location("jsonl", path=tmp_path / "in.jsonl"),
        ):
            scan = engine.scan(source, "nhs", WITHHELD)
            assert scan.frame.rdd.getNumPartitions() > 1
            assert scan.counts == expected.counts
            target = Location("parquet", path=tmp_path / f"out-{source.format}.parquet")
            engine.write(scan, target, "keep")
            assert pq.read_table(target.path).column("row").to_pylist() == [
                r for r, n in zip(range(size), numbers, strict=True) if n not in OPTED_OUT
            ]
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")


def test_a_missing_file_is_an_input_error(engine, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        engine.scan(Location("jsonl", path=tmp_path / "nope.jsonl"), "nhs", WITHHELD)


def test_without_pyspark_the_engine_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'ndoo\[spark\]'"):
        SparkEngine()


# ---------------------------------------------------------------------------------
# The same answers as DuckDB, on random datasets

POOL = [int(n) for n in ("9434765919", "9000000009", "9000000017", "9000000025", "0101011237")]
STEMS = [n // 10 for n in POOL]
NOTES = ["", "a,b", 'say "hi"', "two\nlines", " padded ", "007", "é"]


def _text_forms(number: int) -> list[str]:
    text = f"{number:010d}"
    return [
        text,
        f"{text[:3]} {text[3:6]} {text[6:]}",
        f"{text[:3]}-{text[3:6]}-{text[6:]}",
        f"  {text} ",
        f"{text[:3]}\u00a0{text[3:6]}\u00a0{text[6:]}",
        f"{text}.0",
        text[:9] + str((number % 10 + 1) % 10),  # a wrong check digit
    ]


RUBBISH = ["", "   ", "abc", "12345", "9999999999", "943476591", "+9434765919", "0"]
TEXT = st.one_of(
    st.none(),
    st.sampled_from(RUBBISH),
    st.sampled_from(POOL).flatmap(lambda n: st.sampled_from(_text_forms(n))),
)
INTS = st.one_of(
    st.none(),
    st.sampled_from(POOL),
    st.sampled_from([0, -9434765919, 9434765918, 99_999_999_999, 9999999999]),
)
FLOATS = st.one_of(
    st.none(),
    st.sampled_from([float(n) for n in POOL]),
    st.sampled_from([9434765919.5, float("nan"), -1.0, 1e12]),
)
LOOKUPS = st.tuples(st.sets(st.sampled_from(POOL)), st.none() | st.sets(st.sampled_from(POOL))).map(
    lambda pair: Lookup(
        np.array(sorted(pair[0]), dtype=np.int64),
        None if pair[1] is None else np.array(sorted(pair[1]), dtype=np.int64),
    )
)


@st.composite
def datasets(draw: st.DrawFn, fmt: str) -> tuple[pa.Table, Lookup | None, str]:
    kind = "text" if fmt == "csv" else draw(st.sampled_from(["text", "int", "float"]))
    values = draw(st.lists({"text": TEXT, "int": INTS, "float": FLOATS}[kind], max_size=30))
    arrow_type = {"text": pa.string(), "int": pa.int64(), "float": pa.float64()}[kind]
    size = len(values)
    notes = draw(st.lists(st.sampled_from(NOTES), min_size=size, max_size=size))
    table = pa.table(
        {
            "id": pa.array([f"{i:04d}" for i in range(size)], pa.string()),
            "nhs_number": pa.array(values, arrow_type),
            "note": pa.array(notes, pa.string()),
            "amount": pa.array([i * 1.25 for i in range(size)], pa.float64()),
        }
    )
    if fmt == "csv":
        table = table.drop_columns(["amount"])
    lookup = draw(st.none() | LOOKUPS)
    return table, lookup, draw(st.sampled_from(["keep", "drop"]))


def both_engines(
    engine: SparkEngine,
    source: Location,
    values: pa.Array,
    lookup: Lookup | None,
    unmatched: str,
    outputs: Path,
) -> tuple[Counts, list[Path]]:
    """Scan with Spark, DuckDB and a plain Tally (the same counts), then write with both.

    DuckDB writes uncovered rows (it leaves them to the caller, who refuses them before
    writing), so its output is only compared when there are none.
    """
    expected = tally(values, lookup)
    duck = DuckEngine(memory_limit="500MB", keep_order=True)  # Spark keeps order too
    try:
        spark_scan = engine.scan(source, "nhs_number", lookup)
        duck_scan = duck.scan(source, "nhs_number", lookup)
        assert spark_scan.counts == expected.counts
        assert duck_scan.counts == expected.counts
        if lookup is None:  # what a check over MESH sends
            assert np.array_equal(spark_scan.distinct_numbers(), expected.distinct_numbers())
        written = []
        for name, scan, eng in (("spark", spark_scan, engine), ("duck", duck_scan, duck)):
            if name == "duck" and duck_scan.counts.uncovered:
                continue
            path = outputs / f"{name}{source.path.suffix if source.path else ''}"
            target = Location(source.format, path=path, dialect=CsvDialect())
            assert eng.write(scan, target, unmatched) == scan.counts.rows_out(unmatched)
            written.append(path)
    finally:
        duck.close()
    return expected.counts, written


PROPERTY = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)


@PROPERTY
@given(data=datasets("parquet"))
def test_parquet_spark_and_duckdb_agree(engine, tmp_path, data):
    table, lookup, unmatched = data
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    source = parquet(table, folder / "in.parquet")
    values = table["nhs_number"].combine_chunks()
    _, written = both_engines(engine, source, values, lookup, unmatched, folder)
    keep = rows_to_keep(values, lookup, unmatched)
    expected = table.take(pa.array(keep, pa.int64()))
    outputs = [pq.read_table(path) for path in written]
    assert outputs[0].schema.equals(table.schema, check_metadata=False)
    for out in outputs:
        # DuckDB marks a column with no nulls "required": only the types must match.
        assert out.schema.types == table.schema.types and out.column_names == table.column_names
        assert _plain(out) == _plain(expected)


def _plain(table: pa.Table) -> list[dict[str, Any]]:
    """Rows, with NaN as text so that equal rows compare equal."""
    return [
        {k: "NaN" if isinstance(v, float) and v != v else v for k, v in row.items()}
        for row in table.to_pylist()
    ]


@PROPERTY
@given(data=datasets("csv"))
def test_csv_spark_and_duckdb_agree(engine, tmp_path, data):
    table, lookup, unmatched = data
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    rows = [table.column_names] + [
        ["" if v is None else v for v in row.values()] for row in table.to_pylist()
    ]
    source = write_csv(rows, folder / "in.csv")
    values = pa.array([None if r[1] == "" else r[1] for r in rows[1:]], pa.string())
    _, written = both_engines(engine, source, values, lookup, unmatched, folder)
    keep = rows_to_keep(values, lookup, unmatched)
    expected = [rows[0]] + [rows[i + 1] for i in keep]
    for path in written:
        assert read_csv(path) == expected


def test_a_release_into_a_spark_table_is_swapped_in_with_its_manifest(engine, spark, tmp_path):
    from ndoo.apply.release import ApplyRequest, apply
    from tests.apply.helpers import sqlite_register

    db = sqlite_register(tmp_path / "register.db")
    spark.createDataFrame(episodes()).coalesce(1).write.saveAsTable("release_in")
    request = ApplyRequest(
        input=Location("spark", table="release_in"),
        output=Location("spark", table="release_out"),
        column="nhs_number",
        disclosure="DSA-001",
        manifest_path=tmp_path / "release.manifest.json",
    )
    result = apply(db, request, actor="analyst", engine=engine)
    assert result.manifest["counts"]["rows_out"] == 3
    assert result.manifest["row_order"] == "kept"
    assert spark.table("release_out").count() == 3
    assert [t.name for t in spark.catalog.listTables() if "ndoo" in t.name] == []
    with pytest.raises(InputError, match="already exists"):
        apply(db, request, actor="analyst", engine=engine)
    db.dispose()
