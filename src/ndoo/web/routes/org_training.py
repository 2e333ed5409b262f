"""Staff training compliance in the console: who is in date, who is due, who is overdue,
the staff roster and the evidence for an inspection.

For information governance leads.  The figures come from
:func:`ndoo.training.dashboard.dashboard`, the downloads from
:mod:`ndoo.training.evidence`, the roster from :mod:`ndoo.training.roster` (a CSV
upload goes through :func:`~ndoo.training.roster.import_csv`, which changes nothing
when any row has a problem), and one person's passes and reminders from
:func:`ndoo.training.assessment.completions` and
:func:`ndoo.training.renewals.reminders`.  Nothing here logs a name or an address.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from ndoo.errors import FileFormatError, InputError, RowErrors
from ndoo.settings import Settings
from ndoo.staff.accounts import Staff
from ndoo.timeutil import iso, utcnow
from ndoo.training import assessment, dashboard, evidence, renewals, roster
from ndoo.training.roster import Member, RosterImport
from ndoo.web import deps
from ndoo.web.errors import error_responses, json_error_responses
from ndoo.web.forms import Problems
from ndoo.web.routes.org_common import (
    declared_length,
    download,
    file_problem,
    save_upload,
    too_large_message,
    uploaded_file,
)
from ndoo.web.templating import render

router = APIRouter(tags=["training"])

Lead = Annotated[Staff, Depends(deps.require("ig_lead"))]
TraineeId = Annotated[int, Path(ge=1, le=2**62, description="The person's roster id.")]

#: The largest roster file accepted.
MAX_ROSTER_BYTES = 5 * 1024 * 1024
_ROSTER_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")

#: The roster file's columns as a person reads them (for the error summary).
COLUMN_LABELS = {
    "name": "name",
    "email": "email",
    "team": "team",
    "role": "role",
    "start_date": "start date",
}

#: What happened to people in an import, in the order the page shows them.
OUTCOMES = (
    ("joined", "Joined"),
    ("rejoined", "Rejoined"),
    ("changed", "Changed"),
    ("left", "Recorded as having left"),
    ("unchanged", "Unchanged"),
)


#: The languages the module is taken in, named in English as the evidence names them.
LANGUAGE_NAMES = {"en": "English", "cy": "Welsh", "pl": "Polish"}


class CsvResponse(Response):
    media_type = "text/csv"


class PdfResponse(Response):
    media_type = "application/pdf"


# ---------------------------------------------------------------------------
# What the pages show (and their JSON twins return)


class GroupOut(BaseModel):
    """Counts for the organisation, a team or a job role (required staff only)."""

    name: str
    required: int
    in_date: int
    due: int
    not_started: int
    overdue: int
    percent: float


class StandingOut(BaseModel):
    """One member of staff's standing today."""

    id: int
    name: str
    email: str
    team: str
    role: str
    required: bool
    status: str
    completed_on: str | None
    score: int | None
    expires_on: str | None
    due_on: str | None
    days_left: int | None


class DashboardOut(BaseModel):
    """Training compliance today: the organisation, by team and by job role, and who is
    due within 90 days or overdue."""

    organisation_name: str
    today: str
    required_roles: list[str]
    every_role: bool
    overall: GroupOut
    teams: list[GroupOut]
    roles: list[GroupOut]
    due: list[StandingOut]
    overdue: list[StandingOut]
    not_required: int


class MemberOut(BaseModel):
    """One person on the staff roster, with whether their role requires the training and
    their standing today (``left`` for a leaver, empty when not required)."""

    id: int
    email: str
    name: str
    team: str
    role: str
    active: bool
    joined_on: str
    role_since: str
    left_on: str | None
    required: bool
    status: str


class RosterOut(BaseModel):
    """The staff roster, by team and name; leavers too when asked."""

    include_left: bool
    current: int
    members: list[MemberOut]


class ChangeOut(BaseModel):
    at: str
    change: str
    detail: str
    actor: str


class CompletionOut(BaseModel):
    """A pass: who (as they were then), which module, when, the score and the expiry."""

    id: int
    attempt_id: int
    module_id: str
    module_version: str
    language: str
    name: str
    team: str
    role: str
    completed_at: str
    completed_on: str
    expires_on: str
    points: int
    first_time_correct: int
    score: int


class ReminderOut(BaseModel):
    kind: str
    expires_on: str
    status: str
    claimed_at: str
    sent_at: str | None


class PersonOut(BaseModel):
    """One person: their roster entry and standing, its history, their passes and the
    renewal reminders sent to them."""

    member: MemberOut
    due_on: str | None
    days_left: int | None
    history: list[ChangeOut]
    completions: list[CompletionOut]
    reminders: list[ReminderOut]


def _settings(request: Request) -> Settings:
    return deps.settings(request)


def _standing_out(standing: dashboard.Standing) -> StandingOut:
    return StandingOut.model_validate({"id": standing.member.id, **standing.as_dict()})


def _group_out(group: dashboard.Group) -> GroupOut:
    return GroupOut.model_validate(group.as_dict())


