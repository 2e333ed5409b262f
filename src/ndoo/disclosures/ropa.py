"""The record of processing (ROPA) as a CSV spreadsheet: import it into the register, export it.

An organisation usually keeps its record of processing in a spreadsheet.
:func:`import_csv` reads one saved as CSV and adds or changes the disclosures it lists;
:func:`export_csv` writes the register back out in the same shape, so a spreadsheet can
go out, be edited and come back in.

What :func:`import_csv` accepts
-------------------------------
* UTF-8 with or without a byte order mark, else Windows-1252 (as Excel saves a '£' or
  a curly quote), or UTF-16 with a byte order mark; comma, semicolon, tab or bar
  delimiters; quoted values spanning lines (a line break inside a value becomes a space:
  the register holds values on one line).
* The header is the first row that is not empty.  A column is matched to a field by its
  name (``legal_bases``) or its label (``Legal basis``), in any case, with spaces,
  underscores and hyphens alike.  Reference, Title and Recipient organisation must be
  there.  Other columns are not used and are reported; the columns an export adds
  (:data:`READ_ONLY_COLUMNS`) are skipped without comment.
* Empty lines and rows whose cells are all empty are skipped.  A value is a code, its
  label or a listed spelling (:mod:`ndoo.disclosures.facts`); dates are YYYY-MM-DD or
  DD/MM/YYYY; several legal bases are separated by ';'.  An empty cell is unknown.
* A field whose column is not in the file keeps the value the register holds: a
  spreadsheet without a column for it does not erase an answer given in an assessment.

Every row is checked before anything is written and every problem is reported
(:class:`~ndoo.errors.RowErrors`, each with its line and column), so a file with any
problem changes nothing.  Lines are physical, as an editor shows them, the header being
line 1 when it is the first line; a row is named by the line it starts on.  Answers that
contradict each other are not errors: they are imported and reported, and the
assessment asks about them.

What :func:`export_csv` writes
------------------------------
UTF-8 with a byte order mark and CRLF line ends, as Excel expects; one row a disclosure
with the fields' labels as the header and values as their labels, then the
:data:`READ_ONLY_COLUMNS`.  A text value that a spreadsheet would take for a formula
(starting ``=``, ``+``, ``-`` or ``@``) is written after an apostrophe, which the import
removes again, so an export imports back to the same register.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ndoo.checkfile import write_atomically
from ndoo.db import Database
from ndoo.disclosures import assessments, store
from ndoo.disclosures.facts import BY_NAME, FIELDS, Field
from ndoo.disclosures.record import Disclosure, contradictions, parse
from ndoo.errors import FileFormatError, InputError, RowErrors
from ndoo.timeutil import iso
from ndoo.uphold import csvfiles

#: Columns an export adds after the fields; an import skips them.
READ_ONLY_COLUMNS = ("Version", "Assessment", "Rule set", "Assessed at")

_REQUIRED = tuple(f for f in FIELDS if f.required)
_LINE_BREAKS = re.compile(r"\s*[\r\n\t]\s*")
_FORMULA = re.compile(r"'*[=+\-@]")


@dataclass(frozen=True)
class Contradicted:
    """An imported disclosure whose answers contradict each other, and where it is."""

    line: int
    reference: str
    message: str
    columns: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "reference": self.reference,
            "message": self.message,
            "columns": list(self.columns),
        }


@dataclass(frozen=True)
class ImportResult:
    """What an import did: references added, changed and unchanged, in file order.

    ``not_in_file`` names, sorted, the disclosures the register holds that the file does
    not list; an import never removes them, but whoever keeps the spreadsheet as the
    master copy needs to know.
    """

    file: str
    rows: int
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    contradictions: tuple[Contradicted, ...] = ()
    not_in_file: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "added": list(self.added),
            "changed": list(self.changed),
            "unchanged": list(self.unchanged),
            "ignored_columns": list(self.ignored_columns),
            "contradictions": [c.as_dict() for c in self.contradictions],
            "not_in_file": list(self.not_in_file),
        }

    def describe(self) -> str:
        """What the import did, as a person reads it (references, never values)."""
        lines = [
            f"{self.file}: {self.rows} row{'s' if self.rows != 1 else ''} read; "
            f"{len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.unchanged)} unchanged."
        ]
        if self.changed:
            lines.append(f"Changed: {', '.join(self.changed)}.")
        if self.not_in_file:
            lines.append(f"In the register but not in this file: {', '.join(self.not_in_file)}.")
        for column in self.ignored_columns:
            lines.append(f"Column {column!r} was not used.")
        for item in self.contradictions:
            lines.append(
                f"Line {item.line} ({item.reference}): answers contradict each other: "
                f"{item.message}. The assessment will ask about them."
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]  # field name to cell text, for the columns in the file


@dataclass(frozen=True)
class _Sheet:
    columns: tuple[Field, ...]  # the fields the file has a column for
    rows: tuple[_Row, ...]
    ignored: tuple[str, ...]
    problems: tuple[dict[str, Any], ...]  # rows too wide for the header


# ---------------------------------------------------------------------------
# Import


def import_csv(
    db: Database, path: str | os.PathLike[str], *, organisation: str, actor: str
) -> ImportResult:
    """Add or change the disclosures a record-of-processing CSV lists, all or none.

    Raises :class:`~ndoo.errors.FileFormatError` for a file that cannot be read as CSV
    or lacks a required column, and :class:`~ndoo.errors.RowErrors` listing every
    problem of every row; then nothing is imported.
    """
    name = os.fspath(path)
    sheet = _read(Path(path), name)
    with db.write() as conn:
        current = {
            e.reference: e.disclosure for e in store.entries_in(conn, organisation=organisation)
        }
        parsed, problems = _check(sheet, current)
        if problems:
            raise RowErrors(file=name, problems=problems)
        outcomes: dict[str, list[str]] = {"added": [], "changed": [], "unchanged": []}
        for _, disclosure in parsed:
            _, outcome = store.save(
                conn,
                disclosure,
                organisation=organisation,
                actor=actor,
                change="imported",
                create=None,
            )
            outcomes[outcome].append(disclosure.reference)
    found = tuple(
        Contradicted(line, d.reference, c.message, tuple(_column(n) for n in c.fields))
        for line, d in parsed
        for c in contradictions(d)
    )
    listed = {d.reference for _, d in parsed}
    return ImportResult(
        file=name,
        rows=len(sheet.rows),
        added=tuple(outcomes["added"]),
        changed=tuple(outcomes["changed"]),
        unchanged=tuple(outcomes["unchanged"]),
        ignored_columns=sheet.ignored,
        contradictions=found,
        not_in_file=tuple(sorted(set(current) - listed)),
    )


def _check(
    sheet: _Sheet, current: Mapping[str, Disclosure]
) -> tuple[list[tuple[int, Disclosure]], list[dict[str, Any]]]:
    """Each row as a disclosure, and every problem of every row, by line and column."""
    problems = list(sheet.problems)
    parsed: list[tuple[int, Disclosure]] = []
    first_line: dict[str, int] = {}
    present = {f.name for f in sheet.columns}
    for row in sheet.rows:
        reference = row.values.get("reference", "").strip()
        values = dict(row.values)
        before = current.get(reference)
        if before is not None:
            kept = _cells(before)
            values.update({f.name: kept[i] for i, f in enumerate(FIELDS) if f.name not in present})
        disclosure, found = parse(values)
        problems += [{"line": row.line, "field": p.column(), "message": p.message} for p in found]
        if reference and reference in first_line:
            problems.append(
                {
                    "line": row.line,
                    "field": _column("reference"),
                    "message": f"Reference {reference!r} is also on line "
                    f"{first_line[reference]}; list each disclosure once",
                }
            )
        elif reference:
            first_line[reference] = row.line
        if disclosure is not None:
            parsed.append((row.line, disclosure))
    problems.sort(key=lambda p: int(p["line"]))
    return parsed, problems


def _read(path: Path, name: str) -> _Sheet:
    text, delimiter = csvfiles.spreadsheet_text(path, name, what="the record of processing")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_line = 0
    columns: list[tuple[int, Field]] = []
    ignored: list[str] = []
    unnamed: dict[int, str] = {}
    unnamed_used: set[int] = set()
    rows: list[_Row] = []
    problems: list[dict[str, Any]] = []
    consumed = 0
    try:
        for record in reader:
            start, consumed = consumed + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header, header_line = record, start
                columns, ignored, unnamed = _match_header(header, name, header_line)
                continue
            if len(record) > len(header) and any(c.strip() for c in record[len(header) :]):
                problems.append(
                    {
                        "line": start,
                        "field": None,
                        "message": f"this row has {len(record)} cells where the header has "
                        f"{len(header)}; a value holding the delimiter {delimiter!r} must be "
                        "in quotes",
                    }
                )
            unnamed_used.update(i for i in unnamed if i < len(record) and record[i].strip())
            values = {f.name: _clean(record[i]) if i < len(record) else "" for i, f in columns}
            rows.append(_Row(start, values))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise FileFormatError(
                "a quoted value starting on this line is never closed", file=name, line=consumed + 1
            ) from exc
        raise FileFormatError(
            f"is not well-formed CSV ({exc}); a value holding quotes must be in quotes, "
            "each quote inside it doubled",
            file=name,
            line=reader.line_num,
        ) from exc
    if header is None:
        raise FileFormatError("is empty: it has no header row", file=name)
    ignored += [unnamed[i] for i in sorted(unnamed_used)]
    return _Sheet(tuple(f for _, f in columns), tuple(rows), tuple(ignored), tuple(problems))


def _match_header(
    header: Sequence[str], name: str, line: int
) -> tuple[list[tuple[int, Field]], list[str], dict[int, str]]:
    """The field each column gives, the headings not used, and the columns with no heading."""
    columns: list[tuple[int, Field]] = []
    ignored: list[str] = []
    seen: dict[str, str] = {}
    unnamed: dict[int, str] = {}
    for index, heading in enumerate(header):
        key = _key(heading)
        if not key:
            unnamed[index] = f"column {index + 1} (no heading)"
            continue
        spec = _BY_KEY.get(key)
        if spec is None:
            if key not in _SKIPPED:
                ignored.append(heading.strip())
            continue
        if spec.name in seen:
            raise FileFormatError(
                f"columns {seen[spec.name]!r} and {heading.strip()!r} both give "
                f"{spec.column}; keep one",
                file=name,
                line=line,
            )
        seen[spec.name] = heading.strip()
        columns.append((index, spec))
    missing = [f.column for f in _REQUIRED if f.name not in seen]
    if missing:
        found = ", ".join(repr(h.strip()) for h in header if h.strip()) or "none"
        raise FileFormatError(
            f"the header has no {' or '.join(missing)} column "
            f"(columns found: {found}); name the columns by their labels, as an export "
            "does, or by field name",
            file=name,
            line=line,
        )
    return columns, ignored, unnamed


def _key(heading: str) -> str:
    return re.sub(r"[\s_\-]+", " ", heading.replace("\ufeff", "")).strip().casefold()


_BY_KEY: dict[str, Field] = {
    **{_key(f.name): f for f in FIELDS},
    **{_key(f.column): f for f in FIELDS},
}
_SKIPPED = frozenset(_key(c) for c in READ_ONLY_COLUMNS)


def _clean(cell: str) -> str:
    """A cell's value: line breaks and tabs inside it made spaces, a formula guard removed."""
    value = _LINE_BREAKS.sub(" ", cell).strip()
    if value.startswith("'") and _FORMULA.match(value):
        return value[1:]
    return value


