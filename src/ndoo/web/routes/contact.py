"""The contact centre: find a person by NHS number, see their choice and its history,
and record a choice made by phone (``CC``) or on a paper form (``PP``).

Every search and every look at a person's page is an audit entry naming the member of
staff and the outcome; the entry holds only a masked form of the number
(``943 *** *919``), never the number itself.  Recording a choice goes through
:func:`ndoo.register.set_choice`, so every register rule applies; a rule the change
breaks is shown on the form, in the error summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from ndoo import audit, people
from ndoo import register as reg
from ndoo.db import Database
from ndoo.errors import (
    InputError,
    InvalidNHSNumber,
    NdooError,
    PersonNotFound,
    ProxyNotPermitted,
    RuleViolation,
    SelfNotPermitted,
)
from ndoo.nhs_number import format_display, parse
from ndoo.register.vocabulary import SELF, actor_label
from ndoo.staff.accounts import Staff
from ndoo.timeutil import age_on, utcnow
from ndoo.web import deps
from ndoo.web.errors import error_responses, status_of
from ndoo.web.forms import error_context
from ndoo.web.templating import render

router = APIRouter(tags=["contact centre"])

Agent = Annotated[Staff, Depends(deps.require("agent"))]

#: The channels the contact centre records: by phone, or from a paper form.
CONTACT_CHANNELS = (reg.Channel.CC, reg.Channel.PP)
CHANNEL_TEXT = {reg.Channel.CC: "By phone", reg.Channel.PP: "On a paper form"}
ANSWERS = {"yes": reg.State.IN, "no": reg.State.OUT}

#: Longest values the register keeps (its column sizes).
LIMITS = {"proxy_name": 200, "proxy_evidence": 100, "case_reference": 40}


class ChoiceOut(BaseModel):
    """A person's choice now, as the answer to the one question."""

    state: Literal["IN", "OUT"]
    label: str = Field(description="'opted in' or 'opted out'")
    since: datetime | None = Field(description="When it took effect; none for the default")
    question: str
    answer: Literal["Yes", "No"]


class EventOut(BaseModel):
    """One change to a person's choice."""

    id: int
    state: Literal["IN", "OUT"]
    label: str
    effective_at: datetime
    recorded_at: datetime
    channel: str
    channel_label: str
    acted_by: str = Field(description="SELF, or the proxy's role")
    acted_by_label: str
    proxy_role: str | None
    proxy_name: str | None
    proxy_evidence: str | None
    case_reference: str | None


class PersonOut(BaseModel):
    """A person as the contact centre sees them: details, choice now and every change."""

    nhs_number: str
    date_of_birth: date
    age: int = Field(description="Age in whole years today, or at death")
    gender: str
    gender_label: str
    deceased: bool
    date_of_death: date | None
    gp_practice_code: str | None
    lacks_capacity: bool
    detained: bool
    choice: ChoiceOut
    history: list[EventOut]


def masked(number: str) -> str:
    """``943 *** *919``: enough to tell entries apart, never the number."""
    return f"{number[:3]} *** *{number[7:]}"


def _audit(db: Database, staff: Staff, action: str, outcome: str, **detail: Any) -> None:
    with db.write() as conn:
        audit.record(conn, actor=staff.username, action=action, outcome=outcome, **detail)


def choice_out(choice: reg.Choice) -> ChoiceOut:
    return ChoiceOut(
        state=choice.state.value,
        label=choice.state.label,
        since=choice.since,
        question=reg.QUESTION,
        answer="No" if choice.state is reg.State.OUT else "Yes",
    )


def person_view(db: Database, number: str) -> PersonOut:
    """Everything the person page shows, from the register's library."""
    person = people.find(db, number)
    choice = reg.current_choice(db, number)
    found = reg.history(db, number)
    today = utcnow().date()
    deceased = person.deceased_on(today)
    events = [
        EventOut(
            id=e.id,
            state=e.state.value,
            label=e.state.label,
            effective_at=e.effective_at,
            recorded_at=e.recorded_at,
            channel=e.channel.value,
            channel_label=e.channel.label,
            acted_by=e.actor,
            acted_by_label=actor_label(e.actor),
            proxy_role=None if e.actor == SELF else e.actor,
            proxy_name=e.proxy_name,
            proxy_evidence=e.proxy_evidence,
            case_reference=e.case_reference,
        )
        for e in found.events
    ]
    return PersonOut(
        nhs_number=person.nhs_number,
        date_of_birth=person.date_of_birth,
        age=age_on(
            person.date_of_birth,
            person.date_of_death if deceased and person.date_of_death else today,
        ),
        gender=person.gender,
        gender_label=people.GENDERS[person.gender],
        deceased=deceased,
        date_of_death=person.date_of_death,
        gp_practice_code=person.gp_practice_code,
        lacks_capacity=person.lacks_capacity,
        detained=person.detained,
        choice=choice_out(choice),
        history=events,
    )


def _viewed(db: Database, staff: Staff, nhs_number: str) -> PersonOut:
    """The person's view, with the look recorded in the audit trail."""
    number = parse(nhs_number)
    try:
        view = person_view(db, number)
    except PersonNotFound:
        _audit(db, staff, "contact.view", "not found", number=masked(number))
        raise
    _audit(db, staff, "contact.view", "found", number=masked(number))
    return view


