"""Staff sign-in and sign-out.

Signing in starts a new staff session (the old one, if any, ends), so a session token
seen before signing in is worthless after.  Sign-in attempts are rate-limited per
client address, and accounts lock after repeated wrong passwords
(:mod:`ndoo.staff.accounts`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ndoo.errors import LoginRequired
from ndoo.staff.accounts import Staff, authenticate
from ndoo.web import deps
from ndoo.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)

SIGN_IN_PER_MINUTE = 10


def _next(value: str | None) -> str:
    """Only a path on this site, never another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console"


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    deps.citizen_session(request)  # a session for the form's CSRF token
    return render(request, "staff/sign_in.html", {"next": _next(next)})


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    deps.limiter(request).hit(request, "staff-sign-in", limit=SIGN_IN_PER_MINUTE)
    deps.citizen_session(request)
    values = await deps.form(request)
    username = values.get("username", "").strip()
    password = values.get("password", "")
    target = _next(values.get("next"))
    try:
        staff = authenticate(deps.database(request), username, password)
    except LoginRequired as exc:
        return render(
            request,
            "staff/sign_in.html",
            {
                "next": target,
                "username": username,
                "errors": {"username": exc.message},
                "errors_list": [
                    {"text": exc.message[:1].upper() + exc.message[1:], "href": "#username"}
                ],
            },
            status_code=401,
        )
    store = deps.store(request)
    old = store.load(request, "staff")
    session = store.replace(old, "staff", staff_id=staff.id)
    request.state.sessions = [
        s for s in getattr(request.state, "sessions", []) if s.kind != "staff"
    ]
    request.state.sessions.append(session)
    return RedirectResponse(target, status_code=303)


@router.get("/sign-out", response_class=HTMLResponse)
def sign_out_page(
    request: Request, staff: Annotated[Staff, Depends(deps.signed_in)]
) -> HTMLResponse:
    return render(request, "staff/sign_out.html")


@router.post("/sign-out")
async def sign_out(request: Request, staff: Annotated[object, Depends(deps.signed_in)]) -> Response:
    await deps.form(request)
    deps.store(request).end(deps.staff_session(request))
    return RedirectResponse("/staff/sign-in", status_code=303)
