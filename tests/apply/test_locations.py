"""Naming a dataset: what a user types becomes a location, or a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ndoo.apply.locations import CsvDialect, locate, sniff_csv
from ndoo.errors import InputError
from tests.apply.helpers import episodes, write_parquet


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("a.TSV", "csv"),
        ("a.txt", "csv"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.json", "jsonl"),
    ],
)
def test_the_format_comes_from_the_name(tmp_path: Path, name: str, fmt: str):
    path = tmp_path / name
    path.write_text("nhs_number\n9434765919\n")
    assert locate(str(path)).format == fmt
    assert locate(str(tmp_path / f"out-{name}"), output=True).format == fmt


def test_an_output_without_a_suffix_is_a_parquet_folder(tmp_path: Path):
    target = locate(str(tmp_path / "release"), output=True)
    assert (target.format, target.is_folder) == ("parquet", True)
    assert not locate(str(tmp_path / "release.parquet"), output=True).is_folder


def test_a_folder_of_parquet_files_is_one_input(tmp_path: Path):
    folder = tmp_path / "parts"
    folder.mkdir()
    write_parquet(episodes(), folder / "part-0.parquet")
    source = locate(str(folder))
    assert (source.format, source.is_folder) == ("parquet", True)


def test_inputs_that_cannot_be_read_are_named(tmp_path: Path):
    with pytest.raises(InputError, match="no such file or folder"):
        locate(str(tmp_path / "absent.csv"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"holds no \.parquet files"):
        locate(str(empty))
    with pytest.raises(InputError, match="only Parquet may be read from a folder"):
        locate(str(empty), fmt="csv")
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"PK")
    with pytest.raises(InputError, match=r"cannot tell the format.*--format"):
        locate(str(odd))
    with pytest.raises(InputError, match="--out-format"):
        locate(str(tmp_path / "out.xlsx"), output=True)
    with pytest.raises(InputError, match="unknown format 'xls'"):
        locate(str(odd), fmt="xls")


def test_a_given_format_overrides_the_name(tmp_path: Path):
    path = tmp_path / "extract.dat"
    path.write_text("nhs_number|code\n9434765919|A\n")
    source = locate(str(path), fmt="csv")
    assert source.format == "csv" and source.dialect is not None
    assert source.dialect.delimiter == "|"


def test_a_database_url_needs_a_table_and_a_table_needs_a_url(tmp_path: Path):
    with pytest.raises(InputError, match="--table is needed"):
        locate("sqlite:///trust.db")
    with pytest.raises(InputError, match="--out-table is needed"):
        locate("postgresql://db/trust", output=True)
    found = locate("postgresql+psycopg://db/trust", table="research.episodes")
    assert (found.format, found.url, found.table) == (
        "table",
        "postgresql+psycopg://db/trust",
        "research.episodes",
    )
    path = tmp_path / "a.csv"
    path.write_text("nhs_number\n")
    with pytest.raises(InputError, match="not a database URL"):
        locate(str(path), table="episodes")


def test_a_spark_table_is_named_after_spark_colon():
    assert locate("spark:research.episodes").table == "research.episodes"
    with pytest.raises(InputError, match="name the Spark table"):
        locate("spark:")


def test_a_password_in_a_url_is_never_shown():
    found = locate("postgresql://analyst:s3cret@db.trust.nhs.uk/research", table="episodes")
    assert "s3cret" not in found.describe()
    assert "s3cret" not in str(found.as_dict())
    assert found.as_dict()["table"] == "episodes"


def test_a_tsv_output_is_tab_separated(tmp_path: Path):
    dialect = locate(str(tmp_path / "out.tsv"), output=True).dialect
    assert dialect is not None and dialect.delimiter == "\t"


# ---------------------------------------------------------------------------
# Detecting how a CSV file is written


def test_semicolons_and_quotes_are_detected(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_text('id;nhs_number;note\n1;9434765919;"a;b"\n2;9000000009;"c"\n')
    assert sniff_csv(path) == CsvDialect(delimiter=";", quote='"', encoding="utf-8")


def test_tabs_are_detected(tmp_path: Path):
    path = tmp_path / "a.tsv"
    path.write_text("id\tnhs_number\n1\t9434765919\n")
    assert sniff_csv(path).delimiter == "\t"


def test_windows_1252_is_detected_when_the_file_is_not_utf8(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_bytes("nhs_number,name\n9434765919,Zoë £5\n".encode("cp1252"))
    assert sniff_csv(path).encoding == "cp1252"


def test_a_utf8_byte_order_mark_is_detected_and_remembered(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "nhs_number,name\n9434765919,Zoë\n".encode())
    dialect = sniff_csv(path)
    assert (dialect.encoding, dialect.bom, dialect.delimiter) == ("utf-8", True, ",")


def test_a_single_column_file_is_comma_separated(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_text("nhs_number\n9434765919\n9000000009\n")
    assert sniff_csv(path).delimiter == ","


def test_what_the_user_says_wins_over_what_is_detected(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_bytes("nhs_number;name\n9434765919;Zoe\n".encode("latin-1"))
    given = CsvDialect(delimiter=",", quote="'", encoding="latin-1")
    dialect = locate(str(path), dialect=given).dialect
    assert dialect == CsvDialect(delimiter=",", quote="'", encoding="latin-1")
    partly = CsvDialect(delimiter="", quote="", encoding="cp1252")
    dialect = locate(str(path), dialect=partly).dialect
    assert dialect == CsvDialect(delimiter=";", quote='"', encoding="cp1252")
