"""Benchmark ``ndoo apply``: remove opted-out patients' rows from a dataset, file to file.

Run with ``python bench/bench_apply.py`` (``--help`` for options; ``--quick`` for a small
run).  It builds, in a scratch folder under the system's temporary directory:

* a real ndoo SQLite register holding 3.5 million opt-outs in force, drawn from about
  60 million synthetic valid NHS numbers (the never-issued 9xx range), loaded in bulk
  (:func:`ndoo.db.bulk.insert_table` into ``person`` and ``choice_record``, the table
  the snapshot reads);
* for each size (10 M and 100 M rows), a Parquet dataset in two layouts, written by
  pyarrow in row groups of 1 M rows: a 12-column hospital-episode extract (``wide``)
  and the 4-column, 28 bytes-a-row layout of the domain notes (``narrow``); rows draw
  their NHS number from the population, so about 5.8% of them are opted out;
* a CSV copy of the wide dataset (NHS numbers as text) for CSV→CSV.

It then times, in the same run, each in a fresh process (median of ``--runs``, the
order of the contenders rotated between runs, outputs removed and the disk synced
between runs, outside the timing):

1. ``ndoo apply`` end to end: :func:`ndoo.apply.release.apply` with the DuckDB engine
   as the CLI opens it (register snapshot, scan, write, SHA-256, manifest, audit);
2. a plain DuckDB copy of the same file, no filtering (default settings);
3. DuckDB's one-pass filtered copy (``NOT EXISTS`` against the 3.5 M opt-outs; no
   scan, no manifest) — for information: the least a filtered DuckDB copy costs;
4. Polars streaming: ``scan_parquet().join(how="anti").sink_parquet()``;
5. pandas: ``read_parquet`` → ``~isin`` → ``to_parquet`` (skipped where it would not
   fit in memory, estimated from its peak at the smaller size);
6. CSV→CSV: ``ndoo apply`` against DuckDB's plain CSV copy (every column as text).

The peak resident memory (``VmHWM``) of every process is recorded, and ``ndoo apply``
is broken down into its phases.  Every contender's output row count is checked
against the expected count.  The tables are printed and written to
``bench/results/apply.md``; the requirements are reported, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common import machine, table

RESULTS = Path(__file__).resolve().parent / "results" / "apply.md"
MAX_COPY_RATIO = 1.1  # ndoo apply at most this many times the plain DuckDB copy
MIN_PANDAS_RATIO = 5.0  # pandas takes more than this many times as long as ndoo
MAX_MEMORY_GIB = 4.0  # for a 100 M-row Parquet input
MIN_FREE_GIB = 40.0  # below this, the 100 M-row sizes are skipped
ROW_GROUP = 1_000_000
COLUMN = "nhs_number"
DISCLOSURE = "DSA-BENCH-001"
MEMORY_LIMIT = "3GB"  # the CLI's default (setting apply_memory_limit)
NDOO = "ndoo apply"
COPY = "DuckDB plain copy"
FILTERED = "DuckDB filtered copy (info)"
POLARS = "Polars streaming anti-join"
PANDAS = "pandas `isin`"
READ_COLUMN = "DuckDB read NHS column (info)"
#: Phases of ``ndoo apply``, timed by wrapping the library's functions (exclusive time:
#: a phase called inside another is not counted twice).  On the main thread they add
#: up to the run; "thread:" phases run beside the scan, in the engine's writer thread.
PHASES = (
    ("snapshot", "register snapshot (`_resolve` → `from_register`)"),
    ("speculate", "start the concurrent write (`_speculate`: opt-outs into DuckDB)"),
    ("index", "opt-out index (`NumberSet.from_numbers`)"),
    ("scan", "scan: DuckDB reads the NHS column to Arrow (`scan` less `Tally.add`)"),
    ("tally", "scan: `Tally.add` (parse, look up, count, collect)"),
    ("wait", "wait for the concurrent write to end (`Speculation.result`)"),
    ("write", "write after the scan (`write` less the two below)"),
    ("keep_query", "write after the scan: removal table (`_keep_query`)"),
    ("copy", "write after the scan: DuckDB `COPY … NOT EXISTS`"),
    ("sha256", "SHA-256 of the output (`file_hashes`), main thread"),
    ("rest", "the rest: engine, checks, manifest, release row, audit, moves"),
    ("thread:spec", "beside the scan: DuckDB `COPY … NOT EXISTS` (writer thread)"),
    ("thread:sha256", "beside the scan: SHA-256 of the output (writer thread)"),
)


# -- the data -------------------------------------------------------------------------


@dataclass
class Dataset:
    name: str  # e.g. "wide, 10 M rows"
    layout: str
    format: str
    rows: int
    path: Path
    expected_out: int  # rows not opted out
    columns: int
    mb: float = 0.0  # the file's size, once written

    def __post_init__(self) -> None:
        self.mb = self.path.stat().st_size / 1e6


def population(size: int, seed: int) -> npt.NDArray[np.int64]:
    from ndoo.nhs_number import generate_synthetic

    return generate_synthetic(size, np.random.default_rng(seed))


def build_register(path: Path, optouts: npt.NDArray[np.int64]) -> tuple[str, float, float]:
    """A SQLite register with ``optouts`` in force; its URL and the load and snapshot times."""
    from ndoo.db import Database
    from ndoo.db.bulk import insert_table
    from ndoo.db.migrate import upgrade
    from ndoo.db.models import choice_record, person
    from ndoo.nhs_number import to_text_array
    from ndoo.register.records import snapshot

    url = f"sqlite:///{path}"
    db = Database(url)
    upgrade(db)
    count = optouts.size
    rng = np.random.default_rng(11)
    # In key order, with start times ascending too, so that every index grows at its end.
    numbers = pa.array(to_text_array(np.sort(optouts)), pa.string())
    born = np.datetime64("1940-01-01") + rng.integers(0, 29000, count).astype("timedelta64[D]")
    people = pa.table(
        {
            "nhs_number": numbers,
            "date_of_birth": pa.array(born, pa.date32()),
            "gender": pa.array(np.where(rng.random(count) < 0.5, "1", "2"), pa.string()),
            "lacks_capacity": pa.array(np.zeros(count, bool)),
            "detained": pa.array(np.zeros(count, bool)),
        }
    )
    seconds = np.sort(rng.integers(0, 200_000_000, count))
    since = np.datetime64("2018-06-01T00:00:00", "us") + seconds.astype("timedelta64[s]")
    records = pa.table(
        {
            "nhs_number": numbers,
            "state": pa.array(np.full(count, "OUT"), pa.string()),
            "record_start": pa.array(since, pa.timestamp("us")),
            "record_end": pa.nulls(count, pa.timestamp("us")),
        }
    )
    start = time.perf_counter()
    with db.write() as conn:
        insert_table(conn, person, people)
        insert_table(conn, choice_record, records)
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    found = snapshot(db)
    snapped = time.perf_counter() - start
    db.dispose()
    if found.size != count or not np.array_equal(found, np.sort(optouts)):
        raise SystemExit(f"the register's snapshot has {found.size:,} numbers, not {count:,}")
    return url, loaded, snapped


def _codes(prefix: str, count: int, width: int) -> pa.Array:
    return pa.array([f"{prefix}{i:0{width}d}" for i in range(count)], pa.string())


@dataclass
class Vocabulary:
    """The code lists the wide layout draws from."""

    providers: pa.Array = field(default_factory=lambda: _codes("R", 250, 3))
    diagnoses: pa.Array = field(
        default_factory=lambda: pa.array(
            [f"{chr(65 + i % 26)}{i // 26 % 100:02d}.{i % 10}" for i in range(5000)]
        )
    )
    procedures: pa.Array = field(
        default_factory=lambda: pa.array(
            [f"{chr(65 + i % 23)}{i // 23 % 100:02d}.{i % 9 + 1}" for i in range(3000)]
        )
    )
    lsoas: pa.Array = field(default_factory=lambda: _codes("E01", 33755, 6))
    sexes: pa.Array = field(default_factory=lambda: pa.array(["1", "2", "9"]))


def wide_chunk(
    numbers: npt.NDArray[np.int64], first: int, rng: np.random.Generator, words: Vocabulary
) -> pa.Table:
    """A hospital-episode extract: 12 columns, NHS number as int64."""
    n = numbers.size
    ids = pc.cast(pa.array(np.arange(first, first + n, dtype=np.int64)), pa.string())
    episode = pc.binary_join_element_wise("EP", pc.utf8_lpad(ids, 10, "0"), "")
    admitted = rng.integers(16436, 16436 + 3650, n).astype(np.int32)  # 2015 to 2024
    stay = np.minimum(rng.geometric(0.25, n) - 1, 365).astype(np.int32)
    procedure = rng.integers(0, len(words.procedures), n)
    no_procedure = rng.random(n) < 0.3
    sex = np.where(rng.random(n) < 0.02, 2, rng.integers(0, 2, n))
    return pa.table(
        {
            "episode_id": episode,
            COLUMN: pa.array(numbers, pa.int64()),
            "admission_date": pa.array(admitted, pa.int32()).cast(pa.date32()),
            "discharge_date": pa.array(admitted + stay, pa.int32()).cast(pa.date32()),
            "provider_code": words.providers.take(rng.integers(0, len(words.providers), n)),
            "primary_diagnosis": words.diagnoses.take(rng.integers(0, len(words.diagnoses), n)),
            "primary_procedure": words.procedures.take(pa.array(procedure, mask=no_procedure)),
            "age": pa.array(rng.integers(0, 100, n).astype(np.int16)),
            "sex": words.sexes.take(sex),
            "lsoa_code": words.lsoas.take(rng.integers(0, len(words.lsoas), n)),
            "length_of_stay": pa.array(stay),
            "cost": pa.array(np.round(rng.lognormal(7.5, 1.0, n), 2)),
        }
    )


def narrow_chunk(numbers: npt.NDArray[np.int64], first: int, rng: np.random.Generator) -> pa.Table:
    """The domain notes' layout: int64 key and 3 columns, 28 bytes a row."""
    n = numbers.size
    admitted = rng.integers(16436, 16436 + 3650, n).astype(np.int32)
    return pa.table(
        {
            COLUMN: pa.array(numbers, pa.int64()),
            "episode": pa.array(np.arange(first, first + n, dtype=np.int64)),
            "admission_date": pa.array(admitted, pa.int32()).cast(pa.date32()),
            "cost": pa.array(np.round(rng.lognormal(7.5, 1.0, n), 2)),
        }
    )


