"""Property tests: :func:`parse` against a small pure-Python reader, and the checking core
on arbitrary bytes.

The reference below reads the format as ``ndoo.checkfile``'s docstring states it, line
by line, with the scalar :func:`ndoo.nhs_number.is_valid`; the module's fast and
general paths must both agree with it.
"""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ndoo.checkfile
from ndoo.checkfile import BOM, EMPTY_RESPONSE, INVALID_FILE_LINE, parse
from ndoo.nhs_number import check_digit, is_valid
from ndoo.numberset import NumberSet
from ndoo.pos.core import check_request

# Opted out, for the checking core; the strategies draw these often.
OPTED_OUT = frozenset([9000000009, 101011237, 19, 1111111103, 4000000004, 7999999997])
INDEX = NumberSet.from_numbers(sorted(OPTED_OUT))

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_parse(data: bytes) -> tuple[list[int], int, list[int], bytes]:
    """``(numbers, lines, invalid line numbers, line ending)``, one line at a time."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    pieces = data.split(b"\n")
    ending = b"\r\n" if len(pieces) > 1 and pieces[0].endswith(b"\r") else b"\n"
    numbers, invalid, lines = [], [], 0
    for number, piece in enumerate(pieces, start=1):
        line = piece[:-1] if piece.endswith(b"\r") else piece
        if not line:
            continue
        lines += 1
        digits = line[:10]
        if (
            len(line) == 11
            and line.endswith(b",")
            and digits.isdigit()  # bytes.isdigit is ASCII only
            and is_valid(digits.decode("ascii"))
        ):
            numbers.append(int(digits))
        else:
            invalid.append(number)
    return ([] if invalid else numbers), lines, invalid, ending


# ---------------------------------------------------------------------------
# Strategies


@st.composite
def valid_numbers(draw: st.DrawFn) -> int:
    if draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(sorted(OPTED_OUT)))
    stem = draw(st.one_of(st.integers(0, 999), st.integers(0, 999_999_999), st.just(111_111_110)))
    digit = check_digit(f"{stem:09d}")
    number = stem * 10 + (digit if digit is not None else 0)
    if digit is None or not is_valid(number):  # stems with no valid number, placeholders
        number = 9000000009
    return number


def valid_line(number: int) -> bytes:
    return b"%010d," % number


@st.composite
def invalid_lines(draw: st.DrawFn) -> bytes:
    line = valid_line(draw(valid_numbers()))
    position = draw(st.integers(0, len(line) - 1))
    byte = draw(st.integers(0, 255).filter(lambda b: b != 0x0A))
    return draw(
        st.sampled_from(
            [
                line[:position] + bytes([byte]) + line[position + 1 :],  # same width
                line[:position] + line[position + 1 :],  # a byte missing
                line[:position] + bytes([byte]) + line[position:],  # a byte more
                b"%010d," % (draw(st.integers(0, 9_999_999_999))),  # check digit by chance
                draw(st.binary(max_size=14)).replace(b"\n", b""),
            ]
        )
    )


@st.composite
def request_files(draw: st.DrawFn) -> bytes:
    """Lines, mostly valid, with LF and CRLF, a BOM and a final newline or not."""
    uniform = draw(st.booleans())  # one ending, no blank lines: the fast path's case
    kinds = st.sampled_from(["valid"] * 6 + ([] if uniform else ["invalid", "empty", "cr"]))
    endings = st.sampled_from([b"\n", b"\r\n"])
    fixed_ending = draw(endings)
    parts = [BOM] if draw(st.booleans()) else []
    count = draw(st.integers(0, 30))
    for index in range(count):
        kind = draw(kinds)
        if kind == "valid":
            parts.append(valid_line(draw(valid_numbers())))
        elif kind == "invalid":
            parts.append(draw(invalid_lines()))
        elif kind == "cr":
            parts.append(b"\r")
        if index < count - 1 or draw(st.booleans()):
            parts.append(fixed_ending if uniform else draw(endings))
    if uniform and count and draw(st.integers(0, 4)) == 0:  # one defect in a uniform file
        lines = b"".join(parts).split(fixed_ending)
        lines[draw(st.integers(0, len(lines) - 1))] = draw(invalid_lines())
        parts = [fixed_ending.join(lines)]
    return b"".join(parts)


arbitrary_bytes = st.one_of(
    st.binary(max_size=120),
    st.lists(st.sampled_from([b"0", b"9", b",", b"\r", b"\n", BOM, b"9000000009,"])).map(b"".join),
    request_files(),
)


# ---------------------------------------------------------------------------
# Properties


@FUZZ
@given(request_files())
def test_parse_agrees_with_the_reference(data: bytes) -> None:
    numbers, lines, invalid, ending = reference_parse(data)
    parsed = parse(data, max_reported=1000)
    assert parsed.numbers.tolist() == numbers
    assert parsed.lines == lines
    assert list(parsed.invalid_lines) == invalid
    assert parsed.invalid_count == len(invalid)
    assert parsed.line_ending == ending
    assert parse(data).invalid_lines == tuple(invalid[:20])


@FUZZ
@given(arbitrary_bytes)
def test_parse_never_raises_and_matches_the_reference(data: bytes) -> None:
    numbers, lines, invalid, _ = reference_parse(data)
    parsed = parse(data)
    assert (parsed.numbers.tolist(), parsed.lines, parsed.invalid_count) == (
        numbers,
        lines,
        len(invalid),
    )


@FUZZ
@given(arbitrary_bytes)
def test_check_request_answers_every_input(data: bytes) -> None:
    parsed = parse(data)
    outcome = check_request(data, INDEX)
    if outcome.status == "invalid":
        assert not parsed.valid
        assert outcome.response == INVALID_FILE_LINE.encode() + parsed.line_ending
        assert outcome.returned == 0
        return
    assert parsed.valid
    assert outcome.status == ("empty" if parsed.lines == 0 else "success")
    answer = parse(outcome.response)
    assert answer.valid
    # The allow-list: the request's numbers without the opted-out ones, in order.
    expected = [n for n in parsed.numbers.tolist() if n not in OPTED_OUT]
    assert answer.numbers.tolist() == expected
    assert outcome.returned == len(expected)
    assert outcome.received == parsed.lines
    if not expected:
        assert outcome.response == EMPTY_RESPONSE
    else:
        assert answer.line_ending == parsed.line_ending
        assert outcome.response.endswith(parsed.line_ending)


@FUZZ
@given(request_files(), st.integers(1, 40))
def test_parse_in_small_blocks_agrees_with_the_reference(data: bytes, block: int) -> None:
    # The general path reads a few MiB at a time; tiny blocks put lines on every boundary.
    numbers, lines, invalid, _ = reference_parse(data)
    with patch.object(ndoo.checkfile, "_GENERAL_BYTES", block):
        parsed = ndoo.checkfile.parse(data, max_reported=1000)
    assert (parsed.numbers.tolist(), parsed.lines, list(parsed.invalid_lines)) == (
        numbers,
        lines,
        invalid,
    )
