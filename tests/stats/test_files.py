"""The files of the publication: CSV header lines and first rows, and the Excel summary."""

from __future__ import annotations

from datetime import date

import openpyxl
import pytest

from ndoo import people
from ndoo.db import Database
from ndoo.db.models import gp_practice
from ndoo.errors import InputError
from ndoo.stats.publication import compute, write
from tests.stats.conftest import Hand, valid_number

JUNE = date(2024, 6, 1)


@pytest.fixture
def written(db: Database, hand: Hand, tmp_path):
    found = compute(db, period_end=JUNE, months=3)
    return found, write(found, tmp_path / "out", published=date(2024, 7, 11))


def lines(path, count):
    return path.read_text(encoding="utf-8").splitlines()[:count]


def test_file_names_and_nothing_left_behind(written, tmp_path):
    _, paths = written
    charts = [
        f"NDOP_chart_{name}_Jun_2024.{fmt}"
        for name in ("national_rate", "rate_by_age_gender", "rate_by_icb", "rate_by_region")
        for fmt in ("png", "svg")
    ]
    assert [p.name for p in paths] == [
        "NDOP_age_gen_Jun_2024.csv",
        "NDOP_reg_geog_Jun_2024.csv",
        "NDOP_res_geog_Jun_2024.csv",
        "NDOP_sum_Jun_2024.xlsx",
        *charts,
    ]
    svg = (tmp_path / "out" / "NDOP_chart_national_rate_Jun_2024.svg").read_text("utf-8")
    assert "National data opt-out rate, England" in svg
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


def test_csv_headers_and_first_rows(written, hand: Hand):
    _, paths = written
    assert lines(paths[0], 3) == [
        "ACH_DATE,AGE_BAND,GENDER,OPT_OUT,LIST_SIZE,OPT_OUT_RATE",
        "01/06/2024,20-29,All,1,1,100.0",
        "01/06/2024,30-39,All,2,2,100.0",
    ]
    assert lines(paths[0], 6)[5] == "01/06/2024,All,All,6,9,66.66666666666667"
    assert lines(paths[0], 7)[6] == "01/06/2024,All deceased,All deceased,2,0,0.0"
    code, ons, _name = hand.s1
    header, first = lines(paths[1], 2)
    assert header == (
        "ACH_DATE,GP_PRACTICE,POSTCODE,PRACTICE_NAME,SUB_ICB_LOCATION_CODE,"
        "ONS_SUB_ICB_LOCATION_CODE,SUB_ICB_LOCATION_NAME,ONS_ICB_CODE,ICB_CODE,ICB_NAME,"
        "COMM_REGION_CODE,ONS_COMM_REGION_CODE,COMM_REGION_NAME,OPT_OUT,LIST_SIZE"
    )
    assert first.startswith(f"01/06/2024,{hand.p1},LS1 1AA,First Surgery,{code},{ons},")
    assert first.endswith(",2,6")
    # A name with a comma is quoted, as a CSV writer quotes only where needed.
    assert f'{hand.p2},LS2 2BB,"Second, Medical Centre",' in lines(paths[1], 3)[2]
    assert lines(paths[1], 4)[3] == "01/06/2024," + ",".join(["Unallocated"] * 12) + ",2,0"
    header, first = lines(paths[2], 2)
    assert header == (
        "ACH_DATE,LSOA_CODE,LSOA_NAME,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,"
        "SUB_ICB_LOCATION_NAME,LA_CODE,LA_NAME,OPT_OUT"
    )
    # res_geog keeps ISO dates, as the official file does.
    assert first.startswith(f"2024-06-01,{hand.l1},") and first.endswith(",2")


def test_existing_files_are_refused_unless_overwriting(written, tmp_path):
    found, paths = written
    before = paths[0].read_bytes()
    with pytest.raises(InputError, match="already in"):
        write(found, tmp_path / "out")
    assert paths[0].read_bytes() == before
    assert write(found, tmp_path / "out", overwrite=True) == paths


