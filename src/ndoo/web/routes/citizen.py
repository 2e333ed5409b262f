"""The citizen journey: make or change your own choice, without signing in.

The steps follow the national service: the start page; *your details* (NHS number and
date of birth, or full name, date of birth and postcode, and where the security code
should go); the security code, sent only to the mobile phone number or email address
on the person's record; then the one question, and a confirmation.

Nothing on screen says whether the details matched anyone.  After the details step
every visitor sees the same page with the same words, whether the details matched a
person aged 13 or over with a contact on record (a code is sent), matched no one,
matched a child under 13, a deceased person or someone with no contact on record
(nothing is sent).  A wrong code, an expired code and a third wrong try look the same
for a code that was never sent as for a real one.

Verifying replaces the session (a token seen before is worthless after), and the
verified state lasts ``citizen_session_minutes`` from verification.  Every POST is
rate-limited per client address.  Nothing here logs a person's details or a code.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from ndoo.errors import InputError, LoginRequired, NdooError, RuleViolation, SelfNotPermitted
from ndoo.identity import codes, demographics
from ndoo.identity.messages import PHONE, choice_confirmation, send_to_record
from ndoo.identity.notify import EMAIL, SMS
from ndoo.nhs_number import parse
from ndoo.register import QUESTION, Channel, ChoiceChange, State, current_choice, set_choice
from ndoo.timeutil import iso, utcnow
from ndoo.web import deps
from ndoo.web.deps import demo_outbox, notifier
from ndoo.web.sessions import Session
from ndoo.web.templating import render

log = logging.getLogger(__name__)

router = APIRouter(prefix="/your-choice")

CHANNEL_LABELS = {SMS: "Mobile phone (text message)", EMAIL: "Email"}


# ---------------------------------------------------------------------------
# Shared with the proxy form


class Problems:
    """Form errors: the message next to each field and the error summary's links."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str, *, anchor: str | None = None) -> None:
        if field in self.errors:
            return
        text = message[:1].upper() + message[1:]
        self.errors[field] = text
        self.items.append({"text": text, "href": f"#{anchor or field}"})

    def __bool__(self) -> bool:
        return bool(self.errors)

    def context(self) -> dict[str, Any]:
        return {"errors": self.errors, "errors_list": self.items}


def read_date(values: dict[str, str], field: str, problems: Problems, what: str) -> date | None:
    """The date posted as ``field[day]``, ``field[month]``, ``field[year]``."""
    parts = [values.get(f"{field}[{p}]", "").strip() for p in ("day", "month", "year")]
    anchor = f"{field}-day"
    if not all(parts):
        problems.add(field, f"enter {what}, including a day, month and year", anchor=anchor)
        return None
    try:
        day, month, year = (int(p) for p in parts)
        found = date(year, month, day)
    except ValueError:
        problems.add(field, f"{what} must be a real date", anchor=anchor)
        return None
    if found > utcnow().date():
        problems.add(field, f"{what} must be in the past", anchor=anchor)
        return None
    if year < 1880:
        problems.add(field, f"{what} must be after 1880", anchor=anchor)
        return None
    return found


def read_number(values: dict[str, str], field: str, problems: Problems) -> str | None:
    try:
        return parse(values.get(field, ""))
    except InputError:
        problems.add(field, "enter a valid 10-digit NHS number, for example 485 777 3456")
        return None


def _channels(request: Request) -> list[dict[str, str]]:
    available = notifier(request).channels
    return [{"value": c, "text": CHANNEL_LABELS[c]} for c in (SMS, EMAIL) if c in available]


# ---------------------------------------------------------------------------
# Start and details


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def start(request: Request) -> HTMLResponse:
    deps.citizen_session(request)
    return render(request, "citizen/start.html", {"phone": PHONE})


def _details_page(
    request: Request, values: dict[str, str], problems: Problems | None = None
) -> HTMLResponse:
    """The question "do you know your NHS number?", or the details for the answer."""
    known = values.get("know_number")
    context: dict[str, Any] = {
        "values": values,
        "known": known if known in ("yes", "no") else None,
        "channels": _channels(request),
        "back": "/your-choice/details" if known in ("yes", "no") else "/your-choice",
        "phone": PHONE,
    }
    if problems:
        context.update(problems.context())
    return render(request, "citizen/details.html", context, status_code=422 if problems else 200)


