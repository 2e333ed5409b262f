"""The register, read for the statistics: a few compact columns, fetched in chunks.

Nothing here builds a Python object per person that outlives its chunk: PostgreSQL
streams ``COPY … TO STDOUT`` as CSV into Arrow; SQLite's rows are turned into Arrow
columns a chunk at a time.  NHS numbers become ``int64`` once, on arrival.

Two sets of columns are kept:

- :class:`Registered`, for list sizes: everyone registered at a practice in the
  ``gp_practice`` table (practice index, gender, birth year and month-day, death day);
- :class:`OptedOut`, for the opt-out counts: everyone with an opt-out record that
  touches the window, with their practice and LSOA as well.

A person's practice and LSOA are their *current* ``gp_practice_code`` and
``lsoa_code``: the register keeps no history of either, so a person who moved practice
is counted at their new practice in every month of the window.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import Connection, Select, select

from ndoo import geography
from ndoo.db import Database
from ndoo.db.models import choice_record, gp_practice, person
from ndoo.errors import StorageError

Int8s = npt.NDArray[np.int8]
Int16s = npt.NDArray[np.int16]
Int32s = npt.NDArray[np.int32]
Int64s = npt.NDArray[np.int64]

#: The death day of someone with no date of death: later than any snapshot.
NEVER = np.iinfo(np.int32).max
#: The end of a record still open: later than any snapshot (microseconds).
OPEN = np.iinfo(np.int64).max

#: Gender codes kept in the columns (the register's '1' and '2'; '0', '9' → 0).
UNKNOWN, MALE, FEMALE = 0, 1, 2

_CHUNK_ROWS = 200_000
_COPY_BLOCK = 32 << 20
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Practices:
    """The ``gp_practice`` table, sorted by code (codes whitespace-stripped)."""

    code: pa.Array
    name: pa.Array
    sub_icb_code: pa.Array
    postcode: pa.Array

    def __len__(self) -> int:
        return len(self.code)

    @property
    def has_postcode(self) -> npt.NDArray[np.bool_]:
        """Practices with a postcode: only these can hold a list (see ``counting``)."""
        blank = pc.equal(pc.utf8_trim_whitespace(self.postcode), "")
        missing = pc.or_kleene(pc.is_null(self.postcode), pc.fill_null(blank, True))
        return ~np.asarray(missing.to_numpy(zero_copy_only=False), dtype=bool)


@dataclass(frozen=True)
class Registered:
    """Everyone registered at a known practice, one row each."""

    practice: Int32s
    gender: Int8s
    birth_year: Int16s
    birth_md: Int16s
    death: Int32s


@dataclass(frozen=True)
class OptedOut:
    """Everyone with an opt-out record in the window, sorted by NHS number.

    ``practice`` is -1 for no practice (or one not in ``gp_practice``); ``lsoa`` is -1
    for no LSOA or one not in the 2011 LSOA lookup.
    """

    nhs_number: Int64s
    gender: Int8s
    birth_year: Int16s
    birth_md: Int16s
    death: Int32s
    practice: Int32s
    lsoa: Int32s


@dataclass(frozen=True)
class Records:
    """Opt-out (``OUT``) records: NHS number, start and end in microseconds since 1970 UTC.

    ``end`` is :data:`OPEN` for a record still in force.  As in ``choice_record``, the
    end is exclusive: the instant the next choice took effect.
    """

    nhs_number: Int64s
    start: Int64s
    end: Int64s


@dataclass(frozen=True)
class Register:
    practices: Practices
    registered: Registered
    opted_out: OptedOut
    records: Records


def microseconds(day: date) -> int:
    """Midnight UTC at the start of ``day``, in microseconds since 1970."""
    return (datetime.combine(day, time.min) - _EPOCH) // timedelta(microseconds=1)


def is_test_number(numbers: Int64s) -> npt.NDArray[np.bool_]:
    """Numbers the official statistics drop: 9xx (test) and 1111111111 … 9999999999."""
    repeated = (numbers > 0) & (numbers % 1_111_111_111 == 0)
    result: npt.NDArray[np.bool_] = (numbers >= 9_000_000_000) | repeated
    return result


def read_register(
    db: Database,
    *,
    first_day: date,
    last_day: date,
    drop_test_numbers: bool,
    chunk_rows: int = _CHUNK_ROWS,
) -> Register:
    """The columns the publication needs for snapshots from ``first_day`` to ``last_day``."""
    with db.read() as conn:
        practices = _practices(conn)
        records = _records(conn, first_day, last_day, drop_test_numbers, chunk_rows)
        wanted = np.unique(records.nhs_number)
        registered, opted_out = _people(conn, practices, wanted, chunk_rows)
    return Register(practices, registered, opted_out, records)


def _practices(conn: Connection) -> Practices:
    rows = conn.execute(
        select(gp_practice.c.code, gp_practice.c.name, gp_practice.c.sub_icb_code,
               gp_practice.c.postcode)
    ).all()  # fmt: skip
    table = pa.table(
        {
            "code": pa.array([str(r.code).strip() for r in rows], type=pa.string()),
            "name": pa.array([r.name for r in rows], type=pa.string()),
            "sub_icb_code": pa.array([str(r.sub_icb_code).strip() for r in rows], pa.string()),
            "postcode": pa.array([r.postcode for r in rows], type=pa.string()),
        }
    ).sort_by("code")
    return Practices(*(table.column(n).combine_chunks() for n in table.column_names))


def _records(
    conn: Connection, first_day: date, last_day: date, drop_test: bool, chunk_rows: int
) -> Records:
    query = select(
        choice_record.c.nhs_number, choice_record.c.record_start, choice_record.c.record_end
    ).where(choice_record.c.state == "OUT")
    low, high = microseconds(first_day), microseconds(last_day + timedelta(days=1))
    numbers: list[Int64s] = []
    starts: list[Int64s] = []
    ends: list[Int64s] = []
    for chunk in _chunks(conn, query, ["nhs_number", "start", "end"], chunk_rows):
        number = _int64(chunk.column("nhs_number"))
        start = _micros(chunk.column("start"), OPEN)
        end = _micros(chunk.column("end"), OPEN)
        # The window: in force at some moment between first_day and the end of last_day.
        keep = (start < high) & (end > low)
        if drop_test:
            keep &= ~is_test_number(number)
        numbers.append(number[keep])
        starts.append(start[keep])
        ends.append(end[keep])
    return Records(_cat(numbers, np.int64), _cat(starts, np.int64), _cat(ends, np.int64))


def _people(
    conn: Connection, practices: Practices, wanted: Int64s, chunk_rows: int
) -> tuple[Registered, OptedOut]:
    query = select(
        person.c.nhs_number,
        person.c.date_of_birth,
        person.c.gender,
        person.c.gp_practice_code,
        person.c.lsoa_code,
        person.c.date_of_death,
    )
    names = ["nhs_number", "born", "gender", "practice", "lsoa", "died"]
    lsoa_codes = geography.lsoas().column("LSOA_CODE")
    kept: dict[str, list[Any]] = {k: [] for k in Registered.__dataclass_fields__}
    found: dict[str, list[Any]] = {k: [] for k in OptedOut.__dataclass_fields__}
    for chunk in _chunks(conn, query, names, chunk_rows):
        number = _int64(chunk.column("nhs_number"))
        born = pc.cast(chunk.column("born"), pa.date32())
        year = _numpy(pc.year(born), np.int16)
        md = _numpy(pc.add(pc.multiply(pc.month(born), 100), pc.day(born)), np.int16)
        gender = _gender(chunk.column("gender"))
        death = _days(chunk.column("died"))
        codes = pc.utf8_trim_whitespace(chunk.column("practice"))
        practice = _numpy(pc.fill_null(pc.index_in(codes, value_set=practices.code), -1), np.int32)
        registered = practice >= 0
        kept_now = {"practice": practice, "gender": gender, "birth_year": year,
                    "birth_md": md, "death": death}  # fmt: skip
        for key, values in kept_now.items():
            kept[key].append(values[registered])
        hit = _members(number, wanted)
        if not hit.any():
            continue
        lsoa = pc.utf8_trim_whitespace(chunk.column("lsoa").filter(pa.array(hit)))
        found["lsoa"].append(
            _numpy(pc.fill_null(pc.index_in(lsoa, value_set=lsoa_codes), -1), np.int32)
        )
        found["nhs_number"].append(number[hit])
        for key in ("gender", "birth_year", "birth_md", "death", "practice"):
            found[key].append(kept_now[key][hit])
    # One column at a time, each list freed as it is joined: the peak stays near one copy.
    registered_columns = Registered(
        **{key: _cat(kept.pop(key), _DTYPES[key]) for key in Registered.__dataclass_fields__}
    )
    opted = {k: _cat(v, _DTYPES[k]) for k, v in found.items()}
    order = np.argsort(opted["nhs_number"], kind="stable")
    return registered_columns, OptedOut(**{k: v[order] for k, v in opted.items()})


_DTYPES: dict[str, Any] = {
    "nhs_number": np.int64,
    "gender": np.int8,
    "birth_year": np.int16,
    "birth_md": np.int16,
    "death": np.int32,
    "practice": np.int32,
    "lsoa": np.int32,
}


def _members(numbers: Int64s, sorted_set: Int64s) -> npt.NDArray[np.bool_]:
    if sorted_set.size == 0:
        return np.zeros(numbers.shape, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, numbers), sorted_set.size - 1)
    result: npt.NDArray[np.bool_] = sorted_set[at] == numbers
    return result


def _cat(parts: list[Any], dtype: Any) -> Any:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)


def _numpy(values: pa.Array | pa.ChunkedArray, dtype: Any) -> Any:
    return np.asarray(values.to_numpy(zero_copy_only=False)).astype(dtype, copy=False)


def _int64(values: pa.Array | pa.ChunkedArray) -> Int64s:
    result: Int64s = _numpy(pc.cast(pc.utf8_trim_whitespace(values), pa.int64()), np.int64)
    return result


def _gender(values: pa.Array | pa.ChunkedArray) -> Int8s:
    code = pc.fill_null(pc.cast(values, pa.int8()), UNKNOWN)
    raw = _numpy(code, np.int8)
    result: Int8s = np.where((raw == MALE) | (raw == FEMALE), raw, UNKNOWN).astype(np.int8)
    return result


def _days(values: pa.Array | pa.ChunkedArray) -> Int32s:
    days = pc.cast(pc.cast(values, pa.date32()), pa.int32())
    result: Int32s = _numpy(pc.fill_null(days, NEVER), np.int32)
    return result


def _micros(values: pa.Array | pa.ChunkedArray, missing: int) -> Int64s:
    stamps = pc.cast(pc.cast(values, pa.timestamp("us")), pa.int64())
    result: Int64s = _numpy(pc.fill_null(stamps, missing), np.int64)
    return result


def _chunks(
    conn: Connection, query: Select[Any], names: list[str], chunk_rows: int
) -> Iterator[pa.Table]:
    """The rows of ``query`` as tables of text columns, ``chunk_rows`` or so at a time."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw: Any = conn.connection.dbapi_connection
    try:
        if conn.dialect.name == "postgresql":
            yield from _copy_chunks(raw, sql, names)
        else:
            yield from _cursor_chunks(raw, sql, names, chunk_rows)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise StorageError(f"database error ({type(exc).__name__}) while reading") from exc


def _cursor_chunks(raw: Any, sql: str, names: list[str], chunk_rows: int) -> Iterator[pa.Table]:
    cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk_rows):
            columns = zip(*rows, strict=True)
            yield pa.table([pa.array(c, pa.string()) for c in columns], names=names)
    finally:
        cursor.close()


def _copy_chunks(raw: Any, sql: str, names: list[str]) -> Iterator[pa.Table]:
    read = pa_csv.ReadOptions(column_names=names, use_threads=True)
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
    )

    def parse(block: bytes) -> pa.Table:
        return pa_csv.read_csv(io.BytesIO(block), read_options=read, convert_options=convert)

    pending = bytearray()
    with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        for data in copy:
            pending += data
            if len(pending) >= _COPY_BLOCK:
                cut = pending.rfind(b"\n") + 1
                yield parse(bytes(pending[:cut]))
                del pending[:cut]
    if pending:
        yield parse(bytes(pending))