def write_datasets(
    folder: Path,
    rows: int,
    people: npt.NDArray[np.int64],
    index: Any,
    layouts: list[str],
    seed: int,
) -> list[Dataset]:
    """The Parquet datasets of ``rows`` rows, one per layout, written a row group at a time."""
    rng = np.random.default_rng(seed + rows)
    words = Vocabulary()
    writers: dict[str, pq.ParquetWriter] = {}
    paths = {layout: folder / f"{layout}-{rows}.parquet" for layout in layouts}
    kept = 0
    columns: dict[str, int] = {}
    try:
        for first in range(0, rows, ROW_GROUP):
            numbers = people[rng.integers(0, people.size, min(ROW_GROUP, rows - first))]
            kept += int(numbers.size - np.count_nonzero(index.contains(numbers)))
            for layout in layouts:
                chunk = (
                    wide_chunk(numbers, first, rng, words)
                    if layout == "wide"
                    else narrow_chunk(numbers, first, rng)
                )
                columns[layout] = chunk.num_columns
                if layout not in writers:
                    writers[layout] = pq.ParquetWriter(paths[layout], chunk.schema)
                writers[layout].write_table(chunk, row_group_size=ROW_GROUP)
    finally:
        for writer in writers.values():
            writer.close()
    return [
        Dataset(
            f"{layout}, {rows / 1e6:g} M rows",
            layout,
            "parquet",
            rows,
            paths[layout],
            kept,
            columns[layout],
        )
        for layout in layouts
    ]