@router.get("/details", response_class=HTMLResponse, include_in_schema=False)
def details_page(request: Request, know_number: str | None = None, asked: str = "") -> HTMLResponse:
    """First whether the person knows their NHS number (a GET form, so no script is
    needed to show the fields that fit the answer), then those fields."""
    deps.citizen_session(request)
    if asked and know_number not in ("yes", "no"):
        problems = Problems()
        problems.add("know_number", "select yes if you know your NHS number")
        return _details_page(request, {}, problems)
    return _details_page(request, {"know_number": know_number or ""})


@router.post("/details", include_in_schema=False)
async def details(request: Request) -> Response:
    deps.limiter(request).hit(request, "citizen-details")
    session = deps.citizen_session(request)
    values = await deps.form(request)
    problems = Problems()
    know = values.get("know_number", "")
    number: str | None = None
    given = family = postcode = None
    if know == "yes":
        number = read_number(values, "nhs_number", problems)
    elif know == "no":
        given = " ".join(values.get("given_name", "").split())
        family = " ".join(values.get("family_name", "").split())
        if not given:
            problems.add("given_name", "enter your first name")
        if not family:
            problems.add("family_name", "enter your last name")
        postcode = demographics.normal_postcode(values.get("postcode"))
        if not values.get("postcode", "").strip():
            problems.add("postcode", "enter your postcode")
        elif postcode is None:
            problems.add("postcode", "enter a real postcode, for example LS1 4AP")
    else:
        problems.add("know_number", "select yes if you know your NHS number")
        return _details_page(request, {}, problems)
    born = read_date(values, "date_of_birth", problems, "your date of birth")
    channels = [c["value"] for c in _channels(request)]
    channel = values.get("channel", "") if len(channels) > 1 else channels[0]
    if channel not in channels:
        problems.add("channel", "select where we should send your security code")
    if problems or born is None:
        return _details_page(request, values, problems)
    found = demographics.match(
        deps.database(request),
        nhs_number=number,
        given_name=given,
        family_name=family,
        date_of_birth=born,
        postcode=postcode,
    )
    journey = secrets.token_urlsafe(24)
    pending: dict[str, Any] = {
        "journey": journey,
        "nhs_number": None,
        "channel": None,
        "sent_at": iso(utcnow()),
        "tries": 0,
    }
    if found is not None:
        pending.update(_eligible(request, found, channel))
    session.pop("verified")
    session.pop("resent")
    session.set("pending", pending)
    if pending["nhs_number"]:
        _send(request, pending)
    return RedirectResponse("/your-choice/code", status_code=303)


def _eligible(request: Request, nhs_number: str, preferred: str) -> dict[str, Any]:
    channel = codes.online_channel(
        deps.database(request),
        nhs_number,
        preferred=preferred,
        available=notifier(request).channels,
    )
    return {} if channel is None else {"nhs_number": nhs_number, "channel": channel}


def _send(request: Request, pending: dict[str, Any]) -> None:
    """Send a code for the pending journey; a refusal or failure shows nothing different."""
    try:
        codes.send_code(
            deps.database(request),
            notifier(request),
            journey=pending["journey"],
            nhs_number=pending["nhs_number"],
            channel=pending["channel"],
        )
    except RuleViolation as exc:
        log.info("security code not sent: %s", exc.details.get("reason", exc.code))
    except NdooError as exc:
        log.warning("security code could not be sent: %s", exc.code)


# ---------------------------------------------------------------------------
# The security code


def _pending(session: Session) -> dict[str, Any] | None:
    found = session.data.get("pending")
    return found if isinstance(found, dict) else None


def _code_page(
    request: Request, problems: Problems | None = None, *, resent: bool = False
) -> HTMLResponse:
    context: dict[str, Any] = {
        "back": "/your-choice/details",
        "phone": PHONE,
        "minutes": codes.CODE_MINUTES,
        "per_day": codes.CODES_PER_DAY,
        "demo": demo_outbox(request),
        "resent": resent,
    }
    if problems:
        context.update(problems.context())
    return render(request, "citizen/code.html", context, status_code=422 if problems else 200)


