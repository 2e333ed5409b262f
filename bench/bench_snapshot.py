"""Benchmark: the snapshot of 3.5 million opt-outs, on SQLite and (if reachable) PostgreSQL.

Builds a register of 3.5 M opted-out people through the bulk loader, then times
``register.snapshot`` (the derived-records query) against the baseline of asking the
events themselves (latest event per person at the moment, by window function),
both in the same run.  Run: ``python bench/bench_snapshot.py [--people N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import text

from common import machine, median_time, table
from ndoo.db import Database
from ndoo.db.migrate import upgrade
from ndoo.errors import NdooError
from ndoo.nhs_number import generate_synthetic, to_text_array
from ndoo.register import snapshot
from ndoo.register.load import load_population

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)

BASELINE_SQL = """
SELECT nhs_number FROM (
  SELECT nhs_number, state,
         ROW_NUMBER() OVER (PARTITION BY nhs_number ORDER BY effective_at DESC) AS rank
  FROM choice_event WHERE effective_at <= :t
) AS latest WHERE rank = 1 AND state = 'OUT'
"""


def write_population(folder: Path, people: int) -> None:
    rng = np.random.default_rng(7)
    numbers = to_text_array(generate_synthetic(people, rng))
    born = np.datetime64("1950-01-01") + rng.integers(0, 18000, people).astype("timedelta64[D]")
    pq.write_table(
        pa.table(
            {
                "code": ["Z00001"],
                "name": ["Bench Practice"],
                "sub_icb_code": ["00L"],
                "postcode": [None],
            }
        ),
        folder / "practices.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "nhs_number": numbers,
                "date_of_birth": pa.array(born, pa.date32()),
                "gender": np.where(rng.random(people) < 0.5, "1", "2"),
                "gp_practice_code": np.full(people, "Z00001"),
                "lsoa_code": pa.nulls(people, pa.string()),
                "date_of_death": pa.nulls(people, pa.date32()),
                "lacks_capacity": np.zeros(people, bool),
                "detained": np.zeros(people, bool),
            }
        ),
        folder / "people.parquet",
    )
    seconds = rng.integers(0, 200_000_000, people)
    effective = np.datetime64("2018-06-01T00:00:00", "us") + seconds.astype("timedelta64[s]")
    pq.write_table(
        pa.table(
            {
                "nhs_number": numbers,
                "state": np.full(people, "OUT"),
                "effective_at": pa.array(effective, pa.timestamp("us", tz="UTC")),
                "channel": np.full(people, "OP"),
                "actor": np.full(people, "SELF"),
                "proxy_name": pa.nulls(people, pa.string()),
                "proxy_evidence": pa.nulls(people, pa.string()),
                "case_reference": pa.nulls(people, pa.string()),
            }
        ),
        folder / "events.parquet",
    )


def baseline(db: Database) -> int:
    with db.read() as conn:
        rows = conn.execute(text(BASELINE_SQL), {"t": AS_OF.replace(tzinfo=None)}).scalars().all()
    return len(rows)


def run(db: Database, folder: Path, runs: int) -> list[str]:
    upgrade(db)
    start = time.perf_counter()
    load_population(db, folder, actor="bench")
    load = time.perf_counter() - start
    ours, numbers = median_time(lambda: snapshot(db, AS_OF), runs)
    base, count = median_time(lambda: baseline(db), runs)
    assert numbers.size == count, (numbers.size, count)
    return [
        db.dialect,
        f"{numbers.size:,}",
        f"{load:.1f} s",
        f"{ours:.2f} s",
        f"{base:.2f} s",
        f"{base / ours:.1f}×",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=3_500_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_population(folder, args.people)
        rows.append(run(Database(f"sqlite:///{folder / 'bench.db'}"), folder, args.runs))
        pg = os.environ.get("NDOO_BENCH_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test")
        schema = "ndoo_bench_snapshot"
        admin = Database(pg)
        try:
            with admin.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except NdooError as exc:  # PostgreSQL is optional here
            print(f"PostgreSQL skipped: {exc}")
        else:
            sep = "&" if "?" in pg else "?"
            db = Database(f"{pg}{sep}options=-csearch_path%3D{schema}")
            rows.append(run(db, folder, args.runs))
            db.dispose()
            with admin.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    report = "\n".join(
        [
            "## Snapshot of opt-outs in force",
            "",
            f"Machine: {machine()}. Median of {args.runs} runs; baseline measured in the same run.",
            "",
            table(
                [
                    "database",
                    "opt-outs",
                    "bulk load",
                    "snapshot",
                    "baseline (events, window)",
                    "speed-up",
                ],
                rows,
            ),
            "",
        ]
    )
    print(report)
    out = Path(__file__).with_name("results") / "snapshot.md"
    out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
