"""How rows are judged: every engine relies on these semantics (:mod:`ndoo.apply.rows`)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from ndoo.apply.rows import FIRST_ROWS, Counts, Lookup, Tally
from ndoo.errors import FileFormatError
from tests.apply.helpers import NOT_OPTED_OUT, OPTED_OUT

OUT = int(OPTED_OUT[0])  # 9000000009
KEEP = int(NOT_OPTED_OUT[0])  # 9000000025
LOOKUP = Lookup(np.array(sorted(int(n) for n in OPTED_OUT), dtype=np.int64))


def tally(values: pa.Array, lookup: Lookup | None = LOOKUP, **kw: object) -> Tally:
    judged = Tally(lookup, **kw)  # type: ignore[arg-type]
    judged.add(values)
    judged.finish()
    return judged


@pytest.mark.parametrize(
    "written",
    [
        "9000000009",
        "900 000 0009",
        "900-000-0009",
        "  9000000009  ",
        "\t900 000 0009\n",
    ],
)
def test_every_common_text_form_of_an_opted_out_number_is_withheld(written):
    counts = tally(pa.array([written, NOT_OPTED_OUT[0]])).counts
    assert (counts.withheld, counts.kept, counts.unmatched) == (1, 1, 0)


@pytest.mark.parametrize(
    "column",
    [
        pa.array([OUT, KEEP], pa.int64()),
        pa.array([OUT, KEEP], pa.uint64()),
        pa.array([float(OUT), float(KEEP)], pa.float64()),
        pa.array([Decimal(OUT), Decimal(KEEP)], pa.decimal128(10, 0)),
        pa.array([OUT, None, KEEP], pa.int64()),
        pa.array([str(OUT), str(KEEP)]).dictionary_encode(),
    ],
    ids=["int64", "uint64", "float64", "decimal", "int64-with-null", "dictionary"],
)
def test_numbers_stored_as_numbers_are_judged_like_text(column):
    counts = tally(column).counts
    assert (counts.withheld, counts.kept) == (1, 1)
    assert counts.missing == column.null_count


def test_a_float32_column_cannot_hold_nhs_numbers_and_says_so():
    with pytest.raises(FileFormatError, match="cannot hold ten digits exactly"):
        tally(pa.array([1.0], pa.float32()))


def test_missing_and_invalid_rows_are_counted_apart_with_their_row_numbers():
    values = pa.array(
        [
            NOT_OPTED_OUT[0],  # 1 kept
            None,  # 2 missing
            "",  # 3 missing
            "   ",  # 4 missing
            "9000000008",  # 5 invalid: check digit
            "12345",  # 6 invalid: too short
            "not a number",  # 7 invalid
            OPTED_OUT[0],  # 8 withheld
            "90000000091",  # 9 invalid: eleven digits
        ]
    )
    counts = tally(values).counts
    assert counts.rows_in == 9
    assert (counts.kept, counts.withheld) == (1, 1)
    assert (counts.missing, counts.invalid, counts.unmatched) == (3, 4, 7)
    assert counts.first_missing == [2, 3, 4]
    assert counts.first_invalid == [5, 6, 7, 9]
    assert counts.first_unmatched == [2, 3, 4, 5, 6, 7, 9]


def test_row_numbers_count_on_across_batches_and_stop_at_the_limit():
    judged = Tally(LOOKUP)
    judged.add(pa.array([NOT_OPTED_OUT[0]] * 5))
    judged.add(pa.chunked_array([["bad", NOT_OPTED_OUT[0]], ["bad"] * 40]))
    counts = judged.finish()
    assert counts.rows_in == 47 and counts.invalid == 41
    assert counts.first_invalid == [6, *range(8, 8 + FIRST_ROWS - 1)]
    assert len(counts.first_unmatched) == FIRST_ROWS


def test_distinct_patients_count_each_person_once_whatever_the_form():
    values = pa.array(
        [OPTED_OUT[0], "900 000 0009", NOT_OPTED_OUT[0], "900-000-0025", "943 476 5919", None]
    )
    counts = tally(values).counts
    assert (counts.distinct_in, counts.distinct_out) == (3, 2)
    assert (counts.withheld, counts.kept, counts.missing) == (2, 3, 1)


def test_without_a_lookup_every_valid_number_is_kept_and_listed_once_ascending():
    judged = tally(pa.array(["943 476 5919", OPTED_OUT[1], OPTED_OUT[0], "9000000017", "x"]), None)
    assert judged.counts.kept == 4 and judged.counts.invalid == 1
    assert judged.distinct_numbers().tolist() == [9000000009, 9000000017, 9434765919]


def test_numbers_outside_what_a_cached_list_covers_are_uncovered_not_kept():
    lookup = Lookup(np.array([OUT]), covered=np.array([OUT, KEEP]))
    values = pa.array([OPTED_OUT[0], NOT_OPTED_OUT[0], NOT_OPTED_OUT[1], "943 476 5919"])
    counts = tally(values, lookup).counts
    assert (counts.withheld, counts.kept, counts.uncovered) == (1, 1, 2)
    assert counts.first_uncovered == [3, 4]
    assert counts.distinct_out == 1


def test_the_values_to_remove_are_the_raw_values_as_stored():
    values = pa.array([OPTED_OUT[0], "900 000 0009", " 9000000017", NOT_OPTED_OUT[0], "bad", None])
    judged = tally(values, collect=("withheld", "invalid", "missing"))
    withheld = judged.to_remove(pa.string(), ("withheld",))
    assert sorted(withheld.to_pylist()) == sorted([OPTED_OUT[0], "900 000 0009", " 9000000017"])
    both = judged.to_remove(pa.string(), ("withheld", "invalid", "missing"))
    assert "bad" in both.to_pylist() and None not in both.to_pylist()
    assert judged.null_seen


def test_the_values_to_remove_from_an_integer_column_are_integers():
    values = pa.array([OUT, KEEP, OUT, 12345], pa.int64())
    judged = tally(values, collect=("withheld", "invalid"))
    assert judged.to_remove(pa.int64(), ("withheld",)).to_pylist() == [OUT]
    assert judged.to_remove(pa.int64(), ("withheld", "invalid")).to_pylist() == [12345, OUT]


def test_counts_say_how_many_rows_each_decision_writes():
    counts = Counts(rows_in=10, kept=6, withheld=2, missing=1, invalid=1)
    assert counts.unmatched == 2
    assert (counts.rows_out("keep"), counts.rows_out("drop"), counts.rows_out("stop")) == (8, 6, 6)


def test_a_lookup_never_shows_its_numbers():
    shown = repr(Lookup(np.array([OUT]), covered=np.array([OUT, KEEP])))
    assert shown == "Lookup(withheld=1, covered=2)"
    assert str(OUT) not in shown