def _start_again(request: Request, reason: str) -> HTMLResponse:
    return render(
        request,
        "citizen/start_again.html",
        {"reason": reason, "phone": PHONE, "minutes": codes.CODE_MINUTES},
        status_code=409,
    )


@router.get("/code", response_class=HTMLResponse, include_in_schema=False)
def code_page(request: Request) -> Response:
    session = deps.citizen_session(request)
    pending = _pending(session)
    if pending is None:
        return RedirectResponse("/your-choice/details", status_code=303)
    return _code_page(request, resent=bool(session.data.get("resent")))


@router.post("/code", include_in_schema=False)
async def code(request: Request) -> Response:
    deps.limiter(request).hit(request, "citizen-code")
    session = deps.citizen_session(request)
    values = await deps.form(request)
    pending = _pending(session)
    if pending is None:
        return _start_again(request, "ended")
    problems = Problems()
    try:
        given = codes.clean_code(values.get("code", ""))
    except InputError as exc:
        problems.add("code", exc.message)
        return _code_page(request, problems)
    outcome = _check(request, pending, given)
    if outcome == "right":
        return _verified_now(request, session, pending)
    if outcome == "wrong":
        pending["tries"] = int(pending.get("tries", 0)) + 1
        session.set("pending", pending)
        problems.add("code", "the security code is not right; check it and try again")
        return _code_page(request, problems)
    session.pop("pending")
    return _start_again(request, outcome)


def _check(request: Request, pending: dict[str, Any], given: str) -> str:
    """``right``, ``wrong``, ``expired`` or ``too_many_tries``; a journey with no code
    sent fails the same way a real one would."""
    number = pending.get("nhs_number")
    if number:
        try:
            ok = codes.verify(
                deps.database(request), journey=pending["journey"], nhs_number=number, code=given
            )
            return "right" if ok else "wrong"
        except RuleViolation as exc:
            reason = str(exc.details.get("reason", ""))
            if reason in ("expired", "too_many_tries"):
                return reason
            if reason in ("used", "dead"):
                return "too_many_tries"
            # no code was sent (the day's limit, or the message failed): as below
    sent_at = datetime.fromisoformat(pending["sent_at"])
    if utcnow() - sent_at >= timedelta(minutes=codes.CODE_MINUTES):
        return "expired"
    if int(pending.get("tries", 0)) + 1 >= codes.MAX_TRIES:
        return "too_many_tries"
    return "wrong"


def _verified_now(request: Request, session: Session, pending: dict[str, Any]) -> Response:
    fresh = deps.replace_citizen_session(request, session)
    fresh.pop("pending")
    fresh.pop("resent")
    fresh.set(
        "verified",
        {"nhs_number": pending["nhs_number"], "channel": pending["channel"], "at": iso(utcnow())},
    )
    return RedirectResponse("/your-choice/choice", status_code=303)


@router.get("/resend", response_class=HTMLResponse, include_in_schema=False)
def resend_page(request: Request) -> Response:
    session = deps.citizen_session(request)
    if _pending(session) is None:
        return RedirectResponse("/your-choice/details", status_code=303)
    return render(
        request,
        "citizen/resend.html",
        {"back": "/your-choice/code", "per_day": codes.CODES_PER_DAY, "phone": PHONE},
    )


@router.post("/resend", include_in_schema=False)
async def resend(request: Request) -> Response:
    deps.limiter(request).hit(request, "citizen-resend")
    session = deps.citizen_session(request)
    await deps.form(request)
    pending = _pending(session)
    if pending is None:
        return RedirectResponse("/your-choice/details", status_code=303)
    pending.update({"sent_at": iso(utcnow()), "tries": 0})
    session.set("pending", pending)
    session.set("resent", True)
    if pending.get("nhs_number"):
        _send(request, pending)
    return RedirectResponse("/your-choice/code", status_code=303)


# ---------------------------------------------------------------------------
# The choice


class CitizenChoice(BaseModel):
    """The verified citizen's choice now."""

    question: str
    state: Literal["OUT", "IN"]
    allowed: bool
    label: str
    since: str | None


def _verified(request: Request) -> tuple[Session, dict[str, Any]] | None:
    """The session and its verified identity, while verification lasts."""
    session = deps.citizen_session(request)
    found = session.data.get("verified")
    if not isinstance(found, dict):
        return None
    minutes = int(deps.settings(request).citizen_session_minutes)
    if utcnow() - datetime.fromisoformat(found["at"]) >= timedelta(minutes=minutes):
        session.pop("verified")
        session.pop("done")
        return None
    return session, found


