"""Datasets held as database tables: read in batches, written to a new table, swapped in.

A table is named by a SQLAlchemy URL and a table name (``schema.table`` for a schema).
Identifiers are always quoted by SQLAlchemy and values always bound, so any name —
quotes, semicolons, spaces — is safe.  An output table is written under a temporary
name and renamed in one transaction (:func:`swap`), so readers see the old table or
the whole new one, never a part.  Column types come from the input table when it is
one (reflected), otherwise from the Arrow types.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from ndoo.apply.locations import Location
from ndoo.db.engine import normalise_url
from ndoo.errors import InputError, StorageError
from ndoo.settings import mask_url

_BATCH_ROWS = 50_000


def _split(name: str) -> tuple[str | None, str]:
    schema, _, table = name.rpartition(".")
    return (schema or None), table


@contextmanager
def _engine(location: Location) -> Iterator[Engine]:
    assert location.url is not None
    try:
        engine = sa.create_engine(normalise_url(location.url))
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise InputError(f"{mask_url(location.url)} is not a usable database URL ({exc})") from exc
    try:
        yield engine
    finally:
        engine.dispose()


def _connect_error(location: Location, exc: Exception) -> InputError:
    reason = str(getattr(exc, "orig", exc) or type(exc).__name__).strip().splitlines()[0]
    return InputError(f"cannot reach the database {mask_url(location.url or '')} ({reason})")


def _reflect(conn: sa.Connection, location: Location) -> sa.Table:
    assert location.table is not None
    schema, name = _split(location.table)
    try:
        return sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
    except NoSuchTableError:
        existing = sa.inspect(conn).get_table_names(schema=schema)
        shown = ", ".join(repr(t) for t in sorted(existing)[:20]) or "none"
        raise InputError(
            f"the database {mask_url(location.url or '')} has no table {location.table!r}; "
            f"its tables are: {shown}"
        ) from None


_ARROW: list[tuple[type[sa.types.TypeEngine[Any]], pa.DataType]] = [
    (sa.Boolean, pa.bool_()),
    (sa.SmallInteger, pa.int16()),
    (sa.BigInteger, pa.int64()),
    (sa.Integer, pa.int64()),
    (sa.Float, pa.float64()),
    (sa.DateTime, pa.timestamp("us")),
    (sa.Date, pa.date32()),
    (sa.Time, pa.time64("us")),
    (sa.LargeBinary, pa.binary()),
    (sa.String, pa.string()),
]


def _arrow_type(kind: sa.types.TypeEngine[Any]) -> pa.DataType:
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        if kind.precision is not None and kind.precision <= 38:
            return pa.decimal128(kind.precision, kind.scale or 0)
        return pa.float64() if kind.asdecimal is False else pa.string()
    for family, arrow in _ARROW:
        if isinstance(kind, family):
            return arrow
    return pa.string()


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _converter(kind: sa.types.TypeEngine[Any]) -> Callable[[Any], str] | None:
    """How a column read as text (numeric, uuid, inet, interval...) becomes text, if it must.

    JSON values and arrays become JSON, so that :func:`write` can restore them exactly.
    """
    if isinstance(kind, sa.JSON | sa.ARRAY):
        return json.dumps
    return _as_text if _arrow_type(kind) == pa.string() else None


def reader(location: Location, batch_rows: int = _BATCH_ROWS) -> pa.RecordBatchReader:
    """The table's rows as Arrow batches, streamed from the database in table order."""
    with _engine(location) as engine:
        try:
            with engine.connect() as conn:
                table = _reflect(conn, location)
        except SQLAlchemyError as exc:
            raise _connect_error(location, exc) from exc
    schema = pa.schema([(c.name, _arrow_type(c.type)) for c in table.columns])
    converters = [_converter(c.type) for c in table.columns]

    def batches() -> Iterator[pa.RecordBatch]:
        with _engine(location) as engine, engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(
                sa.select(table)
            )
            for part in result.partitions(batch_rows):
                yield pa.record_batch(
                    [
                        pa.array(
                            [row[i] for row in part]
                            if convert is None
                            else [None if row[i] is None else convert(row[i]) for row in part],
                            type=field.type,
                        )
                        for i, (field, convert) in enumerate(zip(schema, converters, strict=True))
                    ],
                    schema=schema,
                )

    return pa.RecordBatchReader.from_batches(schema, batches())


_SQL: list[tuple[Any, sa.types.TypeEngine[Any]]] = [
    (pa.types.is_boolean, sa.Boolean()),
    (pa.types.is_int8, sa.SmallInteger()),
    (pa.types.is_int16, sa.SmallInteger()),
    (pa.types.is_int32, sa.Integer()),
    (pa.types.is_integer, sa.BigInteger()),
    (pa.types.is_floating, sa.Float()),
    (pa.types.is_timestamp, sa.DateTime()),
    (pa.types.is_date, sa.Date()),
    (pa.types.is_time, sa.Time()),
    (pa.types.is_binary, sa.LargeBinary()),
    (pa.types.is_large_binary, sa.LargeBinary()),
]


