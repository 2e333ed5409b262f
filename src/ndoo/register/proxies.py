"""Proxy applications: a parent or guardian of a child under 13, an attorney or a
court-appointed deputy asks to set a person's choice; staff approve or reject.

Nothing changes in the register until a member of staff approves.  Approval records
the choice through :func:`ndoo.register.set_choice` (channel ``FN``, the form on
NHS.UK; the proxy's role, name and evidence reference; the application's reference
as the case reference), so every register rule applies: a guardian cannot act for
someone aged 13 or over, for example, and the application then stays pending for the
reviewer to reject.

An application is received the same way whether or not the person's details match a
demographic record (``matched`` tells the reviewer), so the form cannot be used to
learn whether a person exists.  Audit entries name the application, never the person.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import RowMapping, select, update

from ndoo import audit
from ndoo.db import Database
from ndoo.db.models import PROXY_ROLES, demographics, person, proxy_application
from ndoo.errors import InputError, NotFound, RuleViolation
from ndoo.nhs_number import parse
from ndoo.register.choices import ChoiceChange, set_choice
from ndoo.register.vocabulary import Channel, ProxyRole, State
from ndoo.timeutil import from_db, iso, to_db, utcnow

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


@dataclass(frozen=True)
class Application:
    """One proxy application as a reviewer sees it."""

    reference: str
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: date
    postcode: str
    matched: bool
    proxy_name: str
    proxy_role: str
    proxy_email: str | None
    proxy_phone: str | None
    evidence_reference: str
    requested_state: str
    status: str
    submitted_at: datetime
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None

    @property
    def role_label(self) -> str:
        return ProxyRole(self.proxy_role).label

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["date_of_birth"] = self.date_of_birth.isoformat()
        out["submitted_at"] = iso(self.submitted_at)
        out["reviewed_at"] = iso(self.reviewed_at) if self.reviewed_at else None
        return out


def _reference() -> str:
    """``PA-`` and eight letters: never digits, so never mistaken for an NHS number."""
    return "PA-" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(8))


def _text(value: str | None, what: str, limit: int, *, required: bool = True) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        if required:
            raise InputError(f"enter {what}", field=what)
        return None
    if len(text) > limit or not text.isprintable():
        raise InputError(f"{what} must be at most {limit} characters", field=what)
    return text


def submit(
    db: Database,
    *,
    nhs_number: str,
    given_name: str,
    family_name: str,
    date_of_birth: date,
    postcode: str,
    proxy_name: str,
    proxy_role: str,
    evidence_reference: str,
    requested_state: str,
    proxy_email: str | None = None,
    proxy_phone: str | None = None,
) -> Application:
    """Record an application (pending); the same answer whether the details match or not."""
    number = parse(nhs_number)
    if proxy_role not in PROXY_ROLES:
        raise InputError("choose the proxy's role", field="proxy_role")
    if requested_state not in (State.OUT.value, State.IN.value):
        raise InputError("choose the choice to record", field="requested_state")
    if not (proxy_email or "").strip() and not (proxy_phone or "").strip():
        raise InputError(
            "give an email address or a phone number to reach you", field="proxy_email"
        )
    code = " ".join(postcode.upper().split())
    values = {
        "nhs_number": number,
        "given_name": _text(given_name, "given_name", 60),
        "family_name": _text(family_name, "family_name", 60),
        "date_of_birth": date_of_birth,
        "postcode": _text(code, "postcode", 8),
        "proxy_name": _text(proxy_name, "proxy_name", 200),
        "proxy_role": proxy_role,
        "proxy_email": _text(proxy_email, "proxy_email", 200, required=False),
        "proxy_phone": _text(proxy_phone, "proxy_phone", 20, required=False),
        "evidence_reference": _text(evidence_reference, "evidence_reference", 200),
        "requested_state": requested_state,
    }
    now = utcnow()
    reference = _reference()
    with db.write() as conn:
        found = conn.execute(
            select(person.c.date_of_birth, demographics.c.family_name, demographics.c.postcode)
            .select_from(person.outerjoin(demographics))
            .where(person.c.nhs_number == number)
        ).first()
        matched = bool(
            found is not None
            and found.date_of_birth == date_of_birth
            and (found.family_name or "").casefold() == str(values["family_name"]).casefold()
            and (found.postcode or "").replace(" ", "") == code.replace(" ", "")
        )
        conn.execute(
            proxy_application.insert().values(
                reference=reference,
                matched=matched,
                status=PENDING,
                submitted_at=to_db(now),
                **values,
            )
        )
        audit.record(
            conn, actor="proxy", action="proxy.submit", application=reference, role=proxy_role
        )
    return get(db, reference)


def get(db: Database, reference: str) -> Application:
    with db.read() as conn:
        row = (
            conn.execute(
                select(proxy_application).where(proxy_application.c.reference == reference)
            )
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"no proxy application {reference!r}")
    return _application(row)


def listed(db: Database, *, status: str | None = PENDING) -> list[Application]:
    """Applications with ``status`` (all when ``None``), oldest first."""
    query = select(proxy_application).order_by(proxy_application.c.submitted_at)
    if status is not None:
        query = query.where(proxy_application.c.status == status)
    with db.read() as conn:
        return [_application(row) for row in conn.execute(query).mappings()]


def approve(db: Database, reference: str, *, reviewer: str, note: str | None = None) -> Application:
    """Record the requested choice as the proxy's, then mark the application approved.

    Register rules apply (:class:`RuleViolation` leaves the application pending).
    """
    found = _pending(db, reference)
    if not found.matched:
        raise RuleViolation(
            "the person's details do not match a demographic record; reject the application"
        )
    choice = set_choice(
        db,
        ChoiceChange(
            nhs_number=found.nhs_number,
            state=State(found.requested_state),
            channel=Channel.FN,
            proxy_role=ProxyRole(found.proxy_role),
            proxy_name=found.proxy_name,
            proxy_evidence=found.evidence_reference,
            case_reference=found.reference,
        ),
        actor=reviewer,
    )
    return _review(db, reference, APPROVED, reviewer, note, choice.event_id)


def reject(db: Database, reference: str, *, reviewer: str, note: str) -> Application:
    """Reject with the reason (required); nothing changes in the register."""
    _pending(db, reference)
    if not note.strip():
        raise InputError("give the reason for rejecting the application", field="note")
    return _review(db, reference, REJECTED, reviewer, note, None)


def _pending(db: Database, reference: str) -> Application:
    found = get(db, reference)
    if found.status != PENDING:
        raise RuleViolation(f"application {reference} was already {found.status}")
    return found


def _review(
    db: Database, reference: str, status: str, reviewer: str, note: str | None, event: int | None
) -> Application:
    with db.write() as conn:
        done = conn.execute(
            update(proxy_application)
            .where(
                proxy_application.c.reference == reference, proxy_application.c.status == PENDING
            )
            .values(
                status=status,
                reviewed_by=reviewer,
                reviewed_at=to_db(utcnow()),
                review_note=(note or "").strip() or None,
                choice_event_id=event,
            )
        )
        if not done.rowcount:
            raise RuleViolation(f"application {reference} was reviewed by someone else meanwhile")
        action = "proxy.approve" if status == APPROVED else "proxy.reject"
        audit.record(conn, actor=reviewer, action=action, application=reference)
    return get(db, reference)


def _application(row: RowMapping) -> Application:
    reviewed = row["reviewed_at"]
    return Application(
        reference=row["reference"],
        nhs_number=row["nhs_number"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        date_of_birth=row["date_of_birth"],
        postcode=row["postcode"],
        matched=bool(row["matched"]),
        proxy_name=row["proxy_name"],
        proxy_role=row["proxy_role"],
        proxy_email=row["proxy_email"],
        proxy_phone=row["proxy_phone"],
        evidence_reference=row["evidence_reference"],
        requested_state=row["requested_state"],
        status=row["status"],
        submitted_at=from_db(row["submitted_at"]),
        reviewed_by=row["reviewed_by"],
        reviewed_at=from_db(reviewed) if reviewed is not None else None,
        review_note=row["review_note"],
    )
