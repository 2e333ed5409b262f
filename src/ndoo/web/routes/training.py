"""The learner's pages of the staff training module: sign in with a code sent to the
work email on the staff roster, take the module, and see the certificate.

A member of staff signs in with their work email address: when it is on the roster a
6-digit code is sent to it (:mod:`ndoo.training.signin`), and the page that follows is
the same whether it is or not; a code that was never sent fails the way a real one would.
Signing in replaces the learner session, which then holds ``trainee_id``.

The module itself is :mod:`ndoo.training.assessment`: each page shows the attempt's
current step (a section's teaching and care scenario, a question, the follow-up lesson
after a wrong answer, the key points), and each form moves it on.  A form sent twice or
from an old page changes nothing and leads back to the current step.  Which option was
right is never shown.

Learners choose English, Welsh or Polish on any page (the language is kept in the
learner session and on the open attempt); the words of these pages go through
``_()`` in the templates and :func:`N_` here, the content through ``t()`` and
``md()`` (:mod:`ndoo.training.translations`).  Records and reports stay in English.
Nothing here logs an email address, a name or a code.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup
from pydantic import BaseModel, Field

from ndoo.errors import InputError, NdooError, NotFound, RuleViolation
from ndoo.identity.codes import CODE_MINUTES, MAX_TRIES, clean_code
from ndoo.timeutil import iso, utcnow
from ndoo.training import assessment, content, roster, signin
from ndoo.training.assessment import Completion, Step
from ndoo.training.roster import Member, clean_email
from ndoo.training.translations import (
    LANGUAGES,
    N_,
    Translator,
    blocks,
    language_or_default,
    translator,
)
from ndoo.web import deps
from ndoo.web.errors import error_responses
from ndoo.web.forms import Problems
from ndoo.web.sessions import Session
from ndoo.web.templating import render

log = logging.getLogger(__name__)

router = APIRouter(tags=["training"])

START = "/training"
MODULE = "/training/module"

#: Babel's locale for showing dates in each language.
DATE_LOCALES = {"en": "en_GB", "cy": "cy", "pl": "pl"}

_INLINE = MarkdownIt("commonmark", {"html": False})
_LEARNER_PATH = re.compile(r"/training(/[A-Za-z0-9._-]+)*")

# Messages shown by the routes (translated when shown).
ENTER_EMAIL = N_("Enter your work email address, like name@example.nhs.uk")
ENTER_CODE = N_("Enter the 6-digit code from the email")
WRONG_CODE = N_("The code is not right. Check it and try again")
EXPIRED_CODE = N_(
    "This code has expired (codes last {minutes} minutes). Enter your email address "
    "again to get a new code"
)
DEAD_CODE = N_("This code can no longer be used. Enter your email address again to get a new code")
SELECT_ANSWER = N_("Select an answer")


# ---------------------------------------------------------------------------
# What every learner page shares


def _language(session: Session) -> str:
    return language_or_default(session.data.get("lang"))


def _trainee_id(session: Session) -> int | None:
    found = session.data.get("trainee_id")
    return int(found) if isinstance(found, int) else None


def long_date(day: date, language: str) -> str:
    """``day`` written out in ``language``, for example 21 November 2026."""
    return format_date(day, "d MMMM y", locale=DATE_LOCALES.get(language, "en_GB"))


def _languages(language: str, here: str) -> list[dict[str, Any]]:
    return [
        {
            "code": code,
            "name": name,
            "current": code == language,
            "href": f"/training/language/{code}?next={quote(here, safe='/')}",
        }
        for code, name in LANGUAGES.items()
    ]


def _page(
    request: Request,
    session: Session,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    here: str,
    problems: Problems | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A learner page in the learner's language; ``here`` is the page's own address
    (where the language switch comes back to)."""
    language = _language(session)
    tr = translator(language)
    values: dict[str, Any] = {
        "_": tr.gettext,
        "t": tr.gettext,
        "md": tr.markdown,
        "htmlLang": language,
        "lang": language,
        "languages": _languages(language, here),
        "signed_in": _trainee_id(session) is not None,
        "long_date": lambda day: long_date(day, language),
        "demo": deps.demo_outbox(request),
    }
    values.update(context or {})
    if problems:
        values.update(problems.context())
    return render(request, f"training/{name}", values, status_code=status_code)


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def _member(request: Request, session: Session) -> Member | None:
    """The signed-in learner, or ``None`` (a session for someone no longer on the
    roster is signed out)."""
    trainee_id = _trainee_id(session)
    if trainee_id is None:
        return None
    try:
        return roster.get_by_id(deps.database(request), trainee_id)
    except NotFound:
        session.pop("trainee_id")
        return None