def _column(name: str) -> str:
    return BY_NAME[name].column if name in BY_NAME else name


# ---------------------------------------------------------------------------
# Export


def _cells(disclosure: Disclosure) -> list[str]:
    """A disclosure's cells in field order: labels, legal bases joined by '; ', ISO dates,
    empty for unknown."""
    out: list[str] = []
    for spec in FIELDS:
        value = getattr(disclosure, spec.name)
        if value is None or value == ():
            out.append("")
        elif spec.kind == "choices":
            out.append("; ".join(spec.label_of(code) for code in value))
        elif spec.kind in ("choice", "yes_no"):
            out.append(spec.label_of(value))
        elif spec.kind == "date":
            out.append(value.isoformat())
        else:
            out.append(str(value))
    return out


def export_csv(
    db: Database,
    path: str | os.PathLike[str],
    *,
    organisation: str,
    overwrite: bool = False,
) -> int:
    """Write every disclosure of ``organisation`` to a CSV file; the number of rows written.

    The file is written whole or not at all.  An existing file is replaced only when
    ``overwrite`` is true.
    """
    target = Path(path)
    name = os.fspath(path)
    _check_target(target, name, overwrite)
    standings = assessments.standings(db, organisation=organisation)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f.column for f in FIELDS] + list(READ_ONLY_COLUMNS))
    for standing in standings:
        found = standing.assessment
        writer.writerow(
            [_guard(cell) for cell in _cells(standing.entry.disclosure)]
            + [
                str(standing.entry.version),
                standing.state,
                found.result.ruleset if found else "",
                iso(found.assessed_at) if found else "",
            ]
        )
    _check_target(target, name, overwrite)
    try:
        write_atomically(target, codecs.BOM_UTF8, buffer.getvalue().encode("utf-8"))
    except OSError as exc:
        raise InputError(f"{name}: cannot write the file: {exc.strerror or exc}") from exc
    return len(standings)


def _check_target(target: Path, name: str, overwrite: bool) -> None:
    if target.is_dir():
        raise InputError(f"{name} is a folder; give the name of the CSV file to write")
    if target.exists() and not overwrite:
        raise InputError(f"{name} already exists; give another name, or allow it to be overwritten")
    if not target.parent.is_dir():
        raise InputError(f"{name}: the folder {os.fspath(target.parent)} does not exist")


def _guard(cell: str) -> str:
    """A value a spreadsheet would take for a formula, behind an apostrophe."""
    return f"'{cell}" if _FORMULA.match(cell) else cell