def required_roles(settings: Settings) -> tuple[list[str], bool]:
    """The roles that require the training, and whether that is every role."""
    roles = settings.training_required_roles
    return sorted(roles), "*" in roles


def dashboard_data(request: Request) -> DashboardOut:
    settings = _settings(request)
    board = dashboard.dashboard(deps.database(request), settings)
    roles, every = required_roles(settings)
    return DashboardOut(
        organisation_name=str(settings.organisation_name),
        today=board.today.isoformat(),
        required_roles=roles,
        every_role=every,
        overall=_group_out(board.overall),
        teams=[_group_out(g) for g in board.teams],
        roles=[_group_out(g) for g in board.roles],
        due=[_standing_out(s) for s in board.due],
        overdue=[_standing_out(s) for s in board.overdue],
        not_required=board.not_required,
    )


def _member_out(member: Member, standing: dashboard.Standing | None) -> MemberOut:
    if not member.active:
        required, status = False, "left"
    elif standing is None:
        required, status = False, ""
    else:
        required, status = standing.required, standing.status
    return MemberOut.model_validate({**member.as_dict(), "required": required, "status": status})


def roster_data(request: Request, include_left: bool) -> RosterOut:
    db = deps.database(request)
    standings = {s.member.id: s for s in dashboard.standings(db, _settings(request))}
    people = roster.members(db, include_left=include_left)
    return RosterOut(
        include_left=include_left,
        current=sum(1 for m in people if m.active),
        members=[_member_out(m, standings.get(m.id)) for m in people],
    )


def person_data(request: Request, trainee_id: int) -> PersonOut:
    db = deps.database(request)
    member = roster.get_by_id(db, trainee_id)
    passes = assessment.completions(db, trainee_id=member.id)
    latest = max(passes, key=lambda c: (c.expires_on, c.id)) if passes else None
    standing = dashboard.standing(member, latest, _settings(request), utcnow().date())
    return PersonOut(
        member=_member_out(member, standing),
        due_on=standing.due_on.isoformat() if standing.due_on else None,
        days_left=standing.days_left,
        history=[
            ChangeOut(at=iso(c.at), change=c.change, detail=c.detail, actor=c.actor)
            for c in roster.history(db, member.email)
        ],
        completions=[
            CompletionOut.model_validate(
                {
                    **{k: v for k, v in c.as_dict().items() if k != "trainee_id"},
                    "completed_at": iso(c.completed_at),
                }
            )
            for c in passes
        ],
        reminders=[
            ReminderOut(
                kind=r.kind,
                expires_on=r.expires_on.isoformat(),
                status=r.status,
                claimed_at=iso(r.claimed_at),
                sent_at=iso(r.sent_at) if r.sent_at else None,
            )
            for r in renewals.reminders(db, member.id)
        ],
    )


# ---------------------------------------------------------------------------
# The dashboard


@router.get(
    "/console/training.json",
    response_model=DashboardOut,
    responses=error_responses(401, 403, 422),
)
def training_json(request: Request, staff: Lead) -> DashboardOut:
    """The percentage of required staff in date, by team and by job role, and who is due
    within 90 days or overdue."""
    return dashboard_data(request)


@router.get("/console/training", response_class=HTMLResponse, include_in_schema=False)
def training_page(request: Request, staff: Lead) -> HTMLResponse:
    data = dashboard_data(request)
    # The setting keeps roles in lower case; show them as the roster writes them.
    written = {m.role.lower(): m.role for m in roster.members(deps.database(request))}
    shown = [written.get(role, role) for role in data.required_roles]
    return render(
        request,
        "org/training.html",
        {"data": data, "roles_shown": shown, "back": "/console"},
    )


# ---------------------------------------------------------------------------
# Evidence


def _evidence(request: Request) -> tuple[list[evidence.EvidenceRow], dashboard.Dashboard]:
    return evidence.evidence(deps.database(request), _settings(request))


