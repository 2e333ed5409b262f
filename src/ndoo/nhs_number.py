"""NHS numbers: parse, normalise, validate (Modulus 11), display, region; scalar and bulk.

An NHS number is ten digits; the tenth is a Modulus 11 check digit over the first
nine with weights 10..2.  A remainder giving 11 becomes 0; one giving 10 means no
valid number starts with those nine digits.  Numbers are kept as text end to end
(``"0101011237"`` keeps its leading zero); the bulk path works on ``int64`` arrays,
where the leading zeros are implicit, because converting to strings costs more than
validating.

The ten repeated-digit numbers ``0000000000`` … ``9999999999`` pass Modulus 11 but
are placeholders, never issued; :func:`parse` rejects them and :func:`validate_array`
marks them invalid, as the official statistics do.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from ndoo.errors import InvalidNHSNumber

WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
MAX_NUMBER = 9_999_999_999
SYNTHETIC_FIRST = 9_000_000_000
_SEPARATORS = frozenset(" -")


class Region(enum.Enum):
    """Which allocation an NHS number's range belongs to (ranges inclusive)."""

    ENGLAND_WALES_IOM = "England, Wales and Isle of Man"
    SCOTLAND = "Scotland (CHI)"
    NORTHERN_IRELAND = "Northern Ireland (H&C)"
    REPUBLIC_OF_IRELAND = "Republic of Ireland (IHI)"
    SYNTHETIC = "Synthetic or test, never issued"
    RESERVED = "Reserved, not issued"
    UNALLOCATED = "Unallocated, not issued"

    @property
    def label(self) -> str:
        return self.value

    @property
    def issued(self) -> bool:
        """True for ranges that are issued to real people."""
        return self in _ISSUED


_ISSUED = frozenset(
    {
        Region.ENGLAND_WALES_IOM,
        Region.SCOTLAND,
        Region.NORTHERN_IRELAND,
        Region.REPUBLIC_OF_IRELAND,
    }
)

# (first, last, region), inclusive, in order; the gaps are unallocated.
RANGES: tuple[tuple[int, int, Region], ...] = (
    (10_000_0000, 311_299_9999, Region.SCOTLAND),
    (320_000_0000, 399_999_9999, Region.NORTHERN_IRELAND),
    (400_000_0000, 499_999_9999, Region.ENGLAND_WALES_IOM),
    (500_000_0000, 599_999_9999, Region.RESERVED),
    (600_000_0000, 799_999_9999, Region.ENGLAND_WALES_IOM),
    (800_000_0000, 859_999_9999, Region.REPUBLIC_OF_IRELAND),
    (900_000_0000, 999_999_9999, Region.SYNTHETIC),
)


# ---------------------------------------------------------------------------
# Scalar path


def check_digit(stem: str) -> int | None:
    """The check digit for nine digits, or ``None`` when no valid number has them."""
    if len(stem) != 9 or not stem.isascii() or not stem.isdigit():
        raise ValueError("check_digit needs exactly nine digits")
    total = sum(int(d) * w for d, w in zip(stem, WEIGHTS, strict=True))
    result = 11 - total % 11
    if result == 11:
        return 0
    if result == 10:
        return None
    return result


