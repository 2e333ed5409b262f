"""The DuckDB engine: streams any size of dataset through one machine.

:meth:`DuckEngine.scan` reads only the NHS number column, in Arrow batches, and
classifies it with :class:`~ndoo.apply.rows.Tally`.  :meth:`DuckEngine.write` then
lets DuckDB copy the input to the output in one streaming, parallel pass, leaving out
the rows whose *stored* value is one of the few the scan collected — an anti-join
(``NOT EXISTS``, never ``NOT IN``, which a single NULL would empty) against a small
table — so the values written are the input's own.  A join does not keep row order in
DuckDB, so with more than one thread blocks of kept rows may come out interleaved;
``keep_order`` (``ndoo apply --keep-order``) sorts them back, at the price of a sort.
Memory is capped (``memory_limit``); what does not fit spills to a scratch folder, so
inputs larger than memory work.

CSV is read with every column as text, so codes with leading zeros and numbers as
typed reach the output unchanged; a file not in UTF-8 is converted for DuckDB and the
output written back in the input's encoding.  Database tables are staged through
:mod:`ndoo.apply.tables` into DuckDB's own storage first.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ndoo.apply import tables
from ndoo.apply.engine import Int64Array, Progress, Step, no_progress
from ndoo.apply.files import csv_header, missing_column, parquet_files, transcode
from ndoo.apply.locations import CsvDialect, Location
from ndoo.apply.rows import Counts, Lookup, Tally
from ndoo.errors import FileFormatError, InputError, NdooError

_BATCH_ROWS = 1 << 20
_INPUT = "ndoo_input"
_REMOVE = "ndoo_remove"
_SPEC_INPUT = "ndoo_spec_input"
_SPEC_REMOVE = "ndoo_spec_remove"
_ROW = "ndoo_row_number__"
_INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_TEXT_TYPES = ("DATE", "TIME", "TIMESTAMP")


def quote_identifier(name: str) -> str:
    """A DuckDB identifier, quoted: any name is safe, quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A DuckDB string literal (for COPY's target, which cannot be a parameter)."""
    return "'" + text.replace("'", "''") + "'"


def _csv_problem(exc: Exception, location: Location) -> NdooError:
    """DuckDB's CSV error as one message naming the file and line, never the row's values."""
    text = str(exc)
    found = _CSV_LINE.search(text)
    lines = text.splitlines()
    detail = ""
    for candidate in lines[2:5]:
        candidate = candidate.strip()
        if candidate and not candidate.startswith(("Possible fixes", "*")):
            detail = candidate
            break
    problem = detail.rstrip(".") if detail else "the row cannot be read as CSV"
    problem = problem[0].lower() + problem[1:] if problem else problem
    return FileFormatError(
        f"{problem} (nothing was written)",
        file=str(location.path),
        line=int(found.group(1)) if found else None,
    )


class DuckScan:
    """What :meth:`DuckEngine.scan` found, and the values to remove when writing."""

    def __init__(
        self, source: Location, column: str, tally: Tally, kind: pa.DataType, *, json: bool = False
    ) -> None:
        self.source = source
        self.column = column
        self.tally = tally
        self.kind = kind
        self.json = json  # the column is DuckDB JSON: judged and matched by its text
        self.counts: Counts = tally.finish()

    def distinct_numbers(self) -> Int64Array:
        return self.tally.distinct_numbers()


class DuckEngine:
    """Applies opt-outs with DuckDB (the default engine)."""

    name = "duckdb"

    def __init__(
        self,
        *,
        memory_limit: str = "3GB",
        progress: Progress = no_progress,
        threads: int | None = None,
        scratch: Path | None = None,
        keep_order: bool = False,
    ) -> None:
        self.progress = progress
        self.keep_order = keep_order
        self._scratch_owned = scratch is None
        self.scratch = Path(tempfile.mkdtemp(prefix="ndoo-apply-")) if scratch is None else scratch
        self._con = duckdb.connect(config={"preserve_insertion_order": True})
        self._con.execute("SET memory_limit = " + quote_literal(memory_limit))
        self._con.execute("SET temp_directory = " + quote_literal(str(self.scratch / "spill")))
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        self._opened: dict[Location, duckdb.DuckDBPyRelation] = {}
        self._staged = 0
        self._staged_names: dict[Location, str] = {}

    # -- reading --------------------------------------------------------------------

    def _relation(self, location: Location) -> duckdb.DuckDBPyRelation:
        if location not in self._opened:
            self._opened[location] = self._open(location)
        return self._opened[location]

    def _open(self, location: Location) -> duckdb.DuckDBPyRelation:
        con = self._con
        try:
            if location.format == "parquet":
                return con.read_parquet([str(p) for p in parquet_files(location)])
            if location.format == "csv":
                return self._open_csv(location)
            if location.format == "jsonl":
                return self._open_json(location)
            if location.format == "table":
                return self._stage(location)
        except duckdb.Error as exc:
            raise InputError(f"{location.describe()}: cannot be read ({_first_line(exc)})") from exc
        raise InputError(
            f"the DuckDB engine cannot read {location.format} locations; use --engine spark"
        )

    def _open_csv(self, location: Location) -> duckdb.DuckDBPyRelation:
        assert location.path is not None and location.dialect is not None
        dialect = location.dialect
        path = location.path
        if dialect.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            path = self.scratch / "input-utf8.csv"
            transcode(location.path, dialect.encoding, path, "utf-8")
        header = csv_header(path, dialect, location)
        return self._con.read_csv(
            str(path),
            header=True,
            auto_detect=False,
            columns={name: "VARCHAR" for name in header},
            sep=dialect.delimiter,
            quotechar=dialect.quote,
            escapechar=dialect.quote,
        )

    def _open_json(
        self, location: Location, con: duckdb.DuckDBPyConnection | None = None
    ) -> duckdb.DuckDBPyRelation:
        con = con or self._con
        path = str(location.path)
        relation = con.read_json(path, format="newline_delimited")
        types = [str(t) for t in relation.types]
        if any(t.startswith(_TEXT_TYPES) for t in types):
            # Keep dates and times as the text they were, so they are written back as is.
            columns = {
                name: ("VARCHAR" if kind.startswith(_TEXT_TYPES) else kind)
                for name, kind in zip(relation.columns, types, strict=True)
            }
            relation = con.read_json(path, format="newline_delimited", columns=columns)
        return relation

    def _stage(self, location: Location) -> duckdb.DuckDBPyRelation:
        reader = tables.reader(location)
        self._staged += 1
        name = f"ndoo_staged_{self._staged}"
        self._con.register(name + "_arrow", reader)
        self._con.execute(
            f"CREATE TABLE {quote_identifier(name)} AS "  # noqa: S608 - fixed names
            f"SELECT * FROM {quote_identifier(name + '_arrow')}"
        )
        self._con.unregister(name + "_arrow")
        self._staged_names[location] = name
        return self._con.table(name)

    def columns(self, location: Location) -> list[str]:
        return list(self._relation(location).columns)

    def scan(self, source: Location, column: str, lookup: Lookup | None) -> DuckScan:
        relation = self._relation(source)
        if column not in relation.columns:
            raise missing_column(column, list(relation.columns))
        total = _row_total(source)
        collect = ("withheld", "invalid", "missing")
        tally = Tally(lookup, collect=collect)
        kind: pa.DataType = pa.null()
        # JSON lines mixing "9000000009" and 9000000009 in one field give a JSON column,
        # whose text keeps the quotes: judge each value by its content instead.
        json = str(relation.types[relation.columns.index(column)]) == "JSON"
        selected = _json_text(quote_identifier(column)) if json else quote_identifier(column)
        self.progress(Step("scan", 0, total))
        try:
            reader = relation.select(selected).to_arrow_reader(_BATCH_ROWS)
            for batch in reader:
                kind = batch.schema.field(0).type
                tally.add(batch.column(0))
                self.progress(Step("scan", tally.counts.rows_in, total))
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            # An error past the first batch comes through Arrow's reader (as OSError).
            if source.format == "csv":
                raise _csv_problem(exc, source) from exc
            raise InputError(f"{source.describe()}: cannot be read ({_first_line(exc)})") from exc
        return DuckScan(source, column, tally, kind, json=json)

    # -- writing --------------------------------------------------------------------

    def write(self, scan: Any, target: Location, unmatched: str) -> int:
        assert isinstance(scan, DuckScan)
        query = self._keep_query(scan, unmatched)
        expected = scan.counts.rows_out(unmatched)
        if target.format == "table":
            written = self._write_table(query, target, scan.source)
        else:
            written = self._copy(query, target, expected, scan.source)
        if written != expected:
            raise NdooError(
                f"the DuckDB engine wrote {written} rows where the scan expected {expected}; "
                "the output was not kept"
            )
        return written

    def _keep_query(self, scan: DuckScan, unmatched: str) -> str:
        self._relation(scan.source).create_view(_INPUT, replace=True)
        # Withheld rows always go; invalid and blank ones only when dropped.
        classes = ("withheld",) if unmatched == "keep" else ("withheld", "invalid", "missing")
        removed = scan.tally.to_remove(scan.kind, classes)
        column = f"{_INPUT}.{quote_identifier(scan.column)}"
        column = _json_text(column) if scan.json else column
        conditions = []
        if len(removed):
            self._con.register(_REMOVE + "_arrow", pa.table({"v": removed}))
            self._con.execute(
                f"CREATE OR REPLACE TEMP TABLE {_REMOVE} AS SELECT DISTINCT v FROM {_REMOVE}_arrow"  # noqa: S608 - fixed names
            )
            self._con.unregister(_REMOVE + "_arrow")
            conditions.append(
                f"NOT EXISTS (SELECT 1 FROM {_REMOVE} WHERE {_REMOVE}.v = {column})"  # noqa: S608
            )
        if unmatched != "keep" and scan.tally.null_seen:
            conditions.append(f"{column} IS NOT NULL")
        if not len(removed):
            where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
            return f"SELECT * FROM {_INPUT}{where}"  # noqa: S608 - identifiers quoted
        if not self.keep_order:
            return f"SELECT * FROM {_INPUT} WHERE {' AND '.join(conditions)}"  # noqa: S608
        return _in_order(_INPUT, " AND ".join(conditions))

    def _copy(self, query: str, target: Location, expected: int, source: Location) -> int:
        assert target.path is not None
        path = target.path
        if target.is_folder:
            path.mkdir(parents=True, exist_ok=True)
            path = path / "part-00000.parquet"
        dialect = target.dialect or source.dialect or CsvDialect()
        convert = target.format == "csv" and (
            dialect.bom or dialect.encoding.lower().replace("_", "-") not in ("utf-8", "utf8")
        )
        written_to = self.scratch / "output-utf8.csv" if convert else path
        options = _copy_options(target, dialect)
        statement = f"COPY ({query}) TO {quote_literal(str(written_to))} ({options})"
        written = self._run_with_progress(statement, expected)
        if convert:
            transcode(written_to, "utf-8", path, dialect.encoding, bom=dialect.bom)
            written_to.unlink()
        return written

    # -- writing while the scan runs ------------------------------------------------

    def speculate(
        self,
        source: Location,
        column: str,
        lookup: Lookup,
        target: Location,
        then: Callable[[], Any] | None = None,
    ) -> Speculation | None:
        """Start writing ``target`` now, on a second connection, while the caller scans.

        The write removes the rows whose number is withheld and keeps every other
        row, which is the right output whenever the scan finds no unmatched row (or
        they are to be kept) and no unchecked one; the caller checks that with
        :meth:`Speculation.fits` and otherwise cancels it.  Offered only where the
        column holds integers (a stored value is then its own number) and the output
        is a Parquet or JSON lines file or folder: None otherwise.  ``then`` runs in
        the same thread after the write (hashing the output).
        """
        if target.format not in ("parquet", "jsonl") or source.format == "csv":
            return None
        relation = self._relation(source)
        if column not in relation.columns:
            return None
        kind = str(relation.types[relation.columns.index(column)])
        if kind not in _INTEGER_TYPES:
            return None
        cursor = self._con.cursor()
        if source.format == "parquet":
            spec_input = cursor.read_parquet([str(p) for p in parquet_files(source)])
        elif source.format == "jsonl":
            spec_input = self._open_json(source, cursor)
        else:
            spec_input = cursor.table(self._staged_names[source])
        spec_input.create_view(_SPEC_INPUT, replace=True)
        cursor.register(_SPEC_REMOVE + "_arrow", pa.table({"v": lookup.withheld}))
        cursor.execute(
            f"CREATE OR REPLACE TEMP TABLE {_SPEC_REMOVE} AS SELECT v FROM {_SPEC_REMOVE}_arrow"  # noqa: S608 - fixed names
        )
        cursor.unregister(_SPEC_REMOVE + "_arrow")
        key = f"{_SPEC_INPUT}.{quote_identifier(column)}"
        condition = f"NOT EXISTS (SELECT 1 FROM {_SPEC_REMOVE} WHERE {_SPEC_REMOVE}.v = {key})"  # noqa: S608
        query = (
            _in_order(_SPEC_INPUT, condition)
            if self.keep_order
            else f"SELECT * FROM {_SPEC_INPUT} WHERE {condition}"  # noqa: S608 - quoted
        )
        assert target.path is not None
        path = target.path
        if target.is_folder:
            path.mkdir(parents=True, exist_ok=True)
            path = path / "part-00000.parquet"
        statement = (
            f"COPY ({query}) TO {quote_literal(str(path))} ({_copy_options(target, CsvDialect())})"
        )
        return Speculation(cursor, statement, then, progress=self.progress)

    def _run_with_progress(self, statement: str, expected: int) -> int:
        """Run a COPY on the engine's own connection, reporting its progress."""
        write = Speculation(self._con, statement, None, progress=self.progress, owned=False)
        return write.result(expected)[0]

    def _write_table(self, query: str, target: Location, source: Location) -> int:
        reader = self._con.sql(query).to_arrow_reader(_BATCH_ROWS // 8)
        return tables.write(target, reader, reader.schema, source=source)

    def close(self) -> None:
        try:
            self._con.close()
        finally:
            if self._scratch_owned:
                shutil.rmtree(self.scratch, ignore_errors=True)


class Speculation:
    """A COPY running in its own thread: beside the scan (:meth:`DuckEngine.speculate`),
    or after it; :meth:`result` waits for it, reporting DuckDB's progress meanwhile."""

    def __init__(
        self,
        cursor: duckdb.DuckDBPyConnection,
        statement: str,
        then: Callable[[], Any] | None,
        *,
        progress: Progress = no_progress,
        owned: bool = True,
    ) -> None:
        self._cursor = cursor
        self._owned = owned  # a cursor of its own, closed when done
        self._progress = progress
        self._result: dict[str, Any] = {}
        self._thread = threading.Thread(
            target=self._work, args=(statement, then), name="ndoo-apply-write", daemon=True
        )
        self._thread.start()

    def _work(self, statement: str, then: Callable[[], Any] | None) -> None:
        try:
            row = self._cursor.execute(statement).fetchone()
            self._result["rows"] = int(row[0]) if row else 0
            if then is not None:
                self._result["then"] = then()
        except BaseException as exc:  # handed to the caller's thread
            self._result["error"] = exc

    @staticmethod
    def fits(counts: Counts, unmatched: str) -> bool:
        """Whether the speculative output is the one the scan calls for."""
        return counts.uncovered == 0 and (counts.unmatched == 0 or unmatched == "keep")

    def result(self, expected: int) -> tuple[int, Any]:
        """Rows written and what ``then`` returned, once the write ends (errors raise).

        ``expected`` rows is the total the progress reports count towards.
        """
        self._progress(Step("write", 0, expected))
        while self._thread.is_alive():
            self._thread.join(0.25)
            try:
                share = float(self._cursor.query_progress())
            except duckdb.Error:
                share = -1.0
            if share >= 0:
                self._progress(Step("write", expected * min(share, 100.0) / 100.0, expected))
        self._close()
        error = self._result.get("error")
        if isinstance(error, duckdb.Error):
            raise NdooError(f"the output could not be written ({_first_line(error)})") from error
        if error is not None:
            raise error
        self._progress(Step("write", expected, expected))
        return int(self._result["rows"]), self._result.get("then")

    def cancel(self) -> None:
        """Stop the write and wait for its thread (the caller removes what it wrote)."""
        if self._thread.is_alive():
            with contextlib.suppress(duckdb.Error):
                self._cursor.interrupt()
        self._thread.join()
        self._close()

    def _close(self) -> None:
        if self._owned:
            self._cursor.close()


# ---------------------------------------------------------------------------------


def _json_text(expression: str) -> str:
    """A JSON value's content as text: a string unquoted, a number as written, null as NULL."""
    return f"json_extract_string({expression}, '$')"


def _in_order(view: str, condition: str) -> str:
    """The rows of ``view`` meeting ``condition`` (an anti-join), in the input's order.

    DuckDB keeps row order through WHERE but not through a join, even with
    ``preserve_insertion_order`` (its "order preservation" page): with more than one
    thread an anti-join's output comes out with blocks of rows interleaved.  With
    ``keep_order`` the rows are numbered first (``row_number() OVER ()`` keeps order)
    and sorted back on that number — a sort of the whole output, which spills to disk
    beyond the memory limit, so it is asked for, not the default.
    """
    return (
        f"SELECT * EXCLUDE ({_ROW}) FROM "  # noqa: S608 - fixed names, quoted identifiers
        f"(SELECT *, row_number() OVER () AS {_ROW} FROM {view}) AS {view} "
        f"WHERE {condition} ORDER BY {_ROW}"
    )


def _copy_options(target: Location, dialect: CsvDialect) -> str:
    if target.format == "parquet":
        return "FORMAT parquet"
    if target.format == "csv":
        return (
            f"FORMAT csv, HEADER true, DELIMITER {quote_literal(dialect.delimiter)}, "
            f"QUOTE {quote_literal(dialect.quote)}, ESCAPE {quote_literal(dialect.quote)}"
        )
    if target.format == "jsonl":
        return "FORMAT json"
    raise InputError(f"the DuckDB engine cannot write {target.format} locations")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _row_total(location: Location) -> int:
    """Rows in a Parquet input, from the files' footers (0 when not known cheaply)."""
    if location.format != "parquet":
        return 0
    try:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in parquet_files(location))
    except (OSError, pa.ArrowException):
        return 0
