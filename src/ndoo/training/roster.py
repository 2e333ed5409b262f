"""The staff roster: who may have to take the training, in which team and job role.

A roster comes from a CSV file (``name``, ``email``, ``team``, ``role``, and an optional
``start date``) as an HR system or a spreadsheet exports it; :func:`import_csv` brings
the roster up to date with it:

- a new email address is someone **joining**;
- a known one with another name, team or role is a **change**; a new role starts the
  clock again for a role that requires the training (``role_since``);
- a leaver found in the file again has **rejoined**;
- people in the roster but not in the file are listed, and recorded as **left** only
  when the caller says the file is the whole roster (``mark_leavers``), so importing one
  team's list never removes everybody else.

Leavers keep their rows and training records: the evidence of who was trained must
outlive their employment.  Every change is a ``trainee_change`` row.  Whether a role
requires the training is the setting ``training_required_roles``
(:meth:`ndoo.settings.Roles.requires`), read when it is needed, so changing the
setting changes who is required at once.

Every row of a file is checked before anything is written; a file with any problem
(:class:`RowErrors`, each with its line and column) changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from ndoo.db import Database
from ndoo.db.models import trainee, trainee_change
from ndoo.errors import FileFormatError, InputError, NotFound, RowErrors
from ndoo.timeutil import to_db, utcnow
from ndoo.uphold import csvfiles

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_LIMITS = {"name": 200, "email": 200, "team": 100, "role": 100}

#: Headings accepted for each column (compared in lower case, spaces, hyphens and
#: underscores alike).
HEADINGS = {
    "name": ("name", "full name", "staff name", "employee name"),
    "email": ("email", "email address", "e mail", "e mail address", "work email"),
    "team": ("team", "department", "ward", "service", "team name"),
    "role": ("role", "job role", "job title", "staff role", "position"),
    "start_date": ("start date", "started", "joined", "date joined", "start"),
}
REQUIRED = ("name", "email", "team", "role")


@dataclass(frozen=True)
class Member:
    """One person on the roster."""

    id: int
    email: str
    name: str
    team: str
    role: str
    active: bool
    joined_on: date
    role_since: date
    left_on: date | None

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "joined_on": self.joined_on.isoformat(),
            "role_since": self.role_since.isoformat(),
            "left_on": self.left_on.isoformat() if self.left_on else None,
        }


@dataclass
class RosterImport:
    """What an import did: email addresses by what happened to them."""

    file: str
    joined: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    rejoined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: In the roster, not in the file, and not marked as leavers.
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            **{
                k: len(v)
                for k, v in self.__dict__.items()
                if k not in ("file", "missing") and isinstance(v, list)
            },
            "missing": self.missing,
        }

    def summary(self) -> str:
        parts = [
            f"{len(self.joined)} joined",
            f"{len(self.rejoined)} rejoined",
            f"{len(self.changed)} changed",
            f"{len(self.left)} left",
            f"{len(self.unchanged)} unchanged",
        ]
        return f"{self.file}: " + ", ".join(parts)


@dataclass(frozen=True)
class _Entry:
    line: int
    name: str
    email: str
    team: str
    role: str
    start_date: date | None


def tidy(text: str) -> str:
    """A name, team or role with runs of spaces made one."""
    return " ".join(text.split())


def clean_email(text: str) -> str:
    """An email address in lower case; :class:`InputError` unless it looks like one."""
    value = text.strip().lower()
    if not _EMAIL.fullmatch(value) or len(value) > _LIMITS["email"]:
        raise InputError("enter an email address like name@example.nhs.uk", field="email")
    return value


def _member(row: Any) -> Member:
    return Member(
        id=int(row.id),
        email=row.email,
        name=row.name,
        team=row.team,
        role=row.role,
        active=bool(row.active),
        joined_on=row.joined_on,
        role_since=row.role_since,
        left_on=row.left_on,
    )


def members(db: Database, *, include_left: bool = False) -> list[Member]:
    """The roster, by team and name; leavers only when asked."""
    query = select(trainee).order_by(trainee.c.team, trainee.c.name, trainee.c.email)
    if not include_left:
        query = query.where(trainee.c.active.is_(True))
    with db.read() as conn:
        return [_member(row) for row in conn.execute(query)]


def get(db: Database, email: str) -> Member:
    """The member with ``email`` (:class:`NotFound` when there is none)."""
    with db.read() as conn:
        row = conn.execute(select(trainee).where(trainee.c.email == clean_email(email))).first()
    if row is None:
        raise NotFound("nobody with that email address is on the staff roster")
    return _member(row)


def get_by_id(db: Database, trainee_id: int) -> Member:
    with db.read() as conn:
        row = conn.execute(select(trainee).where(trainee.c.id == trainee_id)).first()
    if row is None:
        raise NotFound("that person is not on the staff roster")
    return _member(row)


def _record(conn: Connection, trainee_id: int, change: str, detail: str, actor: str) -> None:
    conn.execute(
        trainee_change.insert().values(
            trainee_id=trainee_id, at=to_db(utcnow()), change=change, detail=detail, actor=actor
        )
    )


def _checked(name: str, team: str, role: str) -> tuple[str, str, str]:
    values = {"name": tidy(name), "team": tidy(team), "role": tidy(role)}
    for key, value in values.items():
        if not value:
            raise InputError(f"enter the {key}", field=key)
        if len(value) > _LIMITS[key]:
            raise InputError(f"the {key} is longer than {_LIMITS[key]} characters", field=key)
    return values["name"], values["team"], values["role"]


def _apply(
    conn: Connection, entry: _Entry, existing: Any | None, *, today: date, actor: str
) -> str:
    """Add or change one person; what happened (``joined``, ``rejoined``, ``changed`` or
    ``unchanged``)."""
    now = to_db(utcnow())
    if existing is None:
        joined_on = entry.start_date or today
        inserted = conn.execute(
            trainee.insert().values(
                email=entry.email,
                name=entry.name,
                team=entry.team,
                role=entry.role,
                active=True,
                joined_on=joined_on,
                role_since=joined_on,
                left_on=None,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key
        assert inserted is not None  # an insert of one row always has its key
        new_id = int(inserted[0])
        _record(conn, new_id, "joined", f"joined {entry.team} as {entry.role}", actor)
        return "joined"
    differences = [
        f"{key}: {getattr(existing, key)} -> {getattr(entry, key)}"
        for key in ("name", "team", "role")
        if getattr(existing, key) != getattr(entry, key)
    ]
    values: dict[str, Any] = {"name": entry.name, "team": entry.team, "role": entry.role}
    if existing.role.lower() != entry.role.lower():
        values["role_since"] = today
    if not existing.active:
        values.update(active=True, left_on=None, role_since=today)
        happened, detail = "rejoined", f"rejoined {entry.team} as {entry.role}"
    elif differences:
        happened, detail = "changed", "; ".join(differences)
    else:
        return "unchanged"
    conn.execute(
        update(trainee).where(trainee.c.id == existing.id).values(updated_at=now, **values)
    )
    _record(conn, int(existing.id), happened, detail, actor)
    return happened


def add(
    db: Database,
    *,
    name: str,
    email: str,
    team: str,
    role: str,
    actor: str,
    start_date: date | None = None,
) -> str:
    """Add one person, or bring their entry up to date; what happened."""
    name, team, role = _checked(name, team, role)
    entry = _Entry(0, name, clean_email(email), team, role, start_date)
    with db.write() as conn:
        existing = conn.execute(select(trainee).where(trainee.c.email == entry.email)).first()
        return _apply(conn, entry, existing, today=utcnow().date(), actor=actor)


def change(
    db: Database,
    email: str,
    *,
    actor: str,
    name: str | None = None,
    team: str | None = None,
    role: str | None = None,
) -> Member:
    """Change a current member's name, team or role."""
    member = get(db, email)
    if not member.active:
        raise InputError("that person has left; add them again to record that they rejoined")
    new_name, new_team, new_role = _checked(
        name or member.name, team or member.team, role or member.role
    )
    entry = _Entry(0, new_name, member.email, new_team, new_role, None)
    with db.write() as conn:
        existing = conn.execute(select(trainee).where(trainee.c.id == member.id)).first()
        _apply(conn, entry, existing, today=utcnow().date(), actor=actor)
    return get(db, email)