# ---------------------------------------------------------------------------
# The start page and signing in


@router.get("/training", response_class=HTMLResponse, include_in_schema=False)
def start_page(request: Request) -> HTMLResponse:
    session = deps.learner_session(request)
    return _start(request, session)


def _start(
    request: Request,
    session: Session,
    *,
    problems: Problems | None = None,
    email: str = "",
) -> HTMLResponse:
    module = content.load()
    member = _member(request, session)
    context: dict[str, Any] = {
        "module": module,
        "member": member,
        "email": email,
        "all_languages": LANGUAGES,
    }
    if member is not None:
        db = deps.database(request)
        passes = assessment.completions(db, member.id)
        latest = passes[0] if passes else None
        attempt = assessment.open_attempt(db, member.id)
        context.update(
            latest=latest,
            in_date=latest is not None and latest.in_date(utcnow().date()),
            going=attempt is not None and attempt.module_version == module.version,
        )
    return _page(
        request,
        session,
        "start.html",
        context,
        here=START,
        problems=problems,
        status_code=422 if problems else 200,
    )


@router.post("/training/sign-in", include_in_schema=False)
async def sign_in(request: Request) -> Response:
    deps.limiter(request).hit(request, "training-sign-in")
    session = deps.learner_session(request)
    values = await deps.form(request)
    typed = values.get("email", "")
    try:
        email = clean_email(typed)
    except InputError:
        problems = Problems()
        problems.add("email", translator(_language(session)).gettext(ENTER_EMAIL))
        return _start(request, session, problems=problems, email=typed)
    journey = secrets.token_urlsafe(24)
    session.set(
        "signin", {"journey": journey, "email": email, "sent_at": iso(utcnow()), "tries": 0}
    )
    try:
        signin.send_code(
            deps.database(request), deps.notifier(request), journey=journey, email=email
        )
    except NdooError as exc:  # the page is the same: nothing tells whether a code went
        log.warning("training sign-in code could not be sent: %s", exc.code)
    return _redirect("/training/code")


def _pending(session: Session) -> dict[str, Any] | None:
    found = session.data.get("signin")
    return found if isinstance(found, dict) else None


def _code_page(
    request: Request, session: Session, pending: dict[str, Any], problems: Problems | None = None
) -> HTMLResponse:
    return _page(
        request,
        session,
        "code.html",
        {"email": pending["email"], "minutes": CODE_MINUTES, "back": START},
        here="/training/code",
        problems=problems,
        status_code=422 if problems else 200,
    )


@router.get("/training/code", response_class=HTMLResponse, include_in_schema=False)
def code_page(request: Request) -> Response:
    session = deps.learner_session(request)
    pending = _pending(session)
    if pending is None:
        return _redirect(START)
    return _code_page(request, session, pending)


@router.post("/training/code", include_in_schema=False)
async def code(request: Request) -> Response:
    deps.limiter(request).hit(request, "training-code")
    session = deps.learner_session(request)
    values = await deps.form(request)
    pending = _pending(session)
    if pending is None:
        return _redirect(START)
    tr = translator(_language(session))
    problems = Problems()
    try:
        given = clean_code(values.get("code", ""))
    except InputError:
        problems.add("code", tr.gettext(ENTER_CODE))
        return _code_page(request, session, pending, problems)
    outcome, member = _check(request, pending, given)
    if member is not None:
        fresh = deps.replace_learner_session(request, session)
        fresh.pop("signin")
        fresh.pop("correct")
        fresh.set("trainee_id", member.id)
        return _redirect(START)
    if outcome == "wrong":
        pending["tries"] = int(pending.get("tries", 0)) + 1
        session.set("signin", pending)
        problems.add("code", tr.gettext(WRONG_CODE))
    elif outcome == "expired":
        problems.add("code", tr.gettext(EXPIRED_CODE).format(minutes=CODE_MINUTES))
    else:
        problems.add("code", tr.gettext(DEAD_CODE))
    return _code_page(request, session, pending, problems)


