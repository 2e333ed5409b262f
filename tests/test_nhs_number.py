"""NHS numbers: the Modulus 11 rule, normalisation, ranges, and the bulk path.

The examples come from ``shared/domain/nhs-number.md``.  The property tests check
ours against the ``nhs-number`` package (uk-fci, imported as ``reference``) and the
vectorised functions against the scalar ones.
"""

from __future__ import annotations

import itertools
import re

import nhs_number as reference
import numpy as np
import pyarrow
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ndoo.errors import InputError, InvalidNHSNumber
from ndoo.nhs_number import (
    MAX_NUMBER,
    RANGES,
    WEIGHTS,
    Region,
    check_digit,
    check_digits_array,
    format_display,
    generate_synthetic,
    is_placeholder,
    is_synthetic,
    is_valid,
    normalise,
    parse,
    parse_array,
    region,
    region_array,
    to_text_array,
    validate_array,
)

PLACEHOLDERS = [str(d) * 10 for d in range(10)]
# The reference's accepted layouts, ASCII digits only (its ``\d`` also takes other scripts).
REFERENCE_LAYOUT = re.compile(r"[0-9]{10}|[0-9]{3} [0-9]{3} [0-9]{4}|[0-9]{3}-[0-9]{3}-[0-9]{4}")
# First nine digits with no valid number: the weighted sum is 1 mod 11, so 11 − 1 = 10.
STEM_WITH_CHECK_10 = "900000005"


def reference_check_ok(number: str) -> bool:
    """The reference's Modulus 11 verdict on a bare ten-digit string."""
    return reference.calculate_checksum(number[:9]) == int(number[9])


def naive_validate(numbers: np.ndarray) -> np.ndarray:
    """An independent bulk Modulus 11: ten rounds of ``// 10`` and ``% 10``."""
    numbers = numbers.astype(np.int64)
    in_range = (numbers >= 0) & (numbers <= MAX_NUMBER)
    rest = np.where(in_range, numbers, 0)
    last = rest % 10
    rest //= 10
    total = np.zeros_like(rest)
    for weight in (2, 3, 4, 5, 6, 7, 8, 9, 10):
        total += (rest % 10) * weight
        rest //= 10
    expected = (11 - total % 11) % 11
    placeholder = np.where(in_range, numbers, 1) % 1_111_111_111 == 0
    return in_range & (expected == last) & ~placeholder


# ---------------------------------------------------------------------------
# Strategies

digit_strings = st.text(alphabet="0123456789", min_size=10, max_size=10)


@st.composite
def valid_digit_strings(draw: st.DrawFn) -> str:
    """Ten-digit strings whose check digit is right (placeholders included)."""
    stem = f"{draw(st.integers(0, 999_999_999)):09d}"
    check = reference.calculate_checksum(stem)
    if check == 10:  # no valid number has this stem; give it a wrong digit instead
        return stem + str(draw(st.integers(0, 9)))
    return stem + str(check)


ten_digit_strings = st.one_of(digit_strings, valid_digit_strings(), st.sampled_from(PLACEHOLDERS))


@st.composite
def messy_strings(draw: st.DrawFn) -> str:
    """Mostly ten (sometimes 8–12) digits with separators and surrounding whitespace."""
    digits = draw(st.one_of(ten_digit_strings, st.text("0123456789", min_size=8, max_size=12)))
    separators = st.sampled_from(["", "", "", " ", "-", "  ", " - ", ".", "/", "\t", "x", "９"])
    if draw(st.booleans()):  # the 3-3-4 layouts people type
        sep = draw(st.sampled_from([" ", "-", "."]))
        body = sep.join([digits[:3], digits[3:6], digits[6:]])
    else:
        body = "".join(d + draw(separators) for d in digits[:-1]) + digits[-1:]
    around = st.sampled_from(["", "", " ", "\t", "\n", " \r\n", "\xa0", "-", "\u200b"])
    return draw(around) + body + draw(around)


short_strings = st.text(
    alphabet=st.one_of(
        st.sampled_from("0123456789 -./\t\n"),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
    ),
    max_size=16,
)
any_strings = st.one_of(messy_strings(), short_strings)


# ---------------------------------------------------------------------------
# The Modulus 11 rule


def test_worked_example_943_476_5919() -> None:
    stem = "943476591"
    assert sum(int(d) * w for d, w in zip(stem, WEIGHTS, strict=True)) == 299
    assert 299 % 11 == 2
    assert check_digit(stem) == 9
    assert parse("943 476 5919") == "9434765919"
    assert is_valid("9434765919")
    assert is_valid(9434765919)


