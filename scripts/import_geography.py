"""Convert the ONS Health Geographies lookups (1 July 2022) into the package's CSVs.

Run by hand by a developer when the lookups change; the CSVs it writes are
committed in ``src/ndoo/data/geography/`` so that ndoo never needs openpyxl at
runtime::

    .venv/bin/python scripts/import_geography.py ../shared/data/geography

Inputs (``LOC22`` = Sub-ICB location, ``ICB22`` = Integrated Care Board,
``NHSER22`` = NHS England commissioning region, ``LAD22`` = local authority):

- ``CCG_ICB_mapping_July_2022.xlsx``, sheet ``LOC22_ICB22_NHSER22_EN_LU`` (106 rows)
  becomes ``sub_icb_locations.csv``;
- ``LSOA11_LOC22_ICB22_LAD22_EN_LU.xlsx``, sheet ``LSOA11_LOC22_ICB22_LAD22``
  (32,844 rows, 2011 LSOAs) becomes ``lsoa.csv``.

Columns are renamed as the official NDOP publication names them.  Every value
is kept as text and stripped of surrounding whitespace (one ICB name in the
source ends with a space).  Rows are sorted by their first code so that diffs
between releases are readable.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import openpyxl

SUB_ICB_FILE = "CCG_ICB_mapping_July_2022.xlsx"
SUB_ICB_SHEET = "LOC22_ICB22_NHSER22_EN_LU"
LSOA_FILE = "LSOA11_LOC22_ICB22_LAD22_EN_LU.xlsx"
LSOA_SHEET = "LSOA11_LOC22_ICB22_LAD22"

# (spreadsheet column, CSV column), in CSV order.
SUB_ICB_RENAMES: tuple[tuple[str, str], ...] = (
    ("LOC22CDH", "SUB_ICB_LOCATION_CODE"),
    ("LOC22CD", "ONS_SUB_ICB_LOCATION_CODE"),
    ("LOC22NM", "SUB_ICB_LOCATION_NAME"),
    ("ICB22CD", "ONS_ICB_CODE"),
    ("ICB22CDH", "ICB_CODE"),
    ("ICB22NM", "ICB_NAME"),
    ("NHSER22CD", "ONS_COMM_REGION_CODE"),
    ("NHSER22CDH", "COMM_REGION_CODE"),
    ("NHSER22NM", "COMM_REGION_NAME"),
)
LSOA_RENAMES: tuple[tuple[str, str], ...] = (
    ("LSOA11CD", "LSOA_CODE"),
    ("LSOA11NM", "LSOA_NAME"),
    ("LOC22CD", "ONS_SUB_ICB_LOCATION_CODE"),
    ("LOC22CDH", "SUB_ICB_LOCATION_CODE"),
    ("LOC22NM", "SUB_ICB_LOCATION_NAME"),
    ("ICB22CD", "ONS_ICB_CODE"),
    ("ICB22CDH", "ICB_CODE"),
    ("ICB22NM", "ICB_NAME"),
    ("LAD22CD", "LA_CODE"),
    ("LAD22NM", "LA_NAME"),
)


def read_sheet(path: Path, sheet: str, renames: Sequence[tuple[str, str]]) -> list[list[str]]:
    """The sheet's rows as text, columns renamed and reordered, header first."""
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = workbook[sheet].iter_rows(values_only=True)
        header = [str(cell).strip() for cell in next(rows)]
        missing = [source for source, _ in renames if source not in header]
        if missing:
            raise SystemExit(f"{path.name}: sheet {sheet} lacks columns {missing}")
        positions = [header.index(source) for source, _ in renames]
        body: list[list[str]] = []
        for number, row in enumerate(rows, start=2):
            if all(cell is None for cell in row):
                continue
            values = ["" if row[i] is None else str(row[i]).strip() for i in positions]
            if not all(values):
                raise SystemExit(f"{path.name}: row {number} has an empty code or name")
            body.append(values)
    finally:
        workbook.close()
    body.sort()
    return [[target for _, target in renames], *body]


def to_csv(rows: Sequence[Sequence[str]]) -> str:
    """CSV text: comma-separated, minimal quoting, ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def convert(source_dir: Path) -> dict[str, str]:
    """CSV text of each output file, by file name."""
    return {
        "sub_icb_locations.csv": to_csv(
            read_sheet(source_dir / SUB_ICB_FILE, SUB_ICB_SHEET, SUB_ICB_RENAMES)
        ),
        "lsoa.csv": to_csv(read_sheet(source_dir / LSOA_FILE, LSOA_SHEET, LSOA_RENAMES)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source_dir", type=Path, help="folder holding the two .xlsx files")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "src" / "ndoo" / "data" / "geography",
        help="folder to write the CSVs into (default: the package's data folder)",
    )
    args = parser.parse_args(argv)
    for name, text in convert(args.source_dir).items():
        (args.out / name).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {args.out / name} ({text.count(chr(10)) - 1} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
