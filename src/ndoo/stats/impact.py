"""``ndoo stats impact``: what applying opt-outs did to one release's cohort.

The official publication gives opt-out rates for England's population; a disclosure
inherits a bias of its own, because the people removed from *this* dataset are not
spread like the people kept.  :func:`impact` takes the manifest of an applied release
(:mod:`ndoo.apply.release`), reads the release's input and output again, and reports
for each dimension asked for — age band, sex, area — how many distinct people (NHS
numbers) were kept and removed in each category, the removal rate, and how well the
category is represented in what was released: its share of the kept people divided by
its share of the input (below 1, under-represented).  Categories come most
under-represented first.

Which people were removed is worked out from the data, not trusted to the manifest:
the NHS number column named in the manifest is normalised exactly as ``ndoo apply``
normalised it (:func:`ndoo.uphold.values.parse_column`), and a person is *removed*
when their number is in the input and not in the output.  Matching people, not rows,
is what the report counts (distinct people), needs only the one column of the output,
and does not depend on how a writer re-formatted the other columns; rows without a
valid NHS number are not people and are reported apart, from the manifest.  The run
refuses unless the data is the data released: the output files must still have the
SHA-256 the manifest recorded, the stored copy of the manifest (when a database is
given) must match it, and the rows and distinct people found in the input and output
must be the manifest's counts; every kept person must be in the input.

A person with rows in more than one category of a dimension (episodes at ages 39 and
40, a move between areas) is counted once, in the category most of their rows are in;
ties go to the first category (the youngest age band; the first code alphabetically).

Age bands are the publication's (``0-9`` … ``90+``), from an age column or from a date
of birth at ``as_of`` (the release's date unless given).  Sex is read from the common
codings (``1``/``2``/``0``/``9``/``X``, ``M``/``F``/``U``, ``Male``/``Female``); any
other value is kept as written.  Areas are 2011 LSOA codes, reported as they are or
mapped up to Sub-ICB locations, local authorities, ICBs or NHS England regions
(:mod:`ndoo.geography`).

Small cells: a cell with fewer than :data:`~ndoo.apply.notice.SMALL` people kept or
removed (but not none) is suppressed, and when a dimension would have exactly one
suppressed cell, its next-smallest cell (fewest people) is suppressed too, so the
hidden counts cannot be worked out from the dimension's totals.  A suppressed cell
shows no counts and no rates.  The DuckDB work is vectorised and spills to disk, so
datasets larger than memory work; no NHS number ever reaches the report or a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ndoo import geography
from ndoo.apply import manifest as manifests
from ndoo.apply.duck import DuckEngine, quote_identifier
from ndoo.apply.files import missing_column
from ndoo.apply.locations import Location, sniff_csv
from ndoo.db import Database
from ndoo.errors import InputError
from ndoo.stats.report import (
    AGE_BANDS,
    AREA_LEVELS,
    HIDDEN,
    UNKNOWN,
    ImpactReport,
    _dimension,
)
from ndoo.uphold.values import parse_column

_AREA_TITLES = {
    "lsoa": "LSOA",
    "sub_icb": "Sub-ICB location",
    "la": "Local authority",
    "icb": "ICB",
    "region": "NHS England region",
}
_BATCH_ROWS = 1 << 20
_ROWS = "ndoo_impact_rows"
_KEPT_ROWS = "ndoo_impact_kept_rows"
_INPUT = "ndoo_impact_input"
_GEOGRAPHY = "ndoo_impact_geography"
_DATE_TYPES = ("DATE", "TIMESTAMP")
_DIGITS = re.compile(r"\d(?:[ -]?\d){9}")

#: A value that is not shown because it could be an identifier (ten digits or more).


# ---------------------------------------------------------------------------------
# Reading the release


class _Reader(DuckEngine):
    """The DuckDB engine's readers (CSV as text, Parquet folders, JSON lines, staged
    tables) and its connection, for the report's own queries."""

    def relation(self, location: Location) -> duckdb.DuckDBPyRelation:
        return self._relation(location)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con


@dataclass(frozen=True)
class _Request:
    age_column: str | None
    date_of_birth_column: str | None
    as_of: date | None
    sex_column: str | None
    area_column: str | None
    area_level: str

    def dimensions(self) -> list[tuple[str, str, str]]:
        """(key, title, column) of each dimension asked for."""
        found = []
        age = self.age_column or self.date_of_birth_column
        if age:
            found.append(("age_band", "Age band", age))
        if self.sex_column:
            found.append(("sex", "Sex", self.sex_column))
        if self.area_column:
            found.append(("area", _AREA_TITLES[self.area_level], self.area_column))
        return found


