"""What the Spark engine runs on its executors, and how the driver adds it up.

:func:`row_keys` is the Arrow UDF's body: one key a row, from
:func:`ndoo.uphold.values.parse_column` and :func:`ndoo.apply.rows.blank`, exactly as
:class:`ndoo.apply.rows.Tally` classifies.  :func:`summarise` runs once a partition
(``mapInArrow``) and reports each file split it holds: its first row id, its rows of
each class and its first problem rows.  :func:`tally` orders the splits as the input
is ordered (files in path order, then position) and turns them into
:class:`~ndoo.apply.rows.Counts` with 1-based row numbers.

No pyspark here: executors unpickle these functions by reference, so this module must
stay cheap to import.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa

from ndoo.apply.rows import FIRST_ROWS, Counts, blank
from ndoo.uphold.values import parse_column

MISSING_KEY = -1
INVALID_KEY = -2
# Row states, as rows.py names the classes.
KEPT, MISSING, INVALID, WITHHELD, UNCOVERED = 0, 1, 2, 3, 4
SUMMARY = (
    "file string, block long, start long, rows long, missing long, invalid long, "
    "withheld long, uncovered long, first_missing array<long>, first_invalid array<long>, "
    "first_uncovered array<long>"
)


def row_keys(values: pa.Array) -> pa.Array:
    """One key a row: the valid NHS number, ``-1`` if missing, ``-2`` if invalid."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    numbers, valid = parse_column(values)
    missing = blank(values)
    keys = np.where(valid, numbers, np.where(missing, MISSING_KEY, INVALID_KEY))
    return pa.array(keys.astype(np.int64), type=pa.int64())


@dataclass
class _Split:
    """One file split of one partition: rows are consecutive ids from ``start``."""

    start: int
    rows: int = 0
    states: Any = field(default_factory=lambda: np.zeros(5, dtype=np.int64))
    first: dict[int, list[int]] = field(
        default_factory=lambda: {MISSING: [], INVALID: [], UNCOVERED: []}
    )

    def add(self, ids: Any, states: Any) -> None:
        self.rows += len(ids)
        self.states += np.bincount(states, minlength=5)[:5]
        for state, seen in self.first.items():
            room = FIRST_ROWS - len(seen)
            if room > 0:
                seen.extend(int(i) - self.start for i in ids[states == state][:room])


def summarise(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Per file split of a partition: rows of each state and the first problem rows."""
    splits: dict[tuple[str, int], _Split] = {}
    for batch in batches:
        if batch.num_rows == 0:
            continue
        files = batch.column(0).fill_null("").cast(pa.string()).dictionary_encode()
        codes = files.indices.to_numpy()
        blocks = batch.column(1).fill_null(0).to_numpy()
        ids = batch.column(2).to_numpy()
        states = batch.column(3).to_numpy().astype(np.int64)
        edges = np.flatnonzero((codes[1:] != codes[:-1]) | (blocks[1:] != blocks[:-1])) + 1
        for lo, hi in zip(np.r_[0, edges], np.r_[edges, len(ids)], strict=True):
            key = (str(files.dictionary[codes[lo]]), int(blocks[lo]))
            split = splits.setdefault(key, _Split(start=int(ids[lo])))
            split.add(ids[lo:hi], states[lo:hi])
    rows = [
        {
            "file": file,
            "block": block,
            "start": s.start,
            "rows": s.rows,
            "missing": int(s.states[MISSING]),
            "invalid": int(s.states[INVALID]),
            "withheld": int(s.states[WITHHELD]),
            "uncovered": int(s.states[UNCOVERED]),
            "first_missing": s.first[MISSING],
            "first_invalid": s.first[INVALID],
            "first_uncovered": s.first[UNCOVERED],
        }
        for (file, block), s in splits.items()
    ]
    yield pa.RecordBatch.from_pylist(rows, schema=_summary_schema())


def _summary_schema() -> pa.Schema:
    counts = ("block", "start", "rows", "missing", "invalid", "withheld", "uncovered")
    firsts = ("first_missing", "first_invalid", "first_uncovered")
    return pa.schema(
        [pa.field("file", pa.string())]
        + [pa.field(name, pa.int64()) for name in counts]
        + [pa.field(name, pa.list_(pa.int64())) for name in firsts]
    )


def tally(splits: list[dict[str, Any]]) -> tuple[Counts, dict[str, int], bool]:
    """The counts, the files' ranks, and whether Spark's order differs from the input's."""
    files = sorted({s["file"] for s in splits}, key=local_path)
    ranks = {f: i for i, f in enumerate(files)}
    ordered = sorted(splits, key=lambda s: (ranks[s["file"]], s["block"], s["start"]))
    needs_sort = [s["start"] for s in ordered] != sorted(s["start"] for s in splits)
    counts = Counts()
    for s in ordered:
        offset = counts.rows_in + 1
        counts.rows_in += s["rows"]
        for name in ("missing", "invalid", "uncovered"):
            first: list[int] = getattr(counts, f"first_{name}")
            first.extend(offset + i for i in s[f"first_{name}"][: FIRST_ROWS - len(first)])
            setattr(counts, name, getattr(counts, name) + s[name])
        counts.withheld += s["withheld"]
    counts.kept = counts.rows_in - counts.missing - counts.invalid - counts.withheld
    counts.kept -= counts.uncovered
    return counts, ranks, needs_sort


def local_path(uri: str) -> Path:
    """A split's file as a path, so files sort as the DuckDB engine reads a folder."""
    return Path(unquote(urlparse(uri).path)) if uri else Path()