def leave(db: Database, email: str, *, actor: str, on: date | None = None) -> Member:
    """Record that a member has left (their training records stay)."""
    member = get(db, email)
    if not member.active:
        raise InputError(f"that person already left on {member.left_on:%d %B %Y}")
    left_on = on or utcnow().date()
    with db.write() as conn:
        _leave(conn, member.id, left_on, actor)
    return get(db, email)


def _leave(conn: Connection, trainee_id: int, on: date, actor: str) -> None:
    conn.execute(
        update(trainee)
        .where(trainee.c.id == trainee_id)
        .values(active=False, left_on=on, updated_at=to_db(utcnow()))
    )
    _record(conn, trainee_id, "left", f"left on {on.isoformat()}", actor)


@dataclass(frozen=True)
class Change:
    at: datetime
    change: str
    detail: str
    actor: str


def history(db: Database, email: str) -> list[Change]:
    """Every change to one member's entry, oldest first."""
    member = get(db, email)
    with db.read() as conn:
        rows = conn.execute(
            select(trainee_change)
            .where(trainee_change.c.trainee_id == member.id)
            .order_by(trainee_change.c.at, trainee_change.c.id)
        )
        return [Change(row.at, row.change, row.detail, row.actor) for row in rows]


# ---------------------------------------------------------------------------
# CSV import


