"""Evidence of training for an inspection: who completed what, when, the score, the expiry.

:func:`rows` gives one row per pass (leavers included: the evidence outlives the
job) and one for each member of staff who is required but has never passed, each with
their standing today.  :func:`write_csv` writes them for a spreadsheet (UTF-8 with a byte
order mark, a guard against formulas); :func:`write_pdf` writes a report to hand to an
inspector: the organisation, the day, the percentages in date overall, by team and by
role, and the table.  Everything is in English, whatever language the module was taken
in (the language is a column).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from ndoo.db import Database
from ndoo.errors import InputError
from ndoo.settings import Settings
from ndoo.timeutil import utcnow
from ndoo.training.assessment import completions
from ndoo.training.content import load
from ndoo.training.dashboard import Dashboard, Group, dashboard
from ndoo.training.roster import members
from ndoo.training.translations import LANGUAGES

COLUMNS = (
    "Name",
    "Email",
    "Team",
    "Job role",
    "Required",
    "Standing today",
    "Module",
    "Module version",
    "Language",
    "Completed on",
    "Score (%)",
    "Learning points right first time",
    "Expires on",
)
_FORMULA = re.compile(r"[=+\-@]")
_ENGLISH_NAMES = {"en": "English", "cy": "Welsh", "pl": "Polish"}


@dataclass(frozen=True)
class EvidenceRow:
    name: str
    email: str
    team: str
    role: str
    required: bool
    standing: str
    module: str
    module_version: str
    language: str
    completed_on: date | None
    score: int | None
    first_time: str
    expires_on: date | None

    def cells(self) -> list[str]:
        return [
            self.name,
            self.email,
            self.team,
            self.role,
            "yes" if self.required else "no",
            self.standing,
            self.module,
            self.module_version,
            self.language,
            self.completed_on.isoformat() if self.completed_on else "",
            "" if self.score is None else str(self.score),
            self.first_time,
            self.expires_on.isoformat() if self.expires_on else "",
        ]


def rows(db: Database, board: Dashboard) -> list[EvidenceRow]:
    """Every pass, newest first within each person, and each required person without one."""
    standing = {s.member.id: s for s in board.standings}
    everyone = {m.id: m for m in members(db, include_left=True)}
    title = load().title
    out: list[EvidenceRow] = []
    passed: set[int] = set()
    for done in completions(db):
        member = everyone[done.trainee_id]
        now = standing.get(member.id)
        if not member.active:
            shown = f"left on {member.left_on.isoformat()}" if member.left_on else "left"
        elif now is None or not now.required:
            shown = "not required"
        else:
            shown = now.status
        if done.expires_on <= board.today and shown in ("in date", "due"):
            shown += " (renewed since)"
        out.append(
            EvidenceRow(
                name=done.name,
                email=member.email,
                team=done.team,
                role=done.role,
                required=bool(now and now.required),
                standing=shown,
                module=title if done.module_id == load().id else done.module_id,
                module_version=done.module_version,
                language=_ENGLISH_NAMES.get(done.language, LANGUAGES.get(done.language, "")),
                completed_on=done.completed_on,
                score=done.score,
                first_time=f"{done.first_time_correct} of {done.points}",
                expires_on=done.expires_on,
            )
        )
        passed.add(member.id)
    for s in board.standings:
        if s.required and s.member.id not in passed:
            out.append(
                EvidenceRow(
                    name=s.member.name,
                    email=s.member.email,
                    team=s.member.team,
                    role=s.member.role,
                    required=True,
                    standing=s.status,
                    module=title,
                    module_version="",
                    language="",
                    completed_on=None,
                    score=None,
                    first_time="",
                    expires_on=None,
                )
            )
    out.sort(key=lambda r: (r.team.casefold(), r.name.casefold(), r.completed_on or date.min))
    return out


def _guard(cell: str) -> str:
    return f"'{cell}" if _FORMULA.match(cell) else cell


def csv_bytes(evidence: Sequence[EvidenceRow]) -> bytes:
    """The evidence as CSV: UTF-8 with a byte order mark and CRLF, as Excel expects."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in evidence:
        writer.writerow([_guard(c) for c in row.cells()])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def _font_folder() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


