"""A set of valid NHS numbers, held for fast membership tests over millions of numbers.

The checking service holds the register's opt-outs in one (:mod:`ndoo.pos.core`); the
organisation's cache holds its cleaned and checked lists in them
(:mod:`ndoo.uphold.allowlist`).

A valid NHS number is fixed by its first nine digits (its stem): the tenth is the
check digit computed from them.  The set is therefore one bit per stem, over the
stems from the smallest to the largest member only.  3.5 million opt-outs in
the English and Welsh ranges (stems 400 000 000 to 799 999 999) take 48 MiB, against
28 MB as a sorted ``int64`` array or some 200 MB as a Python set.  A number whose stem
is in the index but whose check digit is wrong is not contained (:meth:`contains`
checks the few hits with :func:`~ndoo.nhs_number.validate_array`).

A probe is seven whole-array operations and one gather per number, in blocks that
keep the temporaries in cache.  On 10 M numbers against 3.5 M opt-outs, one core
(``bench/results/check.md``): about 60-70 M numbers/s, against about 1 M/s for
``np.searchsorted`` on the sorted opt-outs, 1.7 M/s for ``np.isin`` and 4 M/s for a
Python set.  Nearly all the time is the memory latency of the gather; a second,
coarser bitmap (one bit per 16 stems, 3 MiB) in front of this one saved only about a
tenth of it on the benchmark machine, and was not kept.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from ndoo.errors import InvalidNHSNumber
from ndoo.nhs_number import validate_array

_BLOCK: Final = 16_384  # numbers probed at a time
_U64 = np.uint64
_BYTE_SHIFT = np.array(3, dtype=_U64)  # 8 bits to a byte
_BIT = np.array(7, dtype=_U64)
_TOP = np.array(0x80, dtype=np.uint8)


class NumberSet:
    """A set of valid NHS numbers; build with :meth:`from_numbers`."""

    def __init__(self, bitmap: npt.NDArray[np.uint8], first_stem: int, span: int, size: int):
        # bitmap: one bit per stem from first_stem, the first stem in each byte's top bit
        # (so a left shift brings a stem's bit to the top); span: how many stems it
        # covers.  Bit `span` exists and is clear: out-of-range probes are clamped to
        # it, which is cheaper than masking them.
        self._bitmap = bitmap
        self._first = np.array(first_stem, dtype=_U64)
        self._limit = np.array(span, dtype=_U64)
        self._size = size

    @classmethod
    def from_numbers(cls, numbers: npt.ArrayLike) -> NumberSet:
        """The index of ``numbers`` (valid NHS numbers; any order, duplicates allowed)."""
        values = np.asarray(numbers)
        if values.size == 0:
            return cls(np.zeros(1, dtype=np.uint8), 0, 0, 0)
        if values.dtype.kind not in "iu":
            raise TypeError(f"expected integer NHS numbers, got dtype {values.dtype}")
        values = values.astype(np.int64, copy=False).ravel()
        invalid = int(np.count_nonzero(~validate_array(values)))
        if invalid:
            raise InvalidNHSNumber(f"{invalid:,} of the numbers are not valid NHS numbers")
        stems = values // 10
        first = int(stems.min())
        span = int(stems.max()) - first + 1
        bitmap = np.zeros(span // 8 + 1, dtype=np.uint8)
        offsets = stems - first
        if offsets.size > 1 and not bool(np.all(offsets[1:] >= offsets[:-1])):
            offsets = np.sort(offsets)
        # Sorted offsets: OR together the bits of each byte, then store each byte once
        # (ten times quicker than np.bitwise_or.at on millions of numbers).
        where = offsets >> 3
        bits = np.right_shift(0x80, offsets & 7).astype(np.uint8)
        starts = np.flatnonzero(np.concatenate(([True], where[1:] != where[:-1])))
        bitmap[where[starts]] = np.bitwise_or.reduceat(bits, starts)
        return cls(bitmap, first, span, _popcount(bitmap))

    def __len__(self) -> int:
        """How many distinct numbers the set holds."""
        return self._size

    @property
    def nbytes(self) -> int:
        return int(self._bitmap.nbytes)

    def __repr__(self) -> str:  # never the numbers, nor the range they span
        return f"<NumberSet of {self._size:,} numbers in {self.nbytes:,} bytes>"

    def contains(self, numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """True where the number is in the set (False for anything not a valid number)."""
        values = np.asarray(numbers, dtype=np.int64)
        flat = values.ravel()
        # Negative numbers give negative stems, which wrap to huge ones: never in range.
        found = self.contains_stems((flat // 10).view(_U64))
        # A stem in the index stands for its one valid number; any other number with
        # that stem (a wrong check digit) is not a member.
        hits = np.flatnonzero(found)
        found[hits] = validate_array(flat[hits])
        return found.reshape(values.shape)

    def contains_stems(self, stems: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """True where the stem (number // 10) of a *valid* number is in the set."""
        stems = np.asarray(stems, dtype=_U64)
        result = np.empty(stems.size, dtype=bool)
        flat = stems.ravel()
        scratch = Scratch(min(flat.size, _BLOCK))
        for first in range(0, flat.size, _BLOCK):
            bits = self.probe(flat[first : first + _BLOCK], scratch)
            np.greater_equal(bits, _TOP, out=result[first : first + bits.size])
        return result.reshape(stems.shape)

    def probe(self, stems: npt.NDArray[np.uint64], scratch: Scratch) -> npt.NDArray[np.uint8]:
        """For each stem of a valid number, a byte >= 0x80 if in the set, < 0x80 if not.

        For at most ``scratch.size`` stems; the result is a scratch array.  The building
        block of the checking core: seven whole-array operations and one gather.
        """
        count = stems.size
        offsets, where = scratch.offsets[:count], scratch.where[:count]
        shifts, bits = scratch.shifts[:count], scratch.bits[:count]
        np.subtract(stems, self._first, out=offsets)  # below the range: wraps to huge
        np.minimum(offsets, self._limit, out=offsets)
        np.right_shift(offsets, _BYTE_SHIFT, out=where)
        # mode="clip" skips the bounds check (all in range) and writes `out` directly.
        np.take(self._bitmap, where.view(np.int64), out=bits, mode="clip")
        np.bitwise_and(offsets, _BIT, out=shifts, casting="unsafe")
        np.left_shift(bits, shifts, out=bits)  # the stem's bit to the top
        return bits


class Scratch:
    """Work arrays for :meth:`NumberSet.probe`, reused block after block."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.offsets = np.empty(size, dtype=_U64)
        self.where = np.empty(size, dtype=_U64)
        self.shifts = np.empty(size, dtype=np.uint8)
        self.bits = np.empty(size, dtype=np.uint8)


def _popcount(bitmap: npt.NDArray[np.uint8]) -> int:
    """Number of set bits."""
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return int(table[bitmap].sum(dtype=np.int64))
