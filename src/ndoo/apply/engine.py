"""What an engine does, and what it is given: one contract for DuckDB and Spark.

An engine works in two steps over the same input, so that nothing is written before
every row has been judged:

1. :meth:`Engine.scan` reads the NHS number column only, classifies every row
   (:mod:`ndoo.apply.rows`) and returns a :class:`Scan`: the counts, and what the
   engine needs to remove rows later;
2. :meth:`Engine.write` writes the rows to keep — whole rows, every column, values
   and order untouched — to a target the caller has made temporary, and returns how
   many rows it wrote.

The caller (:func:`ndoo.apply.release.apply`) decides between the two steps whether
the run may go on (unmatched rows and the user's decision, uncovered rows), moves
the output into place and writes the manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ndoo.apply.locations import Location
from ndoo.apply.rows import Counts, Lookup

Int64Array = npt.NDArray[np.int64]

#: The engines, by name; the first is the default.
ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class Step:
    """A progress report: which step, how far (``done`` of ``total``; total may be 0)."""

    name: str
    done: float
    total: float


Progress = Callable[[Step], None]


def no_progress(step: Step) -> None:
    """The default: say nothing."""


class Scan(Protocol):
    """What :meth:`Engine.scan` found."""

    counts: Counts

    def distinct_numbers(self) -> Int64Array:
        """The distinct valid NHS numbers in the input, ascending (what a check sends)."""


class Engine(Protocol):
    """Reads a dataset, judges its rows, writes the rows to keep."""

    name: str

    def scan(self, source: Location, column: str, lookup: Lookup | None) -> Scan:
        """Classify every row by ``column`` (``lookup`` None: count and collect numbers only).

        Raises :class:`~ndoo.errors.InputError` (a missing column naming those that
        exist, a malformed row naming its line) before anything is written.
        """

    def write(self, scan: Scan, target: Location, unmatched: str) -> int:
        """Write the kept rows (and unmatched ones if ``unmatched == "keep"``) to ``target``."""

    def close(self) -> None:
        """Release what the engine holds (connections, temporary files, sessions)."""


def open_engine(
    name: str,
    *,
    memory_limit: str = "3GB",
    spark_master: str = "local[2]",
    keep_order: bool = False,
    progress: Progress,
) -> Engine:
    """The engine called ``name`` (:data:`ENGINES`), ready to use; close it after."""
    if name == "duckdb":
        from ndoo.apply.duck import DuckEngine

        return DuckEngine(memory_limit=memory_limit, keep_order=keep_order, progress=progress)
    if name == "spark":
        from ndoo.apply.spark import SparkEngine

        spark: Engine = SparkEngine(master=spark_master, progress=progress)
        return spark
    from ndoo.errors import InputError

    raise InputError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")
