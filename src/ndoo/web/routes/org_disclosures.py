"""The disclosure register in the console: list, read, add, change, import and export.

Information governance leads and analysts read the register; only information
governance leads change it.  Every page calls :mod:`ndoo.disclosures`: the register
(:mod:`~ndoo.disclosures.store`), where each disclosure stands
(:mod:`~ndoo.disclosures.assessments`), the record-of-processing spreadsheet
(:mod:`~ndoo.disclosures.ropa`) and the library of common disclosures
(:mod:`~ndoo.disclosures.library`).  The guided assessment is in
:mod:`ndoo.web.routes.org_assess`.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from ndoo.disclosures import assessments, library, ropa, store
from ndoo.disclosures.assessments import Assessment, Standing
from ndoo.disclosures.facts import BY_NAME, FIELDS, Field
from ndoo.disclosures.record import Disclosure, parse, parse_value
from ndoo.disclosures.scope import Outcome
from ndoo.errors import FileFormatError, InputError, RowErrors
from ndoo.staff.accounts import Staff
from ndoo.timeutil import iso, utcnow
from ndoo.web import deps
from ndoo.web.errors import error_responses
from ndoo.web.forms import Problems
from ndoo.web.routes.org_common import (
    declared_length,
    download,
    file_problem,
    organisation,
    posted_list,
    save_upload,
    too_large_message,
    uploaded_file,
)
from ndoo.web.templating import render

router = APIRouter(tags=["disclosures"])

READERS = ("ig_lead", "analyst")
Reader = Annotated[Staff, Depends(deps.require(*READERS))]
Lead = Annotated[Staff, Depends(deps.require("ig_lead"))]

#: The largest record-of-processing spreadsheet accepted.
MAX_ROPA_BYTES = 10 * 1024 * 1024
_ROPA_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")


# ---------------------------------------------------------------------------
# What the pages show (and their JSON twins return)


class DisclosureRecord(BaseModel):
    """A disclosure's fields as codes, ISO dates and a list of legal bases."""

    reference: str
    title: str
    recipient: str
    purpose: str | None = None
    contains_cpi: str | None = None
    anonymised: str | None = None
    origin: str | None = None
    legal_bases: list[str] = []
    basis_for_flow: str | None = None
    statute: str | None = None
    cag_reference: str | None = None
    cag_condition: str | None = None
    national_exemption: str | None = None
    exemption_confirmed: str | None = None
    frequency: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    owner: str | None = None
    notes: str | None = None


class LabelledField(BaseModel):
    """One recorded field as a person reads it: its label and its value's label."""

    field: str
    label: str
    text: str


class Reason(BaseModel):
    """One link in an assessment's chain of reasons, with the policy it rests on."""

    step: str
    rule: str | None
    text: str
    cite: str
    source: str
    unverified: bool


class OutcomeOut(BaseModel):
    """What the scope rules say: the outcome, its reasons, and what is still missing."""

    outcome: str
    ruleset: str
    reasons: list[Reason]
    missing: list[str]
    missing_labels: list[str]
    contradictions: list[str]
    facts: dict[str, str | None]


class AssessmentOut(OutcomeOut):
    """A recorded assessment."""

    id: int
    reference: str
    disclosure_version: int
    assessed_at: str
    assessed_by: str


class DisclosureSummary(BaseModel):
    reference: str
    title: str
    recipient: str
    purpose: str | None
    purpose_label: str | None
    state: str
    version: int
    needs_assessment: bool
    updated_at: str
    updated_by: str


class DisclosureList(BaseModel):
    """The register: every disclosure with where it stands, and how many in each state."""

    organisation: str
    disclosures: list[DisclosureSummary]
    counts: dict[str, int]


class VersionOut(BaseModel):
    version: int
    at: str
    actor: str
    change: str
    changed: list[str]
    changed_labels: list[str]
    scope_changed: bool


class DisclosureDetail(BaseModel):
    """One disclosure: its record, where it stands, its latest assessment and history."""

    organisation: str
    reference: str
    version: int
    state: str
    needs_assessment: bool
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    record: DisclosureRecord
    fields: list[LabelledField]
    assessment: AssessmentOut | None
    versions: list[VersionOut]
    assessments: list[AssessmentOut]


def column_of(name: str) -> str:
    return BY_NAME[name].column if name in BY_NAME else name