class _Report(FPDF):
    heading = ""

    def header(self) -> None:
        self.set_font("body", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.heading, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("body", "", 8)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")


def _groups_table(pdf: FPDF, title: str, groups: Sequence[Group]) -> None:
    pdf.set_font("body", "B", 11)
    pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", "", 9)
    heading = ("", "Required", "In date", "Due in 90 days", "Not started", "Overdue", "In date %")
    with pdf.table(
        col_widths=(60, 20, 20, 25, 22, 20, 20),
        headings_style=FontFace(emphasis="BOLD"),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        width=187,
    ) as table:
        table.row(heading)
        for g in groups:
            table.row(
                (
                    g.name,
                    str(g.required),
                    str(g.in_date),
                    str(g.due),
                    str(g.not_started),
                    str(g.overdue),
                    f"{g.percent:.1f}",
                )
            )
    pdf.ln(4)


def pdf_bytes(evidence: Sequence[EvidenceRow], board: Dashboard, *, organisation: str) -> bytes:
    """The evidence as a PDF report for an inspector."""
    pdf = _Report(orientation="landscape", format="A4")
    fonts = _font_folder()
    pdf.add_font("body", "", os.fspath(fonts / "DejaVuSans.ttf"))
    pdf.add_font("body", "B", os.fspath(fonts / "DejaVuSans-Bold.ttf"))
    generated = utcnow()
    pdf.heading = f"{organisation}: national data opt-out training evidence, {board.today:%d %B %Y}"
    pdf.set_title("National data opt-out training evidence")
    pdf.set_author(organisation)
    pdf.set_creator("ndoo")
    pdf.set_creation_date(generated)
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("body", "B", 16)
    pdf.cell(0, 10, "National data opt-out training: evidence", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", "", 10)
    module = load()
    overall = board.overall
    lines = [
        f"Organisation: {organisation}",
        f"As of {board.today.day} {board.today:%B %Y}; generated {generated:%Y-%m-%d %H:%M} UTC.",
        f"Module: {module.title}, version {module.version}. A completion is valid for one year.",
        f"{overall.in_date} of {overall.required} staff whose role requires the training are "
        f"in date ({overall.percent:.1f}%). {overall.due} are due to renew within 90 days, "
        f"{overall.not_started} new starters have not yet completed it, and "
        f"{overall.overdue} are overdue.",
    ]
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _groups_table(pdf, "By team", board.teams)
    _groups_table(pdf, "By job role", board.roles)
    pdf.add_page()
    pdf.set_font("body", "B", 11)
    pdf.cell(0, 7, "Who completed what, when, the score and the expiry", new_x="LMARGIN")
    pdf.ln(8)
    pdf.set_font("body", "", 7.5)
    shown = (
        "Name",
        "Email",
        "Team",
        "Job role",
        "Standing today",
        "Version",
        "Language",
        "Completed",
        "Score %",
        "Expires",
    )
    with pdf.table(
        col_widths=(38, 52, 30, 30, 34, 16, 16, 20, 13, 20),
        headings_style=FontFace(emphasis="BOLD"),
        repeat_headings=1,
        width=269,
    ) as table:
        table.row(shown)
        for row in evidence:
            cells = row.cells()
            table.row(
                (
                    cells[0],
                    cells[1],
                    cells[2],
                    cells[3],
                    cells[5],
                    cells[7],
                    cells[8],
                    cells[9],
                    cells[10],
                    cells[12],
                )
            )
    return bytes(pdf.output())


def evidence(
    db: Database, settings: Settings, today: date | None = None
) -> tuple[list[EvidenceRow], Dashboard]:
    """The evidence rows and the dashboard they were taken from."""
    board = dashboard(db, settings, today)
    return rows(db, board), board


def write(
    db: Database,
    settings: Settings,
    target: Path,
    *,
    today: date | None = None,
    overwrite: bool = False,
) -> int:
    """Write the evidence to ``target`` (``.csv`` or ``.pdf``); how many rows."""
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".pdf"):
        raise InputError(f"{target.name}: the evidence is written as .csv or .pdf")
    if target.exists() and not overwrite:
        raise InputError(f"{target} already exists; give another name, or allow overwriting")
    found, board = evidence(db, settings, today)
    data = (
        csv_bytes(found)
        if suffix == ".csv"
        else pdf_bytes(found, board, organisation=settings.organisation_name)
    )
    temporary = target.with_name(f".{target.name}.partial")
    temporary.write_bytes(data)
    temporary.replace(target)
    return len(found)
