"""The counts of each month laid out as the official tables: columns, labels and orders.

Rows exist only where the official pipeline makes them:

- ``age_gen``: one row per group with at least one opt-out (the counts are grouped
  first and list sizes joined on), living by (age, gender), (gender), (age) and
  (total), filled with ``All``; deceased by (gender) and (total), filled with
  ``All deceased``.  Unknown gender appears only with ``All`` or ``All deceased``.
  ``LIST_SIZE`` is 0 for Unknown gender and deceased rows, and ``OPT_OUT_RATE`` is 0
  where there is no list size.
- ``reg_geog``: every practice holding a list (with ``OPT_OUT`` 0 if none opted out),
  and one ``Unallocated`` row (``LIST_SIZE`` 0) if any opt-out has no such practice.
- ``res_geog``: every LSOA with an opt-out; LSOAs not in the 2011 lookup, and people
  with none, are ``Unallocated``.

``ACH_DATE`` is kept as a date here; the files write it as text (:mod:`csvfiles`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ndoo import geography
from ndoo.stats.counting import AGE_BANDS, Counts, MonthCounts
from ndoo.stats.source import FEMALE, MALE, UNKNOWN, Practices

UNALLOCATED = "Unallocated"
ALL = "All"
ALL_DECEASED = "All deceased"
UNKNOWN_GENDER = "Unknown / Prefer not to say"
GENDER_LABELS = {MALE: "Male", FEMALE: "Female", UNKNOWN: UNKNOWN_GENDER}

#: Sort orders of the official ``age_gen`` file.
AGE_ORDER: tuple[str, ...] = (*AGE_BANDS, ALL, "Unknown", ALL_DECEASED)
GENDER_ORDER: tuple[str, ...] = (ALL, ALL_DECEASED, "Female", "Male", UNKNOWN_GENDER)

AGE_GEN_COLUMNS = ("ACH_DATE", "AGE_BAND", "GENDER", "OPT_OUT", "LIST_SIZE", "OPT_OUT_RATE")
PRACTICE_COLUMNS = (
    "GP_PRACTICE",
    "POSTCODE",
    "PRACTICE_NAME",
    "SUB_ICB_LOCATION_CODE",
    "ONS_SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_NAME",
    "ONS_ICB_CODE",
    "ICB_CODE",
    "ICB_NAME",
    "COMM_REGION_CODE",
    "ONS_COMM_REGION_CODE",
    "COMM_REGION_NAME",
)
REG_GEOG_COLUMNS = ("ACH_DATE", *PRACTICE_COLUMNS, "OPT_OUT", "LIST_SIZE")
LSOA_COLUMNS = (
    "LSOA_CODE",
    "LSOA_NAME",
    "SUB_ICB_LOCATION_CODE",
    "ONS_SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_NAME",
    "LA_CODE",
    "LA_NAME",
)
RES_GEOG_COLUMNS = ("ACH_DATE", *LSOA_COLUMNS, "OPT_OUT")
NATIONAL_COLUMNS = ("ACH_DATE", "OPT_OUT", "LIST_SIZE", "DECEASED")
SUB_ICB_COLUMNS = (
    "ONS_SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_NAME",
    "OPT_OUT",
    "LIST_SIZE",
    "DECEASED",
)


def rate(opt_out: int, list_size: int) -> float:
    """100 × opt-outs / list size; 0 where there is no list size (as ``age_gen`` fills it)."""
    return 100.0 * opt_out / list_size if list_size else 0.0


def age_gen(months: Sequence[MonthCounts]) -> pa.Table:
    rows: list[tuple[date, str, str, int, int]] = []
    for m in months:
        for band, label in enumerate((*AGE_BANDS, "Unknown")):
            for gender in (FEMALE, MALE):  # Unknown gender by a known age band is suppressed
                rows.append((m.day, label, GENDER_LABELS[gender], int(m.opt_out[band, gender]),
                             int(m.list_size[band, gender])))  # fmt: skip
            rows.append((m.day, label, ALL, int(m.opt_out[band].sum()),
                         int(m.list_size[band].sum())))  # fmt: skip
        for gender in (FEMALE, MALE, UNKNOWN):
            rows.append((m.day, ALL, GENDER_LABELS[gender], int(m.opt_out[:, gender].sum()),
                         int(m.list_size[:, gender].sum())))  # fmt: skip
            rows.append((m.day, ALL_DECEASED, GENDER_LABELS[gender], int(m.deceased[gender]), 0))
        rows.append((m.day, ALL, ALL, m.total_opt_out, m.total_list_size))
        rows.append((m.day, ALL_DECEASED, ALL_DECEASED, m.total_deceased, 0))
    rows = [r for r in rows if r[3] > 0]
    rows.sort(key=lambda r: (-r[0].toordinal(), GENDER_ORDER.index(r[2]), AGE_ORDER.index(r[1])))
    return pa.table(
        {
            "ACH_DATE": pa.array([r[0] for r in rows], pa.date32()),
            "AGE_BAND": pa.array([r[1] for r in rows], pa.string()),
            "GENDER": pa.array([r[2] for r in rows], pa.string()),
            "OPT_OUT": pa.array([r[3] for r in rows], pa.int64()),
            "LIST_SIZE": pa.array([r[4] for r in rows], pa.int64()),
            "OPT_OUT_RATE": pa.array([rate(r[3], r[4]) for r in rows], pa.float64()),
        }
    )


def practice_labels(practices: Practices) -> pa.Table:
    """One row per practice, then one ``Unallocated`` row: the text columns of ``reg_geog``.

    Sub-ICB, ICB and region come from the practice's ``sub_icb_code`` and the packaged
    ONS lookup; a code the lookup does not know leaves those columns ``Unallocated``.
    """
    lookup = geography.sub_icb_locations()
    at = pc.index_in(practices.sub_icb_code, value_set=lookup.column("SUB_ICB_LOCATION_CODE"))
    columns: dict[str, pa.Array] = {
        "GP_PRACTICE": practices.code,
        "POSTCODE": practices.postcode,
        "PRACTICE_NAME": practices.name,
        "SUB_ICB_LOCATION_CODE": practices.sub_icb_code,
    }
    for name in PRACTICE_COLUMNS[4:]:
        columns[name] = lookup.column(name).take(at)
    return _with_unallocated(columns, PRACTICE_COLUMNS)


def lsoa_labels() -> pa.Table:
    """One row per 2011 LSOA, then one ``Unallocated`` row: the text columns of ``res_geog``."""
    lookup = geography.lsoas()
    return _with_unallocated({n: lookup.column(n) for n in LSOA_COLUMNS}, LSOA_COLUMNS)


def _with_unallocated(columns: dict[str, pa.Array], names: tuple[str, ...]) -> pa.Table:
    filled = []
    for name in names:
        given = columns[name]
        if isinstance(given, pa.ChunkedArray):
            given = given.combine_chunks()
        values = pa.concat_arrays([given.cast(pa.string()), pa.array([None], pa.string())])
        filled.append(pc.fill_null(values, UNALLOCATED))
    return pa.table(filled, names=list(names))


def _month_rows(
    labels: pa.Table, day: date, rows: npt.NDArray[np.int64], counts: dict[str, Counts]
) -> pa.Table:
    table = labels.take(pa.array(rows, pa.int64()))
    table = table.add_column(0, "ACH_DATE", pa.array([day] * len(rows), pa.date32()))
    for name, values in counts.items():
        table = table.append_column(name, pa.array(values, pa.int64()))
    return table


def _unallocated(m: MonthCounts) -> tuple[int, int]:
    """Living and deceased opt-outs with no practice holding a list."""
    practices = m.holds_list.size
    living = int(m.practice_opt_out[practices]) + int(
        m.practice_opt_out[:practices][~m.holds_list].sum()
    )
    dead = int(m.practice_deceased[practices]) + int(
        m.practice_deceased[:practices][~m.holds_list].sum()
    )
    return living, dead


def reg_geog(months: Sequence[MonthCounts], labels: pa.Table) -> pa.Table:
    parts = []
    for m in months:
        practices = m.holds_list.size
        rows = np.flatnonzero(m.holds_list)
        opt_out = m.practice_opt_out[rows]
        list_size = m.practice_list[rows]
        living, _ = _unallocated(m)
        if living:
            rows = np.append(rows, practices)
            opt_out = np.append(opt_out, living)
            list_size = np.append(list_size, 0)
        parts.append(_month_rows(labels, m.day, rows, {"OPT_OUT": opt_out, "LIST_SIZE": list_size}))
    table = _concat(parts, REG_GEOG_COLUMNS, labels)
    return table.sort_by([("ACH_DATE", "descending"), ("GP_PRACTICE", "ascending")])


def res_geog(months: Sequence[MonthCounts], labels: pa.Table) -> pa.Table:
    parts = []
    for m in months:
        rows = np.flatnonzero(m.lsoa_opt_out)
        parts.append(_month_rows(labels, m.day, rows, {"OPT_OUT": m.lsoa_opt_out[rows]}))
    table = _concat(parts, RES_GEOG_COLUMNS, labels)
    return table.sort_by([("ACH_DATE", "descending"), ("LSOA_CODE", "ascending")])


def _concat(parts: list[pa.Table], names: tuple[str, ...], labels: pa.Table) -> pa.Table:
    if parts:
        return pa.concat_tables(parts).select(list(names)).combine_chunks()
    fields = [pa.field("ACH_DATE", pa.date32()), *labels.schema]
    fields += [
        pa.field(n, pa.int64()) for n in names if n not in labels.column_names and n != "ACH_DATE"
    ]
    return pa.schema(fields).empty_table().select(list(names))


def national(months: Sequence[MonthCounts]) -> pa.Table:
    """Table 1's figures: each month's living opt-outs, list size and deceased, newest first."""
    ordered = sorted(months, key=lambda m: m.day, reverse=True)
    return pa.table(
        {
            "ACH_DATE": pa.array([m.day for m in ordered], pa.date32()),
            "OPT_OUT": pa.array([m.total_opt_out for m in ordered], pa.int64()),
            "LIST_SIZE": pa.array([m.total_list_size for m in ordered], pa.int64()),
            "DECEASED": pa.array([m.total_deceased for m in ordered], pa.int64()),
        }
    )


def sub_icb(m: MonthCounts, labels: pa.Table) -> pa.Table:
    """Table 4's figures for one month: by Sub-ICB location of the practice, with deceased.

    Practices holding a list are grouped by their Sub-ICB location (code, ONS code,
    name); opt-outs and deceased people with no such practice are ``Unallocated``.
    Rows are ordered by code, as the official table's grouping orders them.
    """
    rows = np.flatnonzero(m.holds_list)
    codes = labels.column("SUB_ICB_LOCATION_CODE").to_pylist()
    ons = labels.column("ONS_SUB_ICB_LOCATION_CODE").to_pylist()
    names = labels.column("SUB_ICB_LOCATION_NAME").to_pylist()
    sums: dict[tuple[str, str, str], list[int]] = {}
    for p in rows.tolist():
        key = (codes[p], ons[p], names[p])
        total = sums.setdefault(key, [0, 0, 0])
        total[0] += int(m.practice_opt_out[p])
        total[1] += int(m.practice_list[p])
        total[2] += int(m.practice_deceased[p])
    living, dead = _unallocated(m)
    if living or dead:
        total = sums.setdefault((UNALLOCATED,) * 3, [0, 0, 0])
        total[0] += living
        total[2] += dead
    keys = sorted(sums)
    return pa.table(
        {
            "ONS_SUB_ICB_LOCATION_CODE": pa.array([k[1] for k in keys], pa.string()),
            "SUB_ICB_LOCATION_CODE": pa.array([k[0] for k in keys], pa.string()),
            "SUB_ICB_LOCATION_NAME": pa.array([k[2] for k in keys], pa.string()),
            "OPT_OUT": pa.array([sums[k][0] for k in keys], pa.int64()),
            "LIST_SIZE": pa.array([sums[k][1] for k in keys], pa.int64()),
            "DECEASED": pa.array([sums[k][2] for k in keys], pa.int64()),
        }
    )