def shown(spec: Field, value: Any) -> str | None:
    """A field's value as a person reads it; ``None`` while unknown."""
    if value is None or value == ():
        return None
    if isinstance(value, tuple | list):
        return "; ".join(spec.label_of(v) for v in value)
    if spec.choices:
        return spec.label_of(str(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def outcome_data(result: Outcome) -> dict[str, Any]:
    return {**result.as_dict(), "missing_labels": [column_of(m) for m in result.missing]}


def assessment_out(found: Assessment) -> AssessmentOut:
    return AssessmentOut.model_validate(
        {**found.as_dict(), "missing_labels": [column_of(m) for m in found.result.missing]}
    )


def labelled(disclosure: Disclosure) -> list[LabelledField]:
    out = []
    for spec in FIELDS:
        text = shown(spec, getattr(disclosure, spec.name))
        if text is not None:
            out.append(LabelledField(field=spec.name, label=spec.column, text=text))
    return out


def summary(standing: Standing) -> DisclosureSummary:
    entry = standing.entry
    d = entry.disclosure
    return DisclosureSummary(
        reference=d.reference,
        title=d.title,
        recipient=d.recipient,
        purpose=d.purpose,
        purpose_label=BY_NAME["purpose"].label_of(d.purpose) if d.purpose else None,
        state=standing.state,
        version=entry.version,
        needs_assessment=entry.needs_assessment,
        updated_at=iso(entry.updated_at),
        updated_by=entry.updated_by,
    )


def path_of(reference: str) -> str:
    """The console address of a disclosure."""
    return "/console/disclosures/" + quote(reference, safe="/-_.")


def list_data(request: Request) -> DisclosureList:
    org = organisation(request)
    found = assessments.standings(deps.database(request), organisation=org)
    return DisclosureList(
        organisation=org,
        disclosures=[summary(s) for s in found],
        counts=dict(sorted(Counter(s.state for s in found).items())),
    )


def detail_data(request: Request, reference: str) -> DisclosureDetail:
    db = deps.database(request)
    org = organisation(request)
    entry = store.get(db, reference, organisation=org)
    with db.read() as conn:
        standing = assessments.standing_in(conn, entry)
    versions = store.history(db, reference, organisation=org)
    done = assessments.history(db, reference, organisation=org)
    return DisclosureDetail(
        organisation=org,
        reference=entry.reference,
        version=entry.version,
        state=standing.state,
        needs_assessment=entry.needs_assessment,
        created_at=iso(entry.created_at),
        created_by=entry.created_by,
        updated_at=iso(entry.updated_at),
        updated_by=entry.updated_by,
        record=DisclosureRecord.model_validate(entry.disclosure.as_dict()),
        fields=labelled(entry.disclosure),
        assessment=assessment_out(standing.assessment) if standing.assessment else None,
        versions=[
            VersionOut(
                version=v.version,
                at=iso(v.at),
                actor=v.actor,
                change=v.change,
                changed=list(v.changed),
                changed_labels=[column_of(n) for n in v.changed],
                scope_changed=v.scope_changed,
            )
            for v in reversed(versions)
        ],
        assessments=[assessment_out(a) for a in reversed(done)],
    )


# ---------------------------------------------------------------------------
# The register


@router.get(
    "/console/disclosures.json",
    response_model=DisclosureList,
    responses=error_responses(401, 403, 422),
)
def disclosures_json(request: Request, staff: Reader) -> DisclosureList:
    """The disclosure register with where each disclosure stands."""
    return list_data(request)


@router.get("/console/disclosures", response_class=HTMLResponse, include_in_schema=False)
def disclosures_page(request: Request, staff: Reader) -> HTMLResponse:
    return render(
        request,
        "org/disclosures.html",
        {"data": list_data(request), "can_change": _can_change(staff), "back": "/console"},
    )


def _can_change(staff: Staff) -> bool:
    return staff.role in ("ig_lead", "administrator")


# ---------------------------------------------------------------------------
# Adding and changing


def _form_values(disclosure: Disclosure) -> dict[str, Any]:
    """A disclosure as the form's values: codes, a list of legal bases, ISO dates."""
    values: dict[str, Any] = disclosure.as_dict()
    return {k: ("" if v is None else v) for k, v in values.items()}


def _case_values(name: str) -> tuple[dict[str, Any], list[str]]:
    """A library case as the form's values, and the fields only the organisation knows.

    The library writes those in square brackets ("[from the approval letter]"); they
    are left blank, so the assessment asks for them.
    """
    case = library.case(name)
    values: dict[str, Any] = {}
    placeholders: list[str] = []
    for field, text in case.values.items():
        text = text.strip()
        if text.startswith("[") and text.endswith("]"):
            placeholders.append(BY_NAME[field].column)
            continue
        value = parse_value(field, text)
        if isinstance(value, tuple):
            values[field] = list(value)
        elif hasattr(value, "isoformat"):
            values[field] = value.isoformat()
        else:
            values[field] = value
    return values, placeholders


def _form_page(
    request: Request,
    *,
    values: dict[str, Any],
    reference: str | None = None,
    problems: Problems | None = None,
    case: str | None = None,
    placeholders: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    adding = reference is None
    return render(
        request,
        "org/disclosure_form.html",
        {
            "adding": adding,
            "reference": reference,
            "values": values,
            "fields": FIELDS,
            "cases": library.cases() if adding else [],
            "case": case,
            "placeholders": placeholders or [],
            "action": "/console/disclosures/new"
            if adding
            else path_of(reference or "") + "/change",
            "back": "/console/disclosures" if adding else path_of(reference or ""),
            **(problems.context() if problems else {}),
        },
        status_code=status_code,
    )


async def _posted(request: Request) -> dict[str, Any]:
    """The form's fields as typed: text, and the legal bases ticked."""
    values = await deps.form(request)
    posted: dict[str, Any] = {f.name: values.get(f.name, "") for f in FIELDS}
    posted["legal_bases"] = await posted_list(request, "legal_bases")
    return posted


def _texts(posted: dict[str, Any]) -> dict[str, str | None]:
    return {
        name: "; ".join(value) if isinstance(value, list) else value
        for name, value in posted.items()
    }


def _problems_of(problems: list[Any]) -> Problems:
    found = Problems()
    for problem in problems:
        found.add(problem.field, problem.message)
    return found


@router.get("/console/disclosures/new", response_class=HTMLResponse, include_in_schema=False)
def add_page(request: Request, staff: Lead, case: str | None = None) -> HTMLResponse:
    if case:
        values, placeholders = _case_values(case)
        return _form_page(request, values=values, case=case, placeholders=placeholders)
    return _form_page(request, values={})


@router.post("/console/disclosures/new", include_in_schema=False)
async def add(request: Request, staff: Lead) -> Response:
    posted = await _posted(request)
    disclosure, problems = parse(_texts(posted))
    if disclosure is None:
        return _form_page(request, values=posted, problems=_problems_of(problems), status_code=422)
    try:
        entry = store.add(
            deps.database(request),
            disclosure,
            organisation=organisation(request),
            actor=staff.username,
        )
    except InputError as exc:
        found = Problems()
        found.add(exc.details.get("field"), exc.message)
        return _form_page(request, values=posted, problems=found, status_code=422)
    return RedirectResponse(path_of(entry.reference) + "?added=1", status_code=303)


@router.get("/console/disclosures/import", response_class=HTMLResponse, include_in_schema=False)
def import_page(request: Request, staff: Lead) -> HTMLResponse:
    return render(request, "org/import.html", {"back": "/console/disclosures"})


@router.post("/console/disclosures/import", include_in_schema=False)
async def import_ropa(request: Request, staff: Lead) -> Response:
    size = declared_length(request)
    if size is not None and size > MAX_ROPA_BYTES + 64 * 1024:
        problems = Problems()
        problems.add("file", too_large_message(MAX_ROPA_BYTES))
        return _import_refused(request, problems, 413)
    try:
        return await _import(request, staff)
    finally:
        await request.close()  # the uploaded file's temporary copy


async def _import(request: Request, staff: Staff) -> Response:
    problems = Problems()
    await deps.form(request)
    upload = await uploaded_file(request, "file")
    if upload is None:
        problems.add("file", "choose the record-of-processing CSV file to import")
        return _import_refused(request, problems, 422)
    name = Path(upload.filename or "upload.csv").name
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="ndoo-ropa-") as folder:
        path = Path(folder) / f"upload{suffix if suffix in _ROPA_SUFFIXES else '.csv'}"
        try:
            await save_upload(upload, path, MAX_ROPA_BYTES, "file")
            result = ropa.import_csv(
                deps.database(request),
                path,
                organisation=organisation(request),
                actor=staff.username,
            )
        except RowErrors as exc:
            rows = len({p["line"] for p in exc.problems})
            problems.add(
                "file",
                f"{rows} {'row has a problem' if rows == 1 else 'rows have problems'}; "
                "nothing was imported",
            )
            for item in exc.problems:
                where = f"Line {item['line']}"
                message = str(item["message"])
                column = item.get("field")
                if column and not message.startswith(str(column)):
                    where += f", column {column}"
                problems.items.append({"text": f"{where}: {message}", "href": "#file"})
            return _import_refused(request, problems, 422)
        except (FileFormatError, InputError) as exc:
            problems.add("file", file_problem(exc) + "; nothing was imported")
            return _import_refused(request, problems, 422)
    return render(
        request,
        "org/import.html",
        {"result": result.as_dict(), "file_name": name, "back": "/console/disclosures"},
    )


def _import_refused(request: Request, problems: Problems, status: int) -> HTMLResponse:
    return render(
        request,
        "org/import.html",
        {"back": "/console/disclosures", **problems.context()},
        status_code=status,
    )


@router.get("/console/disclosures/export.csv", include_in_schema=False)
def export_ropa(request: Request, staff: Reader) -> Response:
    org = organisation(request)
    with tempfile.TemporaryDirectory(prefix="ndoo-ropa-") as folder:
        path = Path(folder) / "register.csv"
        ropa.export_csv(deps.database(request), path, organisation=org)
        content = path.read_bytes()
    return download(
        content, f"disclosures-{org}-{utcnow():%Y-%m-%d}.csv", "text/csv; charset=utf-8"
    )


@router.get(
    "/console/disclosures/{reference:path}/change",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def change_page(request: Request, reference: str, staff: Lead) -> HTMLResponse:
    entry = store.get(deps.database(request), reference, organisation=organisation(request))
    return _form_page(request, values=_form_values(entry.disclosure), reference=entry.reference)


@router.post("/console/disclosures/{reference:path}/change", include_in_schema=False)
async def change(request: Request, reference: str, staff: Lead) -> Response:
    db = deps.database(request)
    org = organisation(request)
    entry = store.get(db, reference, organisation=org)
    posted = await _posted(request)
    posted["reference"] = entry.reference
    disclosure, problems = parse(_texts(posted))
    if disclosure is None:
        return _form_page(
            request,
            values=posted,
            reference=entry.reference,
            problems=_problems_of(problems),
            status_code=422,
        )
    changes = {f.name: getattr(disclosure, f.name) for f in FIELDS if f.name != "reference"}
    try:
        store.change(db, entry.reference, changes, organisation=org, actor=staff.username)
    except InputError as exc:
        found = Problems()
        found.add(exc.details.get("field"), exc.message)
        return _form_page(
            request, values=posted, reference=entry.reference, problems=found, status_code=422
        )
    return RedirectResponse(path_of(entry.reference) + "?changed=1", status_code=303)


# ---------------------------------------------------------------------------
# One disclosure


@router.get(
    "/console/disclosures/{reference:path}.json",
    response_model=DisclosureDetail,
    responses=error_responses(401, 403, 404, 422),
)
def disclosure_json(request: Request, reference: str, staff: Reader) -> DisclosureDetail:
    """One disclosure: its record, where it stands, its latest assessment and its history."""
    return detail_data(request, reference)


@router.get(
    "/console/disclosures/{reference:path}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def disclosure_page(
    request: Request,
    reference: str,
    staff: Reader,
    added: str | None = None,
    changed: str | None = None,
    recorded: str | None = None,
) -> HTMLResponse:
    data = detail_data(request, reference)
    notice = None
    if added:
        notice = "The disclosure was added to the register. Assess it next."
    elif changed:
        notice = "The disclosure was changed; a new version was kept."
    elif recorded and data.assessment is not None and str(data.assessment.id) == recorded:
        notice = f"The assessment was recorded: {data.assessment.outcome}."
    return render(
        request,
        "org/disclosure.html",
        {
            "data": data,
            "can_change": _can_change(staff),
            "notice": notice,
            "path": path_of(data.reference),
            "back": "/console/disclosures",
        },
    )