def write_csv(source: Dataset) -> Dataset:
    """The dataset as CSV, NHS numbers as ten-digit text, quoted only where needed."""
    import pyarrow.csv as pa_csv

    path = source.path.with_suffix(".csv")
    parquet = pq.ParquetFile(source.path)
    schema = parquet.schema_arrow
    schema = schema.set(schema.get_field_index(COLUMN), pa.field(COLUMN, pa.string()))
    options = pa_csv.WriteOptions(quoting_style="needed")
    with pa_csv.CSVWriter(path, schema, write_options=options) as writer:
        for batch in parquet.iter_batches(batch_size=ROW_GROUP):
            batch = batch.set_column(
                batch.schema.get_field_index(COLUMN), COLUMN, batch.column(COLUMN).cast(pa.string())
            )
            writer.write_batch(batch)
    name = source.name.replace(source.layout, f"{source.layout} CSV")
    return Dataset(
        name, source.layout, "csv", source.rows, path, source.expected_out, source.columns
    )


# -- the contenders, each in its own process ----------------------------------------------


def ndoo_source() -> Path:
    import ndoo

    return Path(ndoo.__file__).parent


def freeze_source(scratch: Path) -> Path:
    """A copy of ndoo's source, which every timed process imports: one version for all runs."""
    frozen = scratch / "src"
    shutil.copytree(ndoo_source(), frozen / "ndoo", ignore=shutil.ignore_patterns("__pycache__"))
    return frozen


def fingerprint(root: Path) -> str:
    """A short hash of ndoo's source files under ``root``."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def cpu_time() -> float:
    """CPU seconds this process has used, user and system, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss() -> int:
    """This process's peak resident memory, in bytes (``VmHWM``)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def parquet_rows(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


def csv_rows(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(16 << 20):
            lines += chunk.count(b"\n")
    return lines - 1  # the header


class Profile:
    """Exclusive wall time per phase and thread, from wrapped functions."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._local = threading.local()

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            stack: list[list[Any]] = self._local.__dict__.setdefault("stack", [])
            key = (
                name if threading.current_thread() is threading.main_thread() else f"thread:{name}"
            )
            now = time.perf_counter()
            if stack:  # pause the caller's phase
                self.seconds[stack[-1][0]] = (
                    self.seconds.get(stack[-1][0], 0.0) + now - stack[-1][1]
                )
            stack.append([key, now])
            try:
                return function(*args, **kwargs)
            finally:
                end = time.perf_counter()
                done, began = stack.pop()
                self.seconds[done] = self.seconds.get(done, 0.0) + end - began
                if stack:
                    stack[-1][1] = end

        return wrapper