def _check(request: Request, pending: dict[str, Any], given: str) -> tuple[str, Member | None]:
    """``right`` (with the member), ``wrong``, ``expired`` or ``dead``.  When no code
    was sent (the address is not on the roster, or the day's codes ran out) the answer
    is the one a real code would give after as many tries and as long."""
    try:
        member = signin.verify(
            deps.database(request),
            journey=pending["journey"],
            email=pending["email"],
            code=given,
        )
    except RuleViolation as exc:
        reason = str(exc.details.get("reason", ""))
        if reason == "expired":
            return "expired", None
        if reason in ("used", "dead", "too_many_tries"):
            return "dead", None
        sent_at = datetime.fromisoformat(pending["sent_at"])
        if utcnow() - sent_at >= timedelta(minutes=CODE_MINUTES):
            return "expired", None
        if int(pending.get("tries", 0)) + 1 >= MAX_TRIES:
            return "dead", None
        return "wrong", None
    return ("right", member) if member is not None else ("wrong", None)


@router.post("/training/sign-out", include_in_schema=False)
async def sign_out(request: Request) -> Response:
    session = deps.learner_session(request)
    await deps.form(request)
    language = _language(session)
    deps.store(request).end(session)
    fresh = deps.learner_session(request)
    if language != "en":
        fresh.set("lang", language)
    return _redirect(START)


@router.get("/training/language/{code}", include_in_schema=False)
def language(request: Request, code: str, next: str = START) -> Response:
    if code not in LANGUAGES:
        raise NotFound("the module is not available in that language")
    session = deps.learner_session(request)
    session.set("lang", code)
    trainee_id = _trainee_id(session)
    if trainee_id is not None:
        db = deps.database(request)
        attempt = assessment.open_attempt(db, trainee_id)
        if attempt is not None:
            assessment.set_language(db, attempt.id, trainee_id, code)
    return _redirect(safe_next(next))


def safe_next(target: str | None) -> str:
    """``target`` when it is a learner page of this service, else the start page."""
    if not target or not _LEARNER_PATH.fullmatch(target):
        return START
    if target.startswith("/training/language") or "/." in target:
        return START
    return target


# ---------------------------------------------------------------------------
# Taking the module


@router.post("/training/start", include_in_schema=False)
async def start(request: Request) -> Response:
    session = deps.learner_session(request)
    await deps.form(request)
    trainee_id = _trainee_id(session)
    if trainee_id is None:
        return _redirect(START)
    try:
        assessment.start(deps.database(request), trainee_id, language=_language(session))
    except NotFound:
        session.pop("trainee_id")
        return _redirect(START)
    except RuleViolation:  # they have left: the start page says so
        return _redirect(START)
    return _redirect(MODULE)


def _current(request: Request, session: Session) -> Step | None:
    """The step the signed-in learner's open attempt is at, if there is one."""
    trainee_id = _trainee_id(session)
    if trainee_id is None:
        return None
    db = deps.database(request)
    attempt = assessment.open_attempt(db, trainee_id)
    if attempt is None:
        return None
    try:
        return assessment.step(db, attempt.id, trainee_id)
    except RuleViolation:  # the module has changed: starting again abandons the attempt
        return None


def _place(step: Step) -> str:
    """Where the attempt is, as the continue form carries it (a stale form is ignored)."""
    return f"{step.stage}:{step.attempt.section}:{step.point.id if step.point else ''}"


def _legend(tr: Translator, stem: str) -> tuple[Markup, Markup]:
    """A question's stem as the fieldset legend (its last block, inline) and any blocks
    before it (as HTML shown above the question)."""
    parts = blocks(stem)
    lead = Markup("".join(tr.markdown(b) for b in parts[:-1]))
    legend = Markup(_INLINE.renderInline(tr.gettext(parts[-1])).strip())
    return legend, lead


def _module_page(
    request: Request, session: Session, step: Step, problems: Problems | None = None
) -> HTMLResponse:
    module = content.load()
    tr = translator(_language(session))
    context: dict[str, Any] = {
        "module": module,
        "step": step,
        "section_number": module.section_index(step.section.id) + 1,
        "sections": len(module.sections),
        "place": _place(step),
        "correct": bool(session.pop("correct")) if "correct" in session.data else False,
    }
    if step.stage == assessment.ASK and step.question is not None:
        context["legend"], context["lead"] = _legend(tr, step.question.stem)
        context["items"] = [{"value": o.id, "text": tr.gettext(o.text)} for o in step.options]
    return _page(
        request,
        session,
        f"{step.stage}.html",
        context,
        here=MODULE,
        problems=problems,
        status_code=422 if problems else 200,
    )


