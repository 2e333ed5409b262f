"""Writing request files: the exact bytes, round trips, and atomic replacement."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from ndoo.checkfile import (
    EMPTY_RESPONSE,
    INVALID_FILE_LINE,
    format_numbers,
    parse,
    read_numbers,
    write_atomically,
    write_numbers,
)
from ndoo.errors import FileFormatError, InvalidNHSNumber
from ndoo.nhs_number import check_digits_array, validate_array


def test_the_constants_other_code_relies_on() -> None:
    assert INVALID_FILE_LINE == "The file contains one or more invalid NHS Numbers."
    assert EMPTY_RESPONSE == b"\n"


def test_format_numbers_exact_bytes() -> None:
    assert format_numbers([9000000009, 9000000017]) == b"9000000009,\n9000000017,\n"
    assert format_numbers(np.array([9000000009]), line_ending=b"\r\n") == b"9000000009,\r\n"


def test_format_numbers_pads_leading_zeros() -> None:
    assert format_numbers([101011237, 19, 0]) == b"0101011237,\n0000000019,\n0000000000,\n"


def test_format_numbers_of_nothing_is_empty() -> None:
    assert format_numbers([]) == b""
    assert format_numbers(np.empty(0, dtype=np.int64), line_ending=b"\r\n") == b""


@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.int32, np.uint32])
def test_format_numbers_accepts_integer_dtypes(dtype: type) -> None:
    assert format_numbers(np.array([19, 101011237], dtype=dtype)) == b"0000000019,\n0101011237,\n"


@pytest.mark.parametrize("bad", [[-1], [10_000_000_000], [9000000009, -5]])
def test_format_numbers_refuses_more_than_ten_digits(bad: list[int]) -> None:
    with pytest.raises(InvalidNHSNumber):
        format_numbers(bad)


def test_format_numbers_refuses_other_types_and_endings() -> None:
    with pytest.raises(TypeError):
        format_numbers([9000000009.0])
    with pytest.raises(ValueError, match="line ending"):
        format_numbers([9000000009], line_ending=b"\r")


def test_format_then_parse_round_trip_many_blocks() -> None:
    rng = np.random.default_rng(11)
    stems = rng.integers(0, 10**9, size=300_000)
    numbers = stems * 10 + check_digits_array(stems)
    numbers = numbers[validate_array(numbers)]
    for ending in (b"\n", b"\r\n"):
        parsed = parse(format_numbers(numbers, line_ending=ending))
        assert parsed.valid
        assert parsed.line_ending == ending
        assert np.array_equal(parsed.numbers, numbers)


def test_write_and_read_numbers(tmp_path: Path) -> None:
    path = tmp_path / "X26-01012026-0001.dat"
    write_numbers(path, [9000000009, 101011237], line_ending=b"\r\n")
    assert path.read_bytes() == b"9000000009,\r\n0101011237,\r\n"
    assert read_numbers(path).tolist() == [9000000009, 101011237]


def test_write_numbers_refuses_numbers_the_service_would_reject(tmp_path: Path) -> None:
    path = tmp_path / "request.dat"
    for bad in ([9000000001], [1111111111], [9000000009.0]):
        with pytest.raises(InvalidNHSNumber):
            write_numbers(path, bad)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_read_numbers_names_the_file_and_first_invalid_line(tmp_path: Path) -> None:
    path = tmp_path / "request.dat"
    path.write_bytes(b"9000000009,\n\n9000000001,\nx\n")
    with pytest.raises(FileFormatError) as caught:
        read_numbers(path)
    assert caught.value.file == str(path)
    assert caught.value.line == 3
    assert "2 invalid" in caught.value.problem
    assert "9000000001" not in str(caught.value)  # no NHS numbers in messages


def test_write_atomically_replaces_the_file_and_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "response.dat"
    path.write_bytes(b"old")
    write_atomically(path, b"9000000009,", memoryview(b"\n"))
    assert path.read_bytes() == b"9000000009,\n"
    assert [p.name for p in tmp_path.iterdir()] == ["response.dat"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds NHS numbers


def test_write_atomically_keeps_the_old_file_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "response.dat"
    path.write_bytes(b"old")

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["response.dat"]
