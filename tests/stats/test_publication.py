"""The publication of the hand-built register (see conftest.py), worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from ndoo.db import Database
from ndoo.errors import InputError
from ndoo.stats.publication import compute, snapshot_dates
from ndoo.stats.source import is_test_number
from tests.stats.conftest import Hand

JUNE, MAY, APRIL = date(2024, 6, 1), date(2024, 5, 1), date(2024, 4, 1)
U = "Unknown / Prefer not to say"
UN = "Unallocated"


def rows(table, day, *columns):
    return [tuple(r[c] for c in columns) for r in table.to_pylist() if r["ACH_DATE"] == day]


def test_snapshot_dates_are_the_first_of_each_month_newest_first():
    assert snapshot_dates(date(2024, 2, 1), 3) == [date(2024, 2, 1), date(2024, 1, 1),
                                                    date(2023, 12, 1)]  # fmt: skip


@pytest.mark.parametrize("bad", [date(2024, 6, 2), date(2024, 6, 30)])
def test_a_period_end_not_on_the_first_of_a_month_is_refused(db: Database, bad):
    with pytest.raises(InputError, match="first day of a month"):
        compute(db, period_end=bad)


def test_test_numbers_are_9xx_and_repeated_digits():
    import numpy as np

    numbers = np.array([9434765919, 1111111111, 9999999999, 4000000019, 1111111112, 0])
    assert is_test_number(numbers).tolist() == [True, True, True, False, False, False]


def test_national_totals_each_month(db: Database, hand: Hand):
    found = compute(db, period_end=JUNE, months=3)
    # Living opt-outs: April A B C D E H J; May A D E H J; June A C E H I J.
    # List sizes: P1 A B F G I K1 every month; P2 C D J K4 (April), C D J (May), C J K2 (June).
    assert found.national.to_pylist() == [
        {"ACH_DATE": JUNE, "OPT_OUT": 6, "LIST_SIZE": 9, "DECEASED": 2},
        {"ACH_DATE": MAY, "OPT_OUT": 5, "LIST_SIZE": 9, "DECEASED": 1},
        {"ACH_DATE": APRIL, "OPT_OUT": 7, "LIST_SIZE": 10, "DECEASED": 1},
    ]
    assert found.national.column_names == ["ACH_DATE", "OPT_OUT", "LIST_SIZE", "DECEASED"]


def test_age_gen_rows_labels_and_order_in_june(db: Database, hand: Hand):
    found = compute(db, period_end=JUNE, months=3)
    assert found.age_gen.column_names == [
        "ACH_DATE", "AGE_BAND", "GENDER", "OPT_OUT", "LIST_SIZE", "OPT_OUT_RATE"
    ]  # fmt: skip
    # June: A (F 40-49), C (F 30-39), E (unknown 30-39), H (M 40-49), I (F 20-29: 23 on
    # 1 June, 24 the day after), J (M 70-79); deceased L (F) and D (M).
    assert rows(found.age_gen, JUNE, "AGE_BAND", "GENDER", "OPT_OUT", "LIST_SIZE") == [
        ("20-29", "All", 1, 1),
        ("30-39", "All", 2, 2),
        ("40-49", "All", 2, 4),
        ("70-79", "All", 1, 1),
        ("All", "All", 6, 9),
        ("All deceased", "All deceased", 2, 0),
        ("20-29", "Female", 1, 1),
        ("30-39", "Female", 1, 2),
        ("40-49", "Female", 1, 2),
        ("All", "Female", 3, 5),
        ("All deceased", "Female", 1, 0),
        ("40-49", "Male", 1, 2),
        ("70-79", "Male", 1, 1),
        ("All", "Male", 2, 4),
        ("All deceased", "Male", 1, 0),
        ("All", U, 1, 0),
    ]
    rates = rows(found.age_gen, JUNE, "AGE_BAND", "GENDER", "OPT_OUT_RATE")
    assert ("All", "All", 100 * 6 / 9) in rates
    assert ("40-49", "All", 50.0) in rates
    assert ("All", U, 0.0) in rates and ("All deceased", "Male", 0.0) in rates
    # Newest month first.
    assert found.age_gen.column("ACH_DATE").to_pylist()[0] == JUNE
    assert found.age_gen.column("ACH_DATE").to_pylist()[-1] == APRIL


def test_age_gen_april_counts_a_withdrawal_during_the_day_and_the_deceased_apart(
    db: Database, hand: Hand
):
    found = compute(db, period_end=JUNE, months=3)
    # C withdrew at 10:00 on 1 April: her record held during 1 April, so she counts.
    # D is alive until 20 May; L died before the window: deceased only.
    assert rows(found.age_gen, APRIL, "AGE_BAND", "GENDER", "OPT_OUT", "LIST_SIZE") == [
        ("30-39", "All", 2, 2),  # C and E (K1 33, C 38 listed)
        ("40-49", "All", 3, 4),  # A B H (H unallocated but counted); listed A B F G
        ("50-59", "All", 1, 1),
        ("70-79", "All", 1, 1),
        ("All", "All", 7, 10),
        ("All deceased", "All deceased", 1, 0),
        ("30-39", "Female", 1, 2),
        ("40-49", "Female", 1, 2),
        ("All", "Female", 2, 6),
        ("All deceased", "Female", 1, 0),
        ("40-49", "Male", 2, 2),
        ("50-59", "Male", 1, 1),
        ("70-79", "Male", 1, 1),
        ("All", "Male", 4, 4),
        ("All", U, 1, 0),
    ]


def test_reg_geog_practices_and_unallocated(db: Database, hand: Hand):
    found = compute(db, period_end=JUNE, months=3)
    table = found.reg_geog
    assert table.column_names == [
        "ACH_DATE", "GP_PRACTICE", "POSTCODE", "PRACTICE_NAME", "SUB_ICB_LOCATION_CODE",
        "ONS_SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_NAME", "ONS_ICB_CODE", "ICB_CODE",
        "ICB_NAME", "COMM_REGION_CODE", "ONS_COMM_REGION_CODE", "COMM_REGION_NAME", "OPT_OUT",
        "LIST_SIZE",
    ]  # fmt: skip
    # June: P1 A I (list 6); P2 C J (J moved there; list C J K2); E (no practice) and
    # H (at P3, which has no postcode and so holds no list) are Unallocated.
    assert rows(table, JUNE, "GP_PRACTICE", "OPT_OUT", "LIST_SIZE") == [
        (hand.p1, 2, 6),
        (hand.p2, 2, 3),
        (UN, 2, 0),
    ]
    # May: B withdrew at midnight on 1 May, C had withdrawn: P1 A; P2 D J.
    assert rows(table, MAY, "GP_PRACTICE", "OPT_OUT", "LIST_SIZE") == [
        (hand.p1, 1, 6),
        (hand.p2, 2, 3),
        (UN, 2, 0),
    ]
    assert rows(table, APRIL, "GP_PRACTICE", "OPT_OUT", "LIST_SIZE") == [
        (hand.p1, 2, 6),
        (hand.p2, 3, 4),
        (UN, 2, 0),
    ]
    first = table.to_pylist()[0]
    code, ons, name = hand.s1
    assert first["POSTCODE"] == "LS1 1AA" and first["PRACTICE_NAME"] == "First Surgery"
    assert (first["SUB_ICB_LOCATION_CODE"], first["ONS_SUB_ICB_LOCATION_CODE"],
            first["SUB_ICB_LOCATION_NAME"]) == (code, ons, name)  # fmt: skip
    assert first["COMM_REGION_CODE"].startswith("Y")
    unallocated = next(r for r in table.to_pylist() if r["GP_PRACTICE"] == UN)
    assert set(v for k, v in unallocated.items() if k not in ("ACH_DATE", "OPT_OUT",
                                                               "LIST_SIZE")) == {UN}  # fmt: skip


def test_res_geog_by_lsoa_with_unknown_lsoas_unallocated(db: Database, hand: Hand):
    found = compute(db, period_end=JUNE, months=3)
    table = found.res_geog
    assert table.column_names == [
        "ACH_DATE", "LSOA_CODE", "LSOA_NAME", "SUB_ICB_LOCATION_CODE",
        "ONS_SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_NAME", "LA_CODE", "LA_NAME", "OPT_OUT",
    ]  # fmt: skip
    # June: L1 A I; L2 C J; E (no LSOA) and H (E01999999, not in the lookup) Unallocated.
    assert rows(table, JUNE, "LSOA_CODE", "OPT_OUT") == [(hand.l1, 2), (hand.l2, 2), (UN, 2)]
    assert rows(table, APRIL, "LSOA_CODE", "OPT_OUT") == [(hand.l1, 2), (hand.l2, 3), (UN, 2)]
    named = table.to_pylist()[0]
    assert named["LSOA_NAME"] and named["LA_CODE"].startswith("E0")


def test_sub_icb_for_table_4_carries_the_deceased(db: Database, hand: Hand):
    found = compute(db, period_end=JUNE, months=3)
    # June: S1 (P1) A I, list 6, deceased L; S2 (P2) C J, list 3, deceased D.
    expected = sorted([(*hand.s1, 2, 6, 1), (*hand.s2, 2, 3, 1), (UN, UN, UN, 2, 0, 0)])
    assert [
        (r["SUB_ICB_LOCATION_CODE"], r["ONS_SUB_ICB_LOCATION_CODE"], r["SUB_ICB_LOCATION_NAME"],
         r["OPT_OUT"], r["LIST_SIZE"], r["DECEASED"])
        for r in found.sub_icb.to_pylist()
    ] == expected  # fmt: skip


def test_keeping_test_numbers_counts_them(db: Database, hand: Hand):
    found = compute(db, period_end=JUNE, months=3, drop_test_numbers=False)
    # F (9xx, P1, L1, F 40-49) and G (1111111111, P1, no LSOA, M 40-49) now count.
    assert found.national.column("OPT_OUT").to_pylist() == [8, 7, 9]
    assert rows(found.reg_geog, JUNE, "GP_PRACTICE", "OPT_OUT") == [
        (hand.p1, 4), (hand.p2, 2), (UN, 2)
    ]  # fmt: skip
    assert rows(found.res_geog, JUNE, "LSOA_CODE", "OPT_OUT") == [
        (hand.l1, 3), (hand.l2, 2), (UN, 3)
    ]  # fmt: skip
    # List sizes never depended on the setting.
    assert found.national.column("LIST_SIZE").to_pylist() == [9, 9, 10]


def test_an_empty_register_gives_empty_tables(db: Database):
    found = compute(db, period_end=JUNE, months=2)
    assert found.age_gen.num_rows == 0 and found.reg_geog.num_rows == 0
    assert found.res_geog.num_rows == 0 and found.sub_icb.num_rows == 0
    assert found.national.column("OPT_OUT").to_pylist() == [0, 0]
    assert found.reg_geog.column_names[0] == "ACH_DATE"
