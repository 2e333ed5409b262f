"""The Apache Spark engine: the same row semantics as DuckDB, on a cluster or one machine.

:meth:`SparkEngine.scan` reads the dataset as a Spark DataFrame and gives every row a
*key* with an Arrow UDF that calls :func:`ndoo.uphold.values.parse_column` and
:func:`ndoo.apply.rows.blank` on each batch, so numbers are normalised exactly as
everywhere else: the valid number, or ``-1`` (missing) or ``-2`` (invalid).  The
opt-out information becomes two small DataFrames from the :class:`Lookup` arrays —
the withheld numbers and, for a cleaned list, the covered ones — joined with
``broadcast`` so the dataset is never shuffled.  One Spark job summarises each file
split (rows of each class, the first problem rows) and counts the distinct patients.

:meth:`SparkEngine.write` removes rows with a broadcast anti-join on the withheld
numbers and a broadcast semi-join on the covered ones (the unmatched rows' keys are
added to the covered set when they are kept), then writes whole rows, every column
as read, never the normalised number.

Row order is the input's: files in path order (as the DuckDB engine reads a folder),
then their position in the file, known from ``_metadata`` and
``monotonically_increasing_id``.  When Spark's partitions already follow that order
(one file, or files Spark happens to list in order) nothing is sorted; otherwise the
rows are sorted by it before writing.  A single-file output is written with
``coalesce(1)`` to a scratch folder beside it and its one part file moved into place.

Spark logs can hold rows' values (a malformed record), so a session this engine
creates logs nothing below FATAL; errors are raised with the file and line, never a
value.  pyspark is an optional extra (``pip install 'ndoo[spark]'``), imported only
when the engine is built; executors need ndoo installed to run the UDF.  What runs on
the executors is in :mod:`ndoo.apply.sparkrows`, the file handling in
:mod:`ndoo.apply.sparkio`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ndoo.apply.engine import Int64Array, Progress, Scan, Step, no_progress
from ndoo.apply.locations import CsvDialect, Location
from ndoo.apply.rows import Counts, Lookup
from ndoo.apply.sparkio import codec, csv_header, csv_options, json_order, malformed, tidy_folder
from ndoo.apply.sparkrows import (
    INVALID,
    INVALID_KEY,
    KEPT,
    MISSING,
    MISSING_KEY,
    SUMMARY,
    UNCOVERED,
    WITHHELD,
    row_keys,
    summarise,
    tally,
)
from ndoo.errors import ConfigurationError, FileFormatError, InputError, NdooError
from ndoo.uphold.values import parse_column

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

INSTALL = "install the spark extra: pip install 'ndoo[spark]' (pyspark 4.1 or later, Java 17+)"
_FILE, _BLOCK, _ROW, _KEY, _STATE = (
    "__ndoo_file",
    "__ndoo_block",
    "__ndoo_row",
    "__ndoo_key",
    "__ndoo_state",
)
_NUMBER, _RANK = "__ndoo_number", "__ndoo_rank"
_QUIET = "PySpark does not yet fully support pandas"
_SETTINGS = {
    "spark.sql.caseSensitive": "true",  # 'NHS' and 'nhs' are two columns
    # Timestamps keep their Parquet type (Spark's default is the legacy INT96).
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


@dataclass
class SparkScan:
    """What :meth:`SparkEngine.scan` found, and how to read the rows again in order."""

    counts: Counts
    source: Location
    column: str
    lookup: Lookup | None
    frame: DataFrame  # every column, plus the file, block and row id
    columns: list[str]
    schema: pa.Schema | None  # a database table's Arrow types
    ranks: dict[str, int]
    needs_sort: bool
    keyed: DataFrame  # key and state of every row (cached)

    def distinct_numbers(self) -> Int64Array:
        from pyspark.sql import functions as F

        with _quiet():
            table = self.keyed.where(F.col(_KEY) > 0).select(_KEY).distinct().toArrow()
        numbers = np.asarray(table.column(0).to_numpy(), dtype=np.int64)
        result: Int64Array = np.sort(numbers)
        return result


class SparkEngine:
    """Applies opt-outs with Apache Spark (``--engine spark``)."""

    name = "spark"

    def __init__(
        self,
        *,
        master: str = "local[2]",
        progress: Progress = no_progress,
        spark: SparkSession | None = None,
    ) -> None:
        self.progress = progress
        if spark is None:
            spark, self._owned = _session(master)
        else:
            _require_pyspark()
            self._owned = False
        self.spark: SparkSession = spark
        self._cached: list[DataFrame] = []
        self._scratch_dir: Path | None = None
        self._key = _key_udf()

    # -- reading ----------------------------------------------------------------------

    def _load(self, source: Location) -> tuple[DataFrame, list[str], pa.Schema | None]:
        """The dataset with each row's file, block and row id; its columns; a table's types."""
        from pyspark.sql import functions as F

        spark = self.spark
        files = True
        schema = None
        if source.format == "csv":
            assert source.path is not None
            dialect = source.dialect or CsvDialect()
            names = csv_header(source.path, dialect)
            options = csv_options(dialect) | {"multiLine": "true", "mode": "FAILFAST"}
            path = self._utf8(source.path, dialect)
            raw = spark.read.options(**options, inferSchema="false").csv(str(path))
            if len(raw.columns) != len(names):
                raise FileFormatError("the header cannot be read", file=str(source.path), line=1)
        elif source.format == "parquet":
            from ndoo.apply.files import parquet_files

            raw = spark.read.parquet(*[str(p) for p in parquet_files(source)])
            names = list(raw.columns)
        elif source.format == "jsonl":
            assert source.path is not None
            raw = spark.read.options(mode="FAILFAST").json(str(source.path))
            names = json_order(source.path, raw.columns)
        elif source.format == "spark":
            assert source.table is not None
            raw = spark.table(source.table)
            names, files = list(raw.columns), bool(raw.inputFiles())
        elif source.format == "table":
            from ndoo.apply import tables

            data = tables.reader(source).read_all()
            raw = spark.createDataFrame(data)
            names, files, schema = list(raw.columns), False, data.schema
        else:
            raise InputError(f"the Spark engine cannot read {source.format} locations")
        if files:
            file, block = F.col("_metadata.file_path"), F.col("_metadata.file_block_start")
        else:
            file, block = F.lit(""), F.lit(0).cast("long")
        # Spark's CSV names stand in for the header's (Spark renames empty ones).
        given = raw.columns if source.format == "csv" else names
        frame = raw.select(
            *[_column(old).alias(new) for old, new in zip(given, names, strict=True)],
            file.alias(_FILE),
            block.alias(_BLOCK),
            F.monotonically_increasing_id().alias(_ROW),
        )
        return frame, names, schema

    def _utf8(self, path: Path, dialect: CsvDialect) -> Path:
        """The CSV file, or a UTF-8 copy of it (Spark reads few encodings)."""
        if codec(dialect.encoding) == "utf-8":
            return path
        from ndoo.apply.files import transcode

        copy = self._scratch() / f"input-{uuid.uuid4().hex[:8]}.csv"
        transcode(path, dialect.encoding, copy, "utf-8")
        return copy

    def _scratch(self) -> Path:
        if self._scratch_dir is None:
            self._scratch_dir = Path(tempfile.mkdtemp(prefix="ndoo-spark-"))
        return self._scratch_dir

    def scan(self, source: Location, column: str, lookup: Lookup | None) -> SparkScan:
        self.progress(Step("scan", 0, 1))
        with _errors(source), _settings(self.spark):
            frame, names, schema = self._load(source)
            if column not in names:
                from ndoo.apply.files import missing_column

                raise missing_column(column, names)
            if any(name.startswith("__ndoo_") for name in names):
                raise InputError("column names starting with '__ndoo_' are reserved")
            _check_type(frame, column, source)
            self._release()  # an earlier scan's cache is not needed any more
            keyed = self._classify(frame, column, lookup).persist()
            self._cached.append(keyed)
            summary = keyed.select(_FILE, _BLOCK, _ROW, _STATE).mapInArrow(summarise, SUMMARY)
            # One Spark job: each split's summary carries the dataset's patient counts too.
            splits = summary.crossJoin(self._patients(keyed)).toArrow().to_pylist()
            counts, ranks, needs_sort = tally(splits)
            if splits:
                counts.distinct_in = int(splits[0]["distinct_in"] or 0)
                counts.distinct_out = int(splits[0]["distinct_out"] or 0)
        self.progress(Step("scan", 1, 1))
        return SparkScan(
            counts, source, column, lookup, frame, names, schema, ranks, needs_sort, keyed
        )

    def _classify(self, frame: DataFrame, column: str, lookup: Lookup | None) -> DataFrame:
        from pyspark.sql import functions as F

        rows = frame.select(_FILE, _BLOCK, _ROW, self._key(_column(column)).alias(_KEY))
        key = F.col(_KEY)
        state = F.when(key == MISSING_KEY, MISSING).when(key == INVALID_KEY, INVALID)
        if lookup is not None:
            withheld = self._numbers(lookup.withheld).withColumn("__w", F.lit(True))
            rows = rows.join(F.broadcast(withheld), key == F.col(_NUMBER), "left").drop(_NUMBER)
            state = state.when(F.col("__w").isNotNull(), WITHHELD)
            if lookup.covered is not None:
                covered = self._numbers(lookup.covered).withColumn("__c", F.lit(True))
                rows = rows.join(F.broadcast(covered), key == F.col(_NUMBER), "left")
                state = state.when(F.col("__c").isNull(), UNCOVERED)
        return rows.select(_FILE, _BLOCK, _ROW, _KEY, state.otherwise(KEPT).alias(_STATE))

    def _numbers(self, numbers: Int64Array, *extra: int) -> DataFrame:
        values = np.unique(np.concatenate([np.asarray(numbers, dtype=np.int64), extra]))
        return self.spark.createDataFrame(pa.table({_NUMBER: pa.array(values, pa.int64())}))

    def _patients(self, keyed: DataFrame) -> DataFrame:
        """One row: the distinct valid numbers, and those with a row kept."""
        from pyspark.sql import functions as F

        patients = (
            keyed.where(F.col(_KEY) > 0)
            .groupBy(_KEY)
            .agg(F.max((F.col(_STATE) == KEPT).cast("int")).alias("kept"))
        )
        return patients.agg(
            F.count(F.lit(1)).alias("distinct_in"), F.sum("kept").alias("distinct_out")
        )

    # -- writing ----------------------------------------------------------------------

    def write(self, scan: Scan, target: Location, unmatched: str) -> int:
        assert isinstance(scan, SparkScan)
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        expected = scan.counts.rows_out(unmatched)
        self.progress(Step("write", 0, expected))
        self._release()
        with _errors(scan.source, target), _settings(self.spark):
            rows = scan.frame.withColumn(_KEY, self._key(_column(scan.column)))
            key = F.col(_KEY)
            if unmatched != "keep":
                rows = rows.where(key > 0)
            lookup = scan.lookup
            if lookup is not None:
                withheld = F.broadcast(self._numbers(lookup.withheld))
                rows = rows.join(withheld, key == F.col(_NUMBER), "left_anti")
                if lookup.covered is not None:
                    kept_keys = (MISSING_KEY, INVALID_KEY) if unmatched == "keep" else ()
                    covered = F.broadcast(self._numbers(lookup.covered, *kept_keys))
                    rows = rows.join(covered, key == F.col(_NUMBER), "left_semi")
            if scan.needs_sort:
                ranks = self.spark.createDataFrame(
                    pa.table({_FILE: list(scan.ranks), _RANK: list(scan.ranks.values())})
                )
                rows = rows.join(F.broadcast(ranks), _FILE, "left").orderBy(_RANK, _BLOCK, _ROW)
            out = rows.select(*[_column(n) for n in scan.columns])
            observation = Observation("ndoo_written")
            out = out.observe(observation, F.count(F.lit(1)).alias("rows"))
            self._save(out, scan, target)
            written = int(observation.get["rows"])
        if written != expected:
            raise NdooError(
                f"the Spark engine wrote {written} rows where the scan expected {expected}; "
                "the output was not kept"
            )
        self.progress(Step("write", expected, expected))
        return written

    def _save(self, out: DataFrame, scan: SparkScan, target: Location) -> None:
        if target.format == "spark":
            assert target.table is not None
            out.write.mode("overwrite").saveAsTable(target.table)
            return
        if target.format == "table":
            from ndoo.apply import tables

            table = out.toArrow()
            if scan.schema is not None and scan.schema.names == table.schema.names:
                with suppress(pa.ArrowException):  # as Spark gives them, if they do not
                    table = table.cast(scan.schema)
            batches = iter(table.to_batches(50_000))
            tables.write(target, batches, table.schema, source=scan.source)
            return
        kind = {"parquet": "parquet", "csv": "csv", "jsonl": "json"}.get(target.format)
        if kind is None or target.path is None:
            raise InputError(f"the Spark engine cannot write {target.format} locations")
        dialect = target.dialect or scan.source.dialect or CsvDialect()
        options = {"ignoreNullFields": "false"} if kind == "json" else {}
        if kind == "csv":
            options = csv_options(dialect) | {"nullValue": ""}
        if target.is_folder:
            out.write.format(kind).options(**options).mode("overwrite").save(str(target.path))
            tidy_folder(target.path)
            return
        scratch = target.path.with_name(f".{target.path.name}.spark-{uuid.uuid4().hex[:8]}")
        try:
            single = out.coalesce(1).write.format(kind).options(**options)
            single.mode("overwrite").save(str(scratch))
            parts = sorted(p for p in scratch.iterdir() if p.name.startswith("part-"))
            if len(parts) != 1:
                raise NdooError(f"Spark wrote {len(parts)} part files where one was expected")
            if kind == "csv" and (dialect.bom or codec(dialect.encoding) != "utf-8"):
                from ndoo.apply.files import transcode

                transcode(parts[0], "utf-8", target.path, dialect.encoding, bom=dialect.bom)
            else:
                os.replace(parts[0], target.path)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # -- Spark tables: what release.py does with files, for a catalog ------------------

    def table_exists(self, location: Location) -> bool:
        assert location.table is not None
        with _errors(location):
            return bool(self.spark.catalog.tableExists(location.table))

    def drop_table(self, location: Location) -> None:
        """Drop a (temporary) output table if it exists."""
        assert location.table is not None
        with _errors(location, location):
            self.spark.sql(f"DROP TABLE IF EXISTS {_identifier(location.table)}")

    def move_table(self, temporary: Location, final: Location, *, overwrite: bool) -> None:
        """Rename the temporary output table to its final name (dropping the old one first:
        a Spark catalog has no transaction, so there is a moment with neither)."""
        assert temporary.table is not None and final.table is not None
        if self.table_exists(final):
            if not overwrite:
                raise InputError(
                    f"{final.describe()} already exists; give --overwrite to replace it"
                )
            self.drop_table(final)
        with _errors(temporary, final):
            self.spark.sql(
                f"ALTER TABLE {_identifier(temporary.table)} RENAME TO {_identifier(final.table)}"
            )

    def _release(self) -> None:
        """Drop cached scans (a scan used later is recomputed, not lost)."""
        for frame in self._cached:
            frame.unpersist()
        self._cached.clear()

    def close(self) -> None:
        self._release()
        if self._scratch_dir is not None:
            shutil.rmtree(self._scratch_dir, ignore_errors=True)
            self._scratch_dir = None
        if self._owned:
            self.spark.stop()
            self._owned = False


# ---------------------------------------------------------------------------------
# The session, the UDF, warnings and errors


def _require_pyspark() -> None:
    try:
        import pyspark
    except ImportError as exc:
        raise ConfigurationError(f"the Spark engine needs pyspark; {INSTALL}") from exc
    major, minor = (int(p) for p in pyspark.__version__.split(".")[:2])
    if (major, minor) < (4, 1):
        raise ConfigurationError(f"pyspark {pyspark.__version__} is too old; {INSTALL}")


def _session(master: str) -> tuple[SparkSession, bool]:
    """The session this process already runs (not owned), or a new one (owned)."""
    _require_pyspark()
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is not None:
        return SparkSession.builder.getOrCreate(), False
    return session(master), True


def session(master: str = "local[2]", config: dict[str, str] | None = None) -> SparkSession:
    """A new Spark session as ndoo runs one: no UI, few shuffle partitions, UTC, quiet logs.

    ``config`` adds or overrides Spark settings (e.g. ``spark.sql.warehouse.dir``).
    """
    _require_pyspark()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    settings = (
        {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.memory": "2g",
        }
        | _SETTINGS
        | (config or {})
    )
    builder = SparkSession.builder.master(master).appName("ndoo apply")
    for name, value in settings.items():
        builder = builder.config(name, value)
    with _quiet():
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # no Java, a cluster that cannot be reached
            raise ConfigurationError(
                f"Spark could not start on {master!r} ({type(exc).__name__}); Java 17 or "
                "later must be installed (JAVA_HOME) and the master reachable"
            ) from exc
    spark.sparkContext.setLogLevel("FATAL")
    return spark


def _key_udf() -> Any:
    from pyspark.sql.pandas.functions import arrow_udf

    # The type hints make it a scalar Arrow UDF (the stubs only know the older spelling).
    make: Any = arrow_udf
    return make(row_keys, "long")


@contextmanager
def _settings(spark: SparkSession) -> Iterator[None]:
    """The settings the engine relies on, for one step; a session's own come back after."""
    before = {name: spark.conf.get(name) for name in _SETTINGS}
    for name, value in _SETTINGS.items():
        spark.conf.set(name, value)
    try:
        yield
    finally:
        for name, old in before.items():
            if old is None:
                spark.conf.unset(name)
            else:
                spark.conf.set(name, old)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence pyspark's warning about pandas 3 (ndoo hands it Arrow, not pandas)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_QUIET, category=FutureWarning)
        yield