def _key(heading: str) -> str:
    return re.sub(r"[\s_\-]+", " ", heading.replace("\ufeff", "")).strip().casefold()


_BY_HEADING = {_key(h): column for column, headings in HEADINGS.items() for h in headings}


def _header(cells: Sequence[str], name: str, line: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, heading in enumerate(cells):
        column = _BY_HEADING.get(_key(heading))
        if column is None:
            continue
        if column in found:
            raise FileFormatError(
                f"two columns give the {column.replace('_', ' ')}; keep one", file=name, line=line
            )
        found[column] = index
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        seen = ", ".join(repr(c.strip()) for c in cells if c.strip()) or "none"
        raise FileFormatError(
            f"the header has no {', '.join(missing)} column (columns found: {seen}); the "
            "roster needs name, email, team and role",
            file=name,
            line=line,
        )
    return found


def _date(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise ValueError("enter the date as YYYY-MM-DD or DD/MM/YYYY")


def read_csv(path: Path, name: str | None = None) -> list[_Entry]:
    """The roster file's rows, checked; :class:`RowErrors` lists every problem."""
    name = name or path.name
    text, delimiter = csvfiles.spreadsheet_text(path, name, what="the roster")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    columns: dict[str, int] | None = None
    entries: list[_Entry] = []
    problems: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    consumed = 0
    try:
        for cells in reader:
            line, consumed = consumed + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = _header(cells, name, line)
                continue
            values = {c: cells[i].strip() if i < len(cells) else "" for c, i in columns.items()}

            def problem(column: str, message: str, line: int = line) -> None:
                problems.append({"line": line, "field": column, "message": message})

            email = ""
            try:
                email = clean_email(values["email"])
            except InputError as exc:
                problem("email", exc.message)
            if email and email in seen:
                problem("email", f"the same email address is on line {seen[email]}")
            elif email:
                seen[email] = line
            for column in ("name", "team", "role"):
                if not tidy(values[column]):
                    problem(column, f"the {column} is empty")
                elif len(tidy(values[column])) > _LIMITS[column]:
                    problem(column, f"longer than {_LIMITS[column]} characters")
            start = None
            if values.get("start_date"):
                try:
                    start = _date(values["start_date"])
                except ValueError as exc:
                    problem("start_date", str(exc))
            entries.append(
                _Entry(
                    line,
                    tidy(values["name"]),
                    email,
                    tidy(values["team"]),
                    tidy(values["role"]),
                    start,
                )
            )
    except csv.Error as exc:
        raise FileFormatError(
            f"is not well-formed CSV ({exc}); a value holding quotes must be in quotes",
            file=name,
            line=consumed + 1,
        ) from exc
    if columns is None:
        raise FileFormatError("is empty: it has no header row", file=name)
    if problems:
        raise RowErrors(file=name, problems=problems)
    if not entries:
        raise FileFormatError("has a header but nobody under it", file=name)
    return entries


def import_csv(
    db: Database,
    path: str | Path,
    *,
    actor: str,
    mark_leavers: bool = False,
    name: str | None = None,
) -> RosterImport:
    """Bring the roster up to date with a CSV file (see the module's notes)."""
    path = Path(path)
    shown = name or path.name
    entries = read_csv(path, shown)
    today = utcnow().date()
    result = RosterImport(file=shown)
    with db.write() as conn:
        known = {row.email: row for row in conn.execute(select(trainee))}
        for entry in entries:
            happened = _apply(conn, entry, known.get(entry.email), today=today, actor=actor)
            getattr(result, happened).append(entry.email)
        in_file = {e.email for e in entries}
        for email, row in sorted(known.items()):
            if row.active and email not in in_file:
                if mark_leavers:
                    _leave(conn, int(row.id), today, actor)
                    result.left.append(email)
                else:
                    result.missing.append(email)
    return result