@router.get("/training/module", response_class=HTMLResponse, include_in_schema=False)
def module_page(request: Request) -> Response:
    session = deps.learner_session(request)
    step = _current(request, session)
    if step is None:
        return _redirect(START)
    if step.stage == assessment.DONE:
        return _redirect(_certificate_path(step.completion_id))
    return _module_page(request, session, step)


def _certificate_path(completion_id: int | None) -> str:
    return f"/training/certificate/{completion_id}" if completion_id is not None else START


@router.post("/training/module/continue", include_in_schema=False)
async def carry_on(request: Request) -> Response:
    session = deps.learner_session(request)
    values = await deps.form(request)
    step = _current(request, session)
    if step is None:
        return _redirect(START)
    if values.get("place") != _place(step):  # sent twice, or from an old page
        return _redirect(MODULE)
    trainee_id = step.attempt.trainee_id
    try:
        after = assessment.proceed(deps.database(request), step.attempt.id, trainee_id)
    except RuleViolation:
        return _redirect(MODULE)
    if after.stage == assessment.DONE:
        return _redirect(_certificate_path(after.completion_id))
    return _redirect(MODULE)


@router.post("/training/module/answer", include_in_schema=False)
async def answer(request: Request) -> Response:
    session = deps.learner_session(request)
    values = await deps.form(request)
    step = _current(request, session)
    if step is None:
        return _redirect(START)
    try:
        answered = assessment.answer(
            deps.database(request),
            step.attempt.id,
            step.attempt.trainee_id,
            question_id=values.get("question", ""),
            option_id=values.get("answer", ""),
        )
    except RuleViolation:  # not_current: a form sent twice or from an old page
        return _redirect(MODULE)
    except InputError:
        problems = Problems()
        problems.add("answer", translator(_language(session)).gettext(SELECT_ANSWER))
        return _module_page(request, session, step, problems)
    if answered.correct:
        session.set("correct", True)
    return _redirect(MODULE)


# ---------------------------------------------------------------------------
# The certificate


class CertificateOut(BaseModel):
    """A certificate of completion of the training module."""

    id: int = Field(description="The certificate's number.")
    name: str = Field(description="Who completed the module, as named on the staff roster.")
    organisation: str
    module_id: str
    module_title: str
    module_version: str
    language: str = Field(description="The language the module was taken in.")
    completed_on: str = Field(description="The day it was completed (YYYY-MM-DD).")
    expires_on: str = Field(description="The first day it no longer counts (YYYY-MM-DD).")
    points: int = Field(description="How many learning points the module has.")
    first_time_correct: int = Field(description="Learning points answered right first time.")
    score: int = Field(description="Percentage of learning points answered right first time.")


def _owned(request: Request, completion_id: int) -> tuple[Session, Completion]:
    """The learner's own certificate; :class:`NotFound` for anyone else's."""
    session = deps.learner_session(request)
    trainee_id = _trainee_id(session)
    try:
        found = assessment.completion(deps.database(request), completion_id)
    except NotFound:
        found = None
    if found is None or trainee_id is None or found.trainee_id != trainee_id:
        raise NotFound("no such certificate")
    return session, found


@router.get(
    "/training/certificate/{completion_id}.json",
    response_model=CertificateOut,
    responses=error_responses(404, 422),
)
def certificate_json(request: Request, completion_id: int) -> CertificateOut:
    """The signed-in learner's certificate (only its owner may see it)."""
    _, found = _owned(request, completion_id)
    module = content.load()
    return CertificateOut(
        id=found.id,
        name=found.name,
        organisation=str(deps.settings(request).organisation_name),
        module_id=found.module_id,
        module_title=module.title,
        module_version=found.module_version,
        language=found.language,
        completed_on=found.completed_on.isoformat(),
        expires_on=found.expires_on.isoformat(),
        points=found.points,
        first_time_correct=found.first_time_correct,
        score=found.score,
    )


@router.get(
    "/training/certificate/{completion_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def certificate_page(request: Request, completion_id: int) -> HTMLResponse:
    session, found = _owned(request, completion_id)
    return _page(
        request,
        session,
        "certificate.html",
        {
            "module": content.load(),
            "certificate": found,
            "organisation": str(deps.settings(request).organisation_name),
            "in_date": found.in_date(utcnow().date()),
        },
        here=f"/training/certificate/{found.id}",
    )
