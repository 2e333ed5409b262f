"""Files as the Spark engine reads and writes them: CSV headers and dialects, JSON key
order, the line of a malformed record, and tidy output folders.

Plain Python (no pyspark), so that it is cheap to import and test; the values of rows
never appear in what it returns.
"""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path
from typing import IO

from ndoo.apply.locations import CsvDialect, Location
from ndoo.errors import FileFormatError

#: How many lines of a JSON lines file give the order of its keys.
JSON_ORDER_LINES = 1000


def malformed(source: Location) -> FileFormatError:
    """The error for a record Spark could not parse, with its line found here (no values)."""
    assert source.path is not None
    if source.format == "jsonl":
        return FileFormatError(
            "the line is not a JSON object (nothing was written)",
            file=str(source.path),
            line=bad_json_line(source.path),
        )
    return FileFormatError(
        "the row does not have the header's number of fields, or a quote is not closed "
        "(nothing was written)",
        file=str(source.path),
        line=bad_csv_line(source.path, source.dialect or CsvDialect()),
    )


def codec(encoding: str) -> str:
    """Python's name for an encoding (``utf-8`` with or without a BOM)."""
    name = codecs.lookup(encoding).name
    return "utf-8" if name == "utf-8-sig" else name


def csv_options(dialect: CsvDialect) -> dict[str, str]:
    """Spark's CSV options for a dialect: RFC 4180 quoting, values never trimmed."""
    return {
        "header": "true",
        "sep": dialect.delimiter,
        "quote": dialect.quote,
        "escape": dialect.quote,
        "encoding": "UTF-8",  # other encodings are converted: Spark 4 reads few
        "ignoreLeadingWhiteSpace": "false",
        "ignoreTrailingWhiteSpace": "false",
    }


def _text(path: Path, dialect: CsvDialect) -> IO[str]:
    encoding = "utf-8-sig" if codec(dialect.encoding) == "utf-8" else dialect.encoding
    return path.open(encoding=encoding, newline="")


def csv_header(path: Path, dialect: CsvDialect) -> list[str]:
    """The header's names (refusing an empty file or a repeated name, as DuckDB does)."""
    with _text(path, dialect) as handle:
        reader = csv.reader(handle, delimiter=dialect.delimiter, quotechar=dialect.quote)
        try:
            header = next(reader)
        except StopIteration:
            raise FileFormatError(
                "the file is empty; a header line is needed", file=str(path)
            ) from None
        except (csv.Error, UnicodeError) as exc:
            raise FileFormatError(
                f"the header cannot be read ({type(exc).__name__})", file=str(path), line=1
            ) from exc
    if not header or all(not name.strip() for name in header):
        raise FileFormatError("the header line is empty", file=str(path), line=1)
    repeated = sorted({n for n in header if header.count(n) > 1})
    if repeated:
        raise FileFormatError(
            f"the header names {', '.join(repr(n) for n in repeated)} more than once",
            file=str(path),
            line=1,
        )
    return header


def bad_csv_line(path: Path, dialect: CsvDialect) -> int | None:
    """The line where the first record with the wrong number of fields starts."""
    start = 1
    try:
        with _text(path, dialect) as handle:
            reader = csv.reader(
                handle, delimiter=dialect.delimiter, quotechar=dialect.quote, strict=True
            )
            width = len(next(reader))
            start = reader.line_num + 1
            for record in reader:
                if record and len(record) != width:
                    return start
                start = reader.line_num + 1
    except (csv.Error, UnicodeError, StopIteration):
        return start
    return None


def bad_json_line(path: Path) -> int | None:
    """The first line that is not a JSON object."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                if not isinstance(json.loads(line), dict):
                    return number
            except ValueError:
                return number
    return None


def json_order(path: Path, names: list[str]) -> list[str]:
    """Spark sorts JSON fields by name; put them back in the order the lines give them."""
    order: dict[str, None] = {}
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle):
            if number >= JSON_ORDER_LINES:
                break
            try:
                record = json.loads(line) if line.strip() else None
            except ValueError:
                break
            if isinstance(record, dict):
                order.update(dict.fromkeys(record))
    known = [n for n in order if n in names]
    return known + [n for n in names if n not in order]


def tidy_folder(folder: Path) -> None:
    """Only the part files stay: no ``_SUCCESS`` marker, no ``.crc`` checksums."""
    for path in folder.iterdir():
        if path.name == "_SUCCESS" or (path.name.startswith(".") and path.name.endswith(".crc")):
            path.unlink()