def task_ndoo(task: dict[str, Any]) -> dict[str, Any]:
    """The real ``apply`` as the CLI calls it, its phases timed by wrapping the steps."""
    from ndoo.apply import duck, release
    from ndoo.apply import manifest as manifests
    from ndoo.apply.engine import no_progress, open_engine
    from ndoo.apply.locations import locate
    from ndoo.apply.rows import Tally
    from ndoo.apply.sources import SourceChoice
    from ndoo.db import Database
    from ndoo.numberset import NumberSet

    profile = Profile()
    wrap = profile.wrap
    release._resolve = wrap("snapshot", release._resolve)  # type: ignore[assignment]
    if hasattr(release, "_speculate"):
        release._speculate = wrap("speculate", release._speculate)
    manifests.file_hashes = wrap("sha256", manifests.file_hashes)  # type: ignore[assignment]
    Tally.add = wrap("tally", Tally.add)  # type: ignore[method-assign]
    from_numbers = NumberSet.from_numbers.__func__  # type: ignore[attr-defined]
    NumberSet.from_numbers = classmethod(wrap("index", from_numbers))  # type: ignore[assignment,method-assign]
    speculation = getattr(duck, "Speculation", None)
    if speculation is not None:
        speculation._work = wrap("spec", speculation._work)
        speculation.result = wrap("wait", speculation.result)

    start, cpu = time.perf_counter(), cpu_time()
    db = Database(task["register"])
    engine: Any = open_engine("duckdb", memory_limit=MEMORY_LIMIT, progress=no_progress)
    for method, name in (
        ("scan", "scan"),
        ("write", "write"),
        ("_keep_query", "keep_query"),
        ("_run_with_progress", "copy"),
    ):
        if hasattr(engine, method):
            setattr(engine, method, wrap(name, getattr(engine, method)))
    try:
        source = locate(task["input"])
        target = locate(task["output"], output=True)
        if target.format == "csv" and source.dialect is not None:
            from dataclasses import replace

            target = replace(target, dialect=source.dialect)
        request = release.ApplyRequest(
            input=source,
            output=target,
            column=COLUMN,
            disclosure=DISCLOSURE,
            source=SourceChoice(kind="register"),
        )
        result = release.apply(db, request, actor="bench", engine=engine)
    finally:
        engine.close()
    seconds, cpu = time.perf_counter() - start, cpu_time() - cpu
    db.dispose()
    phases = profile.seconds
    phases["rest"] = seconds - sum(v for k, v in phases.items() if not k.startswith("thread:"))
    counts = result.manifest["counts"]
    files = result.manifest["output"]["files"]
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rows_out": counts["rows_out"],
        "phases": phases,
        "counts": counts,
        "bytes": sum(f["bytes"] for f in files),
        "opted_out": result.manifest["source"]["opted_out"],
    }


def task_duckdb(task: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    source, target = task["input"].replace("'", "''"), task["output"].replace("'", "''")
    if task["format"] == "csv":
        read = f"read_csv('{source}', all_varchar = true)"
        options = "FORMAT csv, HEADER true"
    else:
        read = f"read_parquet('{source}')"
        options = "FORMAT parquet"
    query = f"SELECT * FROM {read}"  # noqa: S608 - the benchmark's own paths
    if task["kind"] == "filtered":
        con.execute(
            "CREATE TEMP TABLE optouts AS SELECT nhs_number AS v FROM read_parquet("  # noqa: S608
            + "'"
            + task["optouts"].replace("'", "''")
            + "')"
        )
        query += f" AS i WHERE NOT EXISTS (SELECT 1 FROM optouts WHERE optouts.v = i.{COLUMN})"  # noqa: S608
    start, cpu = time.perf_counter(), cpu_time()
    if task["kind"] == "read_column":
        reader = con.sql(query).select(COLUMN).to_arrow_reader(1 << 20)
        rows = sum(batch.num_rows for batch in reader)
    else:
        row = con.execute(f"COPY ({query}) TO '{target}' ({options})").fetchone()
        rows = int(row[0]) if row else -1
    seconds, cpu = time.perf_counter() - start, cpu_time() - cpu
    con.close()
    return {"seconds": seconds, "cpu": cpu, "rows_out": rows}


def task_polars(task: dict[str, Any]) -> dict[str, Any]:
    import polars as pl

    start, cpu = time.perf_counter(), cpu_time()
    optouts = pl.read_parquet(task["optouts"]).lazy()
    joined = pl.scan_parquet(task["input"]).join(optouts, on=COLUMN, how="anti")
    joined.sink_parquet(task["output"])
    seconds, cpu = time.perf_counter() - start, cpu_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "rows_out": parquet_rows(Path(task["output"]))}


def task_pandas(task: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    start, cpu = time.perf_counter(), cpu_time()
    optouts = pd.read_parquet(task["optouts"])[COLUMN].to_numpy()
    frame = pd.read_parquet(task["input"])
    frame = frame[~frame[COLUMN].isin(optouts)]
    frame.to_parquet(task["output"], index=False)
    seconds, cpu = time.perf_counter() - start, cpu_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "rows_out": len(frame)}


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ndoo": task_ndoo,
    "duckdb": task_duckdb,
    "polars": task_polars,
    "pandas": task_pandas,
}


