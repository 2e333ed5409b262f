"""Proxy review: the applications of parents, guardians, attorneys and deputies, and
their approval or rejection by a proxy reviewer.

The library (:mod:`ndoo.register.proxies`) does the work: approval records the
requested choice through the register, so its rules apply, and a rule the change
breaks is shown on the page with the application left pending.  After a decision the
proxy is sent a short message at the address they gave (email first, else a text
message); the message names the application, never the person.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from ndoo import audit, people
from ndoo import register as reg
from ndoo.db import Database
from ndoo.errors import InputError, NdooError, RuleViolation
from ndoo.identity.codes import SERVICE
from ndoo.identity.messages import PHONE, send_to_given
from ndoo.identity.notify import notifier_from_settings
from ndoo.register import proxies
from ndoo.staff.accounts import Staff
from ndoo.timeutil import age_on, utcnow
from ndoo.web import deps
from ndoo.web.errors import error_responses, status_of
from ndoo.web.forms import error_context
from ndoo.web.routes.contact import ChoiceOut, choice_out
from ndoo.web.templating import render

log = logging.getLogger(__name__)

router = APIRouter(tags=["proxy review"])

Reviewer = Annotated[Staff, Depends(deps.require("proxy_reviewer"))]

Status = Literal["pending", "approved", "rejected", "all"]
FILTERS: dict[str, str] = {
    proxies.PENDING: "Waiting for review",
    proxies.APPROVED: "Approved",
    proxies.REJECTED: "Rejected",
    "all": "All applications",
}


def _state(value: str) -> Literal["IN", "OUT"]:
    return "OUT" if value == "OUT" else "IN"


def _answer(value: str) -> Literal["Yes", "No"]:
    return "No" if value == "OUT" else "Yes"


class ApplicationSummary(BaseModel):
    """One application as listed."""

    reference: str
    status: str
    submitted_at: datetime
    proxy_role: str
    role_label: str
    requested_state: Literal["IN", "OUT"]
    requested_answer: Literal["Yes", "No"]
    matched: bool


class ApplicationList(BaseModel):
    status: Status
    applications: list[ApplicationSummary]


class GivenDetails(BaseModel):
    """The person's details as the applicant gave them."""

    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: date
    postcode: str


class MatchedPerson(BaseModel):
    """The register's record of the person, when the details matched it."""

    age: int = Field(description="Age in whole years today")
    deceased: bool
    lacks_capacity: bool
    choice: ChoiceOut


class ProxyDetails(BaseModel):
    name: str
    role: str
    role_label: str
    email: str | None
    phone: str | None
    evidence_reference: str


class ApplicationOut(BaseModel):
    """One application with everything a reviewer needs to decide."""

    reference: str
    status: str
    submitted_at: datetime
    person: GivenDetails
    matched: bool = Field(description="Whether the details matched a demographic record")
    matched_person: MatchedPerson | None
    proxy: ProxyDetails
    question: str
    requested_state: Literal["IN", "OUT"]
    requested_answer: Literal["Yes", "No"]
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None


def _summary(found: proxies.Application) -> ApplicationSummary:
    return ApplicationSummary(
        reference=found.reference,
        status=found.status,
        submitted_at=found.submitted_at,
        proxy_role=found.proxy_role,
        role_label=found.role_label,
        requested_state=_state(found.requested_state),
        requested_answer=_answer(found.requested_state),
        matched=found.matched,
    )


def _listing(db: Database, status: str) -> ApplicationList:
    if status not in FILTERS:
        raise InputError(f"status must be one of {', '.join(FILTERS)}", field="status")
    found = proxies.listed(db, status=None if status == "all" else status)
    return ApplicationList(
        status=cast(Status, status),
        applications=[_summary(a) for a in found],
    )


def application_view(db: Database, reference: str) -> ApplicationOut:
    found = proxies.get(db, reference)
    matched: MatchedPerson | None = None
    if found.matched:
        person = people.find(db, found.nhs_number)
        today = utcnow().date()
        matched = MatchedPerson(
            age=age_on(person.date_of_birth, today),
            deceased=person.deceased_on(today),
            lacks_capacity=person.lacks_capacity,
            choice=choice_out(reg.current_choice(db, found.nhs_number)),
        )
    return ApplicationOut(
        reference=found.reference,
        status=found.status,
        submitted_at=found.submitted_at,
        person=GivenDetails(
            nhs_number=found.nhs_number,
            given_name=found.given_name,
            family_name=found.family_name,
            date_of_birth=found.date_of_birth,
            postcode=found.postcode,
        ),
        matched=found.matched,
        matched_person=matched,
        proxy=ProxyDetails(
            name=found.proxy_name,
            role=found.proxy_role,
            role_label=found.role_label,
            email=found.proxy_email,
            phone=found.proxy_phone,
            evidence_reference=found.evidence_reference,
        ),
        question=reg.QUESTION,
        requested_state=_state(found.requested_state),
        requested_answer=_answer(found.requested_state),
        reviewed_by=found.reviewed_by,
        reviewed_at=found.reviewed_at,
        review_note=found.review_note,
    )