@router.get(
    "/console/training/evidence.csv",
    response_class=CsvResponse,
    responses={
        200: {
            "description": "One row per pass (leavers included) and one for each member "
            "of staff required to take the training who never passed.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **json_error_responses(401, 403),
    },
)
def evidence_csv(request: Request, staff: Lead) -> Response:
    """Training evidence as a spreadsheet: who completed what, when, the score and the
    expiry, with each person's standing today."""
    rows, board = _evidence(request)
    return download(
        evidence.csv_bytes(rows),
        f"ndoo-training-evidence-{board.today.isoformat()}.csv",
        "text/csv; charset=utf-8",
    )


@router.get(
    "/console/training/evidence.pdf",
    response_class=PdfResponse,
    responses={
        200: {
            "description": "A report for an inspector: the percentages in date overall, "
            "by team and by job role, and the evidence table.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **json_error_responses(401, 403),
    },
)
def evidence_pdf(request: Request, staff: Lead) -> Response:
    """Training evidence as a PDF report for an inspection."""
    rows, board = _evidence(request)
    content = evidence.pdf_bytes(
        rows, board, organisation=str(_settings(request).organisation_name)
    )
    return download(
        content, f"ndoo-training-evidence-{board.today.isoformat()}.pdf", "application/pdf"
    )


# ---------------------------------------------------------------------------
# The roster


@router.get(
    "/console/training/roster.json",
    response_model=RosterOut,
    responses=error_responses(401, 403, 422),
)
def roster_json(request: Request, staff: Lead, include_left: bool = False) -> RosterOut:
    """The staff roster with each person's standing; leavers too with ``include_left``."""
    return roster_data(request, include_left)


def _roster_page(
    request: Request,
    *,
    include_left: bool = False,
    result: RosterImport | None = None,
    file_name: str | None = None,
    mark_leavers: bool = False,
    problems: Problems | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    data = roster_data(request, include_left)
    context: dict[str, Any] = {
        "data": data,
        "mark_leavers": mark_leavers,
        "max_mb": MAX_ROSTER_BYTES // (1024 * 1024),
        "back": "/console/training",
        **(problems.context() if problems else {}),
    }
    if result is not None:
        everyone = {m.email: m for m in roster.members(deps.database(request), include_left=True)}
        context["result"] = result.as_dict()
        context["file_name"] = file_name
        context["outcomes"] = [
            (label, [everyone[e] for e in getattr(result, key) if e in everyone])
            for key, label in OUTCOMES
            if key != "unchanged"
        ]
        context["missing"] = [everyone[e] for e in result.missing if e in everyone]
    return render(request, "org/training_roster.html", context, status_code=status_code)


@router.get("/console/training/roster", response_class=HTMLResponse, include_in_schema=False)
def roster_page(request: Request, staff: Lead, include_left: bool = False) -> HTMLResponse:
    return _roster_page(request, include_left=include_left)


@router.post("/console/training/roster", include_in_schema=False)
async def import_roster(request: Request, staff: Lead) -> Response:
    size = declared_length(request)
    if size is not None and size > MAX_ROSTER_BYTES + 64 * 1024:
        problems = Problems()
        problems.add("file", too_large_message(MAX_ROSTER_BYTES))
        return _roster_page(request, problems=problems, status_code=413)
    try:
        return await _import(request, staff)
    finally:
        await request.close()  # the uploaded file's temporary copy


def _row_problems(exc: RowErrors) -> Problems:
    problems = Problems()
    rows = len({p["line"] for p in exc.problems})
    problems.add(
        "file",
        f"{rows} {'row has a problem' if rows == 1 else 'rows have problems'}; nothing was changed",
    )
    for item in exc.problems:
        where = f"Line {item['line']}"
        column = item.get("field")
        if column:
            where += f", column {COLUMN_LABELS.get(str(column), str(column))}"
        problems.items.append({"text": f"{where}: {item['message']}", "href": "#file"})
    return problems


async def _import(request: Request, staff: Staff) -> Response:
    values = await deps.form(request)
    mark_leavers = values.get("mark_leavers") == "yes"
    problems = Problems()
    upload = await uploaded_file(request, "file")
    if upload is None:
        problems.add("file", "choose the staff roster CSV file to upload")
        return _roster_page(request, mark_leavers=mark_leavers, problems=problems, status_code=422)
    name = FilePath(upload.filename or "roster.csv").name
    suffix = FilePath(name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="ndoo-roster-") as folder:
        path = FilePath(folder) / f"roster{suffix if suffix in _ROSTER_SUFFIXES else '.csv'}"
        try:
            await save_upload(upload, path, MAX_ROSTER_BYTES, "file")
            result = roster.import_csv(
                deps.database(request),
                path,
                actor=staff.username,
                mark_leavers=mark_leavers,
                name=name,
            )
        except RowErrors as exc:
            return _roster_page(
                request,
                mark_leavers=mark_leavers,
                problems=_row_problems(exc),
                status_code=422,
            )
        except (FileFormatError, InputError) as exc:
            problems.add("file", f"{name}: {file_problem(exc)}; nothing was changed")
            return _roster_page(
                request, mark_leavers=mark_leavers, problems=problems, status_code=422
            )
    return _roster_page(request, result=result, file_name=name)


# ---------------------------------------------------------------------------
# One person


@router.get(
    "/console/training/people/{trainee_id}.json",
    response_model=PersonOut,
    responses=error_responses(401, 403, 404, 422),
)
def person_json(request: Request, trainee_id: TraineeId, staff: Lead) -> PersonOut:
    """One person on the roster: their entry, its history, their passes and the renewal
    reminders sent to them."""
    return person_data(request, trainee_id)


@router.get(
    "/console/training/people/{trainee_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def person_page(request: Request, trainee_id: TraineeId, staff: Lead) -> HTMLResponse:
    return render(
        request,
        "org/training_person.html",
        {
            "data": person_data(request, trainee_id),
            "languages": LANGUAGE_NAMES,
            "back": "/console/training/roster",
        },
    )
