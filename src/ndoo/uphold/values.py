"""The values of a list of NHS numbers, normalised as people write them.

:func:`parse_column` turns a whole column — text, integers, whole floating-point
numbers — into ``int64`` values and a valid mask, with Arrow kernels and no Python
loop per row (a fast path for plain ten-digit text); :func:`distinct` sorts them and
removes duplicates.  What is accepted is described under *Values* in
:mod:`ndoo.uphold.lists`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ndoo.errors import FileFormatError
from ndoo.nhs_number import MAX_NUMBER, parse_array, validate_array

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def parse_column(
    values: pa.Array | pa.ChunkedArray, *, file: str | None = None, field: str | None = None
) -> tuple[Int64Array, BoolArray]:
    """Normalise a column of NHS numbers: ``(int64 values, valid mask)``, one per row.

    Text, integer, whole floating-point (64-bit), decimal and dictionary-encoded
    columns are read; nulls and invalid values are ``False`` in the mask (value 0).
    Any other type raises :class:`~ndoo.errors.FileFormatError`.
    """
    column = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if len(column) == 0 or pa.types.is_null(kind):
        return np.zeros(len(column), dtype=np.int64), np.zeros(len(column), dtype=bool)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _parse_text_values(column)
    if pa.types.is_integer(kind):
        return _parse_integers(column)
    if pa.types.is_float64(kind) or pa.types.is_decimal(kind):
        return _parse_floats(column.cast(pa.float64(), safe=False))
    if pa.types.is_floating(kind):
        raise FileFormatError(
            f"holds {kind} numbers, which cannot hold ten digits exactly; store NHS numbers "
            "as text or integers",
            file=file,
            field=field,
        )
    raise FileFormatError(
        f"holds {kind} values, not NHS numbers (text or whole numbers)", file=file, field=field
    )


# ---------------------------------------------------------------------------
# Normalising values


def mask(values: pa.Array | pa.ChunkedArray) -> BoolArray:
    """A boolean Arrow array as a NumPy mask."""
    return np.asarray(values.to_numpy(), dtype=bool)


def any_true(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether any value of a boolean Arrow array is true."""
    return bool(pc.any(values).as_py())


def _parse_text_values(column: pa.ChunkedArray) -> tuple[Int64Array, BoolArray]:
    present = mask(column.is_valid())
    text = column.fill_null("")
    plain = pc.and_(pc.equal(pc.binary_length(text), 10), pc.ascii_is_decimal(text))
    plain_mask = mask(plain)
    numbers = np.zeros(len(text), dtype=np.int64)
    valid = np.zeros(len(text), dtype=bool)
    if plain_mask.any():
        # Ten ASCII digits: cast straight to integers (the common case, no regex).
        subset = text if plain_mask.all() else text.filter(plain)
        digits = np.asarray(pc.cast(subset, pa.int64()).to_numpy(), dtype=np.int64)
        numbers[plain_mask] = digits
        valid[plain_mask] = validate_array(digits)
    if not plain_mask.all():
        rest = ~plain_mask
        parsed, ok = parse_array(_tidy(text.filter(pc.invert(plain))))
        numbers[rest] = parsed
        valid[rest] = ok
    valid &= present
    numbers[~valid] = 0
    return numbers, valid


def _tidy(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Undo what spreadsheets do to numbers: no-break spaces and a ``.0`` tail."""
    tidy = pc.utf8_trim_whitespace(text)
    if any_true(pc.match_substring_regex(tidy, "[\u00a0\u202f]")):
        tidy = pc.utf8_trim_whitespace(pc.replace_substring_regex(tidy, "[\u00a0\u202f]", " "))
    if any_true(pc.match_substring(tidy, ".")):
        tidy = pc.replace_substring_regex(tidy, r"^([0-9]{10})\.0+$", r"\1")
    return tidy


def _parse_integers(column: pa.ChunkedArray) -> tuple[Int64Array, BoolArray]:
    present = mask(column.is_valid())
    raw = np.asarray(column.fill_null(0).to_numpy())
    in_range = raw <= MAX_NUMBER
    ints = np.where(in_range, raw, 0).astype(np.int64)
    valid = present & in_range & validate_array(ints)
    return np.where(valid, ints, 0), valid


def _parse_floats(column: pa.ChunkedArray) -> tuple[Int64Array, BoolArray]:
    raw = np.asarray(column.fill_null(-1.0).to_numpy(), dtype=np.float64)
    raw = np.where(np.isfinite(raw), raw, -1.0)
    whole = (raw >= 0) & (raw <= MAX_NUMBER) & (np.floor(raw) == raw)
    ints = np.where(whole, raw, 0).astype(np.int64)
    valid = mask(column.is_valid()) & whole & validate_array(ints)
    return np.where(valid, ints, 0), valid
