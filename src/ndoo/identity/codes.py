"""One-time security codes that prove a citizen holds the contact on their record.

A code is 6 random digits (``secrets``), sent only to the mobile phone number or
email address on the person's record, never to one the user types.  Only a salted
SHA-256 hash of it is kept (``one_time_code``).  A code:

- expires :data:`CODE_MINUTES` minutes after it is sent;
- dies after :data:`MAX_TRIES` wrong tries;
- is used once;
- dies when a new code is sent for the same journey.

At most :data:`CODES_PER_DAY` codes are sent to one person in any 24 hours; the next
request is refused (:class:`RuleViolation`) and nothing is sent.  A *journey* is the
caller's name for one attempt to verify (the web service uses a random token per
citizen session), so a code sent in one journey cannot be used in another.

Refusals carry ``details["reason"]``: ``no_contact``, ``too_many_codes``,
``no_code``, ``used``, ``dead``, ``expired`` or ``too_many_tries``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func, select, update

from ndoo import people
from ndoo.db import Database
from ndoo.db.models import demographics, one_time_code, person
from ndoo.errors import InputError, PersonNotFound, RuleViolation
from ndoo.identity.demographics import Contact, contact
from ndoo.identity.notify import EMAIL, SMS, Notifier
from ndoo.nhs_number import parse
from ndoo.timeutil import age_on, from_db, to_db, utcnow

CODE_MINUTES = 10
MAX_TRIES = 3
CODES_PER_DAY = 5
CODE_DIGITS = 6

#: The youngest age at which a person verifies and makes their own choice online.
ONLINE_MINIMUM_AGE = 13

OPEN, USED, DEAD = "open", "used", "dead"

SERVICE = "Your NHS data matters"


def _hash(code: str, *, salt: str, journey: str) -> str:
    """``salt`` (16 hex digits) and the first 48 hex digits of SHA-256 over salt,
    journey and code: 64 characters, the width of ``code_hash``."""
    digest = hashlib.sha256(f"{salt}:{journey}:{code}".encode()).hexdigest()
    return salt + digest[:48]


def _matches(code: str, stored: str, journey: str) -> bool:
    return hmac.compare_digest(_hash(code, salt=stored[:16], journey=journey), stored)


def clean_code(text: str) -> str:
    """The code as typed, without spaces or hyphens; :class:`InputError` unless it is
    6 digits."""
    code = re.sub(r"[\s-]", "", text or "")
    if not re.fullmatch(rf"[0-9]{{{CODE_DIGITS}}}", code):
        raise InputError("enter the 6-digit security code", field="code")
    return code


def journey_name(journey: str) -> str:
    """``journey`` checked: 1 to 64 characters (:class:`InputError` otherwise)."""
    if not journey or len(journey) > 64:
        raise InputError("a journey is named by 1 to 64 characters")
    return journey


def channel_for(contact: Contact | None, preferred: str, available: frozenset[str]) -> str | None:
    """The channel to reach a person by: ``preferred`` when it is on record and can be
    sent, else the other one that can, else ``None``."""
    if contact is None:
        return None
    order = [preferred] + [c for c in (SMS, EMAIL) if c != preferred]
    for channel in order:
        if channel in available and contact.address(channel):
            return channel
    return None


def online_channel(
    db: Database, nhs_number: str, *, preferred: str, available: frozenset[str]
) -> str | None:
    """The channel a code to verify online goes by (see :func:`channel_for`), or
    ``None`` when the person cannot verify online: under 13, deceased, or with no
    contact on record that ``available`` channels reach."""
    found = people.find(db, nhs_number)
    today = utcnow().date()
    if found.deceased_on(today) or age_on(found.date_of_birth, today) < ONLINE_MINIMUM_AGE:
        return None
    return channel_for(contact(db, nhs_number), preferred, available)


def message(code: str) -> tuple[str, str]:
    """The subject and body of a code message."""
    body = (
        f"{SERVICE}: your security code is {code}. It expires in {CODE_MINUTES} minutes. "
        "Do not share it with anyone: the NHS will never ask you for it."
    )
    return f"{SERVICE}: your security code", body


def send_code(
    db: Database, notifier: Notifier, *, journey: str, nhs_number: str, channel: str
) -> str:
    """Send a new code to the person's ``channel`` (``sms`` or ``email``) on record;
    the masked destination (``mobile phone number ending 123``).

    The journey's open code, if any, dies.  :class:`RuleViolation` when the record
    has no such contact or :data:`CODES_PER_DAY` codes were already sent in the last
    24 hours; nothing is sent then.
    """
    journey = journey_name(journey)
    number = parse(nhs_number)
    if channel not in (SMS, EMAIL):
        raise InputError("a code is sent by sms or email", field="channel")
    now = utcnow()
    with db.write() as conn:
        # Lock the person, so two requests at once cannot both pass the daily limit.
        found = conn.execute(
            select(person.c.nhs_number, demographics.c.mobile, demographics.c.email)
            .select_from(person.outerjoin(demographics))
            .where(person.c.nhs_number == number)
            .with_for_update(of=person)
        ).first()
        if found is None:
            raise PersonNotFound("no person with that NHS number is known to the register")
        contact = Contact(mobile=found.mobile or None, email=found.email or None)
        address = contact.address(channel)
        if not address:
            what = "mobile phone number" if channel == SMS else "email address"
            raise RuleViolation(
                f"there is no {what} on the person's record to send a code to",
                reason="no_contact",
            )
        sent = sent_within_day(conn, one_time_code, one_time_code.c.nhs_number == number, now)
        if sent >= CODES_PER_DAY:
            raise RuleViolation(
                f"{CODES_PER_DAY} security codes have been sent in the last 24 hours, the "
                "most allowed; no more can be sent until a day after the first of them",
                reason="too_many_codes",
            )
        code, code_id = issue(
            conn, one_time_code, journey=journey, owner={"nhs_number": number, "channel": channel}
        )
    subject, body = message(code)
    reference = f"code-{code_id}"
    try:
        if channel == SMS:
            notifier.send_sms(address, body, reference=reference)
        else:
            notifier.send_email(address, subject, body, reference=reference)
    except Exception:
        # A code that never left does not count towards the day's limit.
        with db.write() as conn:
            conn.execute(one_time_code.delete().where(one_time_code.c.id == code_id))
        raise
    return contact.masked(channel)


def verify(db: Database, *, journey: str, nhs_number: str, code: str) -> bool:
    """Whether ``code`` is the journey's open code for this person.

    A right code is used up and gives ``True``; a wrong one counts a try and gives
    ``False``, and the :data:`MAX_TRIES`-th wrong try kills the code
    (:class:`RuleViolation`, reason ``too_many_tries``).  A code that expired, died,
    was used, or was never sent is :class:`RuleViolation` with that reason; a code
    that is not 6 digits is :class:`InputError` and counts no try.
    """
    journey = journey_name(journey)
    number = parse(nhs_number)
    given = clean_code(code)
    with db.write() as conn:
        outcome = consume(conn, one_time_code, one_time_code.c.nhs_number == number, journey, given)
    if isinstance(outcome, RuleViolation):
        raise outcome
    return outcome


def issue(
    conn: Connection, table: Table, *, journey: str, owner: dict[str, Any]
) -> tuple[str, int]:
    """A new open code in ``table`` for ``journey`` (the journey's open code dies); the
    code and its row id.  ``owner`` gives the columns naming whose code it is."""
    now = utcnow()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    conn.execute(
        update(table).where(table.c.journey == journey, table.c.status == OPEN).values(status=DEAD)
    )
    inserted = conn.execute(
        table.insert().values(
            journey=journey,
            code_hash=_hash(code, salt=secrets.token_hex(8), journey=journey),
            created_at=to_db(now),
            expires_at=to_db(now + timedelta(minutes=CODE_MINUTES)),
            tries=0,
            status=OPEN,
            **owner,
        )
    ).inserted_primary_key
    assert inserted is not None  # an insert of one row always has its key
    return code, int(inserted[0])


def sent_within_day(
    conn: Connection, table: Table, owner: ColumnElement[bool], now: datetime
) -> int:
    """How many codes ``table`` holds for ``owner`` from the last 24 hours."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(table)
            .where(owner, table.c.created_at > to_db(now - timedelta(days=1)))
        ).scalar_one()
    )


