"""Server-side sessions for citizens and staff, with a CSRF token each.

The browser holds only a random token in an HttpOnly, SameSite=Lax cookie; the
database holds the token's SHA-256 (``web_session``), the session's data, its CSRF token
and when it expires.  A session expires after a period without use (the settings
``citizen_session_minutes`` and ``staff_session_minutes``), and a new session replaces
the old one when a citizen is verified or a member of staff signs in, so a token seen
before cannot be reused.

Citizen, staff and learner (staff taking the training module) sessions use different
cookies, so a member of staff testing the citizen journey in the same browser stays
signed in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request, Response
from sqlalchemy import delete, select, update

from ndoo.db import Database
from ndoo.db.models import web_session
from ndoo.errors import CsrfFailed
from ndoo.timeutil import from_db, to_db, utcnow

COOKIES = {"citizen": "ndoo_citizen", "staff": "ndoo_staff", "learner": "ndoo_learner"}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass
class Session:
    """One session: ``data`` is free for the routes; ``changed`` marks it for saving."""

    kind: str
    id: str
    csrf: str
    expires_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    staff_id: int | None = None
    token: str | None = None  # the raw token, only while it must still be sent
    changed: bool = False
    ended: bool = False

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.changed = True

    def pop(self, key: str, default: Any = None) -> Any:
        self.changed = True
        return self.data.pop(key, default)

    def check_csrf(self, given: str | None) -> None:
        """Refuse a form without this session's token (:class:`CsrfFailed`)."""
        if not given or not hmac.compare_digest(given, self.csrf):
            raise CsrfFailed(
                "this form has expired or did not come from this service; go back, "
                "reload the page and try again"
            )


class SessionStore:
    """Load, create, save and end sessions of one kind in the database."""

    #: Expired sessions are removed every this many new sessions.
    PURGE_EVERY = 100

    def __init__(self, db: Database, *, minutes: dict[str, int], secure: bool) -> None:
        self.db = db
        self.minutes = minutes
        self.secure = secure
        self._created = 0

    def load(self, request: Request, kind: str) -> Session | None:
        """The live session of ``kind`` the request's cookie names, if any."""
        token = request.cookies.get(COOKIES[kind])
        if not token or len(token) > 100:
            return None
        now = utcnow()
        with self.db.read() as conn:
            row = (
                conn.execute(select(web_session).where(web_session.c.id == _digest(token)))
                .mappings()
                .first()
            )
        if row is None or row["kind"] != kind or from_db(row["expires_at"]) <= now:
            return None
        session = Session(
            kind=kind,
            id=row["id"],
            csrf=row["csrf"],
            expires_at=from_db(row["expires_at"]),
            data=json.loads(row["data"]),
            staff_id=row["staff_id"],
        )
        session.changed = True  # sliding expiry: every use extends it
        return session

    def new(self, kind: str, *, staff_id: int | None = None) -> Session:
        """A fresh session (written when the response is sent)."""
        self._created += 1
        if self._created % self.PURGE_EVERY == 1:
            self.purge()
        token = secrets.token_urlsafe(32)
        return Session(
            kind=kind,
            id=_digest(token),
            csrf=secrets.token_urlsafe(32),
            expires_at=utcnow() + timedelta(minutes=self.minutes[kind]),
            staff_id=staff_id,
            token=token,
            changed=True,
        )

    def replace(self, old: Session | None, kind: str, *, staff_id: int | None = None) -> Session:
        """A new session carrying ``old``'s data; ``old`` ends (sign-in, verification)."""
        session = self.new(kind, staff_id=staff_id)
        if old is not None:
            session.data = dict(old.data)
            self.end(old)
        return session

    def end(self, session: Session) -> None:
        with self.db.write() as conn:
            conn.execute(delete(web_session).where(web_session.c.id == session.id))
        session.ended = True
        session.changed = True

    def save(self, session: Session, response: Response) -> None:
        """Write a changed session and set (or clear) its cookie on ``response``."""
        cookie = COOKIES[session.kind]
        if session.ended:
            response.delete_cookie(cookie, path="/")
            return
        if not session.changed:
            return
        now = utcnow()
        session.expires_at = now + timedelta(minutes=self.minutes[session.kind])
        values = {
            "kind": session.kind,
            "staff_id": session.staff_id,
            "data": json.dumps(session.data, sort_keys=True, default=str),
            "csrf": session.csrf,
            "last_seen_at": to_db(now),
            "expires_at": to_db(session.expires_at),
        }
        with self.db.write() as conn:
            if session.token is not None:
                conn.execute(
                    web_session.insert().values(id=session.id, created_at=to_db(now), **values)
                )
            else:
                conn.execute(
                    update(web_session).where(web_session.c.id == session.id).values(**values)
                )
        if session.token is not None:
            response.set_cookie(
                cookie,
                session.token,
                httponly=True,
                samesite="lax",
                secure=self.secure,
                path="/",
            )
            session.token = None

    def purge(self) -> int:
        """Remove expired sessions; how many."""
        with self.db.write() as conn:
            result = conn.execute(
                delete(web_session).where(web_session.c.expires_at <= to_db(utcnow()))
            )
        return int(result.rowcount or 0)
