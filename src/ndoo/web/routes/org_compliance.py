"""The compliance programme in the console: where the organisation stands, its steps, the
declaration of compliance and the documents that go with it.

For information governance leads.  The whole picture comes from
:func:`ndoo.compliance.status.status`; a step changes through
:func:`ndoo.compliance.programme.update_step`, compliance is declared through
:func:`ndoo.compliance.declaration.declare` (every refusal listed in the error summary),
and the documents are :func:`ndoo.compliance.documents.documents`.  Like the CLI, every
call passes the ``planning_horizon_days`` and ``technical_solution_by_supplier``
settings.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import BaseModel

from ndoo.compliance import documents as docs
from ndoo.compliance.declaration import declare
from ndoo.compliance.programme import (
    ACTIONS_BY_NUMBER,
    NOT_NEEDED,
    ROLE_LABELS,
    STATUS_LABELS,
    update_step,
)
from ndoo.compliance.solution import today_utc
from ndoo.compliance.status import status
from ndoo.db.models import OWNER_ROLES, STEP_STATUSES
from ndoo.errors import DeclarationRefused, InputError, NotFound, RuleViolation
from ndoo.staff.accounts import Staff
from ndoo.web import deps
from ndoo.web.errors import error_responses
from ndoo.web.forms import Problems, sentence
from ndoo.web.routes.org_common import download, organisation, parse_day
from ndoo.web.routes.org_disclosures import path_of
from ndoo.web.templating import render

router = APIRouter(tags=["compliance"])

Lead = Annotated[Staff, Depends(deps.require("ig_lead"))]


# ---------------------------------------------------------------------------
# What the pages show (and their JSON twins return)


class StepOut(BaseModel):
    """One action of the programme as it stands."""

    action: int
    title: str
    involves: list[str]
    owner_role: str
    owner: str
    status: str
    status_label: str
    due: str | None
    overdue: bool
    evidence: str
    updated_at: str | None
    updated_by: str | None


class ListedOut(BaseModel):
    reference: str
    title: str
    recipient: str
    state: str
    start_date: str | None
    end_date: str | None


class SolutionOut(BaseModel):
    """Whether the technical solution is required, why, and the disclosures behind it."""

    verdict: str
    provisional: bool
    by_supplier: bool
    must_set_up: bool
    as_of: str
    horizon_days: int
    reasons: list[str]
    obligation: str
    in_scope_now: list[ListedOut]
    in_scope_soon: list[ListedOut]
    in_scope_later: list[ListedOut]
    unknown: list[ListedOut]


class DeclarationOut(BaseModel):
    declared_on: str
    declared_at: str
    declared_by: str
    technical_solution: str


class DisclosureStates(BaseModel):
    total: int
    counts: dict[str, int]
    references: dict[str, list[str]]


class BreachOut(BaseModel):
    reference: str
    title: str
    state: str
    scope_changed_at: str
    message: str


class NextActionOut(BaseModel):
    text: str
    action: int | None
    references: list[str]


class ComplianceOut(BaseModel):
    """Where the organisation stands with the national data opt-out policy."""

    organisation: str
    as_of: str
    state: str
    steps: list[StepOut]
    technical_solution: SolutionOut
    declaration: DeclarationOut | None
    disclosures: DisclosureStates
    breaches: list[BreachOut]
    next_actions: list[NextActionOut]


class DocumentSummary(BaseModel):
    name: str
    title: str


class DocumentList(BaseModel):
    """The compliance documents generated from the register and the programme."""

    organisation: str
    organisation_name: str
    documents: list[DocumentSummary]


class DocumentOut(BaseModel):
    """One compliance document, as Markdown."""

    name: str
    title: str
    markdown: str


def _planning(request: Request) -> dict[str, Any]:
    settings = deps.settings(request)
    return {
        "horizon_days": int(settings.planning_horizon_days),
        "by_supplier": bool(settings.technical_solution_by_supplier),
    }


def status_data(request: Request) -> ComplianceOut:
    found = status(deps.database(request), organisation(request), **_planning(request))
    data = found.as_dict()
    data["steps"] = [
        {**step.as_dict(), "status_label": step.status_label, "overdue": step.overdue(found.as_of)}
        for step in found.steps
    ]
    return ComplianceOut.model_validate(data)


def _status_page(
    request: Request,
    *,
    problems: Problems | None = None,
    declare_on: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    data = status_data(request)
    return render(
        request,
        "org/compliance.html",
        {
            "data": data,
            "declare_on": declare_on if declare_on is not None else data.as_of,
            "back": "/console",
            **(problems.context() if problems else {}),
        },
        status_code=status_code,
    )


# ---------------------------------------------------------------------------
# Status and declaration


@router.get(
    "/console/compliance.json",
    response_model=ComplianceOut,
    responses=error_responses(401, 403, 422),
)
def compliance_json(request: Request, staff: Lead) -> ComplianceOut:
    """The steps, the technical-solution verdict, the declaration, the disclosures by
    state, any breaches and the next actions."""
    return status_data(request)


@router.get("/console/compliance", response_class=HTMLResponse, include_in_schema=False)
def compliance_page(request: Request, staff: Lead) -> HTMLResponse:
    return _status_page(request)


@router.post("/console/compliance/declare", include_in_schema=False)
async def declare_compliance(request: Request, staff: Lead) -> Response:
    values = await deps.form(request)
    text = values.get("on", "")
    problems = Problems()
    try:
        on = parse_day(text, "on") or today_utc()
        declare(
            deps.database(request),
            organisation(request),
            actor=staff.username,
            on=on,
            **_planning(request),
        )
    except DeclarationRefused as exc:
        problems.add(None, "compliance cannot be declared yet", href="#declare")
        for item in exc.details.get("problems", []):
            if item.get("action") is not None:
                href = f"#step-{item['action']}"
            elif item.get("reference"):
                href = path_of(str(item["reference"]))
            else:
                href = "#declare"
            problems.items.append({"text": sentence(str(item["message"])), "href": href})
        return _status_page(request, problems=problems, declare_on=text, status_code=409)
    except InputError as exc:
        problems.add("on", exc.message)
        return _status_page(request, problems=problems, declare_on=text, status_code=422)
    return RedirectResponse("/console/compliance#declaration", status_code=303)


# ---------------------------------------------------------------------------
# Steps


def _action(action: int) -> None:
    if action not in ACTIONS_BY_NUMBER:
        raise NotFound(f"there is no action {action}; the programme's actions are 1 to 5")


def _step_page(
    request: Request,
    action: int,
    *,
    values: dict[str, str] | None = None,
    problems: Problems | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    data = status_data(request)
    step = data.steps[action - 1]
    if values is None:
        values = {
            "status": step.status,
            "owner_role": step.owner_role,
            "due": step.due or "",
            "evidence": step.evidence,
        }
    return render(
        request,
        "org/step_form.html",
        {
            "step": step,
            "values": values,
            "statuses": [(s, STATUS_LABELS[s]) for s in STEP_STATUSES],
            "not_needed": NOT_NEEDED,
            "owners": [(r, ROLE_LABELS[r]) for r in OWNER_ROLES],
            "hint": ACTIONS_BY_NUMBER[action].evidence_hint,
            "back": "/console/compliance",
            **(problems.context() if problems else {}),
        },
        status_code=status_code,
    )


@router.get(
    "/console/compliance/steps/{action}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def step_page(request: Request, action: int, staff: Lead) -> HTMLResponse:
    _action(action)
    return _step_page(request, action)


@router.post("/console/compliance/steps/{action}", include_in_schema=False)
async def change_step(request: Request, action: int, staff: Lead) -> Response:
    _action(action)
    values = await deps.form(request)
    posted = {k: values.get(k, "") for k in ("status", "owner_role", "due", "evidence")}
    problems = Problems()
    try:
        update_step(
            deps.database(request),
            organisation(request),
            action,
            actor=staff.username,
            status=posted["status"] or None,
            owner_role=posted["owner_role"] or None,
            due=parse_day(posted["due"], "due"),
            evidence=posted["evidence"],
            **_planning(request),
        )
    except InputError as exc:
        field = exc.details.get("field")
        problems.add(field if field in posted else None, exc.message)
        return _step_page(request, action, values=posted, problems=problems, status_code=422)
    except RuleViolation as exc:
        problems.add("status", exc.message)
        return _step_page(request, action, values=posted, problems=problems, status_code=409)
    return RedirectResponse(f"/console/compliance#step-{action}", status_code=303)


# ---------------------------------------------------------------------------
# Documents


def _documents(request: Request) -> list[docs.Document]:
    return docs.documents(
        deps.database(request),
        organisation(request),
        name=str(deps.settings(request).organisation_name),
        **_planning(request),
    )


def _document(request: Request, name: str) -> docs.Document:
    for document in _documents(request):
        if document.name == name:
            return document
    raise NotFound(f"there is no compliance document {name!r}")


@router.get(
    "/console/compliance/documents.json",
    response_model=DocumentList,
    responses=error_responses(401, 403, 422),
)
def documents_json(request: Request, staff: Lead) -> DocumentList:
    """The compliance documents: the DPIA section, the SOP, the privacy notice, the staff
    briefing and a notice for each recipient of a disclosure assessed APPLY."""
    return DocumentList(
        organisation=organisation(request),
        organisation_name=str(deps.settings(request).organisation_name),
        documents=[DocumentSummary(name=d.name, title=d.title) for d in _documents(request)],
    )


@router.get("/console/compliance/documents", response_class=HTMLResponse, include_in_schema=False)
def documents_page(request: Request, staff: Lead) -> HTMLResponse:
    return render(
        request,
        "org/documents.html",
        {"data": documents_json(request, staff), "back": "/console/compliance"},
    )


@router.get(
    "/console/compliance/documents/{name}.json",
    response_model=DocumentOut,
    responses=error_responses(401, 403, 404, 422),
)
def document_json(request: Request, name: str, staff: Lead) -> DocumentOut:
    """One compliance document, as Markdown."""
    found = _document(request, name)
    return DocumentOut(name=found.name, title=found.title, markdown=found.markdown)


@router.get("/console/compliance/documents/{name}.md", include_in_schema=False)
def document_markdown(request: Request, name: str, staff: Lead) -> Response:
    found = _document(request, name)
    return download(found.markdown, f"{found.name}.md", "text/markdown; charset=utf-8")


@router.get("/console/compliance/documents/{name}.html", include_in_schema=False)
def document_html(request: Request, name: str, staff: Lead) -> Response:
    found = _document(request, name)
    page = docs.to_html(found, organisation_name=str(deps.settings(request).organisation_name))
    return download(page, f"{found.name}.html", "text/html; charset=utf-8")


@router.get(
    "/console/compliance/documents/{name}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def document_page(request: Request, name: str, staff: Lead) -> HTMLResponse:
    found = _document(request, name)
    # markdown-it-py is set never to pass raw HTML through, and every register value was
    # escaped for Markdown (ndoo.compliance.documents), so the fragment is safe to show.
    body = Markup(docs.markdown_to_html(found.markdown))
    return render(
        request,
        "org/document.html",
        {"document": found, "body": body, "back": "/console/compliance/documents"},
    )
