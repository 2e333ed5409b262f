"""What routes share: the database, the settings, sessions, the signed-in member of staff,
and forms checked against CSRF.

Routes take these as FastAPI dependencies (``Depends``).  The sessions a request used
are saved, and their cookies set, by :func:`save_sessions` once the route has answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from ndoo.db import Database
from ndoo.errors import AccessDenied, LoginRequired
from ndoo.identity.notify import Notifier, notifier_from_settings
from ndoo.settings import Settings
from ndoo.staff.accounts import ROLE_LABELS, Staff, get_by_id
from ndoo.web.security import RateLimiter
from ndoo.web.sessions import Session, SessionStore


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


def limiter(request: Request) -> RateLimiter:
    found: RateLimiter = request.app.state.limiter
    return found


def store(request: Request) -> SessionStore:
    found: SessionStore = request.app.state.sessions
    return found


def _attach(request: Request, session: Session) -> Session:
    sessions: list[Session] = getattr(request.state, "sessions", [])
    sessions = [s for s in sessions if s.kind != session.kind]
    sessions.append(session)
    request.state.sessions = sessions
    request.state.csrf_token = session.csrf
    return session


def citizen_session(request: Request) -> Session:
    """The citizen's session, started on first use."""
    sessions = store(request)
    found = sessions.load(request, "citizen") or sessions.new("citizen")
    return _attach(request, found)


def replace_citizen_session(request: Request, old: Session) -> Session:
    """A new citizen session carrying ``old``'s data (after verification)."""
    return _attach(request, store(request).replace(old, "citizen"))


def learner_session(request: Request) -> Session:
    """The session of a member of staff taking the training, started on first use;
    ``data["trainee_id"]`` once they have signed in with a code."""
    sessions = store(request)
    found = sessions.load(request, "learner") or sessions.new("learner")
    return _attach(request, found)


def replace_learner_session(request: Request, old: Session) -> Session:
    """A new learner session carrying ``old``'s data (after signing in)."""
    return _attach(request, store(request).replace(old, "learner"))


def optional_staff(request: Request) -> Staff | None:
    """The signed-in member of staff, or ``None``."""
    session = store(request).load(request, "staff")
    if session is None or session.staff_id is None:
        return None
    staff = get_by_id(database(request), session.staff_id)
    if staff is None or not staff.active:
        return None
    _attach(request, session)
    request.state.staff = staff
    request.state.staff_session = session
    return staff


def signed_in(request: Request) -> Staff:
    """The signed-in member of staff; :class:`LoginRequired` otherwise."""
    staff = optional_staff(request)
    if staff is None:
        raise LoginRequired("sign in to use the staff console", next=request.url.path)
    return staff


def require(*roles: str) -> Callable[..., Staff]:
    """A dependency admitting only staff with one of ``roles`` (administrators always)."""

    def check(staff: Annotated[Staff, Depends(signed_in)]) -> Staff:
        if staff.role not in roles and staff.role != "administrator":
            allowed = ", ".join(ROLE_LABELS[r] for r in roles)
            raise AccessDenied(f"this page is for: {allowed}")
        return staff

    return check


def staff_session(request: Request) -> Session:
    """The staff session of the signed-in member of staff (after :func:`signed_in`)."""
    session: Session = request.state.staff_session
    return session


def flash(request: Request, text: str) -> None:
    """A confirmation the next staff page shows once (after a redirect)."""
    staff_session(request).set("flash", text)


def take_flash(request: Request) -> str | None:
    """The confirmation waiting for this page, if any; it is shown only once."""
    session = staff_session(request)
    return session.pop("flash") if "flash" in session.data else None


async def form(request: Request) -> dict[str, str]:
    """The posted form as text values, checked against the CSRF token of the session
    it belongs to (staff when signed in, else citizen)."""
    data = await request.form()
    values = {k: v for k, v in data.items() if isinstance(v, str)}
    sessions: list[Session] = getattr(request.state, "sessions", [])
    staff_first = sorted(sessions, key=lambda s: s.kind != "staff")
    if not staff_first:
        staff_first = [citizen_session(request)]
    staff_first[0].check_csrf(values.pop("csrf_token", None))
    return values


async def save_sessions(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """HTTP middleware: after the route, save the sessions it used and set their cookies."""
    response = await call_next(request)
    sessions: list[Session] = getattr(request.state, "sessions", [])
    for session in sessions:
        store(request).save(session, response)
    return response


def notifier(request: Request) -> Notifier:
    """The service's notifier, made once per application."""
    found: Notifier | None = getattr(request.app.state, "notifier", None)
    if found is None:
        found = notifier_from_settings(settings(request), database(request))
        request.app.state.notifier = found
    return found


def demo_outbox(request: Request) -> bool:
    """Whether messages go to the demo outbox (pages then say where to read them)."""
    return bool(settings(request).notify_backend == "outbox")


def template_context(request: Request) -> dict[str, Any]:
    return {"staff": getattr(request.state, "staff", None)}