@pytest.mark.parametrize("number", ["9000000009", "9000000017", "9000000025"])
def test_synthetic_examples_are_valid(number: str) -> None:
    assert parse(number) == number
    assert is_valid(number)
    assert is_synthetic(number)


def test_failing_example_names_the_check_digit() -> None:
    assert check_digit("900054366") == 5
    with pytest.raises(InvalidNHSNumber, match="check digit"):
        parse("9000543664")
    assert not is_valid("9000543664")


def test_check_result_10_means_no_valid_number() -> None:
    assert check_digit(STEM_WITH_CHECK_10) is None
    assert reference.calculate_checksum(STEM_WITH_CHECK_10) == 10
    assert check_digits_array([int(STEM_WITH_CHECK_10)]).tolist() == [10]
    candidates = [STEM_WITH_CHECK_10 + str(d) for d in range(10)]
    for number in candidates:
        with pytest.raises(InvalidNHSNumber, match="no valid NHS number starts with"):
            parse(number)
    assert not validate_array(np.array([int(n) for n in candidates])).any()
    # Neither 0 (the 11 case) nor a two-digit "10" is appended.
    assert not is_valid(STEM_WITH_CHECK_10 + "0")
    assert not is_valid(STEM_WITH_CHECK_10 + "10")


@pytest.mark.parametrize("stem", ["12345678", "1234567890", "12345678x", "１２３４５６７８９", ""])
def test_check_digit_needs_nine_ascii_digits(stem: str) -> None:
    with pytest.raises(ValueError, match="nine digits"):
        check_digit(stem)


@pytest.mark.parametrize("stems", [[-1], [1_000_000_000], [0, 999_999_999, -5]])
def test_check_digits_array_refuses_stems_out_of_range(stems: list[int]) -> None:
    with pytest.raises(ValueError, match="nine digits"):
        check_digits_array(stems)


@given(hnp.arrays(np.int64, st.integers(0, 50), elements=st.integers(0, 999_999_999)))
def test_check_digits_array_agrees_with_check_digit(stems: np.ndarray) -> None:
    expected = [check_digit(f"{s:09d}") for s in stems.tolist()]
    assert check_digits_array(stems).tolist() == [10 if d is None else d for d in expected]


# ---------------------------------------------------------------------------
# Normalisation


@pytest.mark.parametrize(
    "text",
    [
        "9434765919",
        "943 476 5919",
        "943-476-5919",
        "  9434765919  ",
        "\t943 476 5919\r\n",
        "\xa0943-476-5919\u3000",
        "943 476-5919",
        "94 34 76 59 19",
        "943 - 476 - 5919",
    ],
)
def test_normalise_accepts_spaces_hyphens_and_surrounding_whitespace(text: str) -> None:
    assert normalise(text) == "9434765919"
    assert parse(text) == "9434765919"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("943.476.5919", "not '.'"),
        ("943/476/5919", "not '/'"),
        ("943476591X", "not 'X'"),
        ("NHS 9434765919", "not 'N'"),
        ("943_476_5919", "not '_'"),
        ("943\t476\t5919", r"not '\\t'"),
        ("９434765919", "not '９'"),
        ("٩٤٣٤٧٦٥٩١٩", "not '٩'"),
        ("", "empty"),
        ("   \t ", "empty"),
        ("943476591", "has 10 digits, this has 9"),
        ("94347659190", "has 10 digits, this has 11"),
        ("943 476 591", "this has 9"),
        ("-", "this has 0"),
        ("-9434765919", "hyphen .* only separate digits"),
        ("9434765919-", "hyphen .* only separate digits"),
        ("- 943 476 5919", "hyphen .* only separate digits"),
    ],
)
def test_normalise_rejects_with_a_message_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(InvalidNHSNumber, match=problem):
        normalise(text)
    assert not is_valid(text)
    assert parse_array([text])[1].tolist() == [False]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (-1, "10 digits"),
        (10_000_000_000, "10 digits"),
        (True, "true or false"),
        (9434765919.0, "not float"),
        (None, "not NoneType"),
        (b"9434765919", "not bytes"),
    ],
)
def test_normalise_rejects_other_values(value: object, problem: str) -> None:
    with pytest.raises(InvalidNHSNumber, match=problem):
        normalise(value)  # type: ignore[arg-type]
    assert not is_valid(value)  # type: ignore[arg-type]