def _ended(request: Request) -> HTMLResponse:
    minutes = int(deps.settings(request).citizen_session_minutes)
    return render(request, "citizen/ended.html", {"minutes": minutes}, status_code=401)


def _choice_view(request: Request, nhs_number: str) -> CitizenChoice:
    choice = current_choice(deps.database(request), nhs_number)
    return CitizenChoice(
        question=QUESTION,
        state=choice.state.value,
        allowed=choice.state is State.IN,
        label=choice.state.label,
        since=iso(choice.since) if choice.since else None,
    )


def _choice_page(
    request: Request,
    nhs_number: str,
    problems: Problems | None = None,
    *,
    refusal: str | None = None,
) -> HTMLResponse:
    view = _choice_view(request, nhs_number)
    context: dict[str, Any] = {"choice": view, "refusal": refusal, "phone": PHONE}
    if view.since:
        since = datetime.fromisoformat(view.since)
        context["since"] = f"{since.day} {since:%B %Y}"
    if problems:
        context.update(problems.context())
    status = 422 if problems else 409 if refusal else 200
    return render(request, "citizen/choice.html", context, status_code=status)


@router.get("/choice", response_class=HTMLResponse, include_in_schema=False)
def choice_page(request: Request) -> HTMLResponse:
    found = _verified(request)
    if found is None:
        return _ended(request)
    return _choice_page(request, found[1]["nhs_number"])


@router.get("/choice.json", response_model=CitizenChoice, tags=["citizen"])
def choice_json(request: Request) -> CitizenChoice:
    """The verified citizen's current choice (the session must have been verified)."""
    found = _verified(request)
    if found is None:
        raise LoginRequired("confirm who you are at /your-choice first")
    return _choice_view(request, found[1]["nhs_number"])


@router.post("/choice", include_in_schema=False)
async def choose(request: Request) -> Response:
    deps.limiter(request).hit(request, "citizen-choice")
    found = _verified(request)
    values = await deps.form(request)
    if found is None:
        return _ended(request)
    session, verified = found
    number = verified["nhs_number"]
    answer = values.get("answer", "")
    if answer not in ("yes", "no"):
        problems = Problems()
        problems.add("answer", "select yes or no")
        return _choice_page(request, number, problems)
    state = State.IN if answer == "yes" else State.OUT
    db = deps.database(request)
    try:
        saved = set_choice(
            db,
            ChoiceChange(nhs_number=number, state=state, channel=Channel.OP, by_self=True),
            actor="citizen (online)",
        )
    except SelfNotPermitted:
        return _choice_page(request, number, refusal="self")
    except RuleViolation as exc:
        return _choice_page(request, number, refusal=exc.message)
    confirmed = False
    if saved.changed:
        subject, body = choice_confirmation(state is State.IN)
        try:
            confirmed = (
                send_to_record(
                    db,
                    notifier(request),
                    nhs_number=number,
                    preferred=verified.get("channel") or SMS,
                    subject=subject,
                    body=body,
                    reference=f"choice-{saved.event_id}",
                )
                is not None
            )
        except NdooError as exc:
            log.warning("choice confirmation could not be sent: %s", exc.code)
    session.set(
        "done", {"state": saved.state.value, "changed": saved.changed, "confirmed": confirmed}
    )
    return RedirectResponse("/your-choice/done", status_code=303)


@router.get("/done", response_class=HTMLResponse, include_in_schema=False)
def done(request: Request) -> Response:
    found = _verified(request)
    if found is None:
        return _ended(request)
    session, _ = found
    result = session.data.get("done")
    if not isinstance(result, dict):
        return RedirectResponse("/your-choice/choice", status_code=303)
    return render(
        request,
        "citizen/done.html",
        {
            "allowed": result["state"] == State.IN.value,
            "changed": result["changed"],
            "confirmed": result["confirmed"],
            "phone": PHONE,
        },
    )


@router.post("/finish", include_in_schema=False)
async def finish(request: Request) -> Response:
    session = deps.citizen_session(request)
    await deps.form(request)
    deps.store(request).end(session)
    return render(request, "citizen/finished.html", {})