def _sql_type(kind: pa.DataType) -> sa.types.TypeEngine[Any]:
    if pa.types.is_decimal(kind):
        return sa.Numeric(kind.precision, kind.scale)
    if pa.types.is_dictionary(kind):
        return _sql_type(kind.value_type)
    for test, sql in _SQL:
        if test(kind):
            return sql
    return sa.Text()


def _columns(
    schema: pa.Schema, source: Location | None, conn: sa.Connection
) -> list[sa.Column[Any]]:
    if source is not None and source.format == "table" and source.url is not None:
        with _engine(source) as engine, engine.connect() as source_conn:
            reflected = _reflect(source_conn, source)
        same = make_dialect_name(source.url) == conn.dialect.name
        types = {c.name: (c.type if same else c.type.as_generic()) for c in reflected.columns}
        if list(types) == schema.names:
            return [sa.Column(name, types[name]) for name in schema.names]
    return [sa.Column(field.name, _sql_type(field.type)) for field in schema]


def make_dialect_name(url: str) -> str:
    return sa.engine.make_url(normalise_url(url)).get_dialect().name


def exists(location: Location) -> bool:
    """Whether the table exists (a database that cannot be reached is an error)."""
    assert location.table is not None
    schema, name = _split(location.table)
    with _engine(location) as engine:
        try:
            with engine.connect() as conn:
                return bool(sa.inspect(conn).has_table(name, schema=schema))
        except SQLAlchemyError as exc:
            raise _connect_error(location, exc) from exc


def write(
    location: Location,
    batches: pa.RecordBatchReader | Iterator[pa.RecordBatch],
    schema: pa.Schema,
    *,
    source: Location | None = None,
) -> int:
    """Create the table (it must not exist) and insert every row; returns rows written."""
    assert location.table is not None
    schema_name, name = _split(location.table)
    written = 0
    with _engine(location) as engine:
        try:
            with engine.begin() as conn:
                table = sa.Table(
                    name,
                    sa.MetaData(),
                    *_columns(schema, source, conn),
                    schema=schema_name,
                )
                table.create(conn)
                insert = table.insert()
                # JSON and array columns of a table input were read as JSON text (reader()).
                structured = [
                    c.name for c in table.columns if isinstance(c.type, sa.JSON | sa.ARRAY)
                ]
                for batch in batches:
                    rows = batch.to_pylist()
                    for row in rows if structured else []:
                        for key in structured:
                            if isinstance(row[key], str):
                                row[key] = json.loads(row[key])
                    if rows:
                        conn.execute(insert, rows)
                        written += len(rows)
        except SQLAlchemyError as exc:
            if isinstance(exc, sa.exc.OperationalError) and written == 0:
                raise _connect_error(location, exc) from exc
            raise StorageError(
                f"the table {location.table!r} could not be written ({type(exc).__name__})"
            ) from exc
    return written


def drop(location: Location) -> None:
    """Drop the table if it exists (a temporary output after an error)."""
    assert location.table is not None
    schema, name = _split(location.table)
    with _engine(location) as engine:
        try:
            with engine.begin() as conn:
                sa.Table(name, sa.MetaData(), schema=schema).drop(conn, checkfirst=True)
        except SQLAlchemyError:
            pass


def swap(temporary: Location, final: Location, *, overwrite: bool) -> None:
    """Rename the temporary table to the final name in one transaction (dropping the old)."""
    assert temporary.table is not None and final.table is not None
    schema, name = _split(final.table)
    _, temp_name = _split(temporary.table)
    with _engine(final) as engine:
        try:
            with engine.begin() as conn:
                preparer = conn.dialect.identifier_preparer
                if sa.inspect(conn).has_table(name, schema=schema):
                    if not overwrite:
                        raise InputError(
                            f"the table {final.table!r} already exists; "
                            "give --overwrite to replace it"
                        )
                    sa.Table(name, sa.MetaData(), schema=schema).drop(conn)
                qualified = (
                    f"{preparer.quote_schema(schema)}.{preparer.quote(temp_name)}"
                    if schema
                    else preparer.quote(temp_name)
                )
                conn.execute(sa.text(f"ALTER TABLE {qualified} RENAME TO {preparer.quote(name)}"))
        except SQLAlchemyError as exc:
            raise StorageError(
                f"the table {final.table!r} could not be put in place ({type(exc).__name__})"
            ) from exc


def count_rows(location: Location) -> int:
    """Rows in the table now."""
    with _engine(location) as engine:
        try:
            with engine.connect() as conn:
                table = _reflect(conn, location)
                return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        except SQLAlchemyError as exc:
            raise _connect_error(location, exc) from exc
