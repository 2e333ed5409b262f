"""Reading request files: the layouts people send, every kind of invalid line, and where
the fast path (lines of one width) and the general path each take over.

Synthetic numbers from ``shared/domain/check-service.md``: 9000000009, 9000000017 and
9000000025 are valid; so are 0101011237 and 0000000019 (leading zeros).
"""

from __future__ import annotations

import numpy as np
import pytest

import ndoo.checkfile
from ndoo.checkfile import (
    BOM,
    ParsedRequest,
    fixed_width_rows,
    format_numbers,
    parse,
)
from ndoo.checkrows import ROWS_PER_BLOCK
from ndoo.nhs_number import check_digits_array, validate_array

A, B, C = 9000000009, 9000000017, 9000000025


def numbers_of(parsed: ParsedRequest) -> list[int]:
    return [int(n) for n in parsed.numbers]


def takes_fast_path(data: bytes) -> bool:
    """Whether every fixed-width row of ``data`` is accepted by the fast path."""
    rows = fixed_width_rows(data)
    if rows is None:
        return False
    return all(
        rows.stems(first, min(first + ROWS_PER_BLOCK, rows.count)) is not None
        for first in range(0, rows.count, ROWS_PER_BLOCK)
    )


# ---------------------------------------------------------------------------
# Layouts that are valid


@pytest.mark.parametrize(
    ("data", "ending"),
    [
        (b"9000000009,\n9000000017,\n9000000025,\n", b"\n"),
        (b"9000000009,\r\n9000000017,\r\n9000000025,\r\n", b"\r\n"),
        (b"9000000009,\n9000000017,\n9000000025,", b"\n"),  # no final newline
        (b"9000000009,\r\n9000000017,\r\n9000000025,", b"\r\n"),
        (BOM + b"9000000009,\n9000000017,\n9000000025,\n", b"\n"),
        (BOM + b"9000000009,\r\n9000000017,\r\n9000000025,\r\n", b"\r\n"),
        (b"9000000009,\r\n9000000017,\n9000000025,\n", b"\r\n"),  # mixed: the first decides
        (b"9000000009,\n9000000017,\r\n9000000025,\r\n", b"\n"),
        (b"9000000009,\n9000000017,\n9000000025,\r", b"\n"),  # CR of a CRLF cut short
    ],
)
def test_valid_layouts(data: bytes, ending: bytes) -> None:
    parsed = parse(data)
    assert parsed.valid
    assert numbers_of(parsed) == [A, B, C]
    assert parsed.lines == 3
    assert parsed.invalid_lines == ()
    assert parsed.line_ending == ending


def test_numbers_are_int64_in_file_order_with_duplicates_kept() -> None:
    parsed = parse(b"9000000025,\n9000000009,\n9000000025,\n9000000025,\n")
    assert parsed.numbers.dtype == np.int64
    assert numbers_of(parsed) == [C, A, C, C]
    assert parsed.lines == 4


def test_leading_zeros_are_part_of_the_number() -> None:
    parsed = parse(b"0101011237,\n0000000019,\n")
    assert parsed.valid
    assert numbers_of(parsed) == [101011237, 19]


def test_empty_lines_are_ignored() -> None:
    parsed = parse(b"\n9000000009,\n\r\n\n9000000017,\n\n\r\n")
    assert parsed.valid
    assert numbers_of(parsed) == [A, B]
    assert parsed.lines == 2


@pytest.mark.parametrize("data", [b"", BOM, b"\n", b"\r\n", b"\n\n\r\n", BOM + b"\r\n\r\n"])
def test_files_without_numbers(data: bytes) -> None:
    parsed = parse(data)
    assert parsed.valid
    assert parsed.lines == 0
    assert parsed.numbers.size == 0


def test_line_ending_is_that_of_the_first_line_even_if_empty() -> None:
    assert parse(b"\r\n9000000009,\n").line_ending == b"\r\n"
    assert parse(b"9000000009,").line_ending == b"\n"  # no ending at all
    assert parse(b"").line_ending == b"\n"


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_bytes_like_inputs(kind: type) -> None:
    data = kind(b"9000000009,\n9000000017,\n")
    assert numbers_of(parse(data)) == [A, B]


def test_non_contiguous_memoryview() -> None:
    doubled = bytes(b for byte in b"9000000009,\n" for b in (byte, 0))
    assert numbers_of(parse(memoryview(doubled)[::2])) == [A]