def test_workbook_sheets_titles_and_cells(written, hand: Hand):
    _, paths = written
    book = openpyxl.load_workbook(paths[3])
    assert book.sheetnames == ["Title sheet", "Table 1", "Table 2", "Table 3", "Table 4"]
    assert book["Title sheet"]["A8"].value == "Date Published: 11th July 2024"
    t1, t2, t3, t4 = (book[f"Table {n}"] for n in range(1, 5))
    assert t1["A9"].value == (
        "Table 1: Number of national data opt-outs, England, April 2024 - June 2024"
    )
    assert (
        t2["A9"].value == "Table 2: Number of national data opt-outs, by Age and Gender, June 2024"
    )
    assert t3["A9"].value == "Table 3: Number of national data opt-outs, GP Practice, June 2024"
    assert t4["A9"].value == (
        "Table 4: Number of national data opt-outs, Sub-ICB of Registration, June 2024"
    )
    assert [c.value for c in t1[10]] == ["Date", "ONS code", "Code", "Name", "Opt-out",
                                         "List size", "Opt-out Rate", "Deceased"]  # fmt: skip
    assert [c.value for c in t1[11]][:6] == ["01 June 2024", "E92000001", "Eng", "England", 6, 9]
    assert t1["G11"].value == pytest.approx(100 * 6 / 9)
    assert t1["H11"].value == 2 and t1["A13"].value == "01 April 2024"
    # Table 2: Female by age, Male by age, Unknown (all ages), then the deceased; zeros are z.
    table_2 = [[c.value for c in row][:5] for row in t2.iter_rows(min_row=11, max_row=21)]
    assert table_2 == [
        ["20 to 29", "Female", 1, 1, 100.0],
        ["30 to 39", "Female", 1, 2, 50.0],
        ["40 to 49", "Female", 1, 2, 50.0],
        ["40 to 49", "Male", 1, 2, 50.0],
        ["70 to 79", "Male", 1, 1, 100.0],
        ["All", "Unknown / Prefer not to say", 1, "z", "z"],
        ["Deceased", "Female", 1, "z", "z"],
        ["Deceased", "Male", 1, "z", "z"],
        [None, None, None, None, None],
        ["Source: NHS SPINE, NHS Digital\nOpen Exeter, NHAIS", None, None, None, None],
        [None, None, None, None, None],
    ]
    table_3 = [[c.value for c in row][:4] for row in t3.iter_rows(min_row=11, max_row=13)]
    assert table_3 == [
        [hand.p1, "First Surgery", 2, 6],
        [hand.p2, "Second, Medical Centre", 2, 3],
        ["Unallocated", "Unallocated", 2, 0],
    ]
    assert t3["E13"].value == "z"
    notes = [t3.cell(row=r, column=1).value or "" for r in range(14, 22)]
    assert any("slight inflation of less than 0.05 percent" in n for n in notes)
    assert any("October and November 2020" in n for n in notes)
    assert [c.value for c in t4[10]] == ["ONS code", "Code", "Name", "Opt-out", "List size",
                                         "Opt-out Rate", "Deceased"]  # fmt: skip
    unallocated = [
        [c.value for c in row][:7]
        for row in t4.iter_rows(min_row=11, max_row=13)
        if row[1].value == "Unallocated"
    ]
    assert unallocated == [["Unallocated", "Unallocated", "Unallocated", 2, 0, "z", 0]]
    assert t4.cell(row=15, column=1).value.startswith("Source: NHS SPINE")
    assert "no longer open and active" in t4.cell(row=18, column=1).value


def test_table_3_lists_practices_without_opt_outs_after_the_others_with_a_dash(
    db: Database, hand: Hand, tmp_path
):
    with db.write() as conn:
        conn.execute(
            gp_practice.insert().values(
                code="A00001", name="Quiet Surgery", sub_icb_code=hand.s1[0], postcode="LS3 3CC"
            )
        )
    people.add(
        db,
        people.Person(valid_number(400000500), date(1970, 1, 1), "1", gp_practice_code="A00001"),
        actor="test",
    )
    found = compute(db, period_end=JUNE, months=1)
    assert rows_of(found.reg_geog, "GP_PRACTICE", "OPT_OUT", "LIST_SIZE")[0] == ("A00001", 0, 1)
    t3 = openpyxl.load_workbook(write(found, tmp_path)[3])["Table 3"]
    assert [[c.value for c in row][:5] for row in t3.iter_rows(min_row=11, max_row=14)] == [
        [hand.p1, "First Surgery", 2, 6, pytest.approx(100 * 2 / 6)],
        [hand.p2, "Second, Medical Centre", 2, 3, pytest.approx(100 * 2 / 3)],
        ["A00001", "Quiet Surgery", "-", 1, 0.0],
        ["Unallocated", "Unallocated", 2, 0, "z"],
    ]


def rows_of(table, *columns):
    return [tuple(r[c] for c in columns) for r in table.to_pylist()]
