"""Reading the list of NHS numbers an organisation wants checked.

:func:`read_number_list` reads a file into a :class:`NumberList`: valid, distinct NHS
numbers in ascending order, with the count of rows read and of duplicates removed.
:func:`from_numbers` does the same for numbers already in memory (a stored cohort).

**Formats.**  ``fmt`` names one (``text``, ``csv`` or ``parquet``); otherwise the
suffix decides: ``.parquet``/``.pq`` is Parquet, ``.csv``/``.tsv`` is CSV, anything
else is text.

- *Text*: one number per line, no header.  The Check service's own ``.dat`` format
  (``9000000009,``: a number and a comma) is text too — trailing commas and spaces
  are ignored.  LF, CRLF and CR line ends are all accepted.  A first line that holds
  letters is refused with a hint to read the file as CSV: it is a heading.
- *CSV*: a header row is required.  ``column`` names the NHS-number column (exactly,
  else ignoring case and surrounding spaces); with no ``column`` a file of a single
  column uses it, and any other file is refused with a message naming its columns.
  The delimiter — comma, tab, semicolon or pipe — is sniffed from the first rows: the
  one that splits the header into the most fields, every sampled row agreeing.
  Quoted fields (even holding line breaks) are read as CSV quotes them.  A first
  line that holds an NHS number is refused: the file has no header.
- *Parquet*: ``column`` is needed unless the file has a single column.  Text and
  integer columns are read, and floating-point ones whose values are whole numbers.

**Encodings** (text and CSV): UTF-8, with or without a byte order mark, else
Windows-1252 (what Excel writes on Windows); UTF-16 with a byte order mark (Excel's
"Unicode text") is transcoded.

**Values** are normalised as people write NHS numbers: ``9434765919``,
``943 476 5919``, ``943-476-5919``, with spaces (also no-break spaces) around them;
integers; text such as ``9434765919.0`` that a spreadsheet made of a number without
losing a digit.  Text keeps its leading zeros: ``0101011237`` is ten digits, and a
nine-digit text value is invalid rather than guessed at.  Every number must then be
valid: ten digits, a correct Modulus 11 check digit, and not a placeholder such as
``0000000000`` (:mod:`ndoo.nhs_number`).

**Blank lines and empty cells.**  A blank line of a text file, and a CSV row whose
every cell is empty (spreadsheets export them), is skipped and not counted.  An
empty cell in the NHS-number column of a row holding other data is an *invalid
entry*, as is a null in Parquet: the row is about someone, a row without a number
cannot be checked, and dropping it silently would leave that person unchecked.

**Errors.**  Any invalid entry refuses the whole list with
:class:`~ndoo.errors.InvalidNumbersInFile`, naming the file, the column, the count
and the first ``max_reported`` places: physical line numbers as an editor shows them
for text and CSV (the header is line 1; a quoted field spanning lines is counted by
the line it starts on), row numbers from 1 for Parquet and for numbers in memory.
The invalid values themselves are never put in an error — they may be real NHS
numbers, and messages reach logs.  A file without a single number is refused with
:class:`~ndoo.errors.InputError`; structural problems (missing column, ragged CSV
row, unreadable file, unknown format) with :class:`~ndoo.errors.FileFormatError`.

**Speed.**  No Python loop runs per row.  Arrow's multi-threaded CSV reader reads
text and CSV alike — a text list is read as a one-column CSV with quoting off and
the ASCII unit separator (never in a list) as delimiter, so each line is one field
and blank lines keep their place.  Values are normalised by Arrow kernels over the
whole column, with a fast path for plain ten-digit values; sorting and removing
duplicates is NumPy.  A 10-million-line ``.dat`` file reads in 2 to 4 seconds on
two cores.  The line numbers of CSV rows are worked out only for an error: from the positions
of line breaks (NumPy) when the file holds no quotes, else by a pass of Python's
:mod:`csv` module up to the last row reported.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ndoo.errors import FileFormatError, InputError, InvalidNumbersInFile
from ndoo.nhs_number import MAX_NUMBER, parse_array, validate_array

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FORMATS = ("text", "csv", "parquet")
_FORMAT_NAMES = {
    "text": "text",
    "txt": "text",
    "dat": "text",
    "csv": "csv",
    "tsv": "csv",
    "parquet": "parquet",
    "pq": "parquet",
}
_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: Delimiters a CSV file may use, in order of preference when the sample is ambiguous.
DELIMITERS = (",", "\t", ";", "|")
#: What ends a line of a text list besides its number: the ``.dat`` comma and spaces.
_LINE_TAIL = ", \t\r\n\x0b\x0c"
_UNIT_SEPARATOR = "\x1f"
_SAMPLE_BYTES = 64 * 1024
_SNIFF_ROWS = 20
_CHUNK = 1 << 24
_PYTHON_CODECS = {"utf8": "utf-8", "cp1252": "cp1252"}
# Ten digits in a row or in 3-3-4 groups: the audit trail's test for an NHS number.
_NHS_LIKE = re.compile(r"(?<!\d)(\d{10}|\d{3}[ -]\d{3}[ -]\d{4})(?!\d)")
_LETTER = re.compile(r"[A-Za-z]")


@dataclass(frozen=True, eq=False)
class NumberList:
    """A list to check: valid, distinct NHS numbers in ascending order.

    ``rows`` counts the entries read (blank lines and rows not counted) and
    ``duplicates`` the entries that repeated an earlier number, so
    ``len(numbers) == rows - duplicates``.  ``source`` names where the list came
    from, for messages.  The ``repr`` never shows the numbers.
    """

    numbers: Int64Array
    rows: int
    duplicates: int
    source: str

    def __len__(self) -> int:
        return int(self.numbers.size)

    def __repr__(self) -> str:
        return (
            f"NumberList(source={self.source!r}, numbers={len(self)}, rows={self.rows}, "
            f"duplicates={self.duplicates})"
        )


@dataclass(frozen=True, eq=False)
class _Entries:
    """What a reader found: one value per entry, and how to name an entry's place."""

    numbers: Int64Array
    valid: BoolArray
    field: str | None
    places: Callable[[Int64Array], list[int]]
    unit: str = "line"


