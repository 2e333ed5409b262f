"""Every file format in and out through the DuckDB engine: values, schema and order kept."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndoo.apply.duck import DuckEngine
from ndoo.apply.locations import CsvDialect, Location, locate
from ndoo.errors import FileFormatError, InputError
from ndoo.nhs_number import generate_synthetic, is_valid, parse
from tests.apply.helpers import (
    KEPT_EPISODES,
    NOT_OPTED_OUT,
    OPTED_OUT,
    episodes,
    run,
    tree,
    write_parquet,
)


def columns_and_types(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    return [(f.name, f.type) for f in schema]


# ---------------------------------------------------------------------------
# CSV


def test_a_semicolon_csv_keeps_its_delimiter_quoting_and_values(register, data):
    source = data / "episodes.csv"
    kept = (
        '2;943 476 5919;0012;"a;b"\n'
        '3;9000000025;00;"two\nlines"\n'
        '4;9000000033;;"she said ""no"", twice"\n'
        "5; 9000000033 ;1.50;1e3\n"
    )
    source.write_bytes(f"id;nhs_number;code;note\n1;9000000009;007;x\n{kept}".encode())
    result = run(register, str(source), str(data / "release.csv"))
    assert (data / "release.csv").read_bytes() == f"id;nhs_number;code;note\n{kept}".encode()
    assert result.manifest["output"]["csv"]["delimiter"] == ";"


def test_quoted_commas_newlines_and_quotes_survive_in_a_comma_csv(register, data):
    rows = [
        ["nhs_number", "address", "note"],
        [OPTED_OUT[0], "1 High St, Leeds", "removed"],
        [NOT_OPTED_OUT[0], "2 Low Rd,\nYork", 'the "best"'],
        ["943-476-5919", "", "ends with a comma,"],
        [NOT_OPTED_OUT[1], "x\r\ny", "00042"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    source = data / "in.csv"
    source.write_text(buffer.getvalue(), encoding="utf-8")
    run(register, str(source), str(data / "out.csv"))
    with (data / "out.csv").open(encoding="utf-8", newline="") as handle:
        written = list(csv.reader(handle))
    assert written == [rows[0], rows[2], rows[3], rows[4]]


def test_a_windows_1252_file_is_written_back_in_windows_1252(register, data):
    lines = [
        "nhs_number,name,price",
        f"{NOT_OPTED_OUT[0]},Zoë Brontë,£5",
        f"{OPTED_OUT[0]},Renée,€3",
        f"{NOT_OPTED_OUT[1]},Café “Ré”,— 10%",
    ]
    source = data / "in.csv"
    source.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    result = run(register, str(source), str(data / "out.csv"))
    expected = "\n".join([lines[0], lines[1], lines[3]]) + "\n"
    assert (data / "out.csv").read_bytes() == expected.encode("cp1252")
    assert result.manifest["input"]["csv"]["encoding"] == "cp1252"


def test_a_utf8_file_with_a_byte_order_mark_keeps_it_and_its_first_column(register, data):
    source = data / "in.csv"
    body = f"nhs_number,name\n{NOT_OPTED_OUT[0]},Zoë\n{OPTED_OUT[0]},Renée\n"
    source.write_bytes(b"\xef\xbb\xbf" + body.encode())
    run(register, str(source), str(data / "out.csv"))
    expected = f"nhs_number,name\n{NOT_OPTED_OUT[0]},Zoë\n"
    assert (data / "out.csv").read_bytes() == b"\xef\xbb\xbf" + expected.encode()


def test_windows_line_endings_do_not_leak_into_the_last_column(register, data):
    source = data / "in.csv"
    source.write_bytes(
        f"code,nhs_number\r\n007,{NOT_OPTED_OUT[0]}\r\n008,{OPTED_OUT[0]}\r\n".encode()
    )
    run(register, str(source), str(data / "out.csv"))
    with (data / "out.csv").open(newline="") as handle:
        assert list(csv.reader(handle)) == [["code", "nhs_number"], ["007", NOT_OPTED_OUT[0]]]


def test_a_delimiter_and_encoding_given_by_the_user_are_used(register, data):
    source = data / "in.txt"
    source.write_bytes(f"nhs_number|name\n{NOT_OPTED_OUT[0]}|Åsa\n{OPTED_OUT[0]}|Ō\n".encode())
    given = CsvDialect(delimiter="|", quote="", encoding="utf-8")
    run(register, locate(str(source), dialect=given), str(data / "out.csv"))
    assert (data / "out.csv").read_text() == f"nhs_number|name\n{NOT_OPTED_OUT[0]}|Åsa\n"


def test_a_header_only_csv_gives_an_empty_release(register, data):
    source = data / "in.csv"
    source.write_text("id,nhs_number\n")
    result = run(register, str(source), str(data / "out.csv"))
    assert result.manifest["counts"]["rows_in"] == 0
    assert (data / "out.csv").read_text() == "id,nhs_number\n"


def test_csv_to_parquet_keeps_every_value_as_text(register, data):
    source = data / "in.csv"
    source.write_text(f"nhs_number,code,amount\n{NOT_OPTED_OUT[0]},007,1.50\n{OPTED_OUT[0]},1,2\n")
    run(register, str(source), str(data / "out.parquet"))
    table = pq.read_table(data / "out.parquet")
    assert table.to_pydict() == {
        "nhs_number": [NOT_OPTED_OUT[0]],
        "code": ["007"],
        "amount": ["1.50"],
    }


# ---------------------------------------------------------------------------
# Parquet


def typed() -> pa.Table:
    return pa.table(
        {
            "visit": pa.array([1, 2, 3, 4], pa.int32()),
            "nhs_number": pa.array([NOT_OPTED_OUT[0], OPTED_OUT[0], None, "943 476 5919"]),
            "seen": pa.array([date(2024, 1, 5), date(2024, 2, 5), None, None], pa.date32()),
            "cost": pa.array(
                [Decimal("12.30"), None, Decimal("0.05"), Decimal("-1.00")], pa.decimal128(10, 2)
            ),
            "at": pa.array(
                [datetime(2024, 1, 5, 9, 30), None, None, datetime(2024, 3, 1)], pa.timestamp("us")
            ),
            "small": pa.array([1, None, 3, 4], pa.int16()),
            "ratio": pa.array([0.5, 1.5, None, 2.5], pa.float64()),
            "flag": pa.array([True, None, False, True]),
            "code": pa.array(["007", "0", None, ""]),
        }
    )


def test_parquet_keeps_column_order_types_values_and_nulls(register, data):
    source = write_parquet(typed(), data / "in.parquet")
    result = run(register, str(source), str(data / "out.parquet"), unmatched="keep")
    written = pq.read_table(data / "out.parquet")
    assert columns_and_types(written.schema) == columns_and_types(typed().schema)
    assert written.to_pylist() == [typed().to_pylist()[i] for i in (0, 2, 3)]
    assert result.manifest["unmatched"]["rows_kept"] == 1


def test_a_folder_of_parquet_files_is_read_in_name_order_and_written_as_a_folder(register, data):
    folder = data / "parts"
    folder.mkdir()
    table = episodes()
    write_parquet(table.slice(3), folder / "part-1.parquet")
    write_parquet(table.slice(0, 3), folder / "part-0.parquet")
    target = data / "release"
    engine = DuckEngine(memory_limit="1GB", keep_order=True)  # two files, read in parallel
    try:
        result = run(register, str(folder), str(target), engine=engine)
    finally:
        engine.close()
    assert target.is_dir()
    parts = sorted(p.name for p in target.iterdir())
    assert parts and all(name.endswith(".parquet") for name in parts)
    written = pq.read_table(target)
    assert written.column("episode").to_pylist() == KEPT_EPISODES
    assert columns_and_types(written.schema) == columns_and_types(table.schema)
    assert {f["name"] for f in result.manifest["output"]["files"]} == set(parts)


def test_a_parquet_file_can_be_released_as_a_folder(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    run(register, str(source), str(data / "release"))
    assert (data / "release").is_dir()
    assert pq.read_table(data / "release").column("episode").to_pylist() == KEPT_EPISODES


def test_integer_nhs_numbers_are_kept_as_integers(register, data):
    table = pa.table(
        {
            "nhs_number": pa.array([int(n) for n in (*OPTED_OUT, *NOT_OPTED_OUT)], pa.int64()),
            "row": pa.array(range(5), pa.int32()),
        }
    )
    source = write_parquet(table, data / "in.parquet")
    run(register, str(source), str(data / "out.parquet"))
    written = pq.read_table(data / "out.parquet")
    assert written.schema.field("nhs_number").type == pa.int64()
    assert written.column("nhs_number").to_pylist() == [int(n) for n in NOT_OPTED_OUT]
    assert written.column("row").to_pylist() == [2, 3, 4]


# ---------------------------------------------------------------------------
# JSON lines


def test_json_lines_keep_dates_as_written_and_numbers_as_numbers(register, data):
    records = [
        {"nhs_number": int(NOT_OPTED_OUT[0]), "seen": "2024-01-05", "at": "2024-01-05T09:30:00",
         "n": 3, "tag": None},
        {"nhs_number": int(OPTED_OUT[0]), "seen": "2024-02-05", "at": "2024-02-05T09:30:00",
         "n": 4, "tag": "x"},
        {"nhs_number": int(NOT_OPTED_OUT[1]), "seen": "2024-03-05", "at": "2024-03-05T09:30:00",
         "n": 5, "tag": "y"},
    ]  # fmt: skip
    source = data / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    run(register, str(source), str(data / "out.jsonl"))
    lines = (data / "out.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [records[0], records[2]]


def test_json_lines_with_text_numbers_in_every_form(register, data):
    forms = ["900 000 0009", NOT_OPTED_OUT[0], " 9000000017", "943-476-5919"]
    source = data / "in.ndjson"
    source.write_text("".join(json.dumps({"id": i, "nhs": f}) + "\n" for i, f in enumerate(forms)))
    run(register, str(source), str(data / "out.jsonl"), column="nhs")
    written = [json.loads(line) for line in (data / "out.jsonl").read_text().splitlines()]
    assert written == [{"id": 1, "nhs": NOT_OPTED_OUT[0]}, {"id": 3, "nhs": "943-476-5919"}]


@pytest.mark.parametrize("decision", ["keep", "drop"])
def test_json_lines_mixing_text_and_numbers_in_the_column_are_judged_by_value(
    register, data, decision
):
    """An opted-out number written as text among numbers must still be removed."""
    lines = [
        {"nhs_number": int(NOT_OPTED_OUT[0]), "a": 1},
        {"nhs_number": OPTED_OUT[0], "a": "one"},
        {"nhs_number": " 900 000 0017", "a": [1]},
        {"nhs_number": NOT_OPTED_OUT[1], "a": None},
        {"nhs_number": None, "a": 2},
        {"nhs_number": int(OPTED_OUT[1]), "a": 3},
    ]
    source = data / "in.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run(register, str(source), str(data / "out.jsonl"), unmatched=decision)
    written = [json.loads(line) for line in (data / "out.jsonl").read_text().splitlines()]
    assert written == [lines[0], lines[3], *([lines[4]] if decision == "keep" else [])]
    assert result.manifest["counts"]["rows_withheld"] == 3
    assert result.manifest["unmatched"]["missing"] == 1


def test_a_malformed_json_line_is_an_input_error(register, data):
    source = data / "in.jsonl"
    source.write_text('{"nhs_number": "9000000025"}\n{"nhs_number": \n')
    with pytest.raises(InputError, match=r"in\.jsonl: cannot be read \(.*Malformed JSON"):
        run(register, str(source), str(data / "out.jsonl"))
    assert not (data / "out.jsonl").exists()


# ---------------------------------------------------------------------------
# Order and size


def _large(rows: int, *, text: bool) -> tuple[pa.Table, np.ndarray]:
    rng = np.random.default_rng(7)
    pool = np.concatenate([generate_synthetic(5000, rng), [int(n) for n in OPTED_OUT]])
    numbers = pool[rng.integers(0, pool.size, rows)]
    withheld = np.isin(numbers, [int(n) for n in OPTED_OUT])
    column = pa.array(numbers.astype(str)) if text else pa.array(numbers, pa.int64())
    table = pa.table({"seq": pa.array(np.arange(rows), pa.int64()), "nhs_number": column})
    return table, np.flatnonzero(~withheld)


@pytest.mark.slow
@pytest.mark.parametrize("text", [False, True], ids=["integers", "text"])
def test_two_million_rows_stream_through_every_kept_row_once(register, data, text):
    table, kept = _large(2_000_000, text=text)
    source = data / "big.parquet"
    pq.write_table(table, source, row_group_size=100_000)
    result = run(register, str(source), str(data / "out.parquet"))
    assert result.manifest["counts"]["rows_out"] == kept.size
    written = pq.read_table(data / "out.parquet", columns=["seq"]).column("seq").to_numpy()
    assert np.array_equal(np.sort(written), kept)


@pytest.mark.parametrize("text", [False, True], ids=["integers", "text"])
def test_keep_order_keeps_the_input_order_across_many_row_groups(register, data, text):
    table, kept = _large(200_000, text=text)
    source = data / "mid.parquet"
    pq.write_table(table, source, row_group_size=5_000)
    engine = DuckEngine(memory_limit="1GB", keep_order=True)
    try:
        result = run(register, str(source), str(data / "out.jsonl"), engine=engine)
    finally:
        engine.close()
    assert result.manifest["row_order"] == "kept"
    with (data / "out.jsonl").open() as handle:
        seq = [json.loads(line)["seq"] for line in handle]
    assert np.array_equal(np.array(seq), kept)


# ---------------------------------------------------------------------------
# Inputs that cannot be used: a clear error and nothing written


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_a_missing_column_names_the_columns_that_exist(register, data, suffix):
    source = data / f"in.{suffix}"
    table = episodes()
    if suffix == "csv":
        source.write_text("episode,nhs_number,code,cost\nE01,9434765919,007,1.5\n")
    elif suffix == "parquet":
        write_parquet(table, source)
    else:
        source.write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()))
    before = tree(data)
    with pytest.raises(InputError) as caught:
        run(register, str(source), str(data / "out.parquet"), column="NHS_NO")
    message = caught.value.message
    assert "no column 'NHS_NO'" in message
    assert "'episode', 'nhs_number', 'code', 'cost'" in message
    assert tree(data) == before


_GOOD_LINES = "9434765919,A\n" * 300_000


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("nhs_number,code\n9434765919,A\n9000000025,B,extra\n9000000033,C\n", 3),
        ("nhs_number,code,x\n9434765919,A,1\n9000000025,B\n9000000033,C,3\n", 3),
        ('nhs_number,code\n9434765919,A\n9000000025,B\n9000000033,"C\n', 4),
        (f"nhs_number,code\n{_GOOD_LINES}9000000025,B,extra\n", 300_002),
    ],
    ids=["extra-field", "missing-field", "unclosed-quote", "far-down"],
)
def test_a_malformed_csv_row_is_named_by_its_line(register, data, body, line):
    source = data / "in.csv"
    source.write_text(body)
    before = tree(data)
    with pytest.raises(FileFormatError) as caught:
        run(register, str(source), str(data / "out.csv"))
    assert caught.value.line == line
    message = caught.value.message
    assert message.startswith(f"{source}, line {line}: ")
    assert message.endswith("(nothing was written)")
    assert "9000000025" not in message and "\n" not in message
    assert tree(data) == before


def test_a_csv_header_naming_a_column_twice_is_refused(register, data):
    source = data / "in.csv"
    source.write_text("nhs_number,code,code\n9434765919,A,B\n")
    with pytest.raises(FileFormatError, match="'code' more than once") as caught:
        run(register, str(source), str(data / "out.csv"))
    assert caught.value.line == 1


def test_an_empty_csv_file_is_refused(register, data):
    source = data / "in.csv"
    source.write_text("")
    with pytest.raises(FileFormatError, match="empty"):
        run(register, str(source), str(data / "out.csv"))
    assert not (data / "out.csv").exists()


def test_a_column_of_dates_is_not_a_column_of_nhs_numbers(register, data):
    source = write_parquet(typed(), data / "in.parquet")
    with pytest.raises(InputError, match="not NHS numbers"):
        run(register, str(source), str(data / "out.parquet"), column="seen")
    assert not (data / "out.parquet").exists()


def test_a_damaged_parquet_file_is_an_input_error(register, data):
    source = data / "in.parquet"
    source.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(InputError, match="cannot be read"):
        run(register, str(source), str(data / "out.parquet"))
    assert not (data / "out.parquet").exists()


def test_the_engine_cleans_up_its_scratch_folder(register, data):
    source = data / "in.csv"
    source.write_bytes(f"nhs_number,name\n{NOT_OPTED_OUT[0]},Zoë\n".encode("cp1252"))
    engine = DuckEngine(memory_limit="1GB")
    scratch = engine.scratch
    try:
        run(register, str(source), str(data / "out.csv"), engine=engine)
    finally:
        engine.close()
    assert not scratch.exists()
    assert Location("csv", path=data / "out.csv").is_file


# ---------------------------------------------------------------------------
# The engine agrees with a row-by-row reading of the rules

_OPTED_OUT = {int(n) for n in OPTED_OUT}
_VALID = [*OPTED_OUT, *NOT_OPTED_OUT, "9000000041"]


@st.composite
def written_numbers(draw: st.DrawFn) -> str | None:
    """An NHS number as people write it, or a value that is not one."""
    kind = draw(st.sampled_from(["valid", "valid", "valid", "invalid", "blank", "null"]))
    if kind == "null":
        return None
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\t "]))
    digits = draw(st.sampled_from(_VALID))
    if kind == "invalid":
        digits = draw(st.sampled_from([digits[:9] + str((int(digits[9]) + 1) % 10), digits[:8],
                                       "0000000000", "x" + digits]))  # fmt: skip
    gaps = draw(st.lists(st.sampled_from(["", "", " ", "-"]), min_size=9, max_size=9))
    text = digits[0] + "".join(g + d for g, d in zip(gaps, digits[1:], strict=False))
    around = draw(st.sampled_from(["", " ", "  ", "\t"]))
    return around + text + draw(st.sampled_from(["", " "]))


def reference(value: str | None) -> str:
    if value is None or not value.strip():
        return "missing"
    if not is_valid(value):
        return "invalid"
    return "withheld" if int(parse(value)) in _OPTED_OUT else "kept"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(written_numbers(), min_size=1, max_size=40), keep=st.booleans())
def test_the_engine_agrees_with_a_row_by_row_reading_of_the_rules(register, data, values, keep):
    name = uuid.uuid4().hex
    table = pa.table(
        {"seq": pa.array(range(len(values)), pa.int32()), "nhs": pa.array(values, pa.string())}
    )
    source = write_parquet(table, data / f"{name}.parquet")
    classes = [reference(v) for v in values]
    result = run(
        register,
        str(source),
        str(data / f"{name}-out.parquet"),
        column="nhs",
        unmatched="keep" if keep else "drop",
    )
    wanted = {"kept", "missing", "invalid"} if keep else {"kept"}
    written = pq.read_table(data / f"{name}-out.parquet")
    assert written.column("seq").to_pylist() == [i for i, c in enumerate(classes) if c in wanted]
    assert written.column("nhs").to_pylist() == [
        v for v, c in zip(values, classes, strict=True) if c in wanted
    ]
    counts = result.manifest["counts"]
    assert counts["rows_withheld"] == classes.count("withheld")
    unmatched = result.manifest["unmatched"]
    assert (unmatched["missing"], unmatched["invalid"]) == (
        classes.count("missing"),
        classes.count("invalid"),
    )
