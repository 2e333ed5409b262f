"""The national publication, "[MI] National Data Opt-Out", worked out from the register.

:func:`compute` takes one snapshot a month (``ACH_DATE``, the first of each month) for
the ``months`` months ending at ``period_end`` and applies the official counting rules
(:mod:`ndoo.stats.counting`); :func:`write` writes the three CSV files and the Excel
summary the official pipeline (NHSDigital/NDOP-publication) produces.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from ndoo import geography
from ndoo.db import Database
from ndoo.errors import InputError
from ndoo.stats import charts, csvfiles, tables, workbook
from ndoo.stats.counting import count_month
from ndoo.stats.source import read_register

MAX_MONTHS = 120


@dataclass(frozen=True)
class Publication:
    """The publication's figures.

    ``age_gen``, ``reg_geog`` and ``res_geog`` have exactly the official columns,
    labels and row orders (``ACH_DATE`` as a date).  ``national`` holds each month's
    totals (``ACH_DATE, OPT_OUT, LIST_SIZE, DECEASED``, newest first) for Table 1, and
    ``sub_icb`` the reporting month by Sub-ICB location of registration, with deceased
    people, for Table 4.
    """

    period_end: date
    months: int
    drop_test_numbers: bool
    age_gen: pa.Table
    reg_geog: pa.Table
    res_geog: pa.Table
    national: pa.Table
    sub_icb: pa.Table

    @property
    def dates(self) -> list[date]:
        """The snapshot dates, newest first."""
        return snapshot_dates(self.period_end, self.months)

    @property
    def suffix(self) -> str:
        """``Jun_2022``: the ``<Mon>_<YYYY>`` of every file name."""
        return self.period_end.strftime("%b_%Y")


def snapshot_dates(period_end: date, months: int) -> list[date]:
    """The first of each of the ``months`` months ending at ``period_end``, newest first."""
    index = period_end.year * 12 + period_end.month - 1
    return [date((index - k) // 12, (index - k) % 12 + 1, 1) for k in range(months)]


def compute(
    db: Database, *, period_end: date, months: int = 12, drop_test_numbers: bool = True
) -> Publication:
    """Work out the publication for the ``months`` months ending at ``period_end``.

    ``period_end`` is the reporting month and must be the first day of a month.  With
    ``drop_test_numbers``, opt-outs of 9xx and repeated-digit NHS numbers are not
    counted (the setting ``stats_drop_test_numbers``); list sizes are the registered
    population whatever their numbers, as the official GP list counts are.
    """
    if not isinstance(period_end, date) or period_end.day != 1:
        raise InputError(
            "the period end must be the first day of a month (YYYY-MM-01)", field="period_end"
        )
    if not 1 <= months <= MAX_MONTHS:
        raise InputError(f"months must be between 1 and {MAX_MONTHS}", field="months")
    dates = snapshot_dates(period_end, months)
    register = read_register(
        db, first_day=dates[-1], last_day=dates[0], drop_test_numbers=drop_test_numbers
    )
    lsoa_count = geography.lsoas().num_rows
    counted = [count_month(register, day, lsoa_count) for day in dates]
    practices = tables.practice_labels(register.practices)
    return Publication(
        period_end=period_end,
        months=months,
        drop_test_numbers=drop_test_numbers,
        age_gen=tables.age_gen(counted),
        reg_geog=tables.reg_geog(counted, practices),
        res_geog=tables.res_geog(counted, tables.lsoa_labels()),
        national=tables.national(counted),
        sub_icb=tables.sub_icb(counted[0], practices),
    )


CHART_FORMATS = ("png", "svg")


def file_names(publication: Publication) -> list[str]:
    """The names :func:`write` writes, in order: the three CSV files, the workbook, then
    each chart (:mod:`ndoo.stats.charts`) as PNG and SVG."""
    suffix = publication.suffix
    return [
        f"NDOP_age_gen_{suffix}.csv",
        f"NDOP_reg_geog_{suffix}.csv",
        f"NDOP_res_geog_{suffix}.csv",
        f"{workbook.NAME_PREFIX}{suffix}.xlsx",
        *(_chart_name(name, suffix, fmt) for name in charts.NAMES for fmt in CHART_FORMATS),
    ]


def _chart_name(name: str, suffix: str, fmt: str) -> str:
    return f"NDOP_chart_{name.replace('-', '_')}_{suffix}.{fmt}"


def write(
    publication: Publication,
    out_dir: Path,
    *,
    overwrite: bool = False,
    published: date | None = None,
) -> list[Path]:
    """Write the three CSV files, the Excel summary and the charts into ``out_dir``;
    return their paths.

    Every file is written into a temporary folder beside them first and then renamed
    into place, so a reader never sees half a file.  Existing files are refused unless
    ``overwrite``.  ``published`` is the date on the workbook's title sheet (default
    today).
    """
    names = file_names(publication)
    targets = [out_dir / name for name in names]
    existing = [t.name for t in targets if t.exists()]
    if existing and not overwrite:
        raise InputError(
            f"{', '.join(existing)} already in {out_dir}; use overwrite to replace",
            field="out",
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".ndoo-stats-", dir=out_dir))
    except OSError as exc:
        raise InputError(f"cannot write to {out_dir}: {exc.strerror or exc}", field="out") from exc
    try:
        csvfiles.write_age_gen(publication.age_gen, staging / names[0])
        csvfiles.write_reg_geog(publication.reg_geog, staging / names[1])
        csvfiles.write_res_geog(publication.res_geog, staging / names[2])
        workbook.write(publication, staging / names[3], published=published)
        for chart in charts.charts(publication.age_gen, publication.reg_geog):
            for fmt in CHART_FORMATS:
                content = charts.svg(chart) if fmt == "svg" else charts.png(chart)
                (staging / _chart_name(chart.name, publication.suffix, fmt)).write_bytes(content)
        for name, target in zip(names, targets, strict=True):
            (staging / name).replace(target)
    except OSError as exc:
        raise InputError(f"cannot write to {out_dir}: {exc.strerror or exc}", field="out") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return targets