@dataclass(frozen=True, eq=False)
class _Source:
    """A text or CSV file's bytes (byte order mark removed) and their encoding."""

    name: str
    data: pa.Buffer
    encoding: str  # "utf8" or "cp1252", as Arrow's reader names them


# ---------------------------------------------------------------------------
# Public API


def read_number_list(
    path: Path | str,
    *,
    column: str | None = None,
    fmt: str | None = None,
    max_reported: int = 20,
) -> NumberList:
    """Read, normalise and validate a list of NHS numbers; all or nothing.

    Raises :class:`~ndoo.errors.InvalidNumbersInFile` if any entry is not a valid
    NHS number, :class:`~ndoo.errors.FileFormatError` for a file that cannot be
    read as the format, and :class:`~ndoo.errors.InputError` for an empty list.
    """
    if max_reported < 1:
        raise ValueError("max_reported must be at least 1")
    path = Path(path)
    source = str(path)
    kind = format_of(path, fmt)
    if kind == "parquet":
        entries = _read_parquet(path, source, column)
    else:
        data = _load(path, source)
        if kind == "csv":
            entries = _read_csv(data, column, tab_first=path.suffix.lower() == ".tsv")
        elif column is not None:
            raise FileFormatError(
                "a text list holds one number per line and has no columns; a column can "
                "be named only for a CSV or Parquet file",
                file=source,
                field=column,
            )
        else:
            entries = _read_text(data)
    return _finish(entries, source, max_reported)


