"""Making a choice for someone else: the proxy application form.

A parent or guardian of a child under 13, an attorney under a lasting power of
attorney (health and welfare, or property and financial affairs) or a deputy
appointed by the Court of Protection gives the person's details, their own, the
evidence of their authority and the choice they ask for.  The application is
recorded by :func:`ndoo.register.proxies.submit` and nothing changes until staff
review it.

The answer is the same whether or not the person's details match a record, so the
form cannot be used to learn whether someone exists.  The acknowledgement goes to the
address the applicant gave about themselves and says nothing about the person.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from ndoo.errors import InputError, NdooError, NotFound
from ndoo.identity.demographics import normal_postcode
from ndoo.identity.messages import PHONE, proxy_acknowledgement, send_to_given
from ndoo.register import proxies
from ndoo.register.vocabulary import State
from ndoo.web import deps
from ndoo.web.deps import notifier
from ndoo.web.routes.citizen import Problems, read_date, read_number
from ndoo.web.templating import render

log = logging.getLogger(__name__)

router = APIRouter(prefix="/proxy")

ROLES = (
    {
        "value": "GUARDIAN",
        "text": "Parent or guardian with parental responsibility",
        "hint": "For a child under 13.",
    },
    {
        "value": "POA",
        "text": "Attorney under a lasting power of attorney",
        "hint": "Health and welfare, or property and financial affairs, for an adult who "
        "cannot make the decision.",
    },
    {
        "value": "COURTDEP",
        "text": "Deputy appointed by the Court of Protection",
        "hint": "For a person who cannot make the decision.",
    },
)

#: Fields of :func:`ndoo.register.proxies.submit` as the form names them.
FIELDS = {
    "nhs_number": "nhs_number",
    "given_name": "given_name",
    "family_name": "family_name",
    "postcode": "postcode",
    "proxy_name": "proxy_name",
    "proxy_role": "proxy_role",
    "proxy_email": "proxy_email",
    "proxy_phone": "proxy_phone",
    "evidence_reference": "evidence_reference",
    "requested_state": "answer",
}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{8,18}[0-9]")


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def start(request: Request) -> HTMLResponse:
    return render(request, "citizen/proxy_start.html", {"phone": PHONE})


def _form(
    request: Request, values: dict[str, str], problems: Problems | None = None
) -> HTMLResponse:
    context: dict[str, Any] = {"values": values, "roles": ROLES, "back": "/proxy"}
    if problems:
        context.update(problems.context())
    return render(request, "citizen/proxy_form.html", context, status_code=422 if problems else 200)


@router.get("/apply", response_class=HTMLResponse, include_in_schema=False)
def form_page(request: Request) -> HTMLResponse:
    deps.citizen_session(request)
    return _form(request, {})


@router.post("/apply", include_in_schema=False)
async def apply(request: Request) -> Response:
    deps.limiter(request).hit(request, "proxy-apply")
    session = deps.citizen_session(request)
    values = await deps.form(request)
    problems = Problems()
    number = read_number(values, "nhs_number", problems)
    for field, what in (
        ("given_name", "their first name"),
        ("family_name", "their last name"),
    ):
        if not values.get(field, "").strip():
            problems.add(field, f"enter {what}")
    postcode = normal_postcode(values.get("postcode"))
    if postcode is None:
        problems.add("postcode", "enter their postcode, for example LS1 4AP")
    born = read_date(values, "date_of_birth", problems, "their date of birth")
    if not values.get("proxy_name", "").strip():
        problems.add("proxy_name", "enter your full name")
    if values.get("proxy_role") not in {r["value"] for r in ROLES}:
        problems.add("proxy_role", "select your role")
    email = values.get("proxy_email", "").strip()
    phone = values.get("proxy_phone", "").strip()
    if email and not _EMAIL.fullmatch(email):
        problems.add("proxy_email", "enter an email address like name@example.com")
    if phone and not _PHONE.fullmatch(phone):
        problems.add("proxy_phone", "enter a UK phone number, like 01632 960 001 or 07700 900 982")
    if not email and not phone:
        problems.add("proxy_email", "give an email address or a phone number so we can reach you")
    if not values.get("evidence_reference", "").strip():
        problems.add("evidence_reference", "enter the reference of your evidence")
    answer = values.get("answer", "")
    if answer not in ("yes", "no"):
        problems.add("answer", "select yes or no")
    if problems or number is None or born is None or postcode is None:
        return _form(request, values, problems)
    try:
        application = proxies.submit(
            deps.database(request),
            nhs_number=number,
            given_name=values["given_name"],
            family_name=values["family_name"],
            date_of_birth=born,
            postcode=postcode,
            proxy_name=values["proxy_name"],
            proxy_role=values["proxy_role"],
            evidence_reference=values["evidence_reference"],
            requested_state=(State.IN if answer == "yes" else State.OUT).value,
            proxy_email=email or None,
            proxy_phone=phone or None,
        )
    except InputError as exc:
        field = FIELDS.get(str(exc.details.get("field", "")), "nhs_number")
        problems.add(field, exc.message.replace("_", " "))
        return _form(request, values, problems)
    subject, body = proxy_acknowledgement(application.reference)
    acknowledged = None
    try:
        acknowledged = send_to_given(
            notifier(request),
            email=email or None,
            phone=phone or None,
            subject=subject,
            body=body,
            reference=f"proxy-{application.reference}",
        )
    except NdooError as exc:
        log.warning("proxy application acknowledgement could not be sent: %s", exc.code)
    session.set(
        "proxy_application", {"reference": application.reference, "acknowledged": acknowledged}
    )
    return RedirectResponse("/proxy/done", status_code=303)


class ProxyReceipt(BaseModel):
    """The application this session submitted: its reference and that it awaits review."""

    reference: str
    status: Literal["pending"]
    acknowledged_by: Literal["sms", "email"] | None


def _receipt(request: Request) -> ProxyReceipt | None:
    found = deps.citizen_session(request).data.get("proxy_application")
    if not isinstance(found, dict):
        return None
    return ProxyReceipt(
        reference=found["reference"], status="pending", acknowledged_by=found["acknowledged"]
    )


@router.get("/done", response_class=HTMLResponse, include_in_schema=False)
def done(request: Request) -> Response:
    receipt = _receipt(request)
    if receipt is None:
        return RedirectResponse("/proxy", status_code=303)
    return render(request, "citizen/proxy_done.html", {"receipt": receipt, "phone": PHONE})


@router.get("/done.json", response_model=ProxyReceipt, tags=["citizen"])
def done_json(request: Request) -> ProxyReceipt:
    """The proxy application this session submitted."""
    receipt = _receipt(request)
    if receipt is None:
        raise NotFound("this session has not submitted a proxy application")
    return receipt
