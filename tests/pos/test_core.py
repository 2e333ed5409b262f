"""The checking core: the response is an allow-list of the request, byte for byte.

The illustration from ``shared/domain/check-service.md`` §7: a request of 9000000009,
9000000017 and 9000000025, where 9000000017 has opted out, gets back the other two.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ndoo.checkfile import BOM, EMPTY_RESPONSE, INVALID_FILE_LINE, format_numbers
from ndoo.checkrows import ROWS_PER_BLOCK
from ndoo.nhs_number import check_digits_array, validate_array
from ndoo.numberset import NumberSet
from ndoo.pos.core import CheckOutcome, check_file, check_request

A, B, C = b"9000000009,", b"9000000017,", b"9000000025,"
INDEX = NumberSet.from_numbers([9000000017])
INVALID = INVALID_FILE_LINE.encode()


def test_the_response_is_the_request_without_opted_out_numbers() -> None:
    outcome = check_request(b"9000000009,\n9000000017,\n9000000025,\n", INDEX)
    assert outcome.status == "success"
    assert outcome.response == b"9000000009,\n9000000025,\n"
    assert (outcome.received, outcome.returned, outcome.invalid_count) == (3, 2, 0)
    assert outcome.invalid_lines == ()


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_order_duplicates_and_line_ending_are_kept(ending: bytes) -> None:
    request = ending.join([C, B, A, C, B, C, b""])
    outcome = check_request(request, INDEX)
    assert outcome.response == ending.join([C, A, C, C, b""])
    assert (outcome.received, outcome.returned) == (6, 4)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"9000000009,\n9000000017,\n9000000025,",  # last line without its ending
        BOM + b"9000000009,\n9000000017,\n9000000025,\n",
        b"\n9000000009,\n\n9000000017,\n9000000025,\n\n",  # blank lines
        b"9000000009,\n9000000017,\r\n9000000025,\r\n",  # mixed endings
    ],
)
def test_the_response_is_normalised(request_bytes: bytes) -> None:
    # No byte order mark, no blank lines, every line ended the way the first line is.
    outcome = check_request(request_bytes, INDEX)
    assert outcome.response == b"9000000009,\n9000000025,\n"
    assert outcome.received == 3


def test_the_last_number_without_an_ending_can_be_opted_out() -> None:
    assert check_request(b"9000000009,\r\n9000000017,", INDEX).response == b"9000000009,\r\n"


def test_an_empty_index_returns_every_number() -> None:
    request = b"9000000009,\r\n9000000017,\r\n"
    outcome = check_request(request, NumberSet.from_numbers([]))
    assert outcome.response == request
    assert outcome.returned == 2


def test_all_opted_out_gives_the_empty_response() -> None:
    index = NumberSet.from_numbers([9000000009, 9000000017])
    outcome = check_request(b"9000000017,\r\n9000000009,\r\n9000000017,\r\n", index)
    assert outcome.status == "success"
    assert outcome.response == EMPTY_RESPONSE
    assert (outcome.received, outcome.returned) == (3, 0)


@pytest.mark.parametrize("request_bytes", [b"", b"\n", b"\r\n\r\n", BOM, BOM + b"\n"])
def test_a_file_without_numbers_is_empty(request_bytes: bytes) -> None:
    outcome = check_request(request_bytes, INDEX)
    assert outcome.status == "empty"
    assert outcome.response == EMPTY_RESPONSE
    assert (outcome.received, outcome.returned, outcome.invalid_count) == (0, 0, 0)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_one_invalid_number_rejects_the_file(ending: bytes) -> None:
    request = ending.join([A, b"9000000001,", B, b"", b"x", b""])  # line 4 is blank
    outcome = check_request(request, INDEX)
    assert outcome.status == "invalid"
    assert outcome.response == INVALID + ending
    assert outcome.received == 4
    assert outcome.returned == 0
    assert outcome.invalid_count == 2
    assert outcome.invalid_lines == (2, 5)


def test_outcomes_compare_by_what_they_answer() -> None:
    request = b"9000000009,\n9000000017,\n"
    first, again = check_request(request, INDEX), check_request(bytearray(request), INDEX)
    assert first == again
    assert hash(first) == hash(again)  # usable as a dict key or in a set
    assert first != check_request(request.replace(b"\n", b"\r\n"), INDEX)


def test_outcome_repr_shows_no_numbers() -> None:
    outcome = check_request(b"9000000009,\n9000000017,\n", INDEX)
    assert "9000000009" not in repr(outcome)
    assert "success" in repr(outcome)


# ---------------------------------------------------------------------------
# Many blocks: the fast path against a plain reference


def valid_numbers(count: int, seed: int) -> np.ndarray:
    stems = np.random.default_rng(seed).integers(400_000_000, 800_000_000, size=2 * count + 50)
    numbers = stems * 10 + check_digits_array(stems)
    return numbers[validate_array(numbers)][:count]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("last_ending", [True, False], ids=["ended", "unended"])
def test_many_blocks_match_a_reference(ending: bytes, last_ending: bool) -> None:
    numbers = valid_numbers(2 * ROWS_PER_BLOCK + 77, seed=1)
    numbers = np.concatenate([numbers, numbers[:500]])  # some duplicates
    opted_out = numbers[np.random.default_rng(2).random(numbers.size) < 0.06]
    index = NumberSet.from_numbers(opted_out)
    request = format_numbers(numbers, line_ending=ending)
    if not last_ending:
        request = request[: -len(ending)]
    opted = set(opted_out.tolist())
    expected = format_numbers([n for n in numbers.tolist() if n not in opted], line_ending=ending)
    outcome = check_request(request, index)
    assert outcome.response == expected
    assert outcome.received == numbers.size
    assert outcome.returned == numbers.size - sum(n in opted for n in numbers.tolist())
    # A blank line sends the same request down the general path: same answer.
    assert check_request(ending + request, index).response == expected


def test_an_invalid_row_late_in_a_large_file() -> None:
    numbers = valid_numbers(ROWS_PER_BLOCK + 10, seed=3)
    request = bytearray(format_numbers(numbers))
    request[-12:-1] = b"9000000001,"  # the last line fails Modulus 11
    outcome = check_request(bytes(request), INDEX)
    assert outcome.status == "invalid"
    assert outcome.invalid_lines == (numbers.size,)


# ---------------------------------------------------------------------------
# File to file


def test_check_file_writes_the_response(tmp_path: Path) -> None:
    src, dst = tmp_path / "request.dat", tmp_path / "response.dat"
    src.write_bytes(b"9000000009,\r\n9000000017,\r\n9000000025,\r\n")
    outcome = check_file(src, dst, INDEX)
    assert isinstance(outcome, CheckOutcome)
    assert dst.read_bytes() == b"9000000009,\r\n9000000025,\r\n" == outcome.response
    assert src.read_bytes() == b"9000000009,\r\n9000000017,\r\n9000000025,\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "response"),
    [(b"", EMPTY_RESPONSE), (b"9000000017,", EMPTY_RESPONSE), (b"x\n", INVALID + b"\n")],
)
def test_check_file_writes_every_kind_of_answer(
    tmp_path: Path, request_bytes: bytes, response: bytes
) -> None:
    src, dst = tmp_path / "request.dat", tmp_path / "response.dat"
    src.write_bytes(request_bytes)
    check_file(src, dst, INDEX)
    assert dst.read_bytes() == response


def test_check_file_replaces_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src, dst = tmp_path / "request.dat", tmp_path / "response.dat"
    src.write_bytes(b"9000000009,\n")
    dst.write_bytes(b"previous answer")
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(a: str, b: str) -> None:
        replaced.append((a, b))
        assert Path(a).parent == dst.parent  # renamed within one directory
        assert Path(a).read_bytes() == b"9000000009,\n"  # complete before the rename
        assert dst.read_bytes() == b"previous answer"  # readers saw the old one until now
        real_replace(a, b)

    monkeypatch.setattr(os, "replace", spy)
    check_file(src, dst, INDEX)
    assert len(replaced) == 1 and Path(replaced[0][1]) == dst
    assert dst.read_bytes() == b"9000000009,\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["request.dat", "response.dat"]


def test_check_file_of_a_large_request_matches_check_request(tmp_path: Path) -> None:
    numbers = valid_numbers(ROWS_PER_BLOCK + 5, seed=4)
    index = NumberSet.from_numbers(numbers[::17])
    src, dst = tmp_path / "request.dat", tmp_path / "response.dat"
    src.write_bytes(BOM + format_numbers(numbers, line_ending=b"\r\n"))
    outcome = check_file(str(src), str(dst), index)
    assert dst.read_bytes() == check_request(src.read_bytes(), index).response
    assert outcome.returned == numbers.size - numbers[::17].size