def decision_message(reference: str, approved: bool, reason: str | None) -> tuple[str, str]:
    """Subject and body telling a proxy the outcome; names the application only."""
    if approved:
        outcome = "has been approved and the choice you asked for has been recorded."
    else:
        outcome = f"has not been approved. The reason: {reason}"
    body = (
        f"{SERVICE}: your application {reference} to make a choice for someone else "
        f"{outcome} Questions: call {PHONE} (Monday to Friday, 9am to 5pm)."
    )
    return f"{SERVICE}: application {reference}", body


def _tell_proxy(request: Request, done: proxies.Application, staff: Staff) -> str:
    """Send the proxy the outcome; what to tell the reviewer about the message."""
    db = deps.database(request)
    subject, body = decision_message(
        done.reference, done.status == proxies.APPROVED, done.review_note
    )
    channel: str | None = None
    problem: str | None = None
    try:
        channel = send_to_given(
            notifier_from_settings(deps.settings(request), db),
            email=done.proxy_email,
            phone=done.proxy_phone,
            subject=subject,
            body=body,
            reference=done.reference,
        )
    except NdooError as exc:
        log.warning("the message about a proxy application was not sent: %s", exc.code)
        problem = exc.code
    else:
        problem = None if channel else "no_channel"
    with db.write() as conn:
        audit.record(
            conn,
            actor=staff.username,
            action="proxy.message",
            outcome="sent" if channel else "not sent",
            application=done.reference,
            channel=channel,
            problem=problem,
        )
    if channel is None:
        return "The message to the proxy could not be sent: contact them another way."
    how = "by email" if channel == "email" else "by text message"
    return f"The proxy has been told {how}."


def _detail_page(
    request: Request,
    view: ApplicationOut,
    *,
    problems: list[tuple[str | None, str]] | None = None,
    note: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "app": view,
        "note": note,
        "back": "/console/proxy-applications",
    }
    if problems:
        context.update(error_context(problems))
    else:
        context["flash"] = deps.take_flash(request)
    return render(request, "proxy_review/detail.html", context, status_code=status_code)


@router.get("/console/proxy-applications.json", responses=error_responses(401, 403, 422))
def list_json(request: Request, staff: Reviewer, status: Status = "pending") -> ApplicationList:
    """Proxy applications with ``status`` (pending unless asked), oldest first."""
    return _listing(deps.database(request), status)


@router.get("/console/proxy-applications", response_class=HTMLResponse, include_in_schema=False)
def list_page(request: Request, staff: Reviewer, status: str = "pending") -> HTMLResponse:
    listing = _listing(deps.database(request), status)
    return render(
        request,
        "proxy_review/list.html",
        {
            "listing": listing,
            "filters": [{"value": k, "text": v} for k, v in FILTERS.items()],
            "heading": FILTERS[status],
            "back": "/console",
        },
    )


@router.get(
    "/console/proxy-applications/{reference}.json", responses=error_responses(401, 403, 404)
)
def detail_json(reference: str, request: Request, staff: Reviewer) -> ApplicationOut:
    """One proxy application, with the person's record when the details matched it."""
    return application_view(deps.database(request), reference)


@router.get(
    "/console/proxy-applications/{reference}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def detail_page(reference: str, request: Request, staff: Reviewer) -> HTMLResponse:
    return _detail_page(request, application_view(deps.database(request), reference))


@router.post("/console/proxy-applications/{reference}/approve", include_in_schema=False)
async def approve(reference: str, request: Request, staff: Reviewer) -> Response:
    """Record the requested choice; a rule it breaks is shown and the application waits."""
    await deps.form(request)
    db = deps.database(request)
    try:
        done = proxies.approve(db, reference, reviewer=staff.username)
    except (InputError, RuleViolation) as exc:
        return _detail_page(
            request,
            application_view(db, reference),
            problems=[(None, exc.message)],
            status_code=status_of(exc),
        )
    told = _tell_proxy(request, done, staff)
    deps.flash(request, f"Application {reference} approved. {told}")
    return RedirectResponse(f"/console/proxy-applications/{reference}", status_code=303)


@router.post("/console/proxy-applications/{reference}/reject", include_in_schema=False)
async def reject(reference: str, request: Request, staff: Reviewer) -> Response:
    """Reject with the reason (required); nothing changes in the register."""
    values = await deps.form(request)
    note = values.get("note", "").strip()
    db = deps.database(request)
    try:
        done = proxies.reject(db, reference, reviewer=staff.username, note=note)
    except (InputError, RuleViolation) as exc:
        field = "note" if isinstance(exc, InputError) else None
        return _detail_page(
            request,
            application_view(db, reference),
            problems=[(field, exc.message)],
            note=note,
            status_code=status_of(exc),
        )
    told = _tell_proxy(request, done, staff)
    deps.flash(request, f"Application {reference} rejected. {told}")
    return RedirectResponse(f"/console/proxy-applications/{reference}", status_code=303)
