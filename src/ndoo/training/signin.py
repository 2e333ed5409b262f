"""Signing in to take the module: a six-digit code sent to the email on the roster.

Learners have no password.  A member of staff gives their work email address; when it
is on the roster (and they have not left), a code is sent to that address through the
notification interface, and the code proves they hold the mailbox.  The codes follow the
citizen service's rules (:mod:`ndoo.identity.codes`): they expire after 10 minutes, die
after 3 wrong tries and when a new one is sent, are used once, and at most 5 are sent
to one person in a day.  Whether an address is on the roster is never told: the answer
to :func:`send_code` is the same either way.
"""

from __future__ import annotations

from sqlalchemy import select

from ndoo.db import Database
from ndoo.db.models import trainee, trainee_code
from ndoo.errors import RuleViolation
from ndoo.identity.codes import (
    CODE_MINUTES,
    CODES_PER_DAY,
    clean_code,
    consume,
    issue,
    journey_name,
    sent_within_day,
)
from ndoo.identity.notify import Notifier
from ndoo.timeutil import utcnow
from ndoo.training.roster import Member, clean_email, get_by_id

SUBJECT = "National data opt-out training: your sign-in code"


def send_code(db: Database, notifier: Notifier, *, journey: str, email: str) -> bool:
    """Send a sign-in code to ``email`` if a current member of staff has it; whether one
    was sent (for the caller's records only: show the learner the same page either way).

    :class:`InputError` when ``email`` is not an email address.
    """
    journey = journey_name(journey)
    address = clean_email(email)
    with db.write() as conn:
        person = conn.execute(
            select(trainee.c.id)
            .where(trainee.c.email == address, trainee.c.active.is_(True))
            .with_for_update()
        ).first()
        if person is None:
            return False
        owner = trainee_code.c.trainee_id == person.id
        if sent_within_day(conn, trainee_code, owner, utcnow()) >= CODES_PER_DAY:
            return False
        code, code_id = issue(
            conn, trainee_code, journey=journey, owner={"trainee_id": int(person.id)}
        )
    body = (
        f"Your code to sign in to the national data opt-out training is {code}. "
        f"It expires in {CODE_MINUTES} minutes. If you did not ask for it, you can ignore "
        "this email."
    )
    try:
        notifier.send_email(address, SUBJECT, body, reference=f"training-code-{code_id}")
    except Exception:
        with db.write() as conn:
            conn.execute(trainee_code.delete().where(trainee_code.c.id == code_id))
        raise
    return True


def verify(db: Database, *, journey: str, email: str, code: str) -> Member | None:
    """The member of staff whose code this is, or ``None`` for a wrong code.

    :class:`RuleViolation` (with ``details["reason"]``) when no code was sent, or it
    expired, was used, died or was entered wrongly too often.
    """
    journey = journey_name(journey)
    address = clean_email(email)
    given = clean_code(code)
    with db.write() as conn:
        person = conn.execute(
            select(trainee.c.id).where(trainee.c.email == address, trainee.c.active.is_(True))
        ).first()
        if person is None:
            raise RuleViolation(
                "no security code was sent for these details; ask for a new code",
                reason="no_code",
            )
        outcome = consume(
            conn, trainee_code, trainee_code.c.trainee_id == person.id, journey, given
        )
    if isinstance(outcome, RuleViolation):
        raise outcome
    return get_by_id(db, int(person.id)) if outcome else None
