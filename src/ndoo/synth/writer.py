"""Arrow tables from the generator's arrays, and the Parquet files they go to.

Strings are made in Arrow's compute kernels (casts, ``take`` from small
dictionaries), never one Python object per person.  Files are written to a
hidden ``.partial`` name and renamed into place only when complete, so a
failed run never leaves a file that looks finished.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ndoo.errors import InputError
from ndoo.synth.names import name_pairs
from ndoo.synth.optouts import ACTORS, CHANNELS, EVIDENCE_PREFIXES, STATES, Events
from ndoo.synth.schemas import EVENTS_SCHEMA, PEOPLE_SCHEMA

Index = npt.NDArray[np.int64]

GENDER_CODES = ("1", "2", "0", "9")
"""Values of ``gender``, indexed by the generator's gender index."""
COMPRESSION = "zstd"


@functools.cache
def _dictionary(values: tuple[str, ...]) -> pa.Array:
    return pa.array(values, type=pa.string())


def _take(
    values: tuple[str, ...] | pa.Array, indices: Index, null: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    dictionary = _dictionary(values) if isinstance(values, tuple) else values
    return dictionary.take(pa.array(indices, mask=null))


def _digits(numbers: Index) -> pa.Array:
    return pc.cast(pa.array(numbers, type=pa.int64()), pa.string())


def _nullable_date(days: Index, present: npt.NDArray[np.bool_]) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=~present)


def nhs_number_strings(numbers: Index) -> pa.Array:
    """Ten-digit strings, zero-padded, for an ``int64`` array of NHS numbers."""
    return pc.utf8_lpad(_digits(numbers), 10, "0")


def people_table(
    nhs_numbers: Index,
    born: Index,
    gender: Index,
    practice_codes: pa.Array,
    lsoa_codes: pa.Array,
    died: Index,
    deceased: npt.NDArray[np.bool_],
    lacks_capacity: npt.NDArray[np.bool_],
    detained: npt.NDArray[np.bool_],
) -> pa.Table:
    """The rows of ``people.parquet`` for one chunk."""
    return pa.table(
        [
            nhs_number_strings(nhs_numbers),
            pa.array(born.astype(np.int32), type=pa.date32()),
            _take(GENDER_CODES, gender),
            practice_codes,
            lsoa_codes,
            _nullable_date(died, deceased),
            pa.array(lacks_capacity, type=pa.bool_()),
            pa.array(detained, type=pa.bool_()),
        ],
        schema=PEOPLE_SCHEMA,
    )


def events_table(events: Events, nhs_numbers: Index) -> pa.Table:
    """The rows of ``events.parquet`` for one chunk; ``nhs_numbers`` by event person."""
    proxied = events.proxy_name >= 0
    prefixes = _take(EVIDENCE_PREFIXES, events.actor)
    evidence = pc.binary_join_element_wise(prefixes, _digits(events.evidence), "")
    has_case = events.case >= 0
    case = pc.binary_join_element_wise(_digits(events.case), pa.scalar("-C"), "")
    return pa.table(
        [
            nhs_number_strings(nhs_numbers),
            _take(STATES, events.state),
            pa.array(events.effective_at, type=pa.timestamp("us", tz="UTC")),
            _take(CHANNELS, events.channel),
            _take(ACTORS, events.actor),
            _take(tuple(name_pairs()), np.maximum(events.proxy_name, 0), ~proxied),
            pc.if_else(pa.array(proxied), evidence, pa.scalar(None, pa.string())),
            pc.if_else(pa.array(has_case), case, pa.scalar(None, pa.string())),
        ],
        schema=EVENTS_SCHEMA,
    )


class ParquetSink:
    """Parquet files written row group by row group, renamed into place on success."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._partial: dict[str, Path] = {}

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self._writers:
            path = self.out_dir / f".{name}.partial"
            self._partial[name] = path
            self._writers[name] = pq.ParquetWriter(path, table.schema, compression=COMPRESSION)
        self._writers[name].write_table(table, row_group_size=max(1, table.num_rows))

    def close(self, commit: bool) -> None:
        for writer in self._writers.values():
            writer.close()
        for name, path in self._partial.items():
            if commit:
                os.replace(path, self.out_dir / name)
            else:
                path.unlink(missing_ok=True)


@contextlib.contextmanager
def parquet_sink(out_dir: Path) -> Iterator[ParquetSink]:
    """A sink in ``out_dir`` (created if needed); files appear only if the block succeeds."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder {out_dir}: {exc.strerror}") from exc
    sink = ParquetSink(out_dir)
    try:
        yield sink
    except BaseException as exc:
        with contextlib.suppress(OSError):
            sink.close(commit=False)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write to {out_dir}: {exc}") from exc
        raise
    try:
        sink.close(commit=True)
    except OSError as exc:
        raise InputError(f"cannot write to {out_dir}: {exc}") from exc