def _person_page(
    request: Request,
    view: PersonOut,
    *,
    form: dict[str, str] | None = None,
    problems: Sequence[tuple[str | None, str]] = (),
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "person": view,
        "display_number": format_display(view.nhs_number),
        "form": form or {},
        "channels": [{"value": c.value, "text": CHANNEL_TEXT[c]} for c in CONTACT_CHANNELS],
        "actors": [{"value": SELF, "text": "The person themselves"}]
        + [{"value": r.value, "text": r.label} for r in reg.ProxyRole],
        "back": "/console/people",
    }
    if problems:
        context.update(error_context(problems))
    else:
        context["flash"] = deps.take_flash(request)
    return render(request, "contact/person.html", context, status_code=status_code)


@router.get("/console/people", response_class=HTMLResponse, include_in_schema=False)
def search_page(request: Request, staff: Agent) -> HTMLResponse:
    return render(request, "contact/search.html", {"back": "/console"})


@router.post("/console/people", include_in_schema=False)
async def search(request: Request, staff: Agent) -> Response:
    """Find a person; every search is an audit entry, found or not."""
    values = await deps.form(request)
    text = values.get("nhs_number", "").strip()
    db = deps.database(request)
    context: dict[str, Any] = {"back": "/console", "nhs_number": text}
    try:
        number = parse(text)
    except InvalidNHSNumber as exc:
        _audit(db, staff, "contact.search", "invalid")
        message = "enter the person's NHS number" if not text else exc.message
        context.update(error_context([("nhs_number", message)]))
        return render(request, "contact/search.html", context, status_code=422)
    try:
        people.find(db, number)
    except PersonNotFound:
        _audit(db, staff, "contact.search", "not found", number=masked(number))
        message = f"no person with NHS number {format_display(number)} is known to the register"
        context.update(error_context([("nhs_number", message)]))
        return render(request, "contact/search.html", context, status_code=404)
    _audit(db, staff, "contact.search", "found", number=masked(number))
    return RedirectResponse(f"/console/people/{number}", status_code=303)


@router.get("/console/people/{nhs_number}.json", responses=error_responses(401, 403, 404, 422))
def person_json(nhs_number: str, request: Request, staff: Agent) -> PersonOut:
    """A person's details, choice now and every change (any common form of the number)."""
    return _viewed(deps.database(request), staff, nhs_number)


@router.get("/console/people/{nhs_number}", response_class=HTMLResponse, include_in_schema=False)
def person_page(nhs_number: str, request: Request, staff: Agent) -> HTMLResponse:
    return _person_page(request, _viewed(deps.database(request), staff, nhs_number))


def _change_from(
    number: str, values: dict[str, str]
) -> tuple[reg.ChoiceChange | None, list[tuple[str | None, str]]]:
    """The change the form asks for, or the form's problems (each with its field)."""
    problems: list[tuple[str | None, str]] = []
    answer = values.get("answer", "")
    if answer not in ANSWERS:
        problems.append(("answer", "select Yes or No"))
    channel = values.get("channel", "")
    if channel not in {c.value for c in CONTACT_CHANNELS}:
        problems.append(("channel", "select how the choice reached us"))
    acted_by = values.get("acted_by", "")
    if acted_by != SELF and acted_by not in {r.value for r in reg.ProxyRole}:
        problems.append(("acted_by", "select who made the choice"))
    text = {key: " ".join(values.get(key, "").split()) for key in LIMITS}
    if not text["case_reference"]:
        problems.append(("case_reference", "enter the case reference of the call or paper form"))
    for key, limit in LIMITS.items():
        if len(text[key]) > limit or not text[key].isprintable():
            problems.append((key, f"this must be at most {limit} characters of plain text"))
    if problems:
        return None, problems
    try:
        change = reg.ChoiceChange(
            nhs_number=number,
            state=ANSWERS[answer],
            channel=reg.Channel(channel),
            by_self=acted_by == SELF,
            proxy_role=None if acted_by == SELF else reg.ProxyRole(acted_by),
            proxy_name=text["proxy_name"] or None,
            proxy_evidence=text["proxy_evidence"] or None,
            case_reference=text["case_reference"],
        )
    except (InputError, RuleViolation) as exc:
        return None, [("acted_by", exc.message)]
    return change, []


def _field_of(exc: NdooError) -> str | None:
    """The form field a library error is about, if any."""
    field = exc.details.get("field")
    if isinstance(field, str) and field in {"answer", "channel", "acted_by", *LIMITS}:
        return field
    if isinstance(exc, SelfNotPermitted | ProxyNotPermitted):
        return "acted_by"
    return None


@router.post("/console/people/{nhs_number}/choice", include_in_schema=False)
async def record_choice(nhs_number: str, request: Request, staff: Agent) -> Response:
    """Record a choice made by phone or on paper, as ``staff``; rules shown, not raised."""
    values = await deps.form(request)
    db = deps.database(request)
    number = parse(nhs_number)
    change, problems = _change_from(number, values)
    status = 422
    if change is not None:
        try:
            choice = reg.set_choice(db, change, actor=staff.username)
        except (InputError, RuleViolation) as exc:
            problems = [(_field_of(exc), exc.message)]
            status = status_of(exc)
        else:
            deps.flash(
                request,
                f"Recorded: {choice.state.label}, {CHANNEL_TEXT[change.channel].lower()}, "
                f"case {change.case_reference}."
                if choice.changed
                else f"Nothing changed: the person is already {choice.state.label}.",
            )
            return RedirectResponse(f"/console/people/{number}", status_code=303)
    return _person_page(
        request, person_view(db, number), form=values, problems=problems, status_code=status
    )
