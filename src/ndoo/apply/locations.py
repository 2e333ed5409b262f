"""Where a dataset is read from or written to: a file, a folder of files, or a table.

A location is a CSV file (delimiter, quoting and encoding detected, or given), a
Parquet file or a folder of Parquet files, a JSON lines file, a table in a database
named by a SQLAlchemy URL (``sqlite:///trust.db``, ``postgresql://host/db``) plus a
table name, or a Spark table (``spark:schema.table``, the Spark engine only).
:func:`locate` turns what a user typed into a :class:`Location` and says clearly
what is wrong with it.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ndoo.errors import InputError

FORMATS = ("csv", "parquet", "jsonl", "table", "spark")
_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_URL_SCHEMES = ("sqlite", "postgresql", "postgres")
_SAMPLE = 64 * 1024


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: delimiter, quote character, encoding, byte-order mark."""

    delimiter: str = ","
    quote: str = '"'
    encoding: str = "utf-8"
    bom: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "delimiter": self.delimiter,
            "quote": self.quote,
            "encoding": self.encoding,
            "bom": self.bom,
        }


@dataclass(frozen=True)
class Location:
    """One dataset: ``format`` and either ``path`` or ``url`` plus ``table``."""

    format: str
    path: Path | None = None
    url: str | None = None
    table: str | None = None
    dialect: CsvDialect | None = None

    @property
    def is_file(self) -> bool:
        return self.path is not None

    @property
    def is_folder(self) -> bool:
        """A folder of Parquet files (an input that is a folder, or an output without a suffix)."""
        return self.path is not None and self.format == "parquet" and self.path.suffix == ""

    def describe(self) -> str:
        """For messages and manifests: the path, or the database (password hidden) and table."""
        if self.path is not None:
            return str(self.path)
        if self.format == "spark":
            return f"spark:{self.table}"
        from ndoo.settings import mask_url

        return f"{mask_url(self.url or '')} table {self.table!r}"

    def as_dict(self) -> dict[str, Any]:
        from ndoo.settings import mask_url

        result: dict[str, Any] = {"format": self.format}
        if self.path is not None:
            result["path"] = str(self.path.resolve())
        if self.url is not None:
            result["database"] = mask_url(self.url)
        if self.table is not None:
            result["table"] = self.table
        if self.dialect is not None:
            result["csv"] = self.dialect.as_dict()
        return result


def _is_url(text: str) -> bool:
    scheme = text.split("://", 1)[0].split("+", 1)[0].lower() if "://" in text else ""
    return scheme in _URL_SCHEMES


def locate(
    text: str,
    *,
    table: str | None = None,
    fmt: str | None = None,
    output: bool = False,
    dialect: CsvDialect | None = None,
) -> Location:
    """The location ``text`` names; an input must exist (an output is checked later)."""
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if text.startswith("spark:"):
        name = text[len("spark:") :]
        if not name:
            raise InputError("name the Spark table after 'spark:', e.g. spark:research.episodes")
        return Location("spark", table=name)
    if _is_url(text) or fmt == "table":
        if not table:
            raise InputError(
                f"{'--out-table' if output else '--table'} is needed with a database URL: "
                "name the table to " + ("write" if output else "read")
            )
        return Location("table", url=text, table=table)
    if table:
        raise InputError(
            f"{text!r} is not a database URL (sqlite:///file.db, postgresql://host/db), "
            "so a table name cannot be used with it"
        )
    path = Path(text).expanduser()
    kind = fmt or _format_of(path, output=output)
    if not output:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_dir() and kind != "parquet":
            raise InputError(f"{path} is a folder; only Parquet may be read from a folder")
        if path.is_dir() and not any(path.rglob("*.parquet")):
            raise InputError(f"{path}: the folder holds no .parquet files")
    if kind == "csv":
        if not output:
            detected = sniff_csv(path)
            dialect = _merge(detected, dialect)
        elif dialect is None and path.suffix.lower() == ".tsv":
            dialect = CsvDialect(delimiter="\t")
    return Location(kind, path=path, dialect=dialect if kind == "csv" else None)


def _merge(detected: CsvDialect, given: CsvDialect | None) -> CsvDialect:
    if given is None:
        return detected
    return replace(
        detected,
        delimiter=given.delimiter or detected.delimiter,
        quote=given.quote or detected.quote,
        encoding=given.encoding or detected.encoding,
    )


def _format_of(path: Path, *, output: bool) -> str:
    if path.is_dir() or (output and path.suffix == ""):
        return "parquet"
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"{path}: cannot tell the format from the name; give --format (csv, parquet, jsonl)"
            if not output
            else f"{path}: cannot tell the output format from the name; give --out-format"
        )
    return kind


def sniff_csv(path: Path) -> CsvDialect:
    """Detect a CSV file's encoding (BOM, UTF-8, else Windows-1252), delimiter and quote."""
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE)
    bom = False
    if sample.startswith(codecs.BOM_UTF8):
        encoding, bom, sample = "utf-8", True, sample[len(codecs.BOM_UTF8) :]
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, bom = "utf-16", True
    else:
        encoding = "utf-8"
        try:
            codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        except UnicodeDecodeError:
            encoding = "cp1252"
    text = sample.decode("utf-16" if encoding == "utf-16" else encoding, errors="replace")
    lines = text.splitlines()[:50]
    head = "\n".join(lines)
    delimiter = ","
    quote = '"'
    if head:
        try:
            found = csv.Sniffer().sniff(head, delimiters=",;\t|")
            delimiter = found.delimiter
            quote = found.quotechar or '"'
        except csv.Error:
            first = lines[0]
            counts = {d: first.count(d) for d in ",;\t|"}
            best = max(counts, key=lambda d: counts[d])
            delimiter = best if counts[best] else ","
    return CsvDialect(delimiter=delimiter, quote=quote, encoding=encoding, bom=bom)
