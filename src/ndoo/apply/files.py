"""Files shared by the engines: which Parquet files a folder holds, CSV headers, encodings.

Both engines read the same files the same way: a folder's Parquet files in name order
(files whose names start with ``_`` or ``.`` — markers and temporary files a writer
leaves behind — are not data), the CSV header with the user's dialect, and text in an
encoding DuckDB or Spark cannot read converted through UTF-8 (:func:`transcode`).
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

from ndoo.apply.locations import CsvDialect, Location
from ndoo.errors import FileFormatError, InputError


def missing_column(column: str, names: list[str]) -> InputError:
    shown = ", ".join(repr(n) for n in names)
    return InputError(
        f"the dataset has no column {column!r}; its columns are: {shown}", field=column
    )


def parquet_files(location: Location) -> list[Path]:
    """The Parquet files of a location, in name order for a folder."""
    assert location.path is not None
    if location.path.is_dir():
        return sorted(
            p
            for p in location.path.rglob("*.parquet")
            if p.is_file()
            and not any(part.startswith(("_", ".")) for part in p.relative_to(location.path).parts)
        )
    return [location.path]


def csv_header(path: Path, dialect: CsvDialect, location: Location) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=dialect.delimiter, quotechar=dialect.quote)
        try:
            header = next(reader)
        except StopIteration:
            raise FileFormatError(
                "the file is empty; a header line is needed", file=str(location.path)
            ) from None
        except csv.Error as exc:
            raise FileFormatError(
                f"the header cannot be read ({exc})", file=str(location.path), line=1
            ) from exc
    if not header or all(not name.strip() for name in header):
        raise FileFormatError("the header line is empty", file=str(location.path), line=1)
    repeated = sorted({n for n in header if header.count(n) > 1})
    if repeated:
        raise FileFormatError(
            f"the header names {', '.join(repr(n) for n in repeated)} more than once",
            file=str(location.path),
            line=1,
        )
    return header


def transcode(
    source: Path, source_encoding: str, target: Path, encoding: str, *, bom: bool = False
) -> None:
    """Copy a text file into another encoding, streaming (a BOM written if asked)."""
    decoder = codecs.getincrementaldecoder(codec(source_encoding))(errors="strict")
    encoder = codecs.getincrementalencoder(codec(encoding))(errors="strict")
    try:
        with source.open("rb") as reader, target.open("wb") as writer:
            if bom and codec(encoding) == "utf-8":
                writer.write(codecs.BOM_UTF8)
            while chunk := reader.read(8 << 20):
                writer.write(encoder.encode(decoder.decode(chunk)))
            writer.write(encoder.encode(decoder.decode(b"", final=True), final=True))
    except UnicodeError as exc:
        raise FileFormatError(
            f"the text cannot be converted from {source_encoding} to {encoding} ({exc})",
            file=str(source),
        ) from exc


def codec(encoding: str) -> str:
    name = encoding.lower().replace("_", "-")
    return (
        "utf-8-sig" if name in ("utf-8-sig",) else ("utf-8" if name in ("utf8", "utf-8") else name)
    )
