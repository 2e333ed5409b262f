"""The compliance documents, generated from the organisation's own register and programme.

Five kinds of document come from the Jinja2 templates in ``ndoo/data/documents/``:

- ``dpia``: the Data Protection Impact Assessment section for applying opt-outs;
- ``sop``: the standard operating procedure update;
- ``privacy-notice``: the privacy-notice text declaring compliance;
- ``staff-communication``: the briefing for staff;
- ``recipient-notice-<recipient>``: one per recipient of a disclosure assessed APPLY,
  saying which of its disclosures will have opt-outs applied.

When the organisation's clinical system supplier applies opt-outs for it
(``by_supplier``), the DPIA and the SOP say so, and that the technical solution must be
set up before any in-scope disclosure is made from another system.

Each is written as Markdown and as a small HTML page (markdown-it-py).  Every value from
the register is escaped for Markdown before it enters a document (:func:`md_escape`), and
markdown-it-py is set not to pass raw HTML through, so text such as a disclosure's title
can never become markup; the HTML page's own values are escaped by Jinja2's autoescape.
Files are written atomically: a temporary file beside the target, then a rename.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import Markup

from ndoo.compliance.declaration import Declaration, latest_in
from ndoo.compliance.programme import (
    DONE,
    TECHNICAL_SOLUTION_ACTION,
    Step,
    check_organisation,
    steps_in,
)
from ndoo.compliance.solution import (
    DEFAULT_HORIZON_DAYS,
    TechnicalSolution,
    decide,
    standings_in,
    today_utc,
)
from ndoo.db import Database
from ndoo.disclosures.assessments import Standing
from ndoo.disclosures.facts import BY_NAME
from ndoo.disclosures.record import covering_basis
from ndoo.disclosures.scope import APPLY, DO_NOT_APPLY
from ndoo.errors import InputError

FORMATS = ("md", "html")

_TEMPLATES = "data/documents"


@dataclass(frozen=True)
class Document:
    """One generated document: its file name without extension, title and Markdown."""

    name: str
    title: str
    markdown: str


@dataclass(frozen=True)
class Row:
    """A disclosure as the documents show it: labels, not codes."""

    reference: str
    title: str
    recipient: str
    purpose: str
    legal_basis: str
    cag_reference: str | None
    frequency: str
    start_date: date | None
    end_date: date | None

    @classmethod
    def of(cls, standing: Standing) -> Row:
        d = standing.entry.disclosure
        basis = covering_basis(d)
        return cls(
            reference=d.reference,
            title=d.title,
            recipient=d.recipient,
            purpose=BY_NAME["purpose"].label_of(d.purpose) if d.purpose else "not recorded",
            legal_basis=BY_NAME["legal_bases"].label_of(basis) if basis else "not recorded",
            cag_reference=d.cag_reference,
            frequency=BY_NAME["frequency"].label_of(d.frequency) if d.frequency else "not recorded",
            start_date=d.start_date,
            end_date=d.end_date,
        )


_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_LEADING_NUMBER = re.compile(r"^(\d+)([.)])")


def md_escape(value: object) -> str:
    """``value`` as Markdown text that renders as itself and never as markup.

    Whitespace (newlines included) becomes single spaces, so a value stays on its line;
    characters that could start emphasis, code, a link, an autolink, raw HTML, an
    entity or a table cell are backslash-escaped; so is a leading character that could
    start a heading, quote, list or rule.
    """
    text = " ".join(str(value).split())
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_LEADING_NUMBER.sub(r"\1\\\2", text)
    if text[:1] in ("#", "+", "-", "=", "!"):
        text = "\\" + text
    return text


def _finalize(value: object) -> object:
    """Every ``{{ value }}`` in a Markdown template is escaped unless marked safe."""
    if isinstance(value, Markup):
        return str(value)
    return md_escape(value)


def long_date(value: date) -> str:
    """``21 November 2026``: a date as a letter writes it."""
    return f"{value.day} {value:%B %Y}"


def _markdown_env() -> Environment:
    env = Environment(
        loader=PackageLoader("ndoo", _TEMPLATES),
        autoescape=False,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["long"] = long_date
    return env


def _html_env() -> Environment:
    return Environment(
        loader=PackageLoader("ndoo", _TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_to_html(text: str) -> str:
    """Markdown as an HTML fragment; raw HTML in ``text`` is shown as text, never passed on."""
    return str(_MARKDOWN.render(text))


def to_html(document: Document, *, organisation_name: str) -> str:
    """``document`` as a complete HTML page."""
    body = markdown_to_html(document.markdown)
    page = _html_env().get_template("page.html.j2")
    return page.render(title=document.title, organisation=organisation_name, body=Markup(body))


def documents(
    db: Database,
    organisation: str,
    *,
    name: str,
    today: date | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    by_supplier: bool = False,
) -> list[Document]:
    """Every compliance document of ``organisation`` (called ``name``), as Markdown."""
    organisation = check_organisation(organisation)
    today = today or today_utc()
    with db.read() as conn:
        steps = steps_in(conn, organisation)
        standings = standings_in(conn, organisation)
        declaration = latest_in(conn, organisation)
    solution = decide(standings, today=today, horizon_days=horizon_days, by_supplier=by_supplier)
    context = _context(organisation, name, today, steps, standings, declaration, solution)
    env = _markdown_env()
    made = [
        Document(stem, title, env.get_template(f"{stem}.md.j2").render(**context))
        for stem, title in (
            ("dpia", "Data Protection Impact Assessment: applying national data opt-outs"),
            ("sop", "Standard operating procedure: the national data opt-out"),
            ("privacy-notice", "Privacy notice: the national data opt-out"),
            ("staff-communication", "Staff briefing: national data opt-out procedures"),
        )
    ]
    template = env.get_template("recipient-notice.md.j2")
    used: set[str] = set()
    for recipient, applied in _by_recipient(context["apply"]).items():
        not_applied = [row for row in context["not_apply"] if row.recipient == recipient]
        made.append(
            Document(
                _unique(f"recipient-notice-{_slug(recipient)}", used),
                f"National data opt-outs: the data we disclose to {recipient}",
                template.render(
                    **context, recipient=recipient, applied=applied, not_applied=not_applied
                ),
            )
        )
    return made


def write_documents(
    db: Database,
    organisation: str,
    out_dir: str | os.PathLike[str],
    *,
    name: str,
    formats: Sequence[str] = FORMATS,
    today: date | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    by_supplier: bool = False,
) -> list[Path]:
    """Write every document into ``out_dir`` in each of ``formats``; the paths written."""
    wanted = tuple(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if not wanted or unknown:
        raise InputError(
            f"document formats are {' and '.join(FORMATS)}"
            + (f"; {unknown[0]!r} is not one" if unknown else ""),
            field="formats",
        )
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder {folder}: {exc.strerror}") from exc
    written: list[Path] = []
    made = documents(
        db, organisation, name=name, today=today, horizon_days=horizon_days, by_supplier=by_supplier
    )
    for document in made:
        for fmt in wanted:
            text = document.markdown if fmt == "md" else to_html(document, organisation_name=name)
            path = folder / f"{document.name}.{fmt}"
            _write_atomically(path, text)
            written.append(path)
    return written


def _context(
    organisation: str,
    name: str,
    today: date,
    steps: Sequence[Step],
    standings: Sequence[Standing],
    declaration: Declaration | None,
    solution: TechnicalSolution,
) -> dict[str, Any]:
    live = [
        s
        for s in standings
        if s.entry.disclosure.end_date is None or s.entry.disclosure.end_date >= today
    ]
    return {
        "org": {"code": organisation, "name": name},
        "today": today,
        "declaration": declaration,
        "solution": solution,
        "steps": steps,
        "owners": {step.action: step.owner_label for step in steps},
        "solution_ready": steps[TECHNICAL_SOLUTION_ACTION - 1].status == DONE,
        "apply": [Row.of(s) for s in live if s.state == APPLY],
        "not_apply": [Row.of(s) for s in live if s.state == DO_NOT_APPLY],
        "unsettled": [s.entry.reference for s in live if not s.decided],
        "total": len(standings),
    }


def _by_recipient(rows: Iterable[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row.recipient, []).append(row)
    return dict(sorted(grouped.items(), key=lambda item: item[0].casefold()))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:60].strip("-") or "recipient"


def _unique(stem: str, used: set[str]) -> str:
    candidate, number = stem, 1
    while candidate in used:
        number += 1
        candidate = f"{stem}-{number}"
    used.add(candidate)
    return candidate


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
