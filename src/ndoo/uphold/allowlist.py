"""Membership in a cleaned list, and the :class:`AllowList` that applies it.

:func:`ndoo.uphold.cache.use` hands out an :class:`AllowList`: for a caller's own
numbers it answers, as masks, which are in the cleaned list and which were checked at
all; the lists themselves never come out.  :func:`in_sorted` is membership in any
ascending array, by binary search.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ndoo.errors import InputError
from ndoo.numberset import NumberSet
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


class AllowList:
    """A cleaned list from :func:`~ndoo.uphold.cache.use`, to apply to whole lists of numbers.

    Only masks over the caller's own numbers come out; the lists themselves do not.
    """

    def __init__(self, entry: CacheEntry, kept: Int64Array, covered: Int64Array) -> None:
        self.entry = entry
        self._lists = {"kept": kept, "covered": covered}
        self._sets: dict[str, NumberSet] = {}

    def _set(self, name: str) -> NumberSet:
        """The list as a :class:`~ndoo.numberset.NumberSet`, built on first use."""
        if name not in self._sets:
            self._sets[name] = NumberSet.from_numbers(self._lists[name])
        return self._sets[name]

    def apply(self, numbers: npt.ArrayLike) -> BoolArray:
        """Keep-mask: ``True`` where the number is in the cleaned list.

        A number the check did not cover is ``False`` — its opt-out is unknown, so it
        is not kept; :meth:`covers` tells those apart.
        """
        return self._set("kept").contains(_as_numbers(numbers))

    def covers(self, numbers: npt.ArrayLike) -> BoolArray:
        """``True`` where the number was in the list that was checked."""
        return self._set("covered").contains(_as_numbers(numbers))

    def withheld(self) -> Int64Array:
        """The checked numbers that are not in the cleaned list, ascending.

        For an engine that removes records from a whole dataset at once
        (:mod:`ndoo.apply`); like the masks, it is used only to apply opt-outs.
        """
        kept = self._lists["kept"]
        covered = self._lists["covered"]
        return covered[~in_sorted(kept, covered)]

    def covered(self) -> Int64Array:
        """The numbers that were checked, ascending (to tell unchecked rows apart)."""
        return self._lists["covered"]

    def __repr__(self) -> str:
        return f"AllowList(cohort={self.entry.cohort!r}, entry={self.entry.id})"
