"""The opt-out index: exact membership for valid numbers, whatever their range."""

from __future__ import annotations

import numpy as np
import pytest

from ndoo.errors import InvalidNHSNumber
from ndoo.nhs_number import check_digits_array, validate_array
from ndoo.numberset import NumberSet

A, B, C = 9000000009, 9000000017, 9000000025
LOW, ENGLISH, SYNTHETIC = 101011237, 4000000004, 9000000017  # 0xx, 4xx and 9xx ranges


def valid_numbers(count: int, low: int, high: int, seed: int) -> np.ndarray:
    """Valid numbers with stems in ``low..high`` (duplicates possible)."""
    stems = np.random.default_rng(seed).integers(low, high, size=2 * count + 50)
    numbers = stems * 10 + check_digits_array(stems)
    return numbers[validate_array(numbers)][:count]


def test_contains_the_opted_out_numbers_only() -> None:
    index = NumberSet.from_numbers([B])
    assert index.contains(np.array([A, B, C])).tolist() == [False, True, False]


def test_empty_index() -> None:
    index = NumberSet.from_numbers([])
    assert len(index) == 0
    assert not index.contains(np.array([A, B, 0, -1, 9999999999])).any()
    assert index.contains(np.array([], dtype=np.int64)).size == 0


def test_numbers_in_different_ranges() -> None:
    index = NumberSet.from_numbers([SYNTHETIC, LOW, ENGLISH])
    probes = np.array([LOW, ENGLISH, SYNTHETIC, A, C, 7999999997, 19])
    assert index.contains(probes).tolist() == [True, True, True, False, False, False, False]


def test_numbers_outside_the_bitmap_range_are_not_contained() -> None:
    index = NumberSet.from_numbers([ENGLISH, 7999999997])
    below = [19, 101011237, 3999999999, 0, -ENGLISH, -1]
    above = [8000000000, A, 9999999999, 10**10, 10**18, np.iinfo(np.int64).max]
    assert not index.contains(np.array(below + above)).any()


def test_a_wrong_check_digit_on_an_opted_out_stem_is_not_contained() -> None:
    index = NumberSet.from_numbers([B])  # stem 900000001, check digit 7
    same_stem = np.arange(9000000010, 9000000020)
    assert index.contains(same_stem).tolist() == [n == B for n in same_stem]
    # Stems are only for valid numbers: the stem alone cannot tell the difference.
    assert index.contains_stems(np.array([900000001], dtype=np.uint64)).tolist() == [True]


def test_length_counts_distinct_numbers_and_order_does_not_matter() -> None:
    numbers = [C, A, C, C, A]
    index = NumberSet.from_numbers(numbers)
    assert len(index) == 2
    assert index.contains(np.array([A, B, C])).tolist() == [True, False, True]


def test_shape_is_kept() -> None:
    index = NumberSet.from_numbers([A])
    assert index.contains(np.array([[A, B], [C, A]])).tolist() == [[True, False], [False, True]]


def test_invalid_opt_outs_are_refused_without_echoing_them() -> None:
    for bad in ([A, 9000000001], [1111111111], [-5]):
        with pytest.raises(InvalidNHSNumber) as caught:
            NumberSet.from_numbers(bad)
        assert "9000000001" not in str(caught.value)
    with pytest.raises(TypeError):
        NumberSet.from_numbers([9000000009.0])


def test_repr_shows_no_numbers() -> None:
    text = repr(NumberSet.from_numbers([ENGLISH, B]))
    assert "2 numbers" in text
    assert "400000000" not in text and "900000001" not in text


def test_english_and_welsh_ranges_fit_in_50_mb() -> None:
    # The extremes of 4xx to 7xx span the whole bitmap, whatever lies between: one bit
    # for each of 400 M stems, and one 8-byte word for the guard bit of out-of-range probes.
    index = NumberSet.from_numbers([ENGLISH, 7999999997])
    assert index.nbytes <= 50_000_000 + 8
    assert NumberSet.from_numbers([A, C]).nbytes <= 64  # a narrow range is tiny


def test_agrees_with_isin_across_blocks() -> None:
    opted_out = valid_numbers(20_000, 400_000_000, 800_000_000, seed=1)
    index = NumberSet.from_numbers(opted_out)
    probes = np.concatenate(
        [
            opted_out[::3],
            valid_numbers(40_000, 0, 10**9, seed=2),
            np.random.default_rng(3).integers(-(10**10), 2 * 10**10, size=40_000),
        ]
    )
    np.random.default_rng(4).shuffle(probes)
    assert np.array_equal(index.contains(probes), np.isin(probes, opted_out))
    assert len(index) == np.unique(opted_out).size
