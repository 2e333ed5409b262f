"""Text and CSV files as the list reader sees them: bytes, encoding, dialect and lines.

:func:`load` maps a file into memory as a :class:`Source`: its bytes, without a byte
order mark, and their encoding (UTF-8, else Windows-1252; UTF-16 with a byte order
mark is transcoded).  :func:`sniff` picks a CSV file's delimiter from a
:func:`sample` of its first rows; :func:`csv_names` and :func:`csv_table` read it with
Arrow, naming the line of a ragged row.

Errors name physical lines as an editor shows them: LF, CRLF and a lone CR end a
line, and a quoted field spanning lines is counted by the line it starts on.  The
line numbers of CSV rows are worked out only for an error (:func:`record_lines`):
from the positions of line breaks (NumPy) when the file holds no quotes, else by a
pass of Python's :mod:`csv` module up to the last row reported.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from ndoo.errors import FileFormatError

Int64Array = npt.NDArray[np.int64]

#: Delimiters a CSV file may use, in order of preference when the sample is ambiguous.
DELIMITERS = (",", "\t", ";", "|")
_SAMPLE_BYTES = 64 * 1024
_SNIFF_ROWS = 20
_CHUNK = 1 << 24
_PYTHON_CODECS = {"utf8": "utf-8", "cp1252": "cp1252"}


@dataclass(frozen=True, eq=False)
class Source:
    """A text or CSV file's bytes (byte order mark removed) and their encoding."""

    name: str
    data: pa.Buffer
    encoding: str  # "utf8" or "cp1252", as Arrow's reader names them


# ---------------------------------------------------------------------------
# Loading


def load(path: Path, source: str) -> Source:
    """The file's bytes (memory-mapped, not copied) and their encoding."""
    try:
        with path.open("rb"):
            pass
        with pa.memory_map(str(path), "r") as mapped:
            data = mapped.read_buffer()
    except OSError as exc:
        raise FileFormatError(f"cannot read the file: {exc.strerror or exc}", file=source) from exc
    head = memoryview(data)[:4].tobytes()
    if head.startswith(b"PK\x03\x04"):
        raise FileFormatError(
            "is a spreadsheet or other zipped file, not a list; save it as CSV", file=source
        )
    if head.startswith(b"PAR1"):
        raise FileFormatError(
            "is a Parquet file; give it a .parquet name or read it as Parquet", file=source
        )
    if head.startswith(codecs.BOM_UTF8):
        data = data.slice(len(codecs.BOM_UTF8))
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = memoryview(data).tobytes().decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FileFormatError(
                "starts like UTF-16 text but is not valid UTF-16", file=source
            ) from exc
        return Source(source, pa.py_buffer(text.encode("utf-8")), "utf8")
    return Source(source, data, "utf8" if _is_utf8(data) else "cp1252")


