"""Database tables in and out: SQLite and PostgreSQL, across databases, with any names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from ndoo.apply import tables
from ndoo.apply.duck import DuckEngine
from ndoo.apply.locations import Location
from ndoo.errors import InputError
from tests.apply.helpers import (
    KEPT_EPISODES,
    NOT_OPTED_OUT,
    OPTED_OUT,
    digest,
    episodes,
    pg_database,
    read_table,
    releases,
    run,
    table_names,
    tree,
    write_parquet,
)

HOSTILE_TABLE = 'x"; DROP TABLE person; --'
HOSTILE_OUT = "y'); DROP TABLE person; --"
HOSTILE_COLUMN = 'O\'Brien "col"'


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'trust.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        yield url


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def create(url: str, name: str, columns: list[sa.Column], rows: list[dict]) -> None:  # type: ignore[type-arg]
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            table = sa.Table(name, sa.MetaData(), *columns)
            table.create(conn)
            if rows:
                conn.execute(table.insert(), rows)
    finally:
        engine.dispose()


def episode_table(url: str, name: str = "episodes") -> None:
    """The six episodes, typed as a trust would store them."""
    columns = [
        sa.Column("episode", sa.String(10)),
        sa.Column("nhs_number", sa.String(20)),
        sa.Column("code", sa.String(10)),
        sa.Column("cost", sa.Numeric(10, 2)),
        sa.Column("seen", sa.Date),
        sa.Column("visits", sa.Integer),
    ]
    rows = [
        {**r, "cost": Decimal(str(r["cost"])), "seen": dt.date(2024, 1, i + 1), "visits": i}
        for i, r in enumerate(episodes().to_pylist())
    ]
    rows[3]["seen"] = None
    create(url, name, columns, rows)


def kept_rows() -> list[tuple]:  # type: ignore[type-arg]
    rows = []
    for i, r in enumerate(episodes().to_pylist()):
        if r["episode"] in KEPT_EPISODES:
            seen = None if i == 3 else dt.date(2024, 1, i + 1)
            rows.append(
                (r["episode"], r["nhs_number"], r["code"], Decimal(str(r["cost"])), seen, i)
            )
    return rows


def column_types(url: str, name: str) -> list[tuple[str, str]]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return [(c["name"], str(c["type"])) for c in sa.inspect(conn).get_columns(name)]
    finally:
        engine.dispose()


def table_location(url: str, name: str) -> Location:
    return Location("table", url=url, table=name)


# ---------------------------------------------------------------------------
# SQLite


def test_a_sqlite_table_to_another_keeps_types_values_and_order(register, tmp_path, sqlite_url):
    episode_table(sqlite_url)
    out_url = f"sqlite:///{tmp_path / 'release.db'}"
    result = run(
        register,
        table_location(sqlite_url, "episodes"),
        table_location(out_url, "released"),
        manifest_path=tmp_path / "release.manifest.json",
    )
    names, rows = read_table(out_url, "released")
    assert names == ["episode", "nhs_number", "code", "cost", "seen", "visits"]
    assert rows == kept_rows()
    assert column_types(out_url, "released") == column_types(sqlite_url, "episodes")
    assert table_names(out_url) == {"released"}
    output = result.manifest["output"]
    assert (output["format"], output["table"]) == ("table", "released")
    assert result.manifest["input"] == {
        "format": "table",
        "database": sqlite_url,
        "table": "episodes",
    }
    assert "files" not in output
    assert (tmp_path / "release.manifest.json").exists()
    assert (tmp_path / "release.notice.txt").exists()


def test_a_sqlite_table_to_parquet(register, tmp_path, sqlite_url):
    episode_table(sqlite_url)
    run(register, table_location(sqlite_url, "episodes"), str(tmp_path / "out.parquet"))
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.column_names == ["episode", "nhs_number", "code", "cost", "seen", "visits"]
    assert written.schema.field("cost").type == pa.decimal128(10, 2)
    assert written.schema.field("seen").type == pa.date32()
    assert [tuple(r.values()) for r in written.to_pylist()] == kept_rows()


def test_a_table_of_integer_numbers_to_parquet_keeps_integers_and_order(
    register, tmp_path, sqlite_url
):
    numbers = [
        int(OPTED_OUT[i % 2]) if i % 5 == 0 else int(NOT_OPTED_OUT[i % 3]) for i in range(999)
    ]
    create(
        sqlite_url,
        "visits",
        [sa.Column("visit", sa.Integer), sa.Column("nhs_number", sa.BigInteger)],
        [{"visit": i, "nhs_number": n} for i, n in enumerate(numbers)],
    )
    result = run(register, table_location(sqlite_url, "visits"), str(tmp_path / "out.parquet"))
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.schema.field("nhs_number").type == pa.int64()
    assert written.column("visit").to_pylist() == [i for i in range(999) if i % 5]
    assert result.manifest["counts"]["rows_withheld"] == 200


def test_parquet_to_a_sqlite_table_maps_the_types(register, tmp_path, sqlite_url):
    table = pa.table(
        {
            "nhs_number": pa.array([NOT_OPTED_OUT[0], OPTED_OUT[0], NOT_OPTED_OUT[1]]),
            "n": pa.array([1, 2, None], pa.int32()),
            "cost": pa.array([Decimal("1.10"), None, Decimal("3.30")], pa.decimal128(10, 2)),
            "seen": pa.array([dt.date(2024, 1, 1), None, None]),
        }
    )
    source = write_parquet(table, tmp_path / "in.parquet")
    run(
        register,
        str(source),
        table_location(sqlite_url, "released"),
        manifest_path=tmp_path / "m.json",
    )
    assert column_types(sqlite_url, "released") == [
        ("nhs_number", "TEXT"),
        ("n", "INTEGER"),
        ("cost", "NUMERIC(10, 2)"),
        ("seen", "DATE"),
    ]
    _, rows = read_table(sqlite_url, "released")
    assert rows == [
        (NOT_OPTED_OUT[0], 1, Decimal("1.10"), dt.date(2024, 1, 1)),
        (NOT_OPTED_OUT[1], None, Decimal("3.30"), None),
    ]


def test_order_is_kept_into_a_table(register, tmp_path, sqlite_url):
    numbers = [OPTED_OUT[i % 2] if i % 7 == 0 else NOT_OPTED_OUT[i % 3] for i in range(60_000)]
    table = pa.table({"seq": pa.array(range(60_000), pa.int64()), "nhs_number": numbers})
    source = tmp_path / "in.parquet"
    pq.write_table(table, source, row_group_size=2_000)
    engine = DuckEngine(memory_limit="1GB", keep_order=True)
    try:
        run(
            register,
            str(source),
            table_location(sqlite_url, "released"),
            manifest_path=tmp_path / "m",
            engine=engine,
        )
    finally:
        engine.close()
    _, rows = read_table(sqlite_url, "released")
    assert [r[0] for r in rows] == [i for i in range(60_000) if i % 7]


def test_hostile_table_and_column_names_on_sqlite(register, tmp_path, sqlite_url):
    create(sqlite_url, "person", [sa.Column("id", sa.Integer)], [{"id": 1}])
    create(
        sqlite_url,
        HOSTILE_TABLE,
        [sa.Column(HOSTILE_COLUMN, sa.Text), sa.Column("a'b", sa.Text)],
        [
            {HOSTILE_COLUMN: NOT_OPTED_OUT[0], "a'b": "'); DELETE FROM person; --"},
            {HOSTILE_COLUMN: OPTED_OUT[0], "a'b": "x"},
        ],
    )
    run(
        register,
        table_location(sqlite_url, HOSTILE_TABLE),
        table_location(sqlite_url, HOSTILE_OUT),
        column=HOSTILE_COLUMN,
        manifest_path=tmp_path / "m.json",
    )
    names, rows = read_table(sqlite_url, HOSTILE_OUT)
    assert names == [HOSTILE_COLUMN, "a'b"]
    assert rows == [(NOT_OPTED_OUT[0], "'); DELETE FROM person; --")]
    assert read_table(sqlite_url, "person")[1] == [(1,)]
    assert table_names(sqlite_url) == {"person", HOSTILE_TABLE, HOSTILE_OUT}


def test_a_missing_table_names_the_tables_that_exist(register, tmp_path, sqlite_url):
    episode_table(sqlite_url)
    create(sqlite_url, "admissions", [sa.Column("id", sa.Integer)], [])
    before = tree(tmp_path)
    with pytest.raises(InputError) as caught:
        run(register, table_location(sqlite_url, "episode"), str(tmp_path / "out.parquet"))
    message = caught.value.message
    assert "no table 'episode'" in message and "'admissions', 'episodes'" in message
    assert tree(tmp_path) == before


def test_a_missing_column_in_a_table_names_the_columns(register, tmp_path, sqlite_url):
    episode_table(sqlite_url)
    with pytest.raises(InputError, match=r"no column 'nhs'.*'episode', 'nhs_number'"):
        run(
            register,
            table_location(sqlite_url, "episodes"),
            str(tmp_path / "out.parquet"),
            column="nhs",
        )
    assert not (tmp_path / "out.parquet").exists()


def test_an_existing_output_table_is_refused_then_replaced_with_overwrite(
    register, tmp_path, sqlite_url
):
    episode_table(sqlite_url)
    create(sqlite_url, "released", [sa.Column("old", sa.Integer)], [{"old": 1}])
    source = table_location(sqlite_url, "episodes")
    target = table_location(sqlite_url, "released")
    with pytest.raises(InputError, match="already exists; give --overwrite"):
        run(register, source, target, manifest_path=tmp_path / "m.json")
    assert read_table(sqlite_url, "released") == (["old"], [(1,)])
    assert releases(register) == []
    run(register, source, target, manifest_path=tmp_path / "m.json", overwrite=True)
    assert read_table(sqlite_url, "released")[1] == kept_rows()
    assert table_names(sqlite_url) == {"episodes", "released"}


def test_the_input_table_cannot_be_the_output(register, tmp_path, sqlite_url):
    episode_table(sqlite_url)
    same = table_location(sqlite_url, "episodes")
    with pytest.raises(InputError, match="cannot be the input"):
        run(register, same, same, manifest_path=tmp_path / "m.json", overwrite=True)
    assert len(read_table(sqlite_url, "episodes")[1]) == 6


def test_a_table_output_needs_a_manifest_path(register, tmp_path, sqlite_url):
    source = write_parquet(episodes(), tmp_path / "in.parquet")
    with pytest.raises(InputError, match="--manifest"):
        run(register, str(source), table_location(sqlite_url, "released"))
    assert table_names(sqlite_url) == set()


def test_a_failure_while_inserting_leaves_no_table_behind(
    register, tmp_path, sqlite_url, monkeypatch
):
    table = pa.table({"nhs_number": [NOT_OPTED_OUT[i % 3] for i in range(300_000)]})
    source = write_parquet(table, tmp_path / "in.parquet")
    before = digest(source)
    original = tables.write

    def fail_after_the_first_batch(location, batches, schema, **kw):  # type: ignore[no-untyped-def]
        def some() -> Iterator[pa.RecordBatch]:
            for i, batch in enumerate(batches):
                if i == 1:
                    raise KeyboardInterrupt
                yield batch

        return original(location, some(), schema, **kw)

    monkeypatch.setattr(tables, "write", fail_after_the_first_batch)
    with pytest.raises(KeyboardInterrupt):
        run(
            register,
            str(source),
            table_location(sqlite_url, "released"),
            manifest_path=tmp_path / "m",
        )
    assert table_names(sqlite_url) == set()
    assert releases(register) == []
    assert not (tmp_path / "m").exists()
    assert digest(source) == before
    assert {p for p in tree(tmp_path) if p.startswith(".")} == set()


# ---------------------------------------------------------------------------
# The tables module on its own


def test_the_reader_streams_a_table_in_batches_with_arrow_types(sqlite_url):
    episode_table(sqlite_url)
    reader = tables.reader(table_location(sqlite_url, "episodes"), batch_rows=4)
    batches = list(reader)
    assert [b.num_rows for b in batches] == [4, 2]
    assert reader.schema.field("cost").type == pa.decimal128(10, 2)
    assert reader.schema.field("visits").type == pa.int64()
    assert tables.exists(table_location(sqlite_url, "episodes"))
    assert not tables.exists(table_location(sqlite_url, "nothing"))
    assert tables.count_rows(table_location(sqlite_url, "episodes")) == 6


def test_dropping_a_table_that_is_not_there_is_quiet(sqlite_url):
    tables.drop(table_location(sqlite_url, "nothing"))
    assert table_names(sqlite_url) == set()


# ---------------------------------------------------------------------------
# PostgreSQL


@pytest.mark.postgres
def test_csv_to_a_postgresql_table_keeps_values_as_text(register, tmp_path, pg_url):
    source = tmp_path / "in.csv"
    source.write_text(
        f"nhs_number,code,amount\n{NOT_OPTED_OUT[0]},007,1.50\n{OPTED_OUT[0]},1,2\n"
        f"943 476 5919,,0.10\n"
    )
    result = run(
        register, str(source), table_location(pg_url, "released"), manifest_path=tmp_path / "m"
    )
    assert read_table(pg_url, "released") == (
        ["nhs_number", "code", "amount"],
        [(NOT_OPTED_OUT[0], "007", "1.50"), ("943 476 5919", None, "0.10")],
    )
    assert result.manifest["counts"]["rows_out"] == 2
    assert result.manifest["output"]["table"] == "released"


@pytest.mark.postgres
def test_a_postgresql_table_to_parquet_and_to_another_table(register, tmp_path, pg_url):
    episode_table(pg_url)
    run(register, table_location(pg_url, "episodes"), str(tmp_path / "out.parquet"))
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.schema.field("cost").type == pa.decimal128(10, 2)
    assert written.schema.field("seen").type == pa.date32()
    assert [tuple(r.values()) for r in written.to_pylist()] == kept_rows()
    run(
        register,
        table_location(pg_url, "episodes"),
        table_location(pg_url, "released"),
        manifest_path=tmp_path / "m.json",
    )
    assert read_table(pg_url, "released")[1] == kept_rows()
    assert column_types(pg_url, "released") == column_types(pg_url, "episodes")


@pytest.mark.postgres
def test_sqlite_to_postgresql_and_back(register, tmp_path, sqlite_url, pg_url):
    episode_table(sqlite_url)
    run(
        register,
        table_location(sqlite_url, "episodes"),
        table_location(pg_url, "released"),
        manifest_path=tmp_path / "a.json",
    )
    assert read_table(pg_url, "released")[1] == kept_rows()
    run(
        register,
        table_location(pg_url, "released"),
        table_location(sqlite_url, "back"),
        manifest_path=tmp_path / "b.json",
    )
    assert read_table(sqlite_url, "back")[1] == kept_rows()


@pytest.mark.postgres
def test_hostile_table_and_column_names_on_postgresql(register, tmp_path, pg_url):
    create(pg_url, "person", [sa.Column("id", sa.Integer)], [{"id": 1}])
    create(
        pg_url,
        HOSTILE_TABLE,
        [sa.Column(HOSTILE_COLUMN, sa.Text), sa.Column("a'b", sa.Text)],
        [
            {HOSTILE_COLUMN: OPTED_OUT[1], "a'b": "gone"},
            {HOSTILE_COLUMN: "943 476 5919", "a'b": "'); DROP TABLE person; --"},
        ],
    )
    run(
        register,
        table_location(pg_url, HOSTILE_TABLE),
        table_location(pg_url, HOSTILE_OUT),
        column=HOSTILE_COLUMN,
        manifest_path=tmp_path / "m.json",
    )
    assert read_table(pg_url, HOSTILE_OUT) == (
        [HOSTILE_COLUMN, "a'b"],
        [("943 476 5919", "'); DROP TABLE person; --")],
    )
    assert read_table(pg_url, "person")[1] == [(1,)]
    assert table_names(pg_url) == {"person", HOSTILE_TABLE, HOSTILE_OUT}


@pytest.mark.postgres
def test_an_existing_postgresql_table_is_swapped_only_with_overwrite(register, tmp_path, pg_url):
    episode_table(pg_url)
    create(pg_url, "released", [sa.Column("old", sa.Integer)], [{"old": 1}])
    source = table_location(pg_url, "episodes")
    target = table_location(pg_url, "released")
    with pytest.raises(InputError, match="already exists"):
        run(register, source, target, manifest_path=tmp_path / "m.json")
    run(register, source, target, manifest_path=tmp_path / "m.json", overwrite=True)
    assert read_table(pg_url, "released")[1] == kept_rows()
    assert table_names(pg_url) == {"episodes", "released"}


@pytest.mark.postgres
def test_a_missing_postgresql_table_is_named(register, tmp_path, pg_url):
    episode_table(pg_url)
    with pytest.raises(InputError, match=r"no table 'episode'.*'episodes'"):
        run(register, table_location(pg_url, "episode"), str(tmp_path / "out.parquet"))
    assert not (tmp_path / "out.parquet").exists()


UNREACHABLE = "postgresql://root:hunter2@127.0.0.1:1/test"


def test_an_unreachable_database_as_input_says_so_without_the_password(register, tmp_path):
    pytest.importorskip("psycopg")
    before = tree(tmp_path)
    with pytest.raises(InputError) as caught:
        run(register, table_location(UNREACHABLE, "episodes"), str(tmp_path / "out.parquet"))
    message = caught.value.message
    assert "cannot reach the database" in message and "127.0.0.1:1" in message
    assert "hunter2" not in message
    assert tree(tmp_path) == before
    assert releases(register) == []


def test_an_unreachable_database_as_output_is_found_before_anything_is_read(register, tmp_path):
    pytest.importorskip("psycopg")
    source = write_parquet(episodes(), tmp_path / "in.parquet")
    before = tree(tmp_path)
    with pytest.raises(InputError, match="cannot reach the database") as caught:
        run(
            register,
            str(source),
            table_location(UNREACHABLE, "released"),
            manifest_path=tmp_path / "m.json",
        )
    assert "hunter2" not in caught.value.message
    assert tree(tmp_path) == before


def test_a_url_that_is_not_a_database_is_refused(register, tmp_path):
    source = write_parquet(episodes(), tmp_path / "in.parquet")
    with pytest.raises(InputError, match="not a usable database URL"):
        run(
            register,
            str(source),
            table_location("sqlite+nodriver:///x.db", "released"),
            manifest_path=tmp_path / "m.json",
        )


@pytest.mark.postgres
def test_postgresql_types_without_an_arrow_twin_travel_as_text_and_come_back(
    register, tmp_path, pg_url
):
    """numeric without precision, uuid, json, arrays, intervals, inet: common in PostgreSQL."""
    engine = engine_for(pg_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE extract (nhs_number text, amount numeric, id uuid, doc jsonb, "
                "word jsonb, tags text[], wait interval, host inet, big numeric(40, 2))"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO extract VALUES "
                "(:kept, 1.50, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, null]}', "
                "'\"hello\"', '{a,NULL}', '1 day 02:00', '10.0.0.1', 12345678901234567890123.45), "
                "(:gone, 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
            ),
            {"kept": NOT_OPTED_OUT[0], "gone": OPTED_OUT[0]},
        )
        original = conn.execute(sa.text("SELECT * FROM extract LIMIT 1")).one()
    engine.dispose()
    source = table_location(pg_url, "extract")
    run(register, source, str(tmp_path / "out.parquet"))
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.schema.field("amount").type == pa.string()
    assert written.to_pylist() == [
        {
            "nhs_number": NOT_OPTED_OUT[0],
            "amount": "1.50",
            "id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "doc": '{"a": [1, null]}',
            "word": '"hello"',
            "tags": '["a", null]',
            "wait": "1 day, 2:00:00",
            "host": "10.0.0.1",
            "big": "12345678901234567890123.45",
        }
    ]
    run(register, source, table_location(pg_url, "released"), manifest_path=tmp_path / "m.json")
    assert column_types(pg_url, "released") == column_types(pg_url, "extract")
    assert read_table(pg_url, "released")[1] == [tuple(original)]


def test_an_unconstrained_sqlite_numeric_column_is_read_as_text(register, tmp_path, sqlite_url):
    create(
        sqlite_url,
        "extract",
        [sa.Column("nhs_number", sa.Text), sa.Column("amount", sa.Numeric)],
        [
            {"nhs_number": NOT_OPTED_OUT[0], "amount": Decimal("1.25")},
            {"nhs_number": OPTED_OUT[0], "amount": Decimal("2")},
        ],
    )
    run(register, table_location(sqlite_url, "extract"), str(tmp_path / "out.parquet"))
    (row,) = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert row["nhs_number"] == NOT_OPTED_OUT[0]
    assert Decimal(row["amount"]) == Decimal("1.25")
