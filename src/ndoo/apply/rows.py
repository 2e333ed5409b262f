"""How a dataset's rows are judged: the semantics every engine shares.

Each row is put in exactly one class by its NHS number column, normalised as
:func:`ndoo.uphold.values.parse_column` does (ten digits, spaces and hyphens between
them, surrounding whitespace, whole numbers stored as integers or floats):

``missing``
    the value is null or blank;
``invalid``
    present, but not a valid NHS number (shape, Modulus 11 check digit);
``uncovered``
    a valid number the opt-out source cannot vouch for (a cached cleaned list whose
    check did not include it), so its opt-out is unknown;
``withheld``
    a valid number the source says must not be used: an opt-out is in force;
``kept``
    a valid number the source clears.

*Unmatched* rows are the missing and invalid ones; what happens to them is the
caller's explicit decision (:data:`UNMATCHED_DECISIONS`), never a default.  Uncovered
rows are always refused.

:class:`Tally` classifies a stream of column batches, counts every class, remembers
the first row numbers of each problem and the distinct patients (valid numbers) seen
and kept, and collects the raw values whose rows must go, so that an engine can
remove them with a plain anti-join on the column as stored — the values written out
are never the normalised ones.
"""

from __future__ import annotations

import contextlib
import mmap
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ndoo.nhs_number import MAX_NUMBER, validate_array
from ndoo.numberset import NumberSet
from ndoo.uphold.values import parse_column

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: What may be done with rows whose NHS number is missing or invalid.
UNMATCHED_DECISIONS = ("stop", "keep", "drop")
#: How many row numbers of each problem are kept for the report.
FIRST_ROWS = 20
_STEMS = 1_000_000_000  # nine-digit stems: the check digit follows from the stem
_KEPT = np.uint8(0x10)
_DIGIT = np.uint8(0x0F)


class Lookup:
    """The opt-out information, as sorted arrays of valid NHS numbers.

    ``withheld``: numbers whose records must be removed.  ``covered``: the only numbers
    the source vouches for, or ``None`` when it vouches for every valid number (the
    register: a number it holds no opt-out for has none).
    """

    def __init__(self, withheld: Int64Array, covered: Int64Array | None = None) -> None:
        self.withheld = np.asarray(withheld, dtype=np.int64)
        self.covered = None if covered is None else np.asarray(covered, dtype=np.int64)

    @cached_property
    def withheld_set(self) -> NumberSet:
        return NumberSet.from_numbers(self.withheld)

    @cached_property
    def covered_set(self) -> NumberSet | None:
        return None if self.covered is None else NumberSet.from_numbers(self.covered)

    def __repr__(self) -> str:  # sizes only, never numbers
        covered = "all" if self.covered is None else str(self.covered.size)
        return f"Lookup(withheld={self.withheld.size}, covered={covered})"


@dataclass
class Counts:
    """What a scan found, row by row (row numbers count from 1, the header aside)."""

    rows_in: int = 0
    kept: int = 0
    withheld: int = 0
    missing: int = 0
    invalid: int = 0
    uncovered: int = 0
    distinct_in: int = 0
    distinct_out: int = 0
    first_missing: list[int] = field(default_factory=list)
    first_invalid: list[int] = field(default_factory=list)
    first_uncovered: list[int] = field(default_factory=list)

    @property
    def unmatched(self) -> int:
        return self.missing + self.invalid

    @property
    def first_unmatched(self) -> list[int]:
        return sorted(self.first_missing + self.first_invalid)[:FIRST_ROWS]

    def rows_out(self, unmatched: str) -> int:
        """Rows written when unmatched rows are kept or dropped as decided."""
        return self.kept + (self.unmatched if unmatched == "keep" else 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "kept": self.kept,
            "withheld": self.withheld,
            "missing": self.missing,
            "invalid": self.invalid,
            "uncovered": self.uncovered,
            "distinct_in": self.distinct_in,
            "distinct_out": self.distinct_out,
        }


def _first(rows: list[int], mask: BoolArray, offset: int) -> None:
    room = FIRST_ROWS - len(rows)
    if room > 0:
        rows.extend(int(i) + offset + 1 for i in np.flatnonzero(mask)[:room])


