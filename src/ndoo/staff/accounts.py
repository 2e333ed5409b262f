"""Staff accounts: one role each, passwords hashed with Argon2, sign-in with lockout.

Roles (:data:`ROLES`):

- ``agent``: contact-centre agent; finds people and records choices made by phone or
  on paper.
- ``proxy_reviewer``: reviews proxy applications and approves or rejects them.
- ``ig_lead``: the organisation's information-governance lead; disclosures,
  assessments and the compliance programme.
- ``analyst``: applies opt-outs to datasets and reads releases and the cache.
- ``administrator``: manages staff accounts and verifies the audit trail.

Five wrong passwords in a row lock an account for fifteen minutes.  Every sign-in,
failed or not, is an audit entry (naming the username, never the password).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import RowMapping, select, update

from ndoo import audit
from ndoo.db import Database
from ndoo.db.models import STAFF_ROLES, staff_account
from ndoo.errors import InputError, LoginRequired, NotFound
from ndoo.timeutil import from_db, iso, to_db, utcnow

ROLES = STAFF_ROLES
ROLE_LABELS = {
    "agent": "Contact-centre agent",
    "proxy_reviewer": "Proxy reviewer",
    "ig_lead": "Information governance lead",
    "analyst": "Analyst",
    "administrator": "Administrator",
}
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD = 12

_HASHER = PasswordHasher()


@dataclass(frozen=True)
class Staff:
    """A member of staff as the console knows them (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "active": self.active,
            "created_at": iso(self.created_at),
            "last_login_at": iso(self.last_login_at) if self.last_login_at else None,
        }


def _check(username: str, display_name: str, role: str, password: str) -> None:
    if not username or len(username) > 100 or not username.isprintable() or " " in username:
        raise InputError(
            "a username of 1 to 100 characters without spaces is needed", field="username"
        )
    if not display_name.strip() or len(display_name) > 200:
        raise InputError("a display name of 1 to 200 characters is needed", field="display_name")
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}", field="role")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"a password needs at least {MIN_PASSWORD} characters", field="password")


def create(
    db: Database, username: str, display_name: str, role: str, password: str, *, actor: str
) -> Staff:
    """Add a member of staff; refuses a username already taken."""
    _check(username, display_name, role, password)
    with db.write() as conn:
        taken = conn.execute(
            select(staff_account.c.id).where(staff_account.c.username == username)
        ).first()
        if taken is not None:
            raise InputError(f"the username {username!r} is taken", field="username")
        conn.execute(
            staff_account.insert().values(
                username=username,
                display_name=display_name.strip(),
                role=role,
                password_hash=_HASHER.hash(password),
                active=True,
                created_at=to_db(utcnow()),
                failed_logins=0,
            )
        )
        audit.record(conn, actor=actor, action="staff.create", username=username, role=role)
    return get_by_username(db, username)


def authenticate(db: Database, username: str, password: str) -> Staff:
    """The member of staff if the password is right; :class:`LoginRequired` otherwise.

    The message is the same whether the username exists or not.
    """
    refused = LoginRequired("the username or password is not right")
    now = utcnow()
    with db.write() as conn:
        row = (
            conn.execute(
                select(staff_account).where(staff_account.c.username == username).with_for_update()
            )
            .mappings()
            .first()
        )
        if row is None or not row["active"]:
            _HASHER.hash(password)  # the same work as a real check: no timing difference
            audit.record(
                conn, actor=username[:100] or "-", action="staff.sign_in", outcome="refused"
            )
            raise refused
        locked = row["locked_until"]
        if locked is not None and from_db(locked) > now:
            audit.record(conn, actor=username, action="staff.sign_in", outcome="locked")
            raise LoginRequired(
                "this account is locked after too many wrong passwords; try again later"
            )
        try:
            _HASHER.verify(row["password_hash"], password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            failed = int(row["failed_logins"]) + 1
            values: dict[str, Any] = {"failed_logins": failed}
            if failed >= LOCK_AFTER:
                values = {"failed_logins": 0, "locked_until": to_db(now + LOCK_FOR)}
            conn.execute(
                update(staff_account).where(staff_account.c.id == row["id"]).values(**values)
            )
            audit.record(conn, actor=username, action="staff.sign_in", outcome="refused")
            raise refused from None
        values = {"failed_logins": 0, "locked_until": None, "last_login_at": to_db(now)}
        if _HASHER.check_needs_rehash(row["password_hash"]):
            values["password_hash"] = _HASHER.hash(password)
        conn.execute(update(staff_account).where(staff_account.c.id == row["id"]).values(**values))
        audit.record(conn, actor=username, action="staff.sign_in")
    return get_by_username(db, username)


def set_password(db: Database, username: str, password: str, *, actor: str) -> None:
    _check(username, "x", "agent", password)
    with db.write() as conn:
        done = conn.execute(
            update(staff_account)
            .where(staff_account.c.username == username)
            .values(password_hash=_HASHER.hash(password), failed_logins=0, locked_until=None)
        )
        if not done.rowcount:
            raise NotFound(f"no member of staff {username!r}")
        audit.record(conn, actor=actor, action="staff.password", username=username)


def set_active(db: Database, username: str, active: bool, *, actor: str) -> None:
    with db.write() as conn:
        done = conn.execute(
            update(staff_account).where(staff_account.c.username == username).values(active=active)
        )
        if not done.rowcount:
            raise NotFound(f"no member of staff {username!r}")
        audit.record(conn, actor=actor, action="staff.active", username=username, active=active)


def get_by_username(db: Database, username: str) -> Staff:
    with db.read() as conn:
        row = (
            conn.execute(select(staff_account).where(staff_account.c.username == username))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"no member of staff {username!r}")
    return _staff(row)


def get_by_id(db: Database, staff_id: int) -> Staff | None:
    with db.read() as conn:
        row = (
            conn.execute(select(staff_account).where(staff_account.c.id == staff_id))
            .mappings()
            .first()
        )
    return _staff(row) if row is not None else None


def everyone(db: Database) -> list[Staff]:
    with db.read() as conn:
        rows = conn.execute(select(staff_account).order_by(staff_account.c.username)).mappings()
        return [_staff(row) for row in rows]


def _staff(row: RowMapping) -> Staff:
    last = row["last_login_at"]
    return Staff(
        id=int(row["id"]),
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        active=bool(row["active"]),
        created_at=from_db(row["created_at"]),
        last_login_at=from_db(last) if last is not None else None,
    )