def impact(
    manifest_path: Path,
    *,
    age_column: str | None = None,
    date_of_birth_column: str | None = None,
    as_of: date | None = None,
    sex_column: str | None = None,
    area_column: str | None = None,
    area_level: str = "lsoa",
    db: Database | None = None,
    url: str | None = None,
    memory_limit: str = "3GB",
) -> ImpactReport:
    """Report how the people a release removed are spread compared with those it kept.

    ``manifest_path`` is the release's manifest; name at least one of the age (or date
    of birth), sex and area columns.  ``db`` checks the manifest against the copy stored
    when the release was made; ``url`` is the database of a table input or output
    (manifests never hold passwords).  Raises :class:`~ndoo.errors.InputError` when the
    data is not what was released.
    """
    manifest = manifests.load(manifest_path)
    released_on = date.fromisoformat(str(manifest["finished_at"])[:10])
    request = _check_request(
        age_column,
        date_of_birth_column,
        as_of,
        sex_column,
        area_column,
        area_level,
        column=str(manifest["nhs_number_column"]),
        released_on=released_on,
    )
    if manifest.get("dry_run"):
        raise InputError(f"{manifest_path}: the manifest is from a dry run; nothing was released")
    if db is not None:
        _check_stored(db, manifest)
    source = _location(manifest["input"], url, "input")
    output = _location(manifest["output"], url, "output")
    _check_files(output, manifest["output"].get("files", []))
    reader = _Reader(memory_limit=memory_limit)
    try:
        counts, found = _count(reader, manifest, source, output, request)
    except (duckdb.Error, pa.ArrowException, OSError) as exc:
        # An error past the first batch comes through Arrow's reader (as OSError).
        raise InputError(f"the release could not be read ({_first_line(exc)})") from exc
    finally:
        reader.close()
    dimensions = []
    for key, title, column in request.dimensions():
        names = _area_names(request.area_level) if key == "area" else {}
        dimensions.append(_dimension(key, title, column, found[key], names))
    unmatched = manifest["unmatched"]
    notes = []
    if manifest.get("opt_outs") == "not applied":
        notes.append("Opt-outs did not apply to this disclosure; none were applied.")
    return ImpactReport(
        manifest=manifest_path,
        release_id=str(manifest["release_id"]),
        disclosure=str(manifest["disclosure"]),
        released_on=released_on,
        kept=counts["kept"],
        removed=counts["removed"],
        unmatched_rows=int(unmatched["rows_dropped"])
        if unmatched["decision"] == "drop"
        else int(unmatched["rows"]),
        unmatched_decision=str(unmatched["decision"]),
        dimensions=tuple(dimensions),
        area_level=request.area_level if area_column else None,
        as_of=request.as_of,
        notes=tuple(notes),
    )


def _check_request(
    age_column: str | None,
    date_of_birth_column: str | None,
    as_of: date | None,
    sex_column: str | None,
    area_column: str | None,
    area_level: str,
    *,
    column: str,
    released_on: date,
) -> _Request:
    if area_level not in AREA_LEVELS:
        raise InputError(
            f"unknown area level {area_level!r}; use one of {', '.join(AREA_LEVELS)}",
            field="area_level",
        )
    if age_column and date_of_birth_column:
        raise InputError("give an age column or a date of birth column, not both")
    if as_of is not None and not date_of_birth_column:
        raise InputError("an as-of date is used only with a date of birth column")
    if not (age_column or date_of_birth_column or sex_column or area_column):
        raise InputError("name at least one column to report by: age, date of birth, sex or area")
    for given in (age_column, date_of_birth_column, sex_column, area_column):
        if given == column:
            raise InputError(f"{given!r} is the NHS number column; it cannot be reported by")
    return _Request(
        age_column,
        date_of_birth_column,
        (as_of or released_on) if date_of_birth_column else None,
        sex_column,
        area_column,
        area_level,
    )


def _check_stored(db: Database, manifest: dict[str, Any]) -> None:
    stored = manifests.stored(db, str(manifest["release_id"]))
    if stored is None:
        raise InputError("the database holds no release with this manifest's id")
    if stored[0] != manifests.digest(manifest):
        raise InputError(
            "the manifest differs from the copy stored in the database when the release was made"
        )