def blank(values: pa.Array) -> BoolArray:
    """Null, or text that is empty once whitespace is trimmed."""
    missing = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    kind = values.type
    if pa.types.is_dictionary(kind):
        values = values.cast(kind.value_type)
        kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(values)), 0)
        missing |= np.asarray(empty.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return missing


class Tally:
    """Classifies batches of one column, in order, and counts what it finds.

    ``collect`` names the classes whose *raw* values are gathered (for the engine's
    anti-join); :meth:`to_remove` returns them, distinct.
    """

    def __init__(self, lookup: Lookup | None, *, collect: tuple[str, ...] = ()) -> None:
        self.lookup = lookup
        self.counts = Counts()
        self._collect = collect
        self._removed: dict[str, list[pa.Array]] = {name: [] for name in collect}
        self.null_seen = False
        self._withheld_kinds: set[pa.DataType] = set()
        self._seen: npt.NDArray[np.uint8] | None = None
        self._low = _STEMS
        self._high = -1

    def _seen_map(self) -> npt.NDArray[np.uint8]:
        if self._seen is None:
            self._seen = _zeroed_map(_STEMS)
        return self._seen

    def add(self, values: pa.Array | pa.ChunkedArray) -> None:
        """Classify the next rows."""
        if isinstance(values, pa.ChunkedArray):
            for chunk in values.chunks:
                self.add(chunk)
            return
        size = len(values)
        if size == 0:
            return
        offset = self.counts.rows_in
        plain = _plain_integers(values)
        if plain is not None:
            # Whole numbers without nulls, the common case at scale: NumPy only.
            numbers = plain
            valid = validate_array(plain)
            missing = None
        else:
            numbers, valid = parse_column(values)
            missing = blank(values) if values.null_count or not _is_numeric(values) else None
        counts = self.counts
        counts.rows_in += size
        if missing is None:
            invalid = ~valid
        else:
            invalid = ~valid & ~missing
            n_missing = int(np.count_nonzero(missing))
            if n_missing:
                counts.missing += n_missing
                _first(counts.first_missing, missing, offset)
        n_invalid = int(np.count_nonzero(invalid))
        if n_invalid:
            counts.invalid += n_invalid
            _first(counts.first_invalid, invalid, offset)
        lookup = self.lookup
        if lookup is None:
            kept = valid
            withheld = None
        else:
            withheld = lookup.withheld_set.contains(numbers)
            withheld &= valid
            kept = valid & ~withheld
            covered = lookup.covered_set
            if covered is not None:
                uncovered = kept & ~covered.contains(numbers)
                n_uncovered = int(np.count_nonzero(uncovered))
                if n_uncovered:
                    counts.uncovered += n_uncovered
                    _first(counts.first_uncovered, uncovered, offset)
                    kept &= ~uncovered
            counts.withheld += int(np.count_nonzero(withheld))
        counts.kept += int(np.count_nonzero(kept))
        self._mark(numbers, valid, kept)
        if self._collect:
            self._gather(values, withheld, invalid, missing)

    def _mark(self, numbers: Int64Array, valid: BoolArray, kept: BoolArray) -> None:
        """Note each valid number's stem: its check digit + 1, and whether it is kept.

        A number's class depends on the number alone, so every row of one number
        writes the same byte and a plain scatter is enough.
        """
        if not valid.any():
            return
        seen = self._seen_map()
        if bool(valid.all()):
            good, good_kept = numbers, kept
        else:
            good, good_kept = numbers[valid], kept[valid]
        stems = good // 10
        codes = (good - stems * 10 + 1).astype(np.uint8)
        codes |= good_kept.astype(np.uint8) << 4
        seen[stems] = codes
        self._low = min(self._low, int(stems.min()))
        self._high = max(self._high, int(stems.max()))

    def _gather(
        self,
        values: pa.Array,
        withheld: BoolArray | None,
        invalid: BoolArray,
        missing: BoolArray | None,
    ) -> None:
        masks = {"withheld": withheld, "invalid": invalid, "missing": missing}
        if missing is not None and values.null_count:
            self.null_seen = True
        raw = _plain_integers(values)
        for name in self._collect:
            chosen_mask = masks[name]
            if chosen_mask is None or not chosen_mask.any():
                continue
            if raw is not None and name == "withheld":
                # An integer is its own number: taken from the seen map at the end.
                self._withheld_kinds.add(values.type)
                continue
            if raw is not None:
                picked = np.unique(_integer_view(values)[chosen_mask])
                self._removed[name].append(pa.array(picked, type=values.type))
                continue
            chosen = values.filter(pa.array(chosen_mask))
            chosen = chosen.drop_null() if chosen.null_count else chosen
            if len(chosen):
                self._removed[name].append(pc.unique(chosen))

    def finish(self) -> Counts:
        """The counts, with the distinct patients in and out filled in."""
        if self._seen is not None and self._high >= self._low:
            window = self._seen[self._low : self._high + 1]
            self.counts.distinct_in = int(np.count_nonzero(window))
            self.counts.distinct_out = int(np.count_nonzero(window >= _KEPT))
        return self.counts

    def _withheld_seen(self) -> Int64Array:
        """The withheld numbers that occurred (from the seen map: present, not kept)."""
        if self.lookup is None or self._seen is None or self._high < self._low:
            return np.zeros(0, dtype=np.int64)
        withheld = self.lookup.withheld
        stems = withheld // 10
        inside = (stems >= self._low) & (stems <= self._high)
        candidates = withheld[inside]
        codes = self._seen[stems[inside]]
        digits = candidates - (candidates // 10) * 10
        present: Int64Array = candidates[(codes & _DIGIT).astype(np.int64) == digits + 1]
        return present

    def distinct_numbers(self) -> Int64Array:
        """The distinct valid NHS numbers seen, ascending (what a check sends)."""
        if self._seen is None or self._high < self._low:
            return np.zeros(0, dtype=np.int64)
        window = self._seen[self._low : self._high + 1]
        where = np.flatnonzero(window)
        digits = (window[where] & _DIGIT).astype(np.int64) - 1
        result: Int64Array = (where.astype(np.int64) + self._low) * 10 + digits
        return result

    def to_remove(self, kind: pa.DataType, classes: tuple[str, ...]) -> pa.Array:
        """The distinct raw values gathered for ``classes``, as ``kind`` (nulls aside)."""
        if pa.types.is_null(kind):
            kind = pa.string()
        parts = [
            a.cast(kind) if a.type != kind else a
            for name in classes
            for a in self._removed.get(name, [])
        ]
        if "withheld" in classes and self._withheld_kinds:
            parts.append(pa.array(self._withheld_seen()).cast(kind))
        if not parts:
            return pa.array([], type=kind)
        if pa.types.is_integer(kind):
            merged = np.concatenate([a.to_numpy(zero_copy_only=False) for a in parts])
            return pa.array(np.unique(merged), type=kind)
        return pc.unique(pa.concat_arrays(parts))


def _zeroed_map(size: int) -> npt.NDArray[np.uint8]:
    """``size`` zero bytes, one per stem: the check digit + 1, and a bit for "kept".

    Anonymous memory, so only the pages of stems that occur are ever allocated; on
    Linux it asks for huge pages, which makes the random stores and the final counts
    over up to a gigabyte several times quicker (fewer TLB misses).
    """
    try:
        area = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (AttributeError, OSError, ValueError):
        return np.zeros(size, dtype=np.uint8)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        with contextlib.suppress(OSError):
            area.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(area, dtype=np.uint8)


def _integer_view(values: pa.Array) -> npt.NDArray[Any]:
    """An integer Arrow array's values as NumPy, zero-copy (``to_numpy`` imports pandas)."""
    kind = values.type
    dtype = np.dtype(f"{'i' if pa.types.is_signed_integer(kind) else 'u'}{kind.bit_width // 8}")
    buffer = values.buffers()[1]
    return np.frombuffer(buffer, dtype=dtype, count=len(values) + values.offset)[values.offset :]


def _plain_integers(values: pa.Array) -> Int64Array | None:
    """An integer column without nulls as ``int64`` (too large or negative: -1), else None."""
    kind = values.type
    if not pa.types.is_integer(kind) or values.null_count:
        return None
    raw = _integer_view(values)
    if pa.types.is_uint64(kind):
        raw = np.where(raw <= MAX_NUMBER, raw, 0).astype(np.int64)
    result: Int64Array = raw.astype(np.int64, copy=False)
    return result


def _is_numeric(values: pa.Array) -> bool:
    kind = values.type
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))