def worker(text: str) -> int:
    task = json.loads(text)
    result = TASKS[task["task"]](task)
    result["peak_rss"] = peak_rss()
    result["ndoo"] = str(ndoo_source())
    print(json.dumps(result))
    return 0


# -- running ----------------------------------------------------------------------------


@dataclass
class Contender:
    name: str
    task: dict[str, Any]
    suffix: str
    times: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)
    phases: list[dict[str, float]] = field(default_factory=list)
    output_mb: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""
    runs: int | None = None  # None: as many as the others
    cpus: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(self.times)

    @property
    def peak_gib(self) -> float:
        return max(self.peaks) / 2**30


def run_once(contender: Contender, dataset: Dataset, out: Path, source: Path) -> None:
    task = dict(contender.task, input=str(dataset.path), output=str(out), format=dataset.format)
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=f"{source}{os.pathsep}{path}" if path else str(source))
    done = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(task)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"{contender.name} on {dataset.name} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["ndoo"].startswith(str(source)):
        raise SystemExit(f"the timed process imported ndoo from {result['ndoo']}, not {source}")
    unfiltered = contender.task.get("kind") in ("copy", "read_column")
    expected = dataset.rows if unfiltered else dataset.expected_out
    if result["rows_out"] != expected:
        raise SystemExit(
            f"{contender.name} on {dataset.name} wrote {result['rows_out']:,} rows, "
            f"not {expected:,}"
        )
    if out.exists():
        rows = parquet_rows(out) if dataset.format == "parquet" else csv_rows(out)
        if rows != expected:
            raise SystemExit(f"{contender.name}: {out.name} holds {rows:,} rows, not {expected:,}")
        contender.output_mb = out.stat().st_size / 1e6
    contender.times.append(result["seconds"])
    contender.peaks.append(result["peak_rss"])
    contender.cpus.append(result["cpu"])
    if "phases" in result:
        contender.phases.append(result["phases"])
        contender.detail = {k: result[k] for k in ("counts", "opted_out")}


