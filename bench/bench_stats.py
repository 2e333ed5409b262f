"""Benchmark the national publication: 12 months of statistics from a register of all England.

Run with ``python bench/bench_stats.py`` (``--help`` for options).  It first builds a
SQLite register of ``--people`` synthetic people (``ndoo synth population`` and the bulk
loader), outside any timing, and keeps it under ``bench/out/stats/`` keyed by people and
seed, so a rerun skips the build.  Then, each in a fresh process (so every run pays
for its own reads and the peak RSS is its own), it times:

- ``ndoo.stats.publication.compute`` + ``write`` for the ``--months`` months ending at
  ``--period-end`` (wall time inside the process, after imports; peak RSS is the
  process's ``VmHWM``);
- the baseline, in the same run: reading the columns the publication needs
  (``person``: NHS number, birth, gender, practice, LSOA, death; ``choice_record``:
  NHS number, start, end of the ``OUT`` records; ``gp_practice``) from the same file
  into Arrow through ``sqlite3``, the cost any implementation must pay.

The two alternate, the order swapped each run; the median of ``--runs`` is reported.
Figures go to ``bench/results/stats.md``.

Requirements from the issue (reported, not enforced): all England (64 M registered
people, about 3.5 M opt-outs, 12 months) in under 10 minutes and under 4 GB of memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from common import machine, table

HERE = Path(__file__).resolve().parent
CACHE = HERE / "out" / "stats"
RESULTS = HERE / "results" / "stats.md"
ENGLAND = 64_000_000
LIMIT_SECONDS = 600.0
LIMIT_BYTES = 4 * 10**9
CHUNK_ROWS = 200_000

BASELINE_QUERIES = (
    ("gp_practice", "SELECT code, name, sub_icb_code, postcode FROM gp_practice"),
    (
        "person",
        "SELECT nhs_number, date_of_birth, gender, gp_practice_code, lsoa_code, date_of_death"
        " FROM person",
    ),
    (
        "choice_record",
        "SELECT nhs_number, record_start, record_end FROM choice_record WHERE state = 'OUT'",
    ),
)


def peak_rss() -> int:
    """This process's peak resident set (``VmHWM``), in bytes."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# --- the children: each prints one JSON line --------------------------------------------


def child_build(people: int, seed: int, db_path: Path, synth_dir: Path) -> dict[str, Any]:
    from ndoo.db import Database
    from ndoo.db.migrate import upgrade
    from ndoo.register.load import load_population
    from ndoo.synth import generate_population

    start = time.perf_counter()
    summary = generate_population(people, seed, synth_dir)
    synth_s = time.perf_counter() - start
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db = Database(f"sqlite:///{db_path}")
    upgrade(db)
    start = time.perf_counter()
    loaded = load_population(db, synth_dir, actor="bench")
    load_s = time.perf_counter() - start
    db.dispose()
    shutil.rmtree(synth_dir, ignore_errors=True)
    return {
        "people": people,
        "seed": seed,
        "events": loaded.events,
        "practices": loaded.practices,
        "synth_active_opt_outs": summary.active_opt_outs,
        "synth_reference_date": summary.reference_date.isoformat(),
        "synth_s": synth_s,
        "load_s": load_s,
        "file_bytes": db_path.stat().st_size,
        "peak_rss": peak_rss(),
        "built": date.today().isoformat(),
    }


def child_compute(db_path: Path, period_end: date, months: int, out: Path) -> dict[str, Any]:
    from ndoo.db import Database
    from ndoo.stats.publication import compute, write

    db = Database(f"sqlite:///{db_path}")
    start = time.perf_counter()
    publication = compute(db, period_end=period_end, months=months, drop_test_numbers=False)
    computed = time.perf_counter()
    paths = write(publication, out, overwrite=True)
    written = time.perf_counter()
    db.dispose()
    national = publication.national.to_pylist()[0]
    return {
        "compute_s": computed - start,
        "write_s": written - computed,
        "total_s": written - start,
        "peak_rss": peak_rss(),
        "opt_out": national["OPT_OUT"],
        "deceased": national["DECEASED"],
        "list_size": national["LIST_SIZE"],
        "ach_date": national["ACH_DATE"].isoformat(),
        "files": [p.name for p in paths],
    }


