"""The Excel summary of the publication: a title sheet and Tables 1 to 4.

Laid out as the official workbook (``NDOP_sum_<Mon>_<YYYY>.xlsx``): on each table's
sheet a link back to the contents in A8, the title in A9, column headings in row 10,
the figures from row 11, then the source line and the notes.  Conventions:

- Table 1: every month, newest first, dates written like "01 June 2022";
- Table 2: the reporting month by age and gender, Female then Male (each by age band)
  then Unknown / Prefer not to say (all ages), then the deceased; every zero is ``z``;
- Table 3: practices with opt-outs, then those with none (``-``), then Unallocated,
  whose rate has no list size to divide by (``z``);
- Table 4: the reporting month by Sub-ICB location of registration; a rate with no
  list size is ``z``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

from ndoo import geography
from ndoo.stats.tables import ALL, ALL_DECEASED, UNALLOCATED, UNKNOWN_GENDER, rate
from ndoo.timeutil import utcnow

if TYPE_CHECKING:
    from ndoo.stats.publication import Publication

NAME_PREFIX = "NDOP_sum_"
TITLE_SHEET = "Title sheet"
SHEETS = (TITLE_SHEET, "Table 1", "Table 2", "Table 3", "Table 4")
SOURCE = "Source: NHS SPINE, NHS Digital\nOpen Exeter, NHAIS"
NOT_FINAL = (
    "The above data is correct at the time of publication, but these figures may change in "
    "subsequent publications."
)
INFLATION = (
    "We are aware of a slight inflation of less than 0.05 percent in the number of National "
    "Data Opt-outs. This is due to an issue with the data processing, which we are looking to "
    "resolve. This issue does not disproportionately affect any single breakdown, including "
    "geographies. Please take this into consideration when using the data."
)
UNKNOWN_NOTE = (
    "The unknown category above includes those records which have been closed and gender is "
    "not included, or those who have chosen to 'prefer not to say' when asked their gender."
)
SOCIAL_MEDIA = (
    "The increase in October and November 2020 could be attributed to a number of posts "
    "circulated on social media about the national data opt-out, containing incorrect "
    "information. This page looks at these claims and gives you the facts you need to make "
    "your choice: https://digital.nhs.uk/services/national-data-opt-out/mythbusting-social-"
    "media-posts"
)
UNALLOCATED_NOTE = (
    "The Unallocated category above consists of individuals who either had no GP practice "
    "associated with their NHS number, or the GP practice associated with their NHS number "
    "is no longer open and active."
)

_AGE_ORDER = (
    "0 to 9", "10 to 19", "20 to 29", "30 to 39", "40 to 49", "50 to 59", "60 to 69",
    "70 to 79", "80 to 89", "90 +", "All", "Deceased",
)  # fmt: skip
_GENDER_ORDER = ("Female", "Male", UNKNOWN_GENDER)
_COUNT = "#,##0"
_RATE = "#,##0.0"
_BOLD = Font(name="Arial", size=10, bold=True)


def long_date(day: date) -> str:
    """``01 June 2022``, as the workbook writes its dates."""
    return day.strftime("%d %B %Y")


def published_date(day: date) -> str:
    """``21st November 2025``, as the title sheet writes the publication date."""
    suffix = "th" if 11 <= day.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10, "th")
    return f"{day.day:02d}{suffix} {day:%B %Y}"


def titles(publication: Publication) -> dict[str, str]:
    month = publication.period_end.strftime("%B %Y")
    first = publication.dates[-1].strftime("%B %Y")
    base = "Number of national data opt-outs"
    return {
        "Table 1": f"Table 1: {base}, England, {first} - {month}",
        "Table 2": f"Table 2: {base}, by Age and Gender, {month}",
        "Table 3": f"Table 3: {base}, GP Practice, {month}",
        "Table 4": f"Table 4: {base}, Sub-ICB of Registration, {month}",
    }


def _rate(row: dict[str, Any]) -> float | str:
    """The rate, or ``z`` where there is no list size to divide by."""
    return rate(row["OPT_OUT"], row["LIST_SIZE"]) if row["LIST_SIZE"] else "z"


def table_1(publication: Publication) -> list[list[Any]]:
    national = publication.national.to_pylist()
    return [
        [long_date(r["ACH_DATE"]), geography.ENGLAND_ONS_CODE, "Eng", "England", r["OPT_OUT"],
         r["LIST_SIZE"], _rate(r), r["DECEASED"]]
        for r in national
    ]  # fmt: skip


def _age_label(band: str) -> str:
    if band == ALL_DECEASED:
        return "Deceased"
    return band.replace("-", " to ").replace("+", " +")


def table_2(publication: Publication) -> list[list[Any]]:
    rows = []
    for r in publication.age_gen.to_pylist():
        if r["ACH_DATE"] != publication.period_end or r["GENDER"] in (ALL, ALL_DECEASED):
            continue
        if r["AGE_BAND"] == ALL and r["GENDER"] in ("Male", "Female"):
            continue
        age = _age_label(r["AGE_BAND"])
        if age not in _AGE_ORDER:
            continue
        rows.append([age, r["GENDER"], r["OPT_OUT"], r["LIST_SIZE"], r["OPT_OUT_RATE"]])
    rows.sort(key=lambda r: (_GENDER_ORDER.index(r[1]), _AGE_ORDER.index(r[0])))
    rows = [r for r in rows if r[0] != "Deceased"] + [r for r in rows if r[0] == "Deceased"]
    return [[("z" if v == 0 else v) for v in r] for r in rows]


def table_3(publication: Publication) -> list[list[Any]]:
    month = [r for r in publication.reg_geog.to_pylist() if r["ACH_DATE"] == publication.period_end]
    month.sort(key=lambda r: r["GP_PRACTICE"])

    def row(r: dict[str, Any]) -> list[Any]:
        return [r["GP_PRACTICE"], r["PRACTICE_NAME"], r["OPT_OUT"] or "-", r["LIST_SIZE"],
                _rate(r)]  # fmt: skip

    with_opt_outs = [
        row(r) for r in month if r["OPT_OUT"] > 0 and r["PRACTICE_NAME"] != UNALLOCATED
    ]
    without = [row(r) for r in month if r["OPT_OUT"] == 0]
    unallocated = [row(r) for r in month if r["PRACTICE_NAME"] == UNALLOCATED and r["OPT_OUT"] > 0]
    return with_opt_outs + without + unallocated


def table_4(publication: Publication) -> list[list[Any]]:
    return [
        [r["ONS_SUB_ICB_LOCATION_CODE"], r["SUB_ICB_LOCATION_CODE"], r["SUB_ICB_LOCATION_NAME"],
         r["OPT_OUT"], r["LIST_SIZE"], _rate(r), r["DECEASED"]]
        for r in publication.sub_icb.to_pylist()
    ]  # fmt: skip


HEADINGS = {
    "Table 1": ("Date", "ONS code", "Code", "Name", "Opt-out", "List size", "Opt-out Rate",
                "Deceased"),
    "Table 2": ("Age", "Gender", "Opt-out", "List size", "Opt-out Rate"),
    "Table 3": ("Practice code", "Practice name", "Opt-out", "List Size", "Opt-out Rate"),
    "Table 4": ("ONS code", "Code", "Name", "Opt-out", "List size", "Opt-out Rate", "Deceased"),
}  # fmt: skip

NOTES = {
    "Table 1": (NOT_FINAL, INFLATION),
    "Table 2": (UNKNOWN_NOTE,),
    "Table 3": (NOT_FINAL, INFLATION, SOCIAL_MEDIA),
    "Table 4": (UNALLOCATED_NOTE,),
}

DATA_ROW = 11


def _table_sheet(book: Any, name: str, title: str, rows: Sequence[Sequence[Any]]) -> None:
    sheet = book.create_sheet(name)
    back = sheet.cell(row=8, column=1, value="Return to contents")
    back.hyperlink = f"#'{TITLE_SHEET}'!A1"
    back.font = Font(name="Arial", size=10, underline="single", color="0563C1")
    sheet.cell(row=9, column=1, value=title).font = Font(name="Arial", size=12, bold=True)
    for column, heading in enumerate(HEADINGS[name], start=1):
        sheet.cell(row=10, column=column, value=heading).font = _BOLD
    for offset, values in enumerate(rows):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=DATA_ROW + offset, column=column, value=value)
            if isinstance(value, float):
                cell.number_format = _RATE
            elif isinstance(value, int):
                cell.number_format = _COUNT
    line = DATA_ROW + len(rows) + 1
    source = sheet.cell(row=line, column=1, value=SOURCE)
    source.font = Font(name="Arial", size=9, bold=True)
    source.alignment = Alignment(wrap_text=True)
    sheet.cell(row=line + 2, column=1, value="Notes").font = Font(name="Arial", size=11, bold=True)
    for number, note in enumerate(NOTES[name], start=1):
        cell = sheet.cell(row=line + 2 + number, column=1, value=f"{number}. {note}")
        cell.font = Font(name="Arial", size=10)
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 40 if name in ("Table 3",) else 16
    sheet.column_dimensions["C"].width = 40 if name == "Table 4" else 14


def _title_sheet(
    book: Any, publication: Publication, published: date, names: dict[str, str]
) -> None:
    sheet = book.active
    sheet.title = TITLE_SHEET
    sheet["A5"] = "National Data Opt-out"
    sheet["A5"].font = Font(name="Arial", size=16, bold=True)
    sheet["A7"] = "Management Information"
    sheet["A8"] = f"Date Published: {published_date(published)}"
    sheet["A10"] = "Summary"
    sheet["A10"].font = _BOLD
    sheet["A11"] = (
        "The number of national data opt-outs in force on the first day of each month, "
        f"{publication.dates[-1]:%B %Y} to {publication.period_end:%B %Y}, worked out by ndoo "
        "from this register with the counting rules of NHS England's publication."
    )
    sheet["A18"] = "Contents"
    sheet["A18"].font = _BOLD
    for offset, (name, title) in enumerate(names.items()):
        cell = sheet.cell(row=19 + offset, column=1, value=title)
        cell.hyperlink = f"#'{name}'!A9"
        cell.font = Font(name="Arial", size=10, underline="single", color="0563C1")
    sheet.column_dimensions["A"].width = 100


def write(publication: Publication, path: Path, *, published: date | None = None) -> None:
    """Write the workbook to ``path`` (the caller renames it into place)."""
    names = titles(publication)
    book = Workbook()
    _title_sheet(book, publication, published or utcnow().date(), names)
    builders = {"Table 1": table_1, "Table 2": table_2, "Table 3": table_3, "Table 4": table_4}
    for name, build in builders.items():
        _table_sheet(book, name, names[name], build(publication))
    book.save(path)