def clean(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    os.sync()


def warm(path: Path) -> None:
    """Read the input once, so every contender finds it in the page cache."""
    with path.open("rb") as handle:
        while handle.read(64 << 20):
            pass


def measure(
    dataset: Dataset,
    contenders: list[Contender],
    runs: int,
    scratch: Path,
    log: Callable[[str], None],
) -> None:
    outputs = scratch / "out"
    outputs.mkdir(exist_ok=True)
    warm(dataset.path)
    for run in range(runs):
        active = [c for c in contenders if not c.skipped and run < (c.runs or runs)]
        shift = run % len(active)
        order = active[shift:] + active[:shift]
        if run % 2:
            order.reverse()
        for contender in order:
            clean(outputs)
            run_once(contender, dataset, outputs / f"result{contender.suffix}", scratch / "src")
            log(
                f"  {dataset.name}, run {run + 1}/{runs}: {contender.name} "
                f"{contender.times[-1]:.2f} s, peak {contender.peaks[-1] / 2**30:.2f} GiB"
            )
    clean(outputs)


def contenders_for(dataset: Dataset, register: str, optouts: Path) -> list[Contender]:
    common = {"register": register, "optouts": str(optouts)}
    suffix = ".parquet" if dataset.format == "parquet" else ".csv"
    found = [
        Contender(NDOO, dict(common, task="ndoo"), suffix),
        Contender(COPY, dict(common, task="duckdb", kind="copy"), suffix),
    ]
    if dataset.format == "parquet":
        found += [
            Contender(FILTERED, dict(common, task="duckdb", kind="filtered"), suffix),
            Contender(POLARS, dict(common, task="polars"), suffix),
            Contender(PANDAS, dict(common, task="pandas"), suffix),
        ]
    found.append(Contender(READ_COLUMN, dict(common, task="duckdb", kind="read_column"), ""))
    return found


def available_memory() -> int:
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


@dataclass
class Measured:
    dataset: Dataset
    contenders: list[Contender]
    load: tuple[float, float]  # the machine's 1-minute load average before and after

    def get(self, name: str) -> Contender | None:
        for contender in self.contenders:
            if contender.name == name and contender.times:
                return contender
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[10_000_000, 100_000_000], help="(10 M 100 M)"
    )
    parser.add_argument("--csv-rows", type=int, nargs="*", default=None, help="(10 M)")
    parser.add_argument(
        "--layouts", nargs="+", default=["wide", "narrow"], choices=["wide", "narrow"]
    )
    parser.add_argument("--optouts", type=int, default=3_500_000, help="opt-outs (3.5 M)")
    parser.add_argument("--population", type=int, default=60_000_000, help="(60 M)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each contender (3)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--pandas-max-rows", type=int, default=None, help="largest size pandas runs on (auto)"
    )
    parser.add_argument(
        "--pandas-large-runs",
        type=int,
        default=1,
        help="pandas runs at 50 M rows and more, where one run takes minutes (1)",
    )
    parser.add_argument("--quick", action="store_true", help="1 M rows, 1/10 of the people, 1 run")
    parser.add_argument("--output", type=Path, default=RESULTS, help="Markdown file to write")
    args = parser.parse_args(argv)
    if args.worker is not None:
        return worker(args.worker)
    if args.quick:
        args.rows, args.runs = [1_000_000], 1
        args.population, args.optouts = args.population // 10, args.optouts // 10
    if args.csv_rows is None:
        args.csv_rows = [min(args.rows)]

    started = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {text}", file=sys.stderr, flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="ndoo-bench-apply-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the scratch is removed
    notes: list[str] = []
    measured: list[Measured] = []
    try:
        measured_source = fingerprint(freeze_source(scratch) / "ndoo")
        free = shutil.disk_usage(scratch).free / 2**30
        sizes = sorted(args.rows)
        if max(sizes) >= 100_000_000 and free < MIN_FREE_GIB:
            skipped = [s for s in sizes if s >= 100_000_000]
            sizes = [s for s in sizes if s < 100_000_000]
            message = (
                f"only {free:.0f} GiB free in {scratch.parent} (< {MIN_FREE_GIB:g} GiB): "
                f"skipped {', '.join(f'{s / 1e6:g} M' for s in skipped)} rows"
            )
            notes.append(message)
            log(message)
        log(f"building {args.population:,} people and the register of {args.optouts:,} opt-outs")
        people = population(args.population, args.seed)
        rng = np.random.default_rng(args.seed)
        optouts = people[rng.choice(people.size, args.optouts, replace=False)]
        from ndoo.numberset import NumberSet

        index = NumberSet.from_numbers(optouts)
        optouts_path = scratch / "optouts.parquet"
        pq.write_table(pa.table({COLUMN: pa.array(np.sort(optouts))}), optouts_path)
        register, load_s, snapshot_s = build_register(scratch / "register.db", optouts)
        log(f"register loaded in {load_s:.1f} s; snapshot {snapshot_s:.2f} s")
        pandas_limit = args.pandas_max_rows
        pandas_peaks: dict[str, tuple[int, int]] = {}  # layout: rows, peak RSS
        for rows in sizes:
            data = scratch / "data"
            data.mkdir(exist_ok=True)
            log(f"writing {rows:,} rows ({', '.join(args.layouts)})")
            datasets = write_datasets(data, rows, people, index, args.layouts, args.seed)
            if rows in args.csv_rows and "wide" in args.layouts:
                datasets.append(write_csv(datasets[0]))
            for dataset in datasets:
                contenders = contenders_for(dataset, register, optouts_path)
                pandas = next((c for c in contenders if c.name == PANDAS), None)
                if pandas is not None and pandas_limit is not None and rows > pandas_limit:
                    pandas.skipped = f"not run above {pandas_limit / 1e6:g} M rows"
                elif pandas is not None and dataset.layout in pandas_peaks:
                    smaller, peak = pandas_peaks[dataset.layout]
                    if rows > smaller:
                        need = peak * rows / smaller * 1.15
                        have = available_memory()
                        if need > 0.8 * have:
                            pandas.skipped = (
                                f"would need about {need / 2**30:.0f} GiB at {rows / 1e6:g} M "
                                f"rows (its peak at the smaller size, scaled), more than 80% "
                                f"of the {have / 2**30:.0f} GiB available"
                            )
                if pandas is not None and rows >= 50_000_000:
                    pandas.runs = min(args.runs, args.pandas_large_runs)
                if pandas is not None and pandas.skipped:
                    log(f"  pandas skipped on {dataset.name}: {pandas.skipped}")
                log(f"timing {dataset.name} ({dataset.mb:,.0f} MB {dataset.format})")
                load_before = os.getloadavg()[0]
                measure(dataset, contenders, args.runs, scratch, log)
                load = (load_before, os.getloadavg()[0])
                measured.append(Measured(dataset, contenders, load))
                if pandas is not None and pandas.times:
                    pandas_peaks[dataset.layout] = (rows, max(pandas.peaks))
            shutil.rmtree(data)
            os.sync()
        notes.append(
            f"Every timed process imported a copy of ndoo's source taken when the run "
            f"started (fingerprint {measured_source}: SHA-256 of `src/ndoo/**/*.py`)"
            + (
                "; the working tree changed during the run and now differs"
                if fingerprint(ndoo_source()) != measured_source
                else ""
            )
        )
        report = render(args, measured, notes, load_s, snapshot_s)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    log(f"written to {args.output}")
    return 0


# -- the report -----------------------------------------------------------------------


def _ratio(a: Contender | None, b: Contender | None) -> str:
    if a is None or b is None:
        return "–"
    return f"{a.seconds / b.seconds:.2f}×"