def _conditions(exc: BaseException) -> list[str]:
    """Spark's error conditions for an exception, outermost first (Java causes included)."""
    found: list[str] = []
    getter = getattr(exc, "getCondition", None)
    if callable(getter):
        found.append(str(getter() or ""))
    java = getattr(exc, "java_exception", None)
    while java is not None:
        try:
            found.append(str(java.getCondition() or java.getClass().getSimpleName()))
        except Exception:
            found.append(str(java.getClass().getSimpleName()))
        java = java.getCause()
    return found


@contextmanager
def _errors(source: Location, target: Location | None = None) -> Iterator[None]:
    """Spark's errors as ndoo's, naming the file and line but never a row's values."""
    from py4j.protocol import Py4JError  # type: ignore[import-untyped]
    from pyspark.errors import PySparkException

    try:
        with _quiet():
            yield
    except (PySparkException, Py4JError) as exc:
        conditions = _conditions(exc)
        text = " ".join(conditions)
        if "PATH_NOT_FOUND" in text:
            raise InputError(f"{source.describe()}: no such file or folder") from exc
        if "TABLE_OR_VIEW_NOT_FOUND" in text:
            raise InputError(f"{source.describe()}: no such Spark table") from exc
        if "PARQUET_TYPE_ILLEGAL" in text:
            raise InputError(
                f"{source.describe()}: holds a Parquet type Spark cannot read (nanosecond "
                "timestamps, most often); use the DuckDB engine or store microseconds"
            ) from exc
        if "MALFORMED" in text and source.path is not None:
            raise malformed(source) from None  # Spark's error holds the row's values
        reason = next((c for c in conditions if c), type(exc).__name__)
        if target is None or "FAILED_READ_FILE" in text:
            raise NdooError(f"{source.describe()}: Spark could not read it ({reason})") from exc
        raise NdooError(f"{target.describe()}: Spark could not write it ({reason})") from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if target is None:
            raise InputError(f"{source.describe()}: cannot be read ({reason})") from exc
        raise NdooError(f"{target.describe()}: cannot be written ({reason})") from exc


def _check_type(frame: DataFrame, column: str, source: Location) -> None:
    """Refuse a column parse_column refuses (floats, dates), as the DuckDB engine does."""
    from pyspark.sql.pandas.types import to_arrow_type

    kind = frame.schema[column].dataType
    try:
        arrow = to_arrow_type(kind)
    except Exception as exc:
        raise FileFormatError(
            f"holds {kind.simpleString()} values, not NHS numbers (text or whole numbers)",
            file=source.describe(),
            field=column,
        ) from exc
    parse_column(pa.nulls(1, arrow), file=source.describe(), field=column)


def _identifier(name: str) -> str:
    """A Spark table name, each part quoted (``db.table`` → ```db`.`table```)."""
    return ".".join("`" + part.replace("`", "``") + "`" for part in name.split("."))


def _column(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")