def consume(
    conn: Connection, table: Table, owner: ColumnElement[bool], journey: str, given: str
) -> bool | RuleViolation:
    """Check ``given`` against the owner's latest code of ``journey`` in ``table`` (see
    :func:`verify` for the rules).  A refusal that changed the code (a wrong try that
    killed it, an expiry) is *returned*, for the caller to raise once the change is
    committed; other refusals are raised."""
    now = utcnow()
    row = conn.execute(
        select(table)
        .where(table.c.journey == journey, owner)
        .order_by(table.c.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if row is None:
        raise RuleViolation(
            "no security code was sent for these details; ask for a new code",
            reason="no_code",
        )
    if row.status == USED:
        raise RuleViolation(
            "this security code has already been used; ask for a new code", reason="used"
        )
    if row.status == DEAD:
        raise RuleViolation(
            "this security code can no longer be used; ask for a new code", reason="dead"
        )
    if from_db(row.expires_at) <= now:
        conn.execute(update(table).where(table.c.id == row.id).values(status=DEAD))
        refusal = RuleViolation(
            f"this security code has expired (codes last {CODE_MINUTES} minutes); "
            "ask for a new code",
            reason="expired",
        )
    elif _matches(given, row.code_hash, journey):
        conn.execute(update(table).where(table.c.id == row.id).values(status=USED))
        return True
    else:
        tries = int(row.tries) + 1
        conn.execute(
            update(table)
            .where(table.c.id == row.id)
            .values(tries=tries, status=DEAD if tries >= MAX_TRIES else OPEN)
        )
        if tries < MAX_TRIES:
            return False
        refusal = RuleViolation(
            f"the security code was entered wrongly {MAX_TRIES} times and can no longer "
            "be used; ask for a new code",
            reason="too_many_tries",
        )
    return refusal