def from_numbers(numbers: npt.ArrayLike, *, source: str, max_reported: int = 20) -> NumberList:
    """A :class:`NumberList` from numbers in memory (integers or text), validated.

    Places in errors are positions from 1.  Used for a stored cohort that is
    checked again, so it never trusts that the numbers are still valid.
    """
    if max_reported < 1:
        raise ValueError("max_reported must be at least 1")
    array = np.asarray(numbers).ravel()
    try:
        if array.dtype.kind in "iu":
            arrow = pa.array(array.astype(np.int64, copy=False))
        elif array.dtype.kind == "f":
            arrow = pa.array(array.astype(np.float64, copy=False))
        elif array.dtype.kind in "US":
            arrow = pa.array(array.astype(str), type=pa.string())
        else:
            arrow = pa.array(array.tolist())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"{source}: NHS numbers must be integers or text") from exc
    values, valid = parse_column(arrow, file=source)
    entries = _Entries(values, valid, None, _positions_from_one, unit="entry")
    return _finish(entries, source, max_reported)


def format_of(path: Path, fmt: str | None = None) -> str:
    """``text``, ``csv`` or ``parquet``: ``fmt`` if given, else by the file's suffix."""
    if fmt is None:
        return _SUFFIX_FORMATS.get(path.suffix.lower(), "text")
    kind = _FORMAT_NAMES.get(fmt.strip().lower())
    if kind is None:
        raise FileFormatError(
            f"unknown list format {fmt!r}; use one of {', '.join(FORMATS)}", file=str(path)
        )
    return kind


def parse_column(
    values: pa.Array | pa.ChunkedArray, *, file: str | None = None, field: str | None = None
) -> tuple[Int64Array, BoolArray]:
    """Normalise a column of NHS numbers: ``(int64 values, valid mask)``, one per row.

    Text, integer, whole floating-point (64-bit), decimal and dictionary-encoded
    columns are read; nulls and invalid values are ``False`` in the mask (value 0).
    Any other type raises :class:`~ndoo.errors.FileFormatError`.
    """
    column = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if len(column) == 0 or pa.types.is_null(kind):
        return np.zeros(len(column), dtype=np.int64), np.zeros(len(column), dtype=bool)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _parse_text_values(column)
    if pa.types.is_integer(kind):
        return _parse_integers(column)
    if pa.types.is_float64(kind) or pa.types.is_decimal(kind):
        return _parse_floats(column.cast(pa.float64(), safe=False))
    if pa.types.is_floating(kind):
        raise FileFormatError(
            f"holds {kind} numbers, which cannot hold ten digits exactly; store NHS numbers "
            "as text or integers",
            file=file,
            field=field,
        )
    raise FileFormatError(
        f"holds {kind} values, not NHS numbers (text or whole numbers)", file=file, field=field
    )


def distinct(numbers: npt.ArrayLike) -> Int64Array:
    """The distinct values of an integer array in ascending order (sorts only if needed)."""
    array = np.asarray(numbers, dtype=np.int64).ravel()
    if array.size > 1 and not bool(np.all(array[1:] > array[:-1])):
        array = np.sort(array)
        keep = np.empty(array.size, dtype=bool)
        keep[0] = True
        np.not_equal(array[1:], array[:-1], out=keep[1:])
        array = array[keep]
    return array


# ---------------------------------------------------------------------------
# Normalising values


def _mask(values: pa.Array | pa.ChunkedArray) -> BoolArray:
    return np.asarray(values.to_numpy(), dtype=bool)


def _any(values: pa.Array | pa.ChunkedArray) -> bool:
    return bool(pc.any(values).as_py())