def _location(entry: dict[str, Any], url: str | None, what: str) -> Location:
    if "database" in entry:
        if url is None:
            raise InputError(
                f"the release's {what} is a database table; give its URL (--url); "
                "manifests never hold passwords"
            )
        return Location("table", url=url, table=str(entry["table"]))
    if entry.get("format") == "spark":
        raise InputError(f"the release's {what} is a Spark table, which this report cannot read")
    location = manifests.location_from(entry)
    if location.path is not None and not location.path.exists():
        raise InputError(f"{location.path}: the release's {what} is missing")
    if location.format == "csv" and location.dialect is None and location.path is not None:
        location = Location("csv", path=location.path, dialect=sniff_csv(location.path))
    return location


def _check_files(output: Location, recorded: list[dict[str, Any]]) -> None:
    """Refuse an output whose files are not the ones released (SHA-256 and size)."""
    if output.path is None:
        return  # a table: its rows and people are checked against the manifest instead
    now = {str(f["name"]): f for f in manifests.file_hashes(output)}
    changed = sorted(
        str(f["name"])
        for f in recorded
        if (found := now.get(str(f["name"]))) is None
        or (found["sha256"], found["bytes"]) != (f["sha256"], f["bytes"])
    )
    extra = sorted(set(now) - {str(f["name"]) for f in recorded})
    if changed or extra:
        names = ", ".join(changed + extra)
        raise InputError(
            f"the output is not the one released: {names} changed, missing or added since "
            "(SHA-256 differs from the manifest); run `ndoo apply verify` for details"
        )


def _count(
    reader: _Reader,
    manifest: dict[str, Any],
    source: Location,
    output: Location,
    request: _Request,
) -> tuple[dict[str, int], dict[str, list[tuple[str, int, int]]]]:
    """Load the input's people and the output's numbers into DuckDB, check them against
    the manifest, and count kept and removed people per category of each dimension."""
    column = str(manifest["nhs_number_column"])
    con = reader.connection
    relation = reader.relation(source)
    for needed in (column, *(c for _, _, c in request.dimensions())):
        if needed not in relation.columns:
            raise missing_column(needed, list(relation.columns))
    relation.create_view(_INPUT, replace=True)
    types = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
    keys = [key for key, _, _ in request.dimensions()]
    select, join = _select(types, column, request)
    if join:
        con.register(_GEOGRAPHY, _geography(request.area_level))
    con.execute(
        f"CREATE OR REPLACE TABLE {_ROWS} (number BIGINT, "
        + ", ".join(f"{key} VARCHAR" for key in keys)
        + ")"
    )
    con.execute(f"CREATE OR REPLACE TABLE {_KEPT_ROWS} (number BIGINT)")
    writer = con.cursor()  # a second connection: a new query on the first ends the stream
    try:
        rows_in = _stream(
            con.sql(select, params={"as_of": request.as_of} if request.as_of else None),
            writer,
            _ROWS,
            keys,
        )
        out = reader.relation(output)
        if column not in out.columns:
            raise InputError(f"the output has no column {column!r}; it is not the release")
        kind = dict(zip(out.columns, (str(t) for t in out.types), strict=True))[column]
        rows_out = _stream(
            out.select(_text(quote_identifier(column), kind)),
            writer,
            _KEPT_ROWS,
            [],
        )
    finally:
        writer.close()
    counts = manifest["counts"]
    people_in, people_out, strangers = _people(con)
    expected = {
        "rows in the input": (rows_in, int(counts["rows_in"])),
        "rows in the output": (rows_out, int(counts["rows_out"])),
        "distinct people in the input": (people_in, int(counts["distinct_patients_in"])),
        "distinct people in the output": (people_out, int(counts["distinct_patients_out"])),
    }
    for what, (found, recorded) in expected.items():
        if found != recorded:
            raise InputError(
                f"the release has changed since it was made: {found:,} {what} where the "
                f"manifest records {recorded:,}"
            )
    if strangers:
        raise InputError(
            "the output holds people who are not in the input; it is not the release of this input"
        )
    found_counts = {key: _by_category(con, key) for key in keys}
    return {"kept": people_out, "removed": people_in - people_out}, found_counts


