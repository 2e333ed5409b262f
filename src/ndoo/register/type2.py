"""Converting legacy Type 2 objections into national data opt-outs.

Before the national service, a person could ask their GP to record a Type 2
objection (Read v2 ``9Nu4``), which stopped NHS Digital sharing their data.
Objections in force on 11 October 2018 became national data opt-outs with their
original date; later ones were not processed.  This import does the same for a
file of GP-recorded codes:

- the whole file is read and checked before anything is written, and a broken row
  stops the import with a message naming its line and field (nothing is written);
- for each person the objection in force at the cut-off is found (a later
  withdrawal code cancels an earlier objection); it becomes an opt-out dated to the
  day the objection was recorded;
- rows recorded after the cut-off, people withdrawn by then, people the register
  does not know and people who have died are reported, not converted;
- re-importing a file changes nothing: a person already converted is skipped.

The file is CSV with a header naming the NHS number, the code and the date it was
recorded (``nhs_number,code,date_recorded``; common variants are recognised).
Dates are ``YYYY-MM-DD``, ``DD/MM/YYYY`` (a time after it is ignored) or
``11-Oct-2018``; fields may be separated by commas, semicolons, tabs or pipes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from ndoo import audit, people
from ndoo.db import Database
from ndoo.db.models import choice_event, person
from ndoo.errors import DuplicateEvent, FileFormatError, InvalidNHSNumber
from ndoo.nhs_number import parse
from ndoo.register import records, rules
from ndoo.register.vocabulary import SELF, TYPE2_CUTOFF, Channel, State
from ndoo.timeutil import start_of_day, to_db, utcnow

#: Type 2 objection: "Dissent from disclosure of personal confidential data by
#: Health and Social Care Information Centre" (Read v2, CTV3, SNOMED CT).
DISSENT_CODES = frozenset({"9Nu4", "9Nu4.", "XaaVL", "881561000000100"})
#: Withdrawal of that dissent.
WITHDRAWAL_CODES = frozenset({"9Nu5", "9Nu5.", "XaaVM", "881581000000109"})
#: Type 1 objection codes: they stay at the practice and are never converted.
TYPE1_CODES = frozenset({"9Nu0", "9Nu0.", "XaZ89", "827241000000103"})

_COLUMNS = {
    "nhs_number": ("nhsnumber", "nhsno", "nhs", "patientnhsnumber"),
    "code": ("code", "snomedcode", "readcode", "snomed", "read", "conceptid", "snomedctcode"),
    "date_recorded": (
        "daterecorded",
        "recordeddate",
        "date",
        "recorded",
        "eventdate",
        "effectivedate",
        "dateofobjection",
    ),
}
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_NAMED_MONTH_FORMATS = ("%d-%b-%Y", "%d %b %Y", "%d %B %Y")


@dataclass(frozen=True)
class Type2Row:
    line: int
    nhs_number: str
    code: str
    recorded: date

    @property
    def withdrawal(self) -> bool:
        return self.code in WITHDRAWAL_CODES


@dataclass
class Type2Report:
    """What an import did.  Lines are file lines (the header is line 1)."""

    file: str
    rows: int = 0
    people: int = 0
    converted: int = 0
    already_converted: list[int] = field(default_factory=list)
    after_cutoff: list[int] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)
    not_known: list[int] = field(default_factory=list)
    deceased: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _column_map(header: list[str], file: str) -> dict[str, int]:
    """Find each needed column by name: an exact known name first, else one containing it."""
    squashed = [re.sub(r"[^a-z0-9]", "", name.lower()) for name in header]
    found: dict[str, int] = {}
    for name, aliases in _COLUMNS.items():
        exact = [i for i, col in enumerate(squashed) if col in aliases]
        loose = [i for i, col in enumerate(squashed) if any(a in col for a in aliases)]
        candidates = exact or loose
        label = name.replace("_", " ").replace("nhs", "NHS")
        if not candidates:
            raise FileFormatError(
                f"the header has no {label} column (expected one of: {', '.join(aliases[:3])})",
                file=file,
                line=1,
                field=name,
            )
        if len(candidates) > 1:
            names = ", ".join(repr(header[i].strip()) for i in candidates)
            raise FileFormatError(
                f"several columns could be the {label} column: {names}",
                file=file,
                line=1,
                field=name,
            )
        found[name] = candidates[0]
    return found


def _parse_date(text: str) -> date:
    value = text.strip()
    match = _UK_DATE.match(value)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    for layout in _NAMED_MONTH_FORMATS:
        try:
            return datetime.strptime(value, layout).date()
        except ValueError:
            continue
    return datetime.fromisoformat(value).date() if len(value) > 10 else date.fromisoformat(value)


def _sniff(handle: Any) -> type[csv.Dialect] | csv.Dialect:
    """Comma, semicolon, tab or pipe separated, as spreadsheets export them."""
    try:
        sample = handle.read(8192)
    except UnicodeDecodeError:
        sample = ""
    handle.seek(0)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def read_rows(path: Path) -> Iterator[Type2Row]:
    """Parse and check every row; raise :class:`FileFormatError` at the first bad one."""
    file = path.name
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise FileFormatError(f"cannot open the file: {exc.strerror}", file=str(path)) from exc
    today = utcnow().date()
    with handle:
        reader = csv.reader(handle, dialect=_sniff(handle))
        try:
            header = next(reader, None)
            if header is None:
                raise FileFormatError("the file is empty", file=file)
            columns = _column_map(header, file)
            for fields in reader:
                line = reader.line_num
                if not any(f.strip() for f in fields):
                    continue
                if len(fields) < len(header):
                    raise FileFormatError(
                        f"has {len(fields)} fields, the header has {len(header)}",
                        file=file,
                        line=line,
                    )
                yield _row(fields, columns, file, line, today)
        except UnicodeDecodeError as exc:
            raise FileFormatError("is not UTF-8 text", file=file) from exc
        except csv.Error as exc:
            raise FileFormatError(
                f"is not valid CSV: {exc}", file=file, line=reader.line_num
            ) from exc


def _row(fields: list[str], columns: dict[str, int], file: str, line: int, today: date) -> Type2Row:
    try:
        number = parse(fields[columns["nhs_number"]])
    except InvalidNHSNumber as exc:
        raise FileFormatError(exc.message, file=file, line=line, field="nhs_number") from exc
    code = fields[columns["code"]].strip()
    if code in TYPE1_CODES:
        raise FileFormatError(
            f"{code} is a Type 1 objection, which stays at the GP practice and is not converted",
            file=file,
            line=line,
            field="code",
        )
    if code not in DISSENT_CODES | WITHDRAWAL_CODES:
        raise FileFormatError(
            f"{code!r} is not a Type 2 objection or withdrawal code (9Nu4 / 9Nu5)",
            file=file,
            line=line,
            field="code",
        )
    raw_date = fields[columns["date_recorded"]].strip()
    try:
        recorded = _parse_date(raw_date)
    except ValueError as exc:
        raise FileFormatError(
            f"{raw_date!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)",
            file=file,
            line=line,
            field="date_recorded",
        ) from exc
    if recorded > today:
        raise FileFormatError(
            "the date is in the future", file=file, line=line, field="date_recorded"
        )
    return Type2Row(line, number, code, recorded)


def objection_in_force(rows: list[Type2Row]) -> Type2Row | None:
    """The objection row in force at the cut-off for one person, or ``None``.

    Rows are taken in date order (file order on the same day).  A withdrawal cancels
    what came before; the in-force objection is the first dissent after the last
    withdrawal, and it keeps that row's date.
    """
    in_force: Type2Row | None = None
    for row in sorted(rows, key=lambda r: (r.recorded, r.line)):
        if row.recorded > TYPE2_CUTOFF:
            break
        if row.withdrawal:
            in_force = None
        elif in_force is None:
            in_force = row
    return in_force


def import_type2(db: Database, path: Path, *, actor: str) -> Type2Report:
    """Convert the Type 2 objections in ``path``; all-or-nothing."""
    rows = list(read_rows(path))
    report = Type2Report(file=path.name, rows=len(rows))
    by_person: dict[str, list[Type2Row]] = {}
    for row in rows:
        by_person.setdefault(row.nhs_number, []).append(row)
        if row.recorded > TYPE2_CUTOFF:
            report.after_cutoff.append(row.line)
    report.people = len(by_person)
    now = utcnow()
    with db.write() as conn:
        known = _people(conn, list(by_person))
        converted_before = _already_converted(conn, list(by_person))
        chosen: list[tuple[Type2Row, people.Person]] = []
        for number, person_rows in by_person.items():
            objection = objection_in_force(person_rows)
            first_line = min(r.line for r in person_rows)
            if objection is None:
                if any(r.recorded <= TYPE2_CUTOFF for r in person_rows):
                    report.withdrawn.append(first_line)
                continue
            if number not in known:
                report.not_known.append(objection.line)
            elif known[number].date_of_death is not None:
                report.deceased.append(objection.line)
            elif number in converted_before:
                report.already_converted.append(objection.line)
            else:
                chosen.append((objection, known[number]))
        _convert(conn, chosen, now, path.name)
        report.converted = len(chosen)
        audit.record(
            conn,
            actor=actor,
            action="register.import_type2",
            rows=report.rows,
            people=report.people,
            converted=report.converted,
            already_converted=len(report.already_converted),
            after_cutoff=len(report.after_cutoff),
            withdrawn=len(report.withdrawn),
            not_known=len(report.not_known),
            deceased=len(report.deceased),
        )
    for lines in (report.after_cutoff, report.withdrawn, report.not_known, report.deceased):
        lines.sort()
    report.already_converted.sort()
    return report


def _convert(
    conn: Connection, chosen: list[tuple[Type2Row, people.Person]], now: datetime, file: str
) -> None:
    if not chosen:
        return
    effective = [start_of_day(row.recorded) for row, _ in chosen]
    facts = rules.EventFacts.for_people(
        [person for _, person in chosen],
        actors=[SELF] * len(chosen),
        channels=[Channel.T2.value] * len(chosen),
        effective_at=effective,
        recorded_at=now,
    )
    violation = rules.first_violation(facts, np.datetime64(to_db(now), "us"))
    if violation is not None:
        row = chosen[violation.row][0]
        raise FileFormatError(violation.error.message, file=file, line=row.line)
    clashes = _existing_times(
        conn, [(row.nhs_number, to_db(e)) for (row, _), e in zip(chosen, effective, strict=True)]
    )
    if clashes:
        line = min(
            row.line
            for (row, _), e in zip(chosen, effective, strict=True)
            if (row.nhs_number, to_db(e)) in clashes
        )
        raise DuplicateEvent(
            f"{file}, line {line}: the person already has a change recorded at that time"
        )
    before = records.last_event_id(conn)
    conn.execute(
        choice_event.insert(),
        [
            {
                "nhs_number": row.nhs_number,
                "state": State.OUT.value,
                "effective_at": to_db(moment),
                "recorded_at": to_db(now),
                "channel": Channel.T2.value,
                "actor": SELF,
            }
            for (row, _), moment in zip(chosen, effective, strict=True)
        ],
    )
    records.rebuild(conn, after_event_id=before)


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _people(conn: Connection, numbers: list[str]) -> dict[str, people.Person]:
    found: dict[str, people.Person] = {}
    for chunk in _chunks(numbers):
        for row in conn.execute(select(person).where(person.c.nhs_number.in_(chunk))).mappings():
            found[row["nhs_number"]] = people.Person(**dict(row))
    return found


def _already_converted(conn: Connection, numbers: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(numbers):
        found.update(
            conn.execute(
                select(choice_event.c.nhs_number).where(
                    choice_event.c.nhs_number.in_(chunk), choice_event.c.channel == "T2"
                )
            ).scalars()
        )
    return found


def _existing_times(
    conn: Connection, keys: list[tuple[str, datetime]]
) -> set[tuple[str, datetime]]:
    wanted = set(keys)
    found: set[tuple[str, datetime]] = set()
    for chunk in _chunks(sorted({n for n, _ in keys})):
        rows = conn.execute(
            select(choice_event.c.nhs_number, choice_event.c.effective_at).where(
                choice_event.c.nhs_number.in_(chunk)
            )
        )
        found.update((n, t) for n, t in rows if (n, t) in wanted)
    return found
