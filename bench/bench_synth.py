"""Benchmark ``ndoo synth``: how long Synthetic England takes to generate and write.

Run with ``python bench/bench_synth.py`` (``--help`` for options).  It times
:func:`ndoo.synth.generate_population` for 1 million people several times and
reports the median, and in the same run a baseline: writing Parquet tables of
random columns with the same schemas, row counts, compression and chunking
(the data is made before the clock starts, so the baseline is the cost of
writing alone).  The ratio says how much generating costs on top of writing.

For all England run it once under ``/usr/bin/time -v`` for the peak RSS::

    /usr/bin/time -v python bench/bench_synth.py --people 64000000 --runs 1

Requirements from the issue (reported, not enforced): 1 M people in under
30 s; 64 M in under 15 minutes and 8 GB peak RSS, on a 2-core machine.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common import machine, table
from ndoo.synth import EVENTS_SCHEMA, PEOPLE_SCHEMA, PRACTICES_SCHEMA, generate_population
from ndoo.synth.generator import DEFAULT_CHUNK_SIZE
from ndoo.synth.writer import COMPRESSION

OUT = Path(__file__).resolve().parent / "out" / "synth"


def _random_strings(rng: np.random.Generator, rows: int, width: int) -> pa.Array:
    numbers = rng.integers(0, 10**width, rows, dtype=np.int64)
    return pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width, "0")


def _random_column(rng: np.random.Generator, field: pa.Field, rows: int) -> pa.Array:
    if field.type == pa.string():
        return _random_strings(rng, rows, 10)
    if field.type == pa.date32():
        return pa.array(rng.integers(-20_000, 20_000, rows, dtype=np.int32), type=pa.date32())
    if field.type == pa.bool_():
        return pa.array(rng.random(rows) < 0.5)
    assert pa.types.is_timestamp(field.type)
    micros = rng.integers(1_400_000_000_000_000, 1_800_000_000_000_000, rows, dtype=np.int64)
    return pa.array(micros, type=field.type)


def random_table(rng: np.random.Generator, schema: pa.Schema, rows: int) -> pa.Table:
    return pa.table([_random_column(rng, f, rows) for f in schema], schema=schema)


def baseline(out: Path, people: int, events: int, practices: int, chunk: int) -> float:
    """Seconds to write random tables of the same shape, chunk by chunk (writing only)."""
    rng = np.random.default_rng(0)
    out.mkdir(parents=True, exist_ok=True)
    spent = 0.0
    for name, schema, rows in (
        ("practices", PRACTICES_SCHEMA, practices),
        ("people", PEOPLE_SCHEMA, people),
        ("events", EVENTS_SCHEMA, events),
    ):
        step = max(1, round(chunk * rows / people)) if name == "events" else chunk
        start = time.perf_counter()
        writer = pq.ParquetWriter(out / f"{name}.parquet", schema, compression=COMPRESSION)
        spent += time.perf_counter() - start
        for first in range(0, max(rows, 1), step):
            data = random_table(rng, schema, min(step, rows - first))
            start = time.perf_counter()
            writer.write_table(data, row_group_size=max(1, data.num_rows))
            spent += time.perf_counter() - start
        start = time.perf_counter()
        writer.close()
        spent += time.perf_counter() - start
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    synth_times, base_times = [], []
    summary = None
    for _ in range(args.runs):
        shutil.rmtree(args.out, ignore_errors=True)
        start = time.perf_counter()
        summary = generate_population(
            args.people, args.seed, args.out / "synth", chunk_size=args.chunk_size
        )
        synth_times.append(time.perf_counter() - start)
        size = sum(p.stat().st_size for p in (args.out / "synth").iterdir())
        shape = (args.people, summary.events, summary.practices, args.chunk_size)
        base_times.append(baseline(args.out / "baseline", *shape))
    assert summary is not None
    synth_s, base_s = statistics.median(synth_times), statistics.median(base_times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"Machine: {machine()}. Median of {args.runs} run(s); baseline in the same run.")
    print()
    header = ["people", "events", "files", "generate + write", "baseline: write random"]
    header += ["ratio", "people/s", "peak RSS (this process)"]
    row = [f"{args.people:,}", f"{summary.events:,}", f"{size / 2**20:,.0f} MiB"]
    row += [f"{synth_s:.2f} s", f"{base_s:.2f} s", f"{synth_s / base_s:.2f}×"]
    row += [f"{args.people / synth_s / 1e6:.2f} M", f"{peak:.2f} GiB"]
    print(table(header, [row]))
    print()
    print(f"runs: {', '.join(f'{t:.2f}' for t in synth_times)} s; rate {summary.rate:.4%}")


if __name__ == "__main__":
    main()