def _stream(
    source: duckdb.DuckDBPyRelation,
    writer: duckdb.DuckDBPyConnection,
    table: str,
    keys: list[str],
) -> int:
    """Normalise the first column of each batch as ``ndoo apply`` did and store the rows
    with a valid NHS number (the number and the other columns); the rows read."""
    rows = 0
    batches = source.to_arrow_reader(_BATCH_ROWS)
    assert batches is not None
    for batch in batches:
        rows += batch.num_rows
        numbers, valid = parse_column(batch.column(0))
        if not valid.any():
            continue
        keep = pa.array(valid)
        columns = {"number": pa.array(numbers[valid] if not valid.all() else numbers)}
        for i, key in enumerate(keys, start=1):
            columns[key] = batch.column(i).filter(keep)
        writer.register("ndoo_impact_batch", pa.table(columns))
        writer.execute(f"INSERT INTO {table} SELECT * FROM ndoo_impact_batch")  # noqa: S608
        writer.unregister("ndoo_impact_batch")
    return rows


def _people(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    """Distinct people in the input and the output, and output people not in the input."""
    con.execute(
        f"CREATE OR REPLACE TABLE ndoo_impact_kept AS SELECT DISTINCT number FROM {_KEPT_ROWS}"  # noqa: S608
    )
    row = con.execute(
        f"SELECT (SELECT count(DISTINCT number) FROM {_ROWS}), "  # noqa: S608 - fixed names
        "(SELECT count(*) FROM ndoo_impact_kept), "
        "(SELECT count(*) FROM ndoo_impact_kept AS k "
        f"WHERE NOT EXISTS (SELECT 1 FROM {_ROWS} AS r WHERE r.number = k.number))"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def _by_category(con: duckdb.DuckDBPyConnection, key: str) -> list[tuple[str, int, int]]:
    """(category, kept, removed) of one dimension: each person once, in their modal category."""
    rank = (
        "CASE category "
        + " ".join(f"WHEN '{band}' THEN {i}" for i, band in enumerate(AGE_BANDS))
        + f" ELSE {len(AGE_BANDS)} END"
        if key == "age_band"
        else "0"
    )
    query = f"""
        WITH per_value AS (
            SELECT number, {key} AS category, count(*) AS n FROM {_ROWS} GROUP BY ALL
        ), per_person AS (
            SELECT number, first(category ORDER BY n DESC, {rank}, category) AS category
            FROM per_value GROUP BY number
        )
        SELECT p.category,
               count(*) FILTER (WHERE k.number IS NOT NULL) AS kept,
               count(*) FILTER (WHERE k.number IS NULL) AS removed
        FROM per_person AS p LEFT JOIN ndoo_impact_kept AS k ON k.number = p.number
        GROUP BY p.category
    """  # noqa: S608 - fixed names and constant labels
    return [(str(c), int(k), int(r)) for c, k, r in con.execute(query).fetchall()]


# ---------------------------------------------------------------------------------
# Categories, in SQL over the input


def _text(expression: str, kind: str) -> str:
    """A column's values as text (a JSON value's content; numbers as written)."""
    if kind == "JSON":
        return f"json_extract_string({expression}, '$')"
    return expression


def _select(types: dict[str, str], column: str, request: _Request) -> tuple[str, bool]:
    """The query giving each input row's NHS number and categories; whether it joins areas."""
    source = f"{_INPUT} AS i"
    parts = [_text(f"i.{quote_identifier(column)}", types[column])]
    join = False
    if request.age_column:
        parts.append(_age_band(f"TRY_CAST({_value(request.age_column, types)} AS DOUBLE)"))
    elif request.date_of_birth_column:
        parts.append(_age_band(_age_at(request.date_of_birth_column, types)))
    if request.sex_column:
        parts.append(_sex(_value(request.sex_column, types)))
    if request.area_column:
        join = True
        code = f"upper({_value(request.area_column, types)})"
        source += f" LEFT JOIN {_GEOGRAPHY} AS g ON g.lsoa = {code}"
        raw = _guarded(code) if request.area_level == "lsoa" else "'Unrecognised'"
        parts.append(
            f"CASE WHEN {code} IS NULL OR {code} = '' THEN '{UNKNOWN}' "
            f"WHEN g.area IS NULL THEN {raw} ELSE g.area END"
        )
    return f"SELECT {', '.join(parts)} FROM {source}", join  # noqa: S608 - quoted


def _value(column: str, types: dict[str, str]) -> str:
    """A column as trimmed text (whole numbers without a trailing ``.0``)."""
    text = f"trim(CAST({_text(f'i.{quote_identifier(column)}', types[column])} AS VARCHAR))"
    return f"regexp_replace({text}, '^([0-9]+)\\.0+$', '\\1')"


def _guarded(text: str) -> str:
    """A raw value as a category, unless it could be an identifier (ten digits or more)."""
    return (
        f"CASE WHEN length(regexp_replace({text}, '[^0-9]', '', 'g')) >= 10 "
        f"OR length({text}) > 40 THEN '{HIDDEN}' ELSE {text} END"
    )


def _age_band(age: str) -> str:
    """The publication's age band of an age in years (DOUBLE); Unknown outside 0-150."""
    bands = " ".join(
        f"WHEN {age} < {10 * (i + 1)} THEN '{band}'" for i, band in enumerate(AGE_BANDS[:-1])
    )
    return (
        f"CASE WHEN {age} IS NULL OR {age} < 0 OR {age} >= 151 THEN '{UNKNOWN}' {bands} "
        f"ELSE '{AGE_BANDS[-1]}' END"
    )


def _age_at(column: str, types: dict[str, str]) -> str:
    """Completed years from a date of birth to the bound ``$as_of``, as DOUBLE."""
    kind = types[column]
    name = f"i.{quote_identifier(column)}"
    if kind.startswith(_DATE_TYPES):
        born = f"CAST({name} AS DATE)"
    else:
        text = f"trim(CAST({_text(name, kind)} AS VARCHAR))"
        born = (
            f"COALESCE(TRY_CAST({text} AS DATE), CAST(TRY_CAST({text} AS TIMESTAMP) AS DATE), "
            f"CAST(try_strptime({text}, '%d/%m/%Y') AS DATE), "
            f"CAST(try_strptime({text}, '%Y%m%d') AS DATE))"
        )
    as_of = "CAST($as_of AS DATE)"
    return (
        f"CAST(year({as_of}) - year({born}) - CASE WHEN month({born}) * 100 + day({born}) > "
        f"month({as_of}) * 100 + day({as_of}) THEN 1 ELSE 0 END AS DOUBLE)"
    )


def _sex(text: str) -> str:
    upper = f"upper({text})"
    return (
        f"CASE WHEN {text} IS NULL OR {text} = '' THEN '{UNKNOWN}' "
        f"WHEN {upper} IN ('1', 'M', 'MALE') THEN 'Male' "
        f"WHEN {upper} IN ('2', 'F', 'FEMALE') THEN 'Female' "
        f"WHEN {upper} IN ('0', '9', 'X', 'U', 'I', 'UNKNOWN', 'NOT KNOWN', 'NOT SPECIFIED', "
        f"'INDETERMINATE') THEN '{UNKNOWN}' ELSE {_guarded(text)} END"
    )


# ---------------------------------------------------------------------------------
# Geography


def _geography(level: str) -> pa.Table:
    """LSOA code → the code of the area reported (``lsoa``, ``area``)."""
    lsoas = geography.lsoas()
    codes = lsoas.column("LSOA_CODE")
    if level == "lsoa":
        area = codes
    elif level == "sub_icb":
        area = lsoas.column("SUB_ICB_LOCATION_CODE")
    elif level == "la":
        area = lsoas.column("LA_CODE")
    elif level == "icb":
        area = lsoas.column("ICB_CODE")
    else:
        regions = geography.region_of_sub_icb()
        area = pa.array(
            [regions[s][0] for s in lsoas.column("SUB_ICB_LOCATION_CODE").to_pylist()],
            type=pa.string(),
        )
    return pa.table({"lsoa": codes, "area": area})


def _area_names(level: str) -> dict[str, str]:
    if level == "region":
        table = geography.regions()
        pairs = zip(table.column("COMM_REGION_CODE"), table.column("COMM_REGION_NAME"), strict=True)
    elif level == "icb":
        table = geography.icbs()
        pairs = zip(table.column("ICB_CODE"), table.column("ICB_NAME"), strict=True)
    elif level == "la":
        table = geography.local_authorities()
        pairs = zip(table.column("LA_CODE"), table.column("LA_NAME"), strict=True)
    elif level == "sub_icb":
        table = geography.sub_icb_locations()
        pairs = zip(
            table.column("SUB_ICB_LOCATION_CODE"),
            table.column("SUB_ICB_LOCATION_NAME"),
            strict=True,
        )
    else:
        table = geography.lsoas()
        pairs = zip(table.column("LSOA_CODE"), table.column("LSOA_NAME"), strict=True)
    return {str(code): str(name) for code, name in pairs}


def _first_line(exc: Exception) -> str:
    """The first line of a dependency's message, unless it could hold an NHS number (a
    CSV error may quote the row)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    return type(exc).__name__ if not line or _DIGITS.search(line) else line
