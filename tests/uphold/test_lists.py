"""Reading lists of NHS numbers to check: formats, normalisation, and useful refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndoo.errors import FileFormatError, InputError, InvalidNumbersInFile
from ndoo.nhs_number import generate_synthetic
from ndoo.uphold.lists import NumberList, from_numbers, parse_column, read_number_list
from tests.conftest import ADULT, CHILD, ELDER, OTHER

LEADING_ZERO = "0101011237"  # a valid number whose text starts with 0
BAD_CHECK = "9434765918"  # ADULT with a wrong check digit: could be a mistyped real number


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def as_text(numbers: NumberList) -> list[str]:
    return [f"{n:010d}" for n in numbers.numbers.tolist()]


# ---------------------------------------------------------------------------
# Text lists


def test_the_services_dat_format_with_crlf_bom_and_blank_lines(tmp_path):
    content = f"\ufeff{OTHER},\r\n{ADULT},\r\n\r\n{CHILD},\r\n   \r\n{ADULT},\r\n"
    result = read_number_list(write(tmp_path, "request.dat", content))
    assert as_text(result) == [CHILD, OTHER, ADULT]
    assert (result.rows, result.duplicates, len(result)) == (4, 1, 3)
    assert result.source == str(tmp_path / "request.dat")


def test_numbers_are_normalised_as_people_write_them(tmp_path):
    content = f"943 476 5919\n900-000-0009\n  {ELDER}  \n{LEADING_ZERO}\n9000000025 ,\n"
    result = read_number_list(write(tmp_path, "list.txt", content))
    assert as_text(result) == [LEADING_ZERO, CHILD, ELDER, OTHER, ADULT]
    assert result.duplicates == 0


def test_output_is_sorted_and_distinct_for_a_large_list(tmp_path):
    numbers = generate_synthetic(50_000, np.random.default_rng(7))
    repeated = np.concatenate([numbers, numbers[:1000]])
    text = "".join(f"{n:010d},\n" for n in repeated.tolist())
    result = read_number_list(write(tmp_path, "big.dat", text))
    assert np.array_equal(result.numbers, np.sort(numbers))
    assert (result.rows, result.duplicates) == (51_000, 1000)


def test_a_text_list_with_a_heading_is_refused_with_a_hint(tmp_path):
    path = write(tmp_path, "list.txt", f"\nNHS number\n{ADULT}\n")
    with pytest.raises(FileFormatError) as caught:
        read_number_list(path)
    assert caught.value.line == 2
    assert "heading" in caught.value.message and "CSV" in caught.value.message


def test_a_text_list_cannot_name_a_column(tmp_path):
    with pytest.raises(FileFormatError, match="no columns"):
        read_number_list(write(tmp_path, "list.dat", f"{ADULT},\n"), column="nhs")


def test_a_lone_comma_is_an_entry_without_a_number(tmp_path):
    with pytest.raises(InvalidNumbersInFile) as caught:
        read_number_list(write(tmp_path, "list.dat", f"{ADULT},\n,\n\n{CHILD},\n"))
    assert caught.value.lines == [2]


def test_a_text_list_in_windows_1252_names_its_bad_line(tmp_path):
    path = write(tmp_path, "list.txt", f"{ADULT}\nZoë\n{CHILD},\n", encoding="cp1252")
    with pytest.raises(InvalidNumbersInFile) as caught:
        read_number_list(path)
    assert caught.value.lines == [2]


def test_a_control_character_in_a_text_list_is_named_by_line(tmp_path):
    path = write(tmp_path, "list.txt", f"{ADULT}\r\n94347\x1f65919\r\n")
    with pytest.raises(FileFormatError, match="control character") as caught:
        read_number_list(path)
    assert caught.value.line == 2


# ---------------------------------------------------------------------------
# Invalid entries


def test_invalid_entries_are_named_by_line_and_never_echoed(tmp_path):
    content = f"{ADULT}\n{BAD_CHECK}\n\n12345\n0000000000\n{CHILD}\n"
    path = write(tmp_path, "list.txt", content)
    with pytest.raises(InvalidNumbersInFile) as caught:
        read_number_list(path)
    error = caught.value
    assert (error.file, error.lines, error.count) == (str(path), [2, 4, 5], 3)
    assert str(path) in error.message and "2, 4, 5" in error.message
    for value in (BAD_CHECK, "12345", "0000000000"):
        assert value not in error.message
        assert value not in repr(error.details)


def test_invalid_entries_in_a_csv_name_the_column_and_count_the_header(tmp_path):
    content = f"name,NHS number\nAnn,{ADULT}\nBob,{BAD_CHECK}\n\nCy,943 476 591\n"
    with pytest.raises(InvalidNumbersInFile) as caught:
        read_number_list(write(tmp_path, "list.csv", content), column="NHS number")
    error = caught.value
    assert (error.lines, error.count, error.field) == ([3, 5], 2, "NHS number")
    assert "'NHS number'" in error.message
    assert BAD_CHECK not in error.message


def test_only_the_first_invalid_lines_are_listed(tmp_path):
    content = "".join(f"{n}\n" for n in range(1, 31))
    with pytest.raises(InvalidNumbersInFile) as caught:
        read_number_list(write(tmp_path, "list.txt", content), max_reported=5)
    assert caught.value.lines == [1, 2, 3, 4, 5]
    assert caught.value.count == 30
    assert "and 25 more" in caught.value.message


# ---------------------------------------------------------------------------
# CSV


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_the_delimiter_is_sniffed(tmp_path, delimiter):
    other = {",": ";", "\t": ",", ";": ",", "|": ","}[delimiter]
    rows = [["id", "nhs_number", "name"], ["1", ADULT, f'"Smith{other} Ann"'], ["2", CHILD, "Jo"]]
    content = "\n".join(delimiter.join(row) for row in rows) + "\n"
    result = read_number_list(write(tmp_path, "list.csv", content), column="nhs_number")
    assert as_text(result) == [CHILD, ADULT]


def test_a_tsv_file_is_read_as_csv(tmp_path):
    content = f"nhs\tnote\n{ADULT}\ta, b\n"
    assert as_text(read_number_list(write(tmp_path, "list.tsv", content), column="nhs")) == [ADULT]


def test_a_column_is_found_ignoring_case_and_spaces(tmp_path):
    content = f"Name, NHS Number \nAnn,{ADULT}\n"
    result = read_number_list(write(tmp_path, "list.csv", content), column="nhs number")
    assert as_text(result) == [ADULT]


def test_a_single_column_needs_no_name_and_keeps_leading_zeros(tmp_path):
    content = f"\ufeffnhs_number\r\n{LEADING_ZERO}\r\n{ADULT}.0\r\n\r\n"
    result = read_number_list(write(tmp_path, "list.csv", content))
    assert as_text(result) == [LEADING_ZERO, ADULT]
    assert result.rows == 2


def test_several_columns_and_no_name_is_refused_naming_them(tmp_path):
    path = write(tmp_path, "list.csv", f"name,nhs,dob\nAnn,{ADULT},1970-01-01\n")
    with pytest.raises(FileFormatError) as caught:
        read_number_list(path)
    assert "'name', 'nhs', 'dob'" in caught.value.message


def test_a_missing_column_names_the_columns_that_exist(tmp_path):
    path = write(tmp_path, "list.csv", f"name;nhs\nAnn;{ADULT}\n")
    with pytest.raises(FileFormatError) as caught:
        read_number_list(path, column="nhs_no")
    error = caught.value
    assert (error.field, error.line) == ("nhs_no", 1)
    assert "'nhs_no'" in error.message and "'name', 'nhs'" in error.message


def test_a_csv_without_a_header_is_refused_without_echoing_the_number(tmp_path):
    path = write(tmp_path, "list.csv", f"{ADULT},Ann\n{CHILD},Bob\n")
    with pytest.raises(FileFormatError, match="header") as caught:
        read_number_list(path)
    assert ADULT not in caught.value.message


def test_blank_rows_are_skipped_but_an_empty_number_cell_is_invalid(tmp_path):
    content = f"name,nhs\nAnn,{ADULT}\n,\n  ,  \nBob,\n\nCy,{CHILD}\n"
    with pytest.raises(InvalidNumbersInFile) as caught:
        read_number_list(write(tmp_path, "list.csv", content), column="nhs")
    assert (caught.value.lines, caught.value.count) == ([5], 1)
    fixed = content.replace("Bob,\n", "")
    result = read_number_list(write(tmp_path, "fixed.csv", fixed), column="nhs")
    assert (result.rows, len(result)) == (2, 2)


def test_quoted_fields_spanning_lines_count_physical_lines(tmp_path):
    content = f'name,nhs\n"Ann\nSmith",{ADULT}\n"Bob",{BAD_CHECK}\r\n"Cy, Jr",123\n'
    with pytest.raises(InvalidNumbersInFile) as caught:
        read_number_list(write(tmp_path, "list.csv", content), column="nhs")
    assert caught.value.lines == [4, 5]


def test_a_ragged_row_is_named_by_its_line(tmp_path):
    content = f"name,nhs\nAnn,{ADULT}\n\nBob,{CHILD},extra\n"
    with pytest.raises(FileFormatError) as caught:
        read_number_list(write(tmp_path, "list.csv", content), column="nhs")
    assert caught.value.line == 4
    assert "3 fields" in caught.value.message and CHILD not in caught.value.message


def test_a_windows_1252_file_is_read(tmp_path):
    content = f"Prénom;NHS number\nRené;{ADULT}\nZoë;{CHILD}\n"
    path = write(tmp_path, "list.csv", content, encoding="cp1252")
    assert as_text(read_number_list(path, column="nhs number")) == [CHILD, ADULT]


def test_a_utf16_file_from_excel_is_read(tmp_path):
    content = f"Name\tNHS number\r\nRené\t{ADULT}\r\n"
    path = write(tmp_path, "list.csv", content, encoding="utf-16")
    assert as_text(read_number_list(path, column="NHS number")) == [ADULT]


def test_fmt_overrides_the_suffix(tmp_path):
    path = write(tmp_path, "export.txt", f"nhs,name\n{ADULT},Ann\n")
    assert as_text(read_number_list(path, fmt="csv", column="nhs")) == [ADULT]
    with pytest.raises(FileFormatError, match="unknown list format"):
        read_number_list(path, fmt="xlsx")


# ---------------------------------------------------------------------------
# Parquet


def test_a_parquet_integer_column(tmp_path):
    path = tmp_path / "list.parquet"
    numbers = [int(ADULT), int(CHILD), int(ADULT), int(LEADING_ZERO)]
    pq.write_table(pa.table({"nhs_number": pa.array(numbers, pa.int64())}), path)
    result = read_number_list(path)
    assert as_text(result) == [LEADING_ZERO, CHILD, ADULT]
    assert (result.rows, result.duplicates) == (4, 1)


def test_a_parquet_text_column_is_chosen_by_name(tmp_path):
    path = tmp_path / "list.pq"
    table = pa.table({"id": [1, 2], "nhs": [ADULT, "900 000 0009"], "score": [0.5, 1.5]})
    pq.write_table(table, path)
    assert as_text(read_number_list(path, column="nhs")) == [CHILD, ADULT]
    with pytest.raises(FileFormatError) as caught:
        read_number_list(path)
    assert "'id', 'nhs', 'score'" in caught.value.message


def test_parquet_nulls_and_invalid_values_are_named_by_row(tmp_path):
    path = tmp_path / "list.parquet"
    pq.write_table(pa.table({"nhs": [int(ADULT), None, int(BAD_CHECK), -1]}), path)
    with pytest.raises(InvalidNumbersInFile) as caught:
        read_number_list(path)
    assert (caught.value.lines, caught.value.count, caught.value.field) == ([2, 3, 4], 3, "nhs")


def test_parquet_whole_floats_are_accepted_and_32_bit_floats_refused(tmp_path):
    path = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"nhs": pa.array([float(ADULT)], pa.float64())}), path)
    assert as_text(read_number_list(path)) == [ADULT]
    pq.write_table(pa.table({"nhs": pa.array([1.0], pa.float32())}), path)
    with pytest.raises(FileFormatError, match="ten digits exactly"):
        read_number_list(path)


def test_a_file_that_is_not_parquet_is_refused(tmp_path):
    with pytest.raises(FileFormatError, match="not a Parquet file"):
        read_number_list(write(tmp_path, "list.parquet", f"{ADULT}\n"))


# ---------------------------------------------------------------------------
# Empty and unreadable


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.dat", ""), ("blank.txt", "\n \r\n\n"), ("header.csv", "nhs\n\n"), ("e.csv", "")],
)
def test_a_list_without_numbers_is_refused(tmp_path, name, content):
    with pytest.raises(InputError, match="holds no NHS numbers"):
        read_number_list(write(tmp_path, name, content))


def test_a_missing_file_is_a_file_format_error(tmp_path):
    with pytest.raises(FileFormatError, match="cannot read the file"):
        read_number_list(tmp_path / "nowhere.csv")


def test_a_spreadsheet_is_refused_with_advice(tmp_path):
    with pytest.raises(FileFormatError, match="save it as CSV"):
        read_number_list(write(tmp_path, "list.xlsx", b"PK\x03\x04rest-of-zip"))


# ---------------------------------------------------------------------------
# Numbers in memory


def test_from_numbers_validates_sorts_and_removes_duplicates():
    result = from_numbers(np.array([int(ADULT), int(CHILD), int(ADULT)]), source="cohort gp")
    assert as_text(result) == [CHILD, ADULT]
    assert (result.rows, result.duplicates, result.source) == (3, 1, "cohort gp")
    assert as_text(from_numbers([ADULT, "900-000-0009"], source="typed")) == [CHILD, ADULT]


def test_from_numbers_names_positions_of_invalid_numbers():
    with pytest.raises(InvalidNumbersInFile) as caught:
        from_numbers(np.array([int(ADULT), int(BAD_CHECK), 5]), source="cohort gp")
    assert (caught.value.lines, caught.value.count) == ([2, 3], 2)
    with pytest.raises(InputError, match="no NHS numbers"):
        from_numbers(np.array([], dtype=np.int64), source="cohort gp")


def test_the_repr_of_a_list_never_shows_numbers():
    shown = repr(from_numbers([ADULT], source="x"))
    assert ADULT not in shown and "numbers=1" in shown


def test_parse_column_keeps_one_answer_per_row():
    values = pa.chunked_array([[ADULT, None, " 900 000 0009 "], ["", BAD_CHECK]])
    numbers, valid = parse_column(values)
    assert valid.tolist() == [True, False, True, False, False]
    assert numbers.tolist() == [int(ADULT), 0, int(CHILD), 0, 0]


# ---------------------------------------------------------------------------
# Line numbers: the quick path (no quotes) and the csv-module path agree


ROW = st.sampled_from(["valid", "invalid", "blank", "empty_cell"])


@settings(max_examples=40, deadline=None)
@given(kinds=st.lists(ROW, min_size=1, max_size=25), ending=st.sampled_from(["\n", "\r\n", "\r"]))
def test_reported_lines_are_the_lines_an_editor_shows(tmp_path_factory, kinds, ending):
    directory = tmp_path_factory.mktemp("lines")
    expected = [
        line for line, kind in enumerate(kinds, start=2) if kind in ("invalid", "empty_cell")
    ]
    for quote in ("", '"'):
        cells = {
            "valid": f"{quote}Ann{quote},{ADULT}",
            "invalid": f"{quote}Bob{quote},{BAD_CHECK}",
            "blank": "",
            "empty_cell": f"{quote}Cy{quote},",
        }
        content = ending.join(["name,nhs", *(cells[k] for k in kinds)]) + ending
        path = directory / f"list{len(quote)}.csv"
        path.write_text(content, encoding="utf-8", newline="")
        if expected:
            with pytest.raises(InvalidNumbersInFile) as caught:
                read_number_list(path, column="nhs", max_reported=30)
            assert caught.value.lines == expected
        elif "valid" in kinds:
            assert read_number_list(path, column="nhs").rows == kinds.count("valid")