# ---------------------------------------------------------------------------
# Invalid lines

INVALID_LINES = {
    "nine digits": b"900000000,",
    "eleven digits": b"90000000090,",
    "missing comma": b"9000000009",
    "two commas": b"9000000009,,",
    "second field": b"9000000009,x",
    "second number": b"9000000009,9000000017,",
    "leading space": b" 9000000009,",
    "space before comma": b"9000000009 ,",
    "trailing space": b"9000000009, ",
    "tab": b"9000000009,\t",
    "spaced digits": b"900 000 0009,",
    "hyphens": b"900-000-0009,",
    "letter": b"90000000a9,",
    "header": b"nhs_number,",
    "fails modulus 11": b"9000000001,",
    "no valid check digit exists": b"9000000050,",  # stem 900000005 needs check digit 10
    "placeholder zeros": b"0000000000,",
    "placeholder ones": b"1111111111,",
    "placeholder nines": b"9999999999,",
    "comma first": b",9000000009",
    "NUL byte": b"9000000009,\x00",
    "NUL digit": b"900000\x000009,",
    "lone CR inside": b"90000\r00009,",
    "CR before the comma": b"9000000009\r,",
    "CR inside the ending": b"9000000009,\r\r",  # only the last CR is part of an ending
    "non-ASCII digit": "900000000٩,".encode(),
    "full-width digit": "９000000009,".encode(),
    "Latin-1 byte": b"9000000009,\xe9",
    "BOM not at the start": BOM + b"9000000009,",
    "two CRs alone": b"\r\r",
}


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("bad", list(INVALID_LINES.values()), ids=list(INVALID_LINES))
def test_each_kind_of_invalid_line(bad: bytes, ending: bytes) -> None:
    data = ending.join([b"9000000009,", bad, b"9000000017,", b""])
    parsed = parse(data)
    assert not parsed.valid
    assert parsed.invalid_count == 1
    assert parsed.invalid_lines == (2,)
    assert parsed.lines == 3
    assert parsed.numbers.size == 0  # one invalid line rejects the whole file


@pytest.mark.parametrize("bad", list(INVALID_LINES.values()), ids=list(INVALID_LINES))
def test_invalid_last_line_without_ending(bad: bytes) -> None:
    parsed = parse(b"9000000009,\n" + bad)
    assert (parsed.invalid_count, parsed.invalid_lines) == (1, (2,))


def test_placeholder_zeros_would_pass_modulus_11() -> None:
    # 0 * every weight is 0, a multiple of 11: only the placeholder rule rejects it.
    assert not parse(b"0000000000,\n").valid


def test_numbers_resembling_placeholders_are_valid() -> None:
    # First eight digits repeated, the last two not: must not be taken for placeholders.
    assert numbers_of(parse(b"1111111103,\n2222222214,\n")) == [1111111103, 2222222214]


def test_line_numbers_are_physical_counting_empty_lines() -> None:
    data = b"\n9000000009,\n\nbad\r\n9000000017,\n\n9000000001,\n"
    parsed = parse(data)
    assert parsed.invalid_lines == (4, 7)
    assert parsed.invalid_count == 2
    assert parsed.lines == 4


def test_line_numbers_in_a_crlf_file() -> None:
    parsed = parse(b"9000000009,\r\n\r\n9000000001,\r\n\r\n\r\nx\r\n")
    assert parsed.invalid_lines == (3, 6)


def test_a_byte_order_mark_does_not_shift_line_numbers() -> None:
    assert parse(BOM + b"x\n9000000009,\n").invalid_lines == (1,)
    assert parse(BOM + b"9000000009,\nx\n").invalid_lines == (2,)


def test_max_reported_caps_the_line_numbers_not_the_count() -> None:
    data = b"9000000009,\n" + b"9000000001,\n" * 30
    parsed = parse(data, max_reported=5)
    assert parsed.invalid_count == 30
    assert parsed.invalid_lines == (2, 3, 4, 5, 6)
    assert parse(data).invalid_lines == tuple(range(2, 22))  # 20 by default
    assert parse(data, max_reported=0).invalid_lines == ()
    with pytest.raises(ValueError, match="negative"):
        parse(data, max_reported=-1)