def _versions() -> str:
    from importlib.metadata import version

    names = ("duckdb", "polars", "pandas", "pyarrow", "numpy")
    return ", ".join(f"{name} {version(name)}" for name in names)


def render(
    args: argparse.Namespace,
    measured: list[Measured],
    notes: list[str],
    load_s: float,
    snapshot_s: float,
) -> str:
    lines = [
        "# Applying opt-outs to a dataset (`ndoo apply`)",
        "",
        "Produced by `python bench/bench_apply.py`; do not edit by hand.",
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}; {_versions()}; every contender uses both cores "
        "(DuckDB's and Polars' default thread counts)",
        f"- Register: SQLite, {args.optouts:,} opt-outs in force drawn from "
        f"{args.population:,} synthetic valid NHS numbers (9xx range); bulk-loaded in "
        f"{load_s:.0f} s (not timed below); its snapshot took {snapshot_s:.2f} s when built",
        "- Datasets: rows draw their NHS number at random from the population, so about "
        "5.8% of rows are opted out; Parquet written by pyarrow (snappy, row groups of "
        f"{ROW_GROUP:,} rows); `wide` = 12 columns (episode id, NHS number as int64, "
        "admission and discharge dates, provider, diagnosis and procedure codes, age, sex, "
        "LSOA, length of stay, cost), `narrow` = NHS number + 3 columns (28 B a row); the "
        "CSV has the NHS number as ten-digit text",
        f"- Figures: median of {args.runs} runs, each in a fresh process (imports not "
        "timed), the contenders' order rotated between runs; input in the page cache; "
        "outputs removed and the disk synced between runs, outside the timing; peak RSS "
        "is the process's `VmHWM`, the largest over the runs",
        "",
    ]
    for item in measured:
        lines += _section(item)
    lines += _verdicts(measured)
    lines += _breakdown(measured)
    lines += [
        "Notes:",
        "",
        "- `ndoo apply` is the library call the CLI makes (`open_engine('duckdb', "
        f"memory_limit='{MEMORY_LIMIT}')` + `apply` + `close`), end to end: register "
        "snapshot, scan of the NHS number column, write (a DuckDB `COPY` with `NOT "
        "EXISTS`, beside the scan or after it: see the breakdown), SHA-256 of the output, "
        "manifest and notice, release row and audit entry, moves into place. Whatever "
        "ndoo's source held when the run started is what was measured (fingerprint below).",
        "- Each run is a fresh `python` process running this script's worker; the timing "
        "covers the work only, not starting Python or importing the libraries.",
        "- The DuckDB plain copy is `COPY (SELECT * FROM read_parquet(…)) TO … (FORMAT "
        "parquet)` (CSV: `read_csv(…, all_varchar = true)` → `FORMAT csv, HEADER true`) "
        "with DuckDB's default settings. The filtered copy adds `WHERE NOT EXISTS` against "
        "a temporary table of all 3.5 M opt-outs: one pass, no scan, no evidence.",
        "- Polars and pandas read the opt-outs from a Parquet file of int64 numbers inside "
        "their timing (tens of milliseconds); ndoo reads them from the register. pandas "
        "writes with `index=False`. Compression: DuckDB and pandas (pyarrow) write "
        "snappy, Polars writes zstd (its default), hence its smaller output.",
        "- Every contender's output row count was checked against the count computed "
        "when the data was made.",
        *[f"- {note}" for note in notes],
        "",
    ]
    return "\n".join(lines)


def _section(item: Measured) -> list[str]:
    dataset = item.dataset
    copy, polars, pandas = item.get(COPY), item.get(POLARS), item.get(PANDAS)
    rows = []
    for contender in item.contenders:
        if contender.skipped:
            rows.append([contender.name, "not run", "", "", "", "", "", "", "", contender.skipped])
            continue
        rows.append(
            [
                contender.name,
                f"**{contender.seconds:.2f}**"
                if contender.name == NDOO
                else f"{contender.seconds:.2f}",
                f"{min(contender.times):.2f}–{max(contender.times):.2f}",
                str(len(contender.times)),
                _ratio(contender, copy),
                _ratio(contender, polars),
                _ratio(contender, pandas),
                f"{statistics.median(contender.cpus):.1f}",
                f"{contender.peak_gib:.2f}",
                f"{contender.output_mb:,.0f}" if contender.output_mb else "–",
            ]
        )
    header = [
        "Contender",
        "median (s)",
        "min–max (s)",
        "runs",
        "× DuckDB copy",
        "× Polars",
        "× pandas",
        "CPU (s)",
        "peak RSS (GiB)",
        "output (MB)",
    ]
    ours = item.get(NDOO)
    detail = ""
    if ours is not None and ours.detail:
        counts = ours.detail["counts"]
        detail = (
            f"; {counts['rows_removed']:,} rows removed "
            f"({counts['rows_removed'] / counts['rows_in']:.2%}), distinct patients "
            f"{counts['distinct_patients_in']:,} in, {counts['distinct_patients_out']:,} out"
        )
    return [
        f"## {dataset.name} ({dataset.format}, {dataset.columns} columns, "
        f"{dataset.mb:,.0f} MB{detail})",
        "",
        table(header, rows),
        "",
        "Ratios are this row's median time over the named contender's (below 1: faster). "
        "CPU: user + system seconds of the timed work, all threads (median run). Load "
        f"average (1 min) {item.load[0]:.1f} before, {item.load[1]:.1f} after.",
        "",
    ]