def normalise(value: str | int) -> str:
    """The bare ten-digit form of ``value``, without judging the check digit.

    Strings may carry spaces and hyphens between digits and whitespace around
    them; anything else is refused.  An ``int`` is zero-padded to ten digits.
    """
    if isinstance(value, bool):
        raise InvalidNHSNumber("an NHS number cannot be true or false")
    if isinstance(value, int):
        if not 0 <= value <= MAX_NUMBER:
            raise InvalidNHSNumber("an NHS number must have 10 digits")
        return f"{value:010d}"
    if not isinstance(value, str):
        raise InvalidNHSNumber(f"an NHS number must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise InvalidNHSNumber("the NHS number is empty")
    digits = []
    for char in text:
        if char.isascii() and char.isdigit():
            digits.append(char)
        elif char not in _SEPARATORS:
            raise InvalidNHSNumber(
                f"an NHS number may contain only digits, spaces and hyphens, not {char!r}"
            )
    if len(digits) != 10:
        raise InvalidNHSNumber(f"an NHS number has 10 digits, this has {len(digits)}")
    if text[0] in _SEPARATORS or text[-1] in _SEPARATORS:
        raise InvalidNHSNumber("a hyphen in an NHS number may only separate digits")
    return "".join(digits)


def parse(value: str | int) -> str:
    """Normalise and validate; the bare ten-digit string or :class:`InvalidNHSNumber`."""
    number = normalise(value)
    expected = check_digit(number[:9])
    if expected is None:
        raise InvalidNHSNumber("no valid NHS number starts with these nine digits")
    if expected != int(number[9]):
        raise InvalidNHSNumber("the check digit is wrong (Modulus 11)")
    if is_placeholder(number):
        raise InvalidNHSNumber("a number of ten identical digits is a placeholder, not issued")
    return number


def is_valid(value: str | int) -> bool:
    """True when :func:`parse` would accept ``value``; never raises."""
    try:
        parse(value)
    except InvalidNHSNumber:
        return False
    return True


def is_placeholder(number: str) -> bool:
    """True for the repeated-digit numbers ``0000000000`` … ``9999999999``."""
    return len(number) == 10 and len(set(number)) == 1


def format_display(value: str | int) -> str:
    """The 3-3-4 display form, ``943 476 5919``, of a valid number."""
    number = parse(value)
    return f"{number[:3]} {number[3:6]} {number[6:]}"


def region(value: str | int) -> Region:
    """The allocation range a (normalised) number falls in.

    England, Wales and the Isle of Man share ranges and cannot be told apart.
    """
    number = int(normalise(value))
    for first, last, name in RANGES:
        if first <= number <= last:
            return name
    return Region.UNALLOCATED


def is_synthetic(value: str | int) -> bool:
    """True for numbers in the 9xx range, which is never issued."""
    return region(value) is Region.SYNTHETIC


# ---------------------------------------------------------------------------
# Bulk path: int64 arrays, lookup tables, no Python loop per number.


def _weighted_table(n_digits: int, weights: Sequence[int]) -> npt.NDArray[np.uint8]:
    values = np.arange(10**n_digits, dtype=np.int64)
    total = np.zeros_like(values)
    for position, weight in enumerate(weights):
        digit = (values // 10 ** (n_digits - 1 - position)) % 10
        total += digit * weight
    return (total % 11).astype(np.uint8)


# Weighted sums mod 11 of the first six digits (1 MiB, fits in L2) and the next three.
_T_HIGH = _weighted_table(6, WEIGHTS[:6])
_T_LOW = _weighted_table(3, WEIGHTS[6:])
# Expected check digit for a combined sum 0..20; 10 marks "no valid number" and can
# never equal a digit 0..9.
_EXPECTED = np.array([(11 - s % 11) % 11 for s in range(21)], dtype=np.int64)
# First six digits that are all the same digit, for the placeholder test.
_REPEATED_HIGH = np.zeros(10**6, dtype=bool)
_REPEATED_HIGH[[d * 111_111 for d in range(10)]] = True
_CHUNK = 1 << 18


def _as_int64(values: npt.ArrayLike) -> npt.NDArray[np.int64]:
    array = np.asarray(values)
    if array.dtype.kind in "iu" or array.size == 0:  # np.asarray([]) is float64
        return array.astype(np.int64, copy=False)
    if array.dtype.kind in "SU":
        numbers, ok = parse_array(array)
        return np.where(ok, numbers, -1)
    raise TypeError(f"expected an integer or string array, got dtype {array.dtype}")


def validate_array(values: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Element-wise validity of many NHS numbers as a boolean array.

    ``values`` is an integer array (the fast path: tens of millions a second on
    one core) or an array of strings, which are normalised first.  Negative,
    too-large, wrong-check-digit and placeholder numbers are ``False``.
    """
    numbers = _as_int64(values).ravel()
    result = np.empty(numbers.shape, dtype=bool)
    for start in range(0, numbers.size, _CHUNK):
        chunk = numbers[start : start + _CHUNK]
        in_range = (chunk >= 0) & (chunk <= MAX_NUMBER)
        safe = np.where(in_range, chunk, 0)
        stem = safe // 10
        last = safe - stem * 10
        high = stem // 1000
        low = stem - high * 1000
        total = _T_HIGH[high] + _T_LOW[low]
        ok = (_EXPECTED[total] == last) & in_range
        # A placeholder has six repeated leading digits and equals d * 1111111111.
        suspect = _REPEATED_HIGH[high]
        if suspect.any():
            ok &= ~(suspect & (safe % 1_111_111_111 == 0))
        result[start : start + chunk.size] = ok
    return result.reshape(np.shape(values))


def check_digits_array(stems: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Check digits for nine-digit stems; 10 where no valid number exists."""
    stem = np.asarray(stems, dtype=np.int64)
    if stem.size and (stem.min() < 0 or stem.max() > 999_999_999):
        raise ValueError("check_digits_array needs stems of nine digits, 0 to 999999999")
    high = stem // 1000
    low = stem - high * 1000
    digits: npt.NDArray[np.int64] = _EXPECTED[_T_HIGH[high] + _T_LOW[low]]
    return digits


def parse_array(
    values: Iterable[Any] | npt.ArrayLike,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Normalise many textual numbers at once: ``(int64 values, valid mask)``.

    Spaces, hyphens and surrounding whitespace are removed as in :func:`normalise`;
    entries that are not ten digits afterwards, or fail validation, are ``False``
    in the mask (their value is 0).  Runs in Arrow's compute kernels, not Python.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if isinstance(values, pa.Array | pa.ChunkedArray):
            array = values if values.type == pa.string() else values.cast(pa.string())
        elif isinstance(values, np.ndarray):
            array = pa.array(values.astype(str), type=pa.string())
        else:
            array = pa.array(list(cast("Iterable[Any]", values)), type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise InvalidNHSNumber(
            "NHS numbers must be given as text, so leading zeros are kept"
        ) from exc
    trimmed = pc.utf8_trim_whitespace(array)
    # Ten ASCII digits, with spaces and hyphens only between them (as in normalise).
    shaped = pc.fill_null(pc.match_substring_regex(trimmed, r"^[0-9](?:[ \-]*[0-9]){9}$"), False)
    cleaned = pc.replace_substring_regex(trimmed, r"[ \-]", "")
    digits = pc.if_else(shaped, cleaned, pa.scalar("0000000000"))
    numbers = np.asarray(pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    shape_ok = np.asarray(shaped.to_numpy(zero_copy_only=False), dtype=bool)
    ok = shape_ok & validate_array(numbers)
    return np.where(ok, numbers, 0), ok


def to_text_array(numbers: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Ten-digit zero-padded strings for an int64 array (for output, not hot paths)."""
    array = np.asarray(numbers, dtype=np.int64)
    return np.char.zfill(array.astype(str), 10)


def region_array(numbers: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """:class:`Region` of each number in an int64 array."""
    array = np.asarray(numbers, dtype=np.int64)
    out = np.full(array.shape, Region.UNALLOCATED, dtype=object)
    for first, last, name in RANGES:
        out[(array >= first) & (array <= last)] = name
    return out


def generate_synthetic(count: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """``count`` distinct valid numbers from the never-issued 9xx range, in random order.

    Deterministic for the state of ``rng``.  Works through the 100 million
    9xx stems in blocks, keeping each with a probability that yields slightly more
    than needed, then trims at random and shuffles.  About 90.9 million valid
    numbers exist in the range.
    """
    stems_total = 100_000_000
    valid_total = 90_909_091
    if not 0 <= count <= valid_total - 1000:
        raise ValueError(f"can generate at most {valid_total - 1000:,} synthetic numbers")
    if count == 0:
        return np.empty(0, dtype=np.int64)
    keep = min(1.0, count / valid_total * 1.01 + 200 / valid_total)
    block = 10_000_000
    parts = []
    for start in range(900_000_000, 900_000_000 + stems_total, block):
        stems = np.arange(start, start + block, dtype=np.int64)
        if keep < 1.0:
            stems = stems[rng.random(block) < keep]
        digits = check_digits_array(stems)
        good = digits < 10
        numbers = stems[good] * 10 + digits[good]
        numbers = numbers[numbers % 1_111_111_111 != 0]
        parts.append(numbers)
    numbers = np.concatenate(parts)
    if numbers.size < count:  # pragma: no cover - probability is negligible
        raise RuntimeError("synthetic draw fell short; use another seed")
    chosen = rng.choice(numbers.size, size=count, replace=False)
    return numbers[chosen]
