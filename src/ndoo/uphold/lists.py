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
two cores.  The line numbers of CSV rows are worked out only for an error
(:mod:`ndoo.uphold.csvfiles`).

Values are normalised by :mod:`ndoo.uphold.values`; text and CSV files are loaded,
their delimiter sniffed and their lines counted by :mod:`ndoo.uphold.csvfiles`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ndoo.errors import FileFormatError, InputError, InvalidNumbersInFile
from ndoo.numberstore import distinct
from ndoo.uphold.csvfiles import (
    DELIMITERS,
    Source,
    csv_names,
    csv_table,
    line_at,
    load,
    record_lines,
    sample,
    sniff,
    unreadable,
)
from ndoo.uphold.values import any_true, mask, parse_column

__all__ = [
    "DELIMITERS",
    "FORMATS",
    "NumberList",
    "distinct",
    "format_of",
    "from_numbers",
    "parse_column",
    "read_number_list",
]

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
#: What ends a line of a text list besides its number: the ``.dat`` comma and spaces.
_LINE_TAIL = ", \t\r\n\x0b\x0c"
_UNIT_SEPARATOR = "\x1f"
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
        data = load(path, source)
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


# Text ----------------------------------------------------------------------


def _read_text(source: Source) -> _Entries:
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
                line=line_at(source.data, offset) if offset >= 0 else None,
            ) from exc
        raise unreadable(source.name, exc) from exc
    lines = table.column("line")
    blank = mask(pc.or_(pc.equal(pc.binary_length(lines), 0), pc.utf8_is_space(lines)))
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


# CSV -----------------------------------------------------------------------


def _read_csv(source: Source, column: str | None, *, tab_first: bool) -> _Entries:
    if source.data.size == 0:
        return _no_entries(column)
    delimiter = sniff(sample(source), tab_first=tab_first)
    read_options = pacsv.ReadOptions(encoding=source.encoding)
    parse_options = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    names = csv_names(source, read_options, parse_options, delimiter)
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
    cells = csv_table(
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
    if any_true(_is_blank(cells)):
        # An empty cell: a blank row is skipped; in a row with other data it is invalid.
        everything = csv_table(
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
            blank_rows &= mask(_is_blank(values))
        rows = np.flatnonzero(~blank_rows)
        cells = cells.filter(pa.array(~blank_rows))
    numbers, valid = parse_column(cells, file=source.name, field=name)

    def places(indices: Int64Array) -> list[int]:
        data_rows = indices if rows is None else rows[indices]
        return record_lines(source, delimiter, data_rows + 1, records)

    return _Entries(numbers, valid, name, places)


def _is_blank(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.or_(pc.equal(pc.binary_length(values), 0), pc.utf8_is_space(values))


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