def _parse_text_values(column: pa.ChunkedArray) -> tuple[Int64Array, BoolArray]:
    present = _mask(column.is_valid())
    text = column.fill_null("")
    plain = pc.and_(pc.equal(pc.binary_length(text), 10), pc.ascii_is_decimal(text))
    plain_mask = _mask(plain)
    numbers = np.zeros(len(text), dtype=np.int64)
    valid = np.zeros(len(text), dtype=bool)
    if plain_mask.any():
        # Ten ASCII digits: cast straight to integers (the common case, no regex).
        subset = text if plain_mask.all() else text.filter(plain)
        digits = np.asarray(pc.cast(subset, pa.int64()).to_numpy(), dtype=np.int64)
        numbers[plain_mask] = digits
        valid[plain_mask] = validate_array(digits)
    if not plain_mask.all():
        rest = ~plain_mask
        parsed, ok = parse_array(_tidy(text.filter(pc.invert(plain))))
        numbers[rest] = parsed
        valid[rest] = ok
    valid &= present
    numbers[~valid] = 0
    return numbers, valid


def _tidy(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Undo what spreadsheets do to numbers: no-break spaces and a ``.0`` tail."""
    tidy = pc.utf8_trim_whitespace(text)
    if _any(pc.match_substring_regex(tidy, "[\u00a0\u202f]")):
        tidy = pc.utf8_trim_whitespace(pc.replace_substring_regex(tidy, "[\u00a0\u202f]", " "))
    if _any(pc.match_substring(tidy, ".")):
        tidy = pc.replace_substring_regex(tidy, r"^([0-9]{10})\.0+$", r"\1")
    return tidy


def _parse_integers(column: pa.ChunkedArray) -> tuple[Int64Array, BoolArray]:
    present = _mask(column.is_valid())
    raw = np.asarray(column.fill_null(0).to_numpy())
    in_range = raw <= MAX_NUMBER
    ints = np.where(in_range, raw, 0).astype(np.int64)
    valid = present & in_range & validate_array(ints)
    return np.where(valid, ints, 0), valid


def _parse_floats(column: pa.ChunkedArray) -> tuple[Int64Array, BoolArray]:
    raw = np.asarray(column.fill_null(-1.0).to_numpy(), dtype=np.float64)
    raw = np.where(np.isfinite(raw), raw, -1.0)
    whole = (raw >= 0) & (raw <= MAX_NUMBER) & (np.floor(raw) == raw)
    ints = np.where(whole, raw, 0).astype(np.int64)
    valid = _mask(column.is_valid()) & whole & validate_array(ints)
    return np.where(valid, ints, 0), valid


# ---------------------------------------------------------------------------
# Reading files


def _finish(entries: _Entries, source: str, max_reported: int) -> NumberList:
    count = int(entries.numbers.size)
    if count == 0:
        raise InputError(
            f"{source}: the list holds no NHS numbers; there is nothing to check", file=source
        )
    bad = np.flatnonzero(~entries.valid)
    if bad.size:
        raise InvalidNumbersInFile(
            file=source,
            lines=entries.places(bad[:max_reported]),
            count=int(bad.size),
            field=entries.field,
            unit=entries.unit,
        )
    numbers = distinct(entries.numbers)
    return NumberList(
        numbers=numbers, rows=count, duplicates=count - int(numbers.size), source=source
    )


def _positions_from_one(indices: Int64Array) -> list[int]:
    return [int(i) + 1 for i in indices]


def _no_entries(field: str | None = None) -> _Entries:
    empty = np.zeros(0, dtype=np.int64)
    return _Entries(empty, np.zeros(0, dtype=bool), field, _positions_from_one)


def _load(path: Path, source: str) -> _Source:
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
        return _Source(source, pa.py_buffer(text.encode("utf-8")), "utf8")
    return _Source(source, data, "utf8" if _is_utf8(data) else "cp1252")


def _is_utf8(data: pa.Buffer) -> bool:
    offsets = pa.py_buffer(np.array([0, data.size], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, data]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _unreadable(source: str, exc: Exception) -> FileFormatError:
    if isinstance(exc, UnicodeDecodeError):
        return FileFormatError("is neither UTF-8 nor Windows-1252 text", file=source)
    # Arrow's messages can quote a row of the file; never pass them on.
    return FileFormatError("could not be read as a list of NHS numbers", file=source)


# Text ----------------------------------------------------------------------


def _read_text(source: _Source) -> _Entries:
    if source.data.size == 0:
        return _no_entries()
    try:
        table = pacsv.read_csv(
            pa.BufferReader(source.data),
            read_options=pacsv.ReadOptions(column_names=["line"], encoding=source.encoding),
            parse_options=pacsv.ParseOptions(
                delimiter=_UNIT_SEPARATOR,
                quote_char=False,
                double_quote=False,
                escape_char=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={"line": pa.string()}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if "Empty CSV file" in str(exc):
            return _no_entries()
        if "columns" in str(exc):
            offset = memoryview(source.data).tobytes().find(_UNIT_SEPARATOR.encode())
            raise FileFormatError(
                "holds a control character (U+001F), which a list of numbers never does",
                file=source.name,
                line=_line_at(source.data, offset) if offset >= 0 else None,
            ) from exc
        raise _unreadable(source.name, exc) from exc
    lines = table.column("line")
    blank = _mask(pc.or_(pc.equal(pc.binary_length(lines), 0), pc.utf8_is_space(lines)))
    kept = np.flatnonzero(~blank)
    entries = pc.utf8_rtrim(lines.filter(pa.array(~blank)), characters=_LINE_TAIL)
    numbers, valid = parse_column(entries, file=source.name)
    if kept.size and not valid[0] and _LETTER.search(entries[0].as_py() or ""):
        raise FileFormatError(
            "the first line is a heading, not an NHS number: a text list holds one number "
            "per line; remove the heading, or read the file as CSV to name its column",
            file=source.name,
            line=int(kept[0]) + 1,
        )
    line_numbers = kept + 1
    return _Entries(numbers, valid, None, lambda idx: line_numbers[idx].tolist())


def _line_at(data: pa.Buffer, offset: int) -> int:
    """The 1-based line holding a byte offset (LF, CRLF and lone CR end lines)."""
    upto = np.frombuffer(data, dtype=np.uint8)[: offset + 1]
    before = upto[:offset]
    returns = np.flatnonzero(before == 13)
    lone = np.count_nonzero(upto[returns + 1] != 10)
    return int(np.count_nonzero(before == 10) + lone) + 1


# CSV -----------------------------------------------------------------------


def _read_csv(source: _Source, column: str | None, *, tab_first: bool) -> _Entries:
    if source.data.size == 0:
        return _no_entries(column)
    delimiter = _sniff(_sample(source), tab_first=tab_first)
    read_options = pacsv.ReadOptions(encoding=source.encoding)
    parse_options = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    names = _csv_names(source, read_options, parse_options, delimiter)
    if names is None:
        return _no_entries(column)
    if any(_NHS_LIKE.search(name) for name in names):
        raise FileFormatError(
            "the first line holds an NHS number where the column names belong: a CSV file "
            "needs a header row; for a plain list of numbers use a text (.txt or .dat) file",
            file=source.name,
            line=1,
        )
    name = _choose_column(names, column, source.name, line=1)
    cells = _csv_table(
        source,
        read_options,
        parse_options,
        pacsv.ConvertOptions(
            include_columns=[name],
            column_types={name: pa.string()},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
        delimiter,
    ).column(0)
    records = len(cells) + 1
    rows: Int64Array | None = None  # data rows of the entries, when blank rows were skipped
    if _any(_is_blank(cells)):
        # An empty cell: a blank row is skipped; in a row with other data it is invalid.
        everything = _csv_table(
            source,
            read_options,
            parse_options,
            pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
            delimiter,
        )
        blank_rows = np.ones(everything.num_rows, dtype=bool)
        for values in everything.columns:
            blank_rows &= _mask(_is_blank(values))
        rows = np.flatnonzero(~blank_rows)
        cells = cells.filter(pa.array(~blank_rows))
    numbers, valid = parse_column(cells, file=source.name, field=name)

    def places(indices: Int64Array) -> list[int]:
        data_rows = indices if rows is None else rows[indices]
        return _record_lines(source, delimiter, data_rows + 1, records)

    return _Entries(numbers, valid, name, places)


def _is_blank(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.or_(pc.equal(pc.binary_length(values), 0), pc.utf8_is_space(values))


def _sample(source: _Source) -> str:
    head = memoryview(source.data)[:_SAMPLE_BYTES].tobytes()
    if source.data.size > _SAMPLE_BYTES:
        cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
        if cut > 0:
            head = head[:cut]
    return head.decode(_PYTHON_CODECS[source.encoding], errors="replace")


def _sniff(sample: str, *, tab_first: bool) -> str:
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


def _csv_names(
    source: _Source,
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


def _csv_table(
    source: _Source,
    read_options: pacsv.ReadOptions,
    parse_options: pacsv.ParseOptions,
    convert_options: pacsv.ConvertOptions,
    delimiter: str,
) -> pa.Table:
    try:
        return pacsv.read_csv(
            pa.BufferReader(source.data),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError, UnicodeDecodeError) as exc:
        raise _csv_failure(source, delimiter, exc) from exc


def _csv_failure(source: _Source, delimiter: str, exc: Exception) -> FileFormatError:
    ragged = re.search(r"Expected (\d+) columns, got (\d+)", str(exc))
    if ragged is None:
        return _unreadable(source.name, exc)
    expected, got = ragged.groups()
    return FileFormatError(
        f"this row has {got} fields where the header has {expected}",
        file=source.name,
        line=_first_ragged_line(source, delimiter),
    )


def _text_stream(source: _Source) -> io.TextIOWrapper:
    raw = io.BytesIO(memoryview(source.data).tobytes())
    return io.TextIOWrapper(raw, encoding=_PYTHON_CODECS[source.encoding], newline="")


def _first_ragged_line(source: _Source, delimiter: str) -> int | None:
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


def _choose_column(names: list[str], column: str | None, source: str, *, line: int | None) -> str:
    listing = ", ".join(
        "(a name like an NHS number)" if _NHS_LIKE.search(n) else repr(n) for n in names
    )
    if column is None:
        if len(names) == 1:
            return names[0]
        raise FileFormatError(
            f"has {len(names)} columns; name the one holding NHS numbers: {listing}",
            file=source,
            line=line,
        )
    matches = [n for n in names if n == column] or [
        n for n in names if n.strip().casefold() == column.strip().casefold()
    ]
    if len(matches) > 1:
        raise FileFormatError(
            f"{len(matches)} columns are named {column!r}; rename all but one",
            file=source,
            line=line,
            field=column,
        )
    if not matches:
        raise FileFormatError(
            f"there is no column {column!r}; the columns are: {listing}",
            file=source,
            line=line,
            field=column,
        )
    return matches[0]


def _record_lines(source: _Source, delimiter: str, records: Int64Array, total: int) -> list[int]:
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


def _record_lines_by_csv(source: _Source, delimiter: str, records: Int64Array) -> list[int]:
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


# Parquet -------------------------------------------------------------------


def _read_parquet(path: Path, source: str, column: str | None) -> _Entries:
    try:
        parquet = pq.ParquetFile(str(path))
    except OSError as exc:
        raise FileFormatError(f"cannot read the file: {exc.strerror or exc}", file=source) from exc
    except (pa.ArrowException, ValueError) as exc:
        raise FileFormatError("is not a Parquet file", file=source) from exc
    with parquet:
        names = [str(n) for n in parquet.schema_arrow.names]
        name = _choose_column(names, column, source, line=None)
        try:
            table = parquet.read(columns=[name])
        except (pa.ArrowException, OSError) as exc:
            raise FileFormatError("could not be read as Parquet", file=source, field=name) from exc
    values, valid = parse_column(table.column(0), file=source, field=name)
    return _Entries(values, valid, name, _positions_from_one, unit="row")