def child_baseline(db_path: Path) -> dict[str, Any]:
    """Read the needed columns into Arrow tables (all text, as SQLite holds them)."""
    start = time.perf_counter()
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    tables: dict[str, pa.Table] = {}
    for name, sql in BASELINE_QUERIES:
        cursor = connection.execute(sql)
        names = [d[0] for d in cursor.description]
        chunks = []
        while rows := cursor.fetchmany(CHUNK_ROWS):
            columns = zip(*rows, strict=True)
            chunks.append(pa.table([pa.array(c, pa.string()) for c in columns], names=names))
        tables[name] = pa.concat_tables(chunks)
    connection.close()
    total = time.perf_counter() - start
    return {
        "total_s": total,
        "peak_rss": peak_rss(),
        "rows": {name: t.num_rows for name, t in tables.items()},
        "arrow_bytes": sum(t.nbytes for t in tables.values()),
    }


# --- the parent ---------------------------------------------------------------------------


def spawn(*args: str) -> dict[str, Any]:
    """Run this script as a child in a fresh interpreter; return its JSON line."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"child {args[0]} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def build(people: int, seed: int, cache: Path) -> tuple[Path, dict[str, Any]]:
    """The cached register for ``(people, seed)``, built first if absent."""
    cache.mkdir(parents=True, exist_ok=True)
    db_path = cache / f"register-{people}-seed{seed}.sqlite"
    meta_path = db_path.with_suffix(".json")
    if db_path.exists() and meta_path.exists():
        print(f"register: reusing {db_path}", flush=True)
        return db_path, json.loads(meta_path.read_text(encoding="utf-8"))
    print(f"register: building {people:,} people into {db_path} …", flush=True)
    synth_dir = cache / f"synth-{people}-seed{seed}"
    meta = spawn("build", str(people), str(seed), str(db_path), str(synth_dir))
    meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    print(f"register: built in {meta['process_s']:.0f} s", flush=True)
    return db_path, meta


def gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def report(
    args: argparse.Namespace, meta: dict[str, Any], ours: list[dict], base: list[dict]
) -> str:
    med = {k: statistics.median(r[k] for r in ours) for k in ("compute_s", "write_s", "total_s")}
    ours_rss = max(r["peak_rss"] for r in ours)
    base_s = statistics.median(r["total_s"] for r in base)
    base_rss = max(r["peak_rss"] for r in base)
    first = ours[0]
    runs = len(ours)
    lines = [
        "## The national publication from a register of Synthetic England",
        "",
        f"Machine: {machine()}.",
        f"Register: {args.people:,} synthetic people (seed {args.seed}), "
        f"{meta['practices']:,} practices, {meta['events']:,} choice events, SQLite file "
        f"{gib(meta['file_bytes'])}.",
        f"Publication: {args.months} months ending {args.period_end.isoformat()} "
        f"(`compute` + `write`, `drop_test_numbers=False`). In force on "
        f"{first['ach_date']}: **{first['opt_out']:,} opt-outs** of living people "
        f"(+ {first['deceased']:,} deceased), list size {first['list_size']:,}.",
        f"Each run in a fresh process; wall time inside the process after imports; peak "
        f"RSS is the process's VmHWM. {f'Median of {runs} runs' if runs > 1 else 'One run'} "
        "of each, compute and baseline alternating (order swapped each run); baseline "
        "measured in the same run.",
        "",
    ]
    if runs < 3:
        lines += [
            f"**Only {runs} run{'s' if runs > 1 else ''} of each, not 3:** at this size a run "
            "of both takes "
            f"{(first['process_s'] + base[0]['process_s']) / 60:.1f} minutes, and more did "
            "not fit the time available for the measurement.",
            "",
        ]
    if args.people != ENGLAND:
        lines += [
            f"**Not all England: {args.people:,} people were run, not {ENGLAND:,}.** "
            "See the extrapolation below.",
            "",
        ]
    header = ["", "wall (median)", "runs", "peak RSS (max)"]
    rows = [
        [
            "`compute` + `write`",
            f"**{med['total_s']:.1f} s** (compute {med['compute_s']:.1f} s, "
            f"write {med['write_s']:.2f} s)",
            ", ".join(f"{r['total_s']:.1f}" for r in ours) + " s",
            f"**{gib(ours_rss)}**",
        ],
        [
            "baseline: read the needed columns into Arrow (`sqlite3`)",
            f"{base_s:.1f} s",
            ", ".join(f"{r['total_s']:.1f}" for r in base) + " s",
            gib(base_rss),
        ],
    ]
    lines += [table(header, rows), ""]
    lines += [
        f"Ratio `compute` + `write` / baseline: **{med['total_s'] / base_s:.2f}×**.",
        f"Baseline rows: {', '.join(f'{k} {v:,}' for k, v in base[0]['rows'].items())}; "
        f"Arrow tables {gib(base[0]['arrow_bytes'])}.",
        "",
    ]
    scale = ENGLAND / args.people
    est_s, est_rss = med["total_s"] * scale, ours_rss * scale
    if args.people == ENGLAND:
        lines += [
            f"- Under 10 minutes: {verdict(med['total_s'] < LIMIT_SECONDS)} "
            f"({med['total_s']:.1f} s).",
            f"- Under 4 GB of memory: {verdict(ours_rss < LIMIT_BYTES)} "
            f"({ours_rss / 1e9:.2f} GB = {gib(ours_rss)}).",
        ]
    else:
        lines += [
            f"- **Extrapolation to {ENGLAND:,} people (linear, ×{scale:.1f}; not measured):** "
            f"about {est_s:.0f} s and at most about {gib(est_rss)} (RSS scaled as a "
            "whole, an upper bound since part of it is fixed).",
            f"- Under 10 minutes: not measured at all England; extrapolated "
            f"{verdict(est_s < LIMIT_SECONDS)}.",
            f"- Under 4 GB of memory: not measured at all England; extrapolated "
            f"{verdict(est_rss < LIMIT_BYTES)}.",
        ]
    lines += [
        "",
        f"Building the register (not timed above, cached): synth {meta['synth_s']:.0f} s, "
        f"bulk load {meta['load_s']:.0f} s, peak RSS {gib(meta['peak_rss'])} "
        f"(built {meta['built']}).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=ENGLAND)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument(
        "--period-end",
        type=date.fromisoformat,
        default=date(2026, 9, 1),
        help="the reporting month, inside the synthetic history (default 2026-09-01)",
    )
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "build":
            result = child_build(int(rest[0]), int(rest[1]), Path(rest[2]), Path(rest[3]))
        elif kind == "compute":
            result = child_compute(
                Path(rest[0]), date.fromisoformat(rest[1]), int(rest[2]), Path(rest[3])
            )
        else:
            result = child_baseline(Path(rest[0]))
        print(json.dumps(result))
        return

    db_path, meta = build(args.people, args.seed, args.cache)
    out = args.cache / f"publication-{args.people}"
    ours: list[dict] = []
    base: list[dict] = []
    for run in range(args.runs):
        order = ("compute", "baseline") if run % 2 == 0 else ("baseline", "compute")
        for kind in order:
            if kind == "compute":
                spec = (str(db_path), args.period_end.isoformat(), str(args.months), str(out))
                ours.append(spawn("compute", *spec))
                print(f"run {run + 1}: compute + write {ours[-1]['total_s']:.1f} s", flush=True)
            else:
                base.append(spawn("baseline", str(db_path)))
                print(f"run {run + 1}: baseline {base[-1]['total_s']:.1f} s", flush=True)
    text = report(args, meta, ours, base)
    print(text)
    args.results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