def _verdicts(measured: list[Measured]) -> list[str]:
    lines = ["## Requirements", ""]
    for item in measured:
        ours, copy = item.get(NDOO), item.get(COPY)
        polars, pandas = item.get(POLARS), item.get(PANDAS)
        if ours is None or copy is None:
            continue
        ratio = ours.seconds / copy.seconds
        parts = [
            f"**{ratio:.2f}×** the plain DuckDB copy (≤ {MAX_COPY_RATIO}: "
            f"{'meets' if ratio <= MAX_COPY_RATIO else 'MISSES'})"
        ]
        if polars is not None:
            faster = ours.seconds < polars.seconds
            parts.append(
                f"Polars takes {polars.seconds / ours.seconds:.2f}× ndoo's time "
                f"(> 1: {'meets' if faster else 'MISSES'})"
            )
        if pandas is not None:
            speedup = pandas.seconds / ours.seconds
            verdict = "meets" if speedup > MIN_PANDAS_RATIO else "MISSES"
            parts.append(
                f"pandas takes {speedup:.1f}× ndoo's time (> {MIN_PANDAS_RATIO:g}: {verdict})"
            )
        elif item.dataset.format == "parquet":
            parts.append("pandas not run")
        if item.dataset.rows >= 100_000_000 and item.dataset.format == "parquet":
            within = ours.peak_gib < MAX_MEMORY_GIB
            parts.append(
                f"peak RSS {ours.peak_gib:.2f} GiB (< {MAX_MEMORY_GIB:g} GiB: "
                f"{'meets' if within else 'MISSES'})"
            )
        lines.append(f"- {item.dataset.name}, {item.dataset.format}: " + "; ".join(parts))
    return [*lines, ""]


def _breakdown(measured: list[Measured]) -> list[str]:
    header = ["Phase of `ndoo apply`"]
    columns: list[dict[str, float]] = []
    totals: list[float] = []
    for item in measured:
        ours = item.get(NDOO)
        if ours is None or not ours.phases:
            continue
        header.append(item.dataset.name)
        columns.append(
            {name: statistics.median(p.get(name, 0.0) for p in ours.phases) for name, _ in PHASES}
        )
        totals.append(ours.seconds)
    if not columns:
        return []

    def phase_row(name: str, label: str) -> list[str]:
        return [label] + [
            f"{c[name]:.2f} s ({c[name] / t:.0%})" for c, t in zip(columns, totals, strict=True)
        ]

    shown = [(n, label) for n, label in PHASES if any(c[n] >= 0.005 for c in columns)]
    rows = [phase_row(n, label) for n, label in shown if not n.startswith("thread:")]
    rows.append(["**total (median run)**"] + [f"**{t:.2f} s**" for t in totals])
    rows += [phase_row(n, label) for n, label in shown if n.startswith("thread:")]
    references = []
    for item in measured:
        ours, copy, filtered = item.get(NDOO), item.get(COPY), item.get(FILTERED)
        read = item.get(READ_COLUMN)
        if ours is None or copy is None or not ours.phases:
            continue
        parts = [f"plain copy {copy.seconds:.2f} s"]
        if filtered is not None:
            parts.append(
                f"one-pass filtered copy {filtered.seconds:.2f} s "
                f"({filtered.seconds / copy.seconds:.2f}× the plain copy)"
            )
        for name, what in (("thread:spec", "concurrent"), ("copy", "after-scan")):
            phase = statistics.median(p.get(name, 0.0) for p in ours.phases)
            if phase >= 0.005:
                parts.append(
                    f"ndoo's {what} `COPY` {phase:.2f} s "
                    f"({phase / copy.seconds:.2f}× the plain copy)"
                )
        if read is not None:
            parts.append(f"DuckDB reading the NHS column alone {read.seconds:.2f} s")
        references.append(f"- {item.dataset.name}: " + "; ".join(parts))
    return [
        "## Where `ndoo apply`'s time goes",
        "",
        "Each phase's median over the runs, timed in the measured process by wrapping the "
        "library's own functions (exclusive time: a phase inside another is counted once). "
        "The phases above the total run one after the other on the main thread and add up "
        "to it; those below it run in the engine's writer thread at the same time as the "
        "scan, so they overlap the main thread's phases.",
        "",
        table(header, rows),
        "",
        "Against the same run's references:",
        "",
        *references,
        "",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