def test_invalid_nhs_number_is_an_input_error() -> None:
    with pytest.raises(InputError) as caught:
        parse("123")
    assert caught.value.code == "invalid_nhs_number"


# ---------------------------------------------------------------------------
# Placeholders, leading zeros, display


@pytest.mark.parametrize("number", PLACEHOLDERS)
def test_repeated_digit_placeholders_pass_modulus_11_but_are_rejected(number: str) -> None:
    assert check_digit(number[:9]) == int(number[0])  # 54·d ≡ −d (mod 11)
    assert is_placeholder(number)
    with pytest.raises(InvalidNHSNumber, match="placeholder"):
        parse(number)
    assert not is_valid(number)
    assert not is_valid(int(number))
    assert validate_array(np.array([int(number)])).tolist() == [False]
    assert validate_array(np.array([number])).tolist() == [False]
    assert parse_array([number])[1].tolist() == [False]


@pytest.mark.parametrize("number", ["9434765919", "1111111112", "011111111", "12345678901"])
def test_other_numbers_are_not_placeholders(number: str) -> None:
    assert not is_placeholder(number)


def test_chi_number_keeps_its_leading_zero() -> None:
    assert parse("0101011237") == "0101011237"
    assert parse("010 101 1237") == "0101011237"
    assert parse(101011237) == "0101011237"  # an int is zero-padded
    assert region(101011237) is Region.SCOTLAND
    assert validate_array(np.array([101011237])).tolist() == [True]
    assert to_text_array(np.array([101011237, 9434765919])).tolist() == [
        "0101011237",
        "9434765919",
    ]
    numbers, ok = parse_array(["0101011237", "101011237"])
    assert ok.tolist() == [True, False]
    assert numbers.tolist() == [101011237, 0]
    with pytest.raises(InvalidNHSNumber, match="this has 9"):
        parse("101011237")  # text has lost its zero: refused, not padded


@pytest.mark.parametrize(
    ("value", "display"),
    [
        ("9434765919", "943 476 5919"),
        ("943-476-5919", "943 476 5919"),
        (9434765919, "943 476 5919"),
        (101011237, "010 101 1237"),
        ("9000000009", "900 000 0009"),
    ],
)
def test_format_display_is_3_3_4(value: str | int, display: str) -> None:
    assert format_display(value) == display


def test_format_display_refuses_invalid_numbers() -> None:
    with pytest.raises(InvalidNHSNumber, match="check digit"):
        format_display("9000543664")


@given(valid_digit_strings())
def test_format_display_round_trips_through_parse(number: str) -> None:
    assume(is_valid(number))
    shown = format_display(number)
    assert re.fullmatch(r"[0-9]{3} [0-9]{3} [0-9]{4}", shown)
    assert parse(shown) == number
    assert format_display(int(number)) == shown


# ---------------------------------------------------------------------------
# Regions


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("0000000000", Region.UNALLOCATED),
        ("0000000009", Region.UNALLOCATED),
        ("0000000010", Region.UNALLOCATED),
        ("0099999999", Region.UNALLOCATED),
        ("0100000000", Region.SCOTLAND),
        ("3112999999", Region.SCOTLAND),
        ("3113000000", Region.UNALLOCATED),
        ("3199999999", Region.UNALLOCATED),
        ("3200000000", Region.NORTHERN_IRELAND),
        ("3999999999", Region.NORTHERN_IRELAND),
        ("4000000000", Region.ENGLAND_WALES_IOM),
        ("4999999999", Region.ENGLAND_WALES_IOM),
        ("5000000000", Region.RESERVED),
        ("5999999999", Region.RESERVED),
        ("6000000000", Region.ENGLAND_WALES_IOM),
        ("6999999999", Region.ENGLAND_WALES_IOM),
        ("7000000000", Region.ENGLAND_WALES_IOM),
        ("7999999999", Region.ENGLAND_WALES_IOM),
        ("8000000000", Region.REPUBLIC_OF_IRELAND),
        ("8599999999", Region.REPUBLIC_OF_IRELAND),
        ("8600000000", Region.UNALLOCATED),
        ("8999999999", Region.UNALLOCATED),
        ("9000000000", Region.SYNTHETIC),
        ("9999999999", Region.SYNTHETIC),
    ],
)
def test_region_at_every_range_boundary(number: str, expected: Region) -> None:
    assert region(number) is expected
    assert region(int(number)) is expected
    assert region_array(np.array([int(number)])).tolist() == [expected]
    assert is_synthetic(number) is (expected is Region.SYNTHETIC)


