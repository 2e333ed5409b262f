"""The publication's three CSV files, written as the official pipeline writes them.

A header line, no row-number column, values quoted only where needed, rates at full
precision (``4.761904761904762``, ``0.0``).  ``ACH_DATE`` is ``dd/mm/yyyy`` in
``age_gen`` and ``reg_geog``; the official ``res_geog`` leaves it as ``yyyy-mm-dd``
(its dates are never reformatted), and so does this one.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa


def _day_month_year(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _iso(day: date) -> str:
    return day.isoformat()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


def _rows(table: pa.Table, format_date: Callable[[date], str]) -> Iterable[list[str]]:
    dates = [format_date(d) for d in table.column("ACH_DATE").to_pylist()]
    others = [table.column(n).to_pylist() for n in table.column_names[1:]]
    for index, day in enumerate(dates):
        yield [day, *(_cell(column[index]) for column in others)]


def _write(table: pa.Table, path: Path, format_date: Callable[[date], str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows(_rows(table, format_date))


def write_age_gen(table: pa.Table, path: Path) -> None:
    _write(table, path, _day_month_year)


def write_reg_geog(table: pa.Table, path: Path) -> None:
    _write(table, path, _day_month_year)


def write_res_geog(table: pa.Table, path: Path) -> None:
    _write(table, path, _iso)