# ---------------------------------------------------------------------------
# The fast path (lines of one width) and the general path agree


def synthetic_numbers(count: int, seed: int = 3) -> list[int]:
    """``count`` valid numbers of the synthetic 9xx range, in random order."""
    stems = np.random.default_rng(seed).integers(900_000_000, 10**9, size=2 * count + 100)
    numbers = stems * 10 + check_digits_array(stems)  # check digit 10 makes it invalid
    return numbers[validate_array(numbers)][:count].tolist()


def synthetic_file(count: int, ending: bytes = b"\n") -> tuple[bytes, list[int]]:
    numbers = synthetic_numbers(count)
    return format_numbers(numbers, line_ending=ending), numbers


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_fast_and_general_paths_give_the_same_numbers(ending: bytes) -> None:
    count = 2 * ROWS_PER_BLOCK + 123  # several blocks and a partial one
    data, numbers = synthetic_file(count, ending)
    # A blank line in the middle changes nothing but the layout.
    middle = len(ending) + 11
    half = (count // 2) * middle
    ragged = data[:half] + ending + data[half:]
    assert takes_fast_path(data)
    assert not takes_fast_path(ragged)
    fast, general = parse(data), parse(ragged)
    assert numbers_of(fast) == numbers_of(general) == numbers
    assert fast.lines == general.lines == count
    # ... and variants the fast path handles with its tail
    for variant in (data[: -len(ending)], BOM + data, data + ending * 3):
        assert numbers_of(parse(variant)) == numbers


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("where", [0, 5, ROWS_PER_BLOCK - 1, ROWS_PER_BLOCK, -2, -1])
@pytest.mark.parametrize("bad", [b"9000000001,", b"1111111111,", b"90000000a9,", b"9000000009;"])
def test_an_invalid_row_in_a_fixed_width_file_is_located(
    ending: bytes, where: int, bad: bytes
) -> None:
    count = ROWS_PER_BLOCK + 50
    data, _ = synthetic_file(count, ending)
    width = 11 + len(ending)
    row = where % count
    broken = data[: row * width] + bad + data[row * width + 11 :]
    assert len(broken) == len(data)  # still looks fixed-width ...
    assert not takes_fast_path(broken)  # ... but the fast path refuses it
    parsed = parse(broken)
    assert (parsed.invalid_count, parsed.invalid_lines, parsed.lines) == (1, (row + 1,), count)


def test_a_ragged_file_whose_length_looks_fixed_width() -> None:
    # 11 + 13 bytes is 2 * 12: the length fits rows of 12 but the lines do not.
    data = b"9000000009\n9000000017,,\n"
    assert len(data) % 12 == 0
    parsed = parse(data)
    assert parsed.invalid_lines == (1, 2)


def test_unaligned_rows_after_a_byte_order_mark() -> None:
    data, numbers = synthetic_file(ROWS_PER_BLOCK + 7)
    assert takes_fast_path(BOM + data)
    assert numbers_of(parse(BOM + data)) == numbers


def test_fast_path_modulus_11_agrees_with_validate_array() -> None:
    # Every last digit of random stems (one right at most), plus uniform random numbers.
    rng = np.random.default_rng(5)
    stems = rng.integers(0, 10**9, size=300)
    numbers = np.concatenate(
        [(stems[:, None] * 10 + np.arange(10)).ravel(), rng.integers(0, 10**10, size=2000)]
    )
    expected = validate_array(numbers)
    accepted = [takes_fast_path(b"%010d,\n" % n) for n in numbers.tolist()]
    assert accepted == expected.tolist()
    assert 250 < expected.sum() < 600  # both verdicts are well represented


@pytest.mark.parametrize("block", [1, 5, 12, 13, 64])
def test_the_general_path_reads_in_blocks_without_splitting_lines(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ndoo.checkfile, "_GENERAL_BYTES", block)
    long_line = b"9" * 200  # longer than a block: one invalid line all the same
    data = b"\n9000000009,\r\n\n9000000001,\n" + long_line + b"\n9000000017,\r\n\r\nx"
    parsed = parse(data)
    assert (parsed.invalid_count, parsed.invalid_lines, parsed.lines) == (3, (4, 5, 8), 5)
    valid = b"\n9000000009,\r\n\n" * 7 + b"9000000017,"
    assert numbers_of(parse(valid)) == [A] * 7 + [B]