def test_ranges_are_ordered_and_disjoint() -> None:
    for (_, last, _), (first, _, _) in itertools.pairwise(RANGES):
        assert last < first


@pytest.mark.parametrize(
    ("name", "issued"),
    [
        (Region.ENGLAND_WALES_IOM, True),
        (Region.SCOTLAND, True),
        (Region.NORTHERN_IRELAND, True),
        (Region.REPUBLIC_OF_IRELAND, True),
        (Region.SYNTHETIC, False),
        (Region.RESERVED, False),
        (Region.UNALLOCATED, False),
    ],
)
def test_region_issued(name: Region, issued: bool) -> None:
    assert name.issued is issued
    assert name.label == name.value


@given(hnp.arrays(np.int64, st.integers(0, 40), elements=st.integers(0, MAX_NUMBER)))
def test_region_array_agrees_with_region(numbers: np.ndarray) -> None:
    assert region_array(numbers).tolist() == [region(int(n)) for n in numbers.tolist()]


# ---------------------------------------------------------------------------
# Cross-checks with the reference package


@given(ten_digit_strings)
def test_modulus_11_agrees_with_reference(number: str) -> None:
    """Ours and ``reference.calculate_checksum`` agree on every ten-digit string.

    Deliberate difference: the placeholders ``0000000000`` … ``9999999999`` pass
    Modulus 11 and the reference accepts them; we reject them, as the official
    statistics do.  A reference checksum of 10 is our ``None``.
    """
    expected = reference.calculate_checksum(number[:9])
    assert check_digit(number[:9]) == (None if expected == 10 else expected)
    assert is_valid(number) is (reference_check_ok(number) and not is_placeholder(number))


@given(ten_digit_strings)
def test_is_valid_agrees_with_reference_outside_chi(number: str) -> None:
    """Ours agrees with ``reference.is_valid`` outside the Scotland CHI range.

    Deliberate differences:

    * In the CHI range (0100000000–3112999999) the reference also requires the
      first six digits to be a DDMMYY date; we check only Modulus 11, so we accept
      a superset there.
    * Placeholders (ten identical digits) are rejected by us, accepted by the
      reference (except ``2222222222``, whose "date" 22/22/22 fails).
    """
    ours = is_valid(number)
    theirs = reference.is_valid(number)
    if is_placeholder(number):
        assert not ours
    elif region(number) is Region.SCOTLAND:
        assert ours or not theirs  # theirs ⇒ ours
        assert ours is reference_check_ok(number)
    else:
        assert ours is theirs
    assert is_valid(int(number)) is ours
    assert reference.is_valid(int(number)) is theirs  # the reference zero-pads ints too


@given(any_strings)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_is_valid_agrees_with_reference_on_messy_text(text: str) -> None:
    """Ours agrees with ``reference.is_valid`` on messy text, bar documented choices.

    Deliberate differences, besides the CHI date and the placeholders:

    * Layout: the reference takes only ``9434765919``, ``943 476 5919`` and
      ``943-476-5919``; we take spaces and hyphens anywhere between digits
      (``94 34 76 59 19``, ``943 476-5919``).
    * Digits: the reference's ``\\d`` also matches non-ASCII digits (``９``, ``٩``);
      we take ASCII digits only, as the Check service does.
    """
    ours = is_valid(text)
    theirs = reference.is_valid(text)
    bare = text.strip()
    if theirs and bare.isascii():
        assert ours or is_placeholder(reference.standardise_format(text))
    if ours:  # never a placeholder, and always right by the reference's Modulus 11
        number = parse(text)
        assert reference_check_ok(number)
        if REFERENCE_LAYOUT.fullmatch(bare) and region(number) is not Region.SCOTLAND:
            assert theirs


# ---------------------------------------------------------------------------
# Bulk path against the scalar path

int64_values = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-MAX_NUMBER, -1),
    st.integers(0, MAX_NUMBER),
    st.integers(MAX_NUMBER + 1, 10**12),
    valid_digit_strings().map(int),
    st.sampled_from([int(p) for p in PLACEHOLDERS]),
)