def _is_utf8(data: pa.Buffer) -> bool:
    offsets = pa.py_buffer(np.array([0, data.size], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, data]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def unreadable(source: str, exc: Exception) -> FileFormatError:
    """The error for a file Arrow's reader could not read, without Arrow's message."""
    if isinstance(exc, UnicodeDecodeError):
        return FileFormatError("is neither UTF-8 nor Windows-1252 text", file=source)
    # Arrow's messages can quote a row of the file; never pass them on.
    return FileFormatError("could not be read as a list of NHS numbers", file=source)


def spreadsheet_text(path: Path, name: str, *, what: str) -> tuple[str, str]:
    """A small CSV file saved from a spreadsheet, as text, and its delimiter.

    ``what`` names the file's contents in the message for a workbook saved as it is
    ("save the roster as 'CSV UTF-8' and import that").
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise FileFormatError(f"cannot read the file: {exc.strerror or exc}", file=name) from exc
    if head.startswith(b"PK\x03\x04"):
        raise FileFormatError(
            f"is an Excel workbook (or another zipped file), not CSV; "
            f"save {what} as 'CSV UTF-8' and import that",
            file=name,
        )
    source = load(path, name)
    data = memoryview(source.data).tobytes()
    try:
        text = data.decode(_PYTHON_CODECS[source.encoding])
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            "holds bytes that are neither UTF-8 nor Windows-1252 text; save it as 'CSV UTF-8'",
            file=name,
            line=line_at(source.data, exc.start),
        ) from exc
    return text, sniff(sample(source), tab_first=path.suffix.lower() in (".tsv", ".tab"))


# ---------------------------------------------------------------------------
# Sniffing the dialect


def sample(source: Source) -> str:
    """The start of the file as text, for :func:`sniff`: up to 64 KiB, cut at a line end."""
    head = memoryview(source.data)[:_SAMPLE_BYTES].tobytes()
    if source.data.size > _SAMPLE_BYTES:
        cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
        if cut > 0:
            head = head[:cut]
    return head.decode(_PYTHON_CODECS[source.encoding], errors="replace")


def sniff(sample: str, *, tab_first: bool) -> str:
    """The delimiter splitting the header into the most fields, every sampled row agreeing."""
    order = ("\t", ",", ";", "|") if tab_first else DELIMITERS
    best, best_score = order[0], (False, 1)
    for delimiter in order:
        try:
            reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
            records = list(islice((r for r in reader if r), _SNIFF_ROWS))
        except csv.Error:
            continue
        if not records:
            continue
        width = len(records[0])
        score = (width > 1 and all(len(r) == width for r in records), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# ---------------------------------------------------------------------------
# Reading with Arrow


def csv_names(
    source: Source,
    read_options: pacsv.ReadOptions,
    parse_options: pacsv.ParseOptions,
    delimiter: str,
) -> list[str] | None:
    """The header's column names, or ``None`` for a file with no rows at all."""
    try:
        reader = pacsv.open_csv(
            pa.BufferReader(source.data), read_options=read_options, parse_options=parse_options
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if "Empty CSV file" in str(exc):
            return None
        raise _csv_failure(source, delimiter, exc) from exc
    try:
        return [str(name) for name in reader.schema.names]
    finally:
        reader.close()


def csv_table(
    source: Source,
    read_options: pacsv.ReadOptions,
    parse_options: pacsv.ParseOptions,
    convert_options: pacsv.ConvertOptions,
    delimiter: str,
) -> pa.Table:
    """The file read by Arrow; a ragged row is named by the line it starts on."""
    try:
        return pacsv.read_csv(
            pa.BufferReader(source.data),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError, UnicodeDecodeError) as exc:
        raise _csv_failure(source, delimiter, exc) from exc


def _csv_failure(source: Source, delimiter: str, exc: Exception) -> FileFormatError:
    ragged = re.search(r"Expected (\d+) columns, got (\d+)", str(exc))
    if ragged is None:
        return unreadable(source.name, exc)
    expected, got = ragged.groups()
    return FileFormatError(
        f"this row has {got} fields where the header has {expected}",
        file=source.name,
        line=_first_ragged_line(source, delimiter),
    )


# ---------------------------------------------------------------------------
# Physical lines


def line_at(data: pa.Buffer, offset: int) -> int:
    """The 1-based line holding a byte offset (LF, CRLF and lone CR end lines)."""
    upto = np.frombuffer(data, dtype=np.uint8)[: offset + 1]
    before = upto[:offset]
    returns = np.flatnonzero(before == 13)
    lone = np.count_nonzero(upto[returns + 1] != 10)
    return int(np.count_nonzero(before == 10) + lone) + 1


def _text_stream(source: Source) -> io.TextIOWrapper:
    raw = io.BytesIO(memoryview(source.data).tobytes())
    return io.TextIOWrapper(raw, encoding=_PYTHON_CODECS[source.encoding], newline="")


def _first_ragged_line(source: Source, delimiter: str) -> int | None:
    """The line on which the first row with the wrong number of fields starts."""
    width = None
    consumed = 0
    try:
        with _text_stream(source) as stream:
            reader = csv.reader(stream, delimiter=delimiter)
            for fields in reader:
                start, consumed = consumed + 1, reader.line_num
                if not fields:
                    continue
                if width is None:
                    width = len(fields)
                elif len(fields) != width:
                    return start
    except (csv.Error, UnicodeDecodeError):
        return None
    return None


def record_lines(source: Source, delimiter: str, records: Int64Array, total: int) -> list[int]:
    """The line each record starts on; records count non-empty rows, the header being 0."""
    data = np.frombuffer(source.data, dtype=np.uint8)
    if not _contains(data, ord('"')):
        starts = _nonempty_line_numbers(data)
        if starts.size == total:
            return [int(n) for n in starts[records]]
    return _record_lines_by_csv(source, delimiter, records)


def _contains(data: npt.NDArray[np.uint8], byte: int) -> bool:
    return any(
        bool(np.any(data[start : start + _CHUNK] == byte)) for start in range(0, data.size, _CHUNK)
    )


def _byte_positions(data: npt.NDArray[np.uint8], byte: int) -> Int64Array:
    found = [
        np.flatnonzero(data[start : start + _CHUNK] == byte) + start
        for start in range(0, data.size, _CHUNK)
    ]
    return np.concatenate(found).astype(np.int64) if found else np.zeros(0, dtype=np.int64)


def _nonempty_line_numbers(data: npt.NDArray[np.uint8]) -> Int64Array:
    """Line numbers (from 1) of the lines that are not empty, for a file with no quotes.

    Lines end at LF, CRLF or a lone CR, as Arrow's reader and editors count them;
    empty lines are those Arrow skips.
    """
    size = data.size
    ends = _byte_positions(data, 10)
    returns = _byte_positions(data, 13)
    if returns.size:
        after = returns + 1
        lone = returns[(after >= size) | (data[np.minimum(after, size - 1)] != 10)]
        ends = np.union1d(ends, lone)
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [size]))
    if starts[-1] >= size:
        starts, stops = starts[:-1], stops[:-1]
    lengths = stops - starts
    crlf = lengths > 0
    crlf[crlf] = data[stops[crlf] - 1] == 13
    lengths -= crlf
    return np.flatnonzero(lengths > 0).astype(np.int64) + 1


def _record_lines_by_csv(source: Source, delimiter: str, records: Int64Array) -> list[int]:
    """Slow path for files with quotes, whose fields may span lines: Python's csv module."""
    wanted = {int(r) for r in records}
    last = max(wanted)
    found: dict[int, int] = {}
    record = -1
    consumed = 0
    try:
        with _text_stream(source) as stream:
            reader = csv.reader(stream, delimiter=delimiter)
            for fields in reader:
                start, consumed = consumed + 1, reader.line_num
                if not fields:
                    continue
                record += 1
                if record in wanted:
                    found[record] = start
                if record >= last:
                    break
    except (csv.Error, UnicodeDecodeError):
        pass
    # Should the two readers ever disagree, the row number is the best place to give.
    return [found.get(int(r), int(r) + 1) for r in records]
