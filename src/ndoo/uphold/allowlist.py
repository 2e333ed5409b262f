"""Membership in a cleaned list, and the :class:`AllowList` that applies it.

:func:`ndoo.uphold.cache.use` hands out an :class:`AllowList`: for a caller's own
numbers it answers, as masks, which are in the cleaned list and which were checked at
all; the lists themselves never come out.  :func:`in_sorted` is membership in any
ascending array, by binary search.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ndoo.errors import InputError
from ndoo.nhs_number import validate_array
from ndoo.uphold.cacheentry import CacheEntry

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def in_sorted(sorted_values: Int64Array, probes: Int64Array) -> BoolArray:
    """Membership of ``probes`` in an ascending array (binary search; quick when sorted)."""
    if sorted_values.size == 0:
        return np.zeros(probes.shape, dtype=bool)
    index = np.searchsorted(sorted_values, probes)
    np.minimum(index, sorted_values.size - 1, out=index)
    found: BoolArray = sorted_values[index] == probes
    return found


def _as_numbers(numbers: npt.ArrayLike) -> Int64Array:
    array = np.asarray(numbers)
    if array.size and array.dtype.kind not in "iu":
        raise InputError(
            "the numbers must be integers; normalise text with ndoo.uphold.lists.parse_column"
        )
    return array.astype(np.int64, copy=False)


#: Largest bitmap built for a set, in nine-digit stems (64 MiB); a wider set is hashed.
_BITMAP_STEMS = 1 << 29


class _NumberSet:
    """Fast membership in a set of valid NHS numbers.

    A valid number is fixed by its first nine digits (the tenth is their check
    digit), so one bit per nine-digit stem from the smallest to the largest decides
    membership of any valid number, and an invalid number is never a member.  A
    probe is then a few vectorised operations on a bitmap of at most 64 MiB (50 MiB
    for England's ranges, one tenth of that for a typical cohort), several times
    faster than a binary search of millions of random numbers.  A set spread wider
    uses Arrow's hash-based ``is_in``.  The bitmap is built on first use.
    """

    def __init__(self, numbers: Int64Array) -> None:
        self._numbers = numbers
        self._bitmap: tuple[int, int, npt.NDArray[np.uint8]] | None = None

    def _build(self) -> tuple[int, int, npt.NDArray[np.uint8]]:
        if self._bitmap is None:
            stems = self._numbers // 10
            low = int(stems[0])
            span = int(stems[-1]) - low + 1
            offsets = stems - low
            byte = offsets >> 3
            bits = np.left_shift(1, offsets & 7).astype(np.uint8)
            firsts = np.flatnonzero(np.diff(byte, prepend=-1))
            bitmap = np.zeros((span + 7) // 8, dtype=np.uint8)
            bitmap[byte[firsts]] = np.bitwise_or.reduceat(bits, firsts)
            self._bitmap = (low, span, bitmap)
        return self._bitmap

    def contains(self, probes: Int64Array) -> BoolArray:
        numbers = self._numbers
        if numbers.size == 0 or probes.size == 0:
            return np.zeros(probes.shape, dtype=bool)
        if (numbers[-1] - numbers[0]) // 10 >= _BITMAP_STEMS:
            found = pc.is_in(pa.array(probes.ravel()), value_set=pa.array(numbers))
            return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool).reshape(
                probes.shape
            )
        low, span, bitmap = self._build()
        offsets = probes // 10 - low
        inside = (offsets >= 0) & (offsets < span)
        offsets = np.where(inside, offsets, 0)
        hit = (bitmap[offsets >> 3] >> (offsets & 7).astype(np.uint8)) & 1
        member: BoolArray = inside & hit.astype(bool) & validate_array(probes)
        return member


class AllowList:
    """A cleaned list from :func:`~ndoo.uphold.cache.use`, to apply to whole lists of numbers.

    Only masks over the caller's own numbers come out; the lists themselves do not.
    """

    __slots__ = ("_covered", "_kept", "entry")

    def __init__(self, entry: CacheEntry, kept: Int64Array, covered: Int64Array) -> None:
        self.entry = entry
        self._kept = _NumberSet(kept)
        self._covered = _NumberSet(covered)

    def apply(self, numbers: npt.ArrayLike) -> BoolArray:
        """Keep-mask: ``True`` where the number is in the cleaned list.

        A number the check did not cover is ``False`` — its opt-out is unknown, so it
        is not kept; :meth:`covers` tells those apart.
        """
        return self._kept.contains(_as_numbers(numbers))

    def covers(self, numbers: npt.ArrayLike) -> BoolArray:
        """``True`` where the number was in the list that was checked."""
        return self._covered.contains(_as_numbers(numbers))

    def __repr__(self) -> str:
        return f"AllowList(cohort={self.entry.cohort!r}, entry={self.entry.id})"