@given(hnp.arrays(np.int64, st.integers(0, 60), elements=int64_values))
def test_validate_array_agrees_with_is_valid_on_int64(numbers: np.ndarray) -> None:
    result = validate_array(numbers)
    assert result.dtype == np.bool_
    assert result.tolist() == [is_valid(n) for n in numbers.tolist()]


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.uint32, np.uint64])
def test_validate_array_accepts_other_integer_dtypes(dtype: type[np.integer]) -> None:
    info = np.iinfo(dtype)
    candidates = [0, 9, 101011237, 9434765919, 9000000009, MAX_NUMBER, 2**63 + 9434765919]
    values = [v for v in candidates if info.min <= v <= info.max]
    numbers = np.array(values, dtype=dtype)
    assert validate_array(numbers).tolist() == [is_valid(v) for v in values]


def test_validate_array_keeps_the_shape() -> None:
    numbers = np.array([[9434765919, 9000543664], [101011237, -1]])
    assert validate_array(numbers).tolist() == [[True, False], [True, False]]
    assert validate_array(np.int64(9434765919)).shape == ()
    assert validate_array([]).shape == (0,)


def test_validate_array_across_chunks_agrees_with_a_naive_digit_loop() -> None:
    rng = np.random.default_rng(20240601)
    numbers = rng.integers(0, MAX_NUMBER + 1, size=700_000)
    numbers[::7] = generate_synthetic(100_000, rng)  # plenty of valid ones
    numbers[262_140:262_150] = [int(p) for p in PLACEHOLDERS]  # straddle a chunk boundary
    numbers[1000:1010] = rng.integers(-(2**40), 0, size=10)
    expected = naive_validate(numbers)
    assert 100_000 <= expected.sum() < 200_000
    assert np.array_equal(validate_array(numbers), expected)


@pytest.mark.parametrize("values", [np.array([9.4e9]), np.array([True]), np.array([None])])
def test_validate_array_refuses_other_dtypes(values: np.ndarray) -> None:
    with pytest.raises(TypeError, match="integer or string"):
        validate_array(values)


@given(st.lists(any_strings, max_size=30))
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_validate_array_agrees_with_is_valid_on_strings(texts: list[str]) -> None:
    array = np.array(texts, dtype=str)  # NumPy drops trailing NULs: compare its elements
    assert validate_array(array).tolist() == [is_valid(str(t)) for t in array]


@given(st.lists(st.one_of(any_strings, st.none()), max_size=30))
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parse_array_agrees_with_parse_on_messy_text(texts: list[str | None]) -> None:
    numbers, ok = parse_array(texts)
    assert numbers.dtype == np.int64
    assert ok.dtype == np.bool_
    for text, number, good in zip(texts, numbers.tolist(), ok.tolist(), strict=True):
        assert good is is_valid(text)  # type: ignore[arg-type]
        assert number == (int(parse(text)) if good else 0)  # type: ignore[arg-type]


def test_parse_array_takes_numpy_and_arrow_input() -> None:
    texts = ["943 476 5919", "9000543664", "010-101-1237"]
    expected = ([9434765919, 0, 101011237], [True, False, True])
    for values in (
        np.array(texts),
        np.array([t.encode() for t in texts]),
        pyarrow.array(texts),
        pyarrow.chunked_array([texts[:1], texts[1:]]),
        iter(texts),
    ):
        numbers, ok = parse_array(values)
        assert (numbers.tolist(), ok.tolist()) == expected


# ---------------------------------------------------------------------------
# Synthetic numbers


def test_generate_synthetic_gives_distinct_valid_9xx_numbers_per_seed() -> None:
    first = generate_synthetic(5000, np.random.default_rng(7))
    again = generate_synthetic(5000, np.random.default_rng(7))
    other = generate_synthetic(5000, np.random.default_rng(8))
    assert first.dtype == np.int64
    assert first.shape == (5000,)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.unique(first).size == 5000
    assert validate_array(first).all()
    assert ((first >= 9_000_000_000) & (first <= MAX_NUMBER)).all()
    assert set(region_array(first).tolist()) == {Region.SYNTHETIC}
    sample = first[:200].tolist()
    assert all(reference.is_valid(n) for n in sample)
    assert all(is_valid(n) and is_synthetic(n) for n in sample)
    assert not np.array_equal(np.sort(first), first)  # shuffled, not in stem order


def test_generate_synthetic_edges() -> None:
    assert generate_synthetic(0, np.random.default_rng(1)).shape == (0,)
    with pytest.raises(ValueError, match="at most"):
        generate_synthetic(100_000_000, np.random.default_rng(1))
    with pytest.raises(ValueError, match="at most"):
        generate_synthetic(-1, np.random.default_rng(1))
