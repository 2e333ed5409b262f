"""One-time security codes: sent only to the contact on record, hashed, short-lived,
three tries, five a day."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from ndoo.db.models import one_time_code
from ndoo.errors import InputError, RuleViolation
from ndoo.identity import codes
from ndoo.identity.demographics import Contact
from ndoo.identity.notify import OutboxNotifier, outbox
from ndoo.timeutil import to_db, utcnow
from tests.identity.helpers import add

BORN = date(1990, 1, 1)
JOURNEY = "journey-one"


@pytest.fixture
def person(db):
    return add(db, "9434765919", born=BORN, mobile="07700900123", email="ada.l@example.com")


def _code(db) -> str:
    """The code in the newest message of the outbox."""
    found = re.search(r"\b(\d{6})\b", outbox(db, limit=1)[0].body)
    assert found
    return found.group(1)


def _rows(db):
    with db.read() as conn:
        return conn.execute(select(one_time_code).order_by(one_time_code.c.id)).all()


def test_a_code_goes_to_the_contact_on_record_and_only_its_hash_is_kept(db, person):
    notifier = OutboxNotifier(db)
    masked = codes.send_code(db, notifier, journey=JOURNEY, nhs_number=person, channel="sms")
    assert masked == "mobile phone number ending 123"
    masked = codes.send_code(db, notifier, journey=JOURNEY, nhs_number=person, channel="email")
    assert masked == "a•••@example.com"
    sent = outbox(db)
    assert [(m.channel, m.recipient) for m in sent] == [
        ("email", "ada.l@example.com"),
        ("sms", "07700900123"),
    ]
    code = _code(db)
    rows = _rows(db)
    assert all(code not in row.code_hash and len(row.code_hash) == 64 for row in rows)
    assert rows[0].code_hash[:16] != rows[1].code_hash[:16]  # a salt per code
    assert all(person not in (m.reference or "") for m in sent)


def test_the_right_code_verifies_once(db, person):
    codes.send_code(db, OutboxNotifier(db), journey=JOURNEY, nhs_number=person, channel="sms")
    code = _code(db)
    assert codes.verify(db, journey=JOURNEY, nhs_number=person, code=code[:3] + " " + code[3:])
    with pytest.raises(RuleViolation) as used:
        codes.verify(db, journey=JOURNEY, nhs_number=person, code=code)
    assert used.value.details["reason"] == "used"


def test_three_wrong_tries_kill_the_code(db, person):
    codes.send_code(db, OutboxNotifier(db), journey=JOURNEY, nhs_number=person, channel="sms")
    code = _code(db)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert codes.verify(db, journey=JOURNEY, nhs_number=person, code=wrong) is False
    assert codes.verify(db, journey=JOURNEY, nhs_number=person, code=wrong) is False
    with pytest.raises(RuleViolation) as third:
        codes.verify(db, journey=JOURNEY, nhs_number=person, code=wrong)
    assert third.value.details["reason"] == "too_many_tries"
    with pytest.raises(RuleViolation) as dead:
        codes.verify(db, journey=JOURNEY, nhs_number=person, code=code)
    assert dead.value.details["reason"] == "dead"


def test_a_code_expires_after_ten_minutes(db, person):
    codes.send_code(db, OutboxNotifier(db), journey=JOURNEY, nhs_number=person, channel="sms")
    (row,) = _rows(db)
    assert row.expires_at - row.created_at == timedelta(minutes=codes.CODE_MINUTES)
    with db.write() as conn:
        conn.execute(
            update(one_time_code).values(expires_at=to_db(utcnow() - timedelta(seconds=1)))
        )
    with pytest.raises(RuleViolation) as expired:
        codes.verify(db, journey=JOURNEY, nhs_number=person, code=_code(db))
    assert expired.value.details["reason"] == "expired"
    assert "expired" in expired.value.message


def test_a_new_code_kills_the_journeys_previous_one(db, person):
    notifier = OutboxNotifier(db)
    codes.send_code(db, notifier, journey=JOURNEY, nhs_number=person, channel="sms")
    first = _code(db)
    codes.send_code(db, notifier, journey=JOURNEY, nhs_number=person, channel="sms")
    second = _code(db)
    assert [row.status for row in _rows(db)] == ["dead", "open"]
    if first != second:
        assert codes.verify(db, journey=JOURNEY, nhs_number=person, code=first) is False
    assert codes.verify(db, journey=JOURNEY, nhs_number=person, code=second) is True


def test_a_code_works_only_in_its_own_journey(db, person):
    codes.send_code(db, OutboxNotifier(db), journey=JOURNEY, nhs_number=person, channel="sms")
    with pytest.raises(RuleViolation) as other:
        codes.verify(db, journey="journey-two", nhs_number=person, code=_code(db))
    assert other.value.details["reason"] == "no_code"


def test_at_most_five_codes_a_day_and_the_sixth_is_never_sent(db, person):
    notifier = OutboxNotifier(db)
    for n in range(codes.CODES_PER_DAY):
        codes.send_code(db, notifier, journey=f"j{n}", nhs_number=person, channel="sms")
    with pytest.raises(RuleViolation) as refused:
        codes.send_code(db, notifier, journey="j6", nhs_number=person, channel="email")
    assert refused.value.details["reason"] == "too_many_codes"
    assert "5 security codes" in refused.value.message
    assert len(outbox(db)) == codes.CODES_PER_DAY
    # A day after the first, one more may go.
    with db.write() as conn:
        first = conn.execute(select(one_time_code.c.id).order_by(one_time_code.c.id)).first()
        conn.execute(
            update(one_time_code)
            .where(one_time_code.c.id == first.id)
            .values(created_at=to_db(utcnow() - timedelta(days=1, minutes=1)))
        )
    codes.send_code(db, notifier, journey="j6", nhs_number=person, channel="email")
    assert len(outbox(db)) == codes.CODES_PER_DAY + 1


def test_no_code_without_that_contact_on_record(db):
    number = add(db, "9000000009", born=BORN, mobile=None, email="only@example.com")
    with pytest.raises(RuleViolation) as none:
        codes.send_code(db, OutboxNotifier(db), journey=JOURNEY, nhs_number=number, channel="sms")
    assert none.value.details["reason"] == "no_contact"
    assert outbox(db) == [] and _rows(db) == []


class Broken:
    channels = frozenset({"sms", "email"})

    def send_sms(self, to: str, body: str, *, reference: str) -> None:
        raise InputError("the service refused the address")

    def send_email(self, to: str, subject: str, body: str, *, reference: str) -> None:
        raise InputError("the service refused the address")


def test_a_code_that_could_not_be_sent_does_not_count(db, person):
    for _ in range(codes.CODES_PER_DAY + 1):
        with pytest.raises(InputError):
            codes.send_code(db, Broken(), journey=JOURNEY, nhs_number=person, channel="sms")
    assert _rows(db) == []
    codes.send_code(db, OutboxNotifier(db), journey=JOURNEY, nhs_number=person, channel="sms")


@pytest.mark.parametrize("typed", ["12345", "1234567", "abcdef", "", "12 34 5"])
def test_a_code_that_is_not_six_digits_is_refused_without_counting_a_try(db, person, typed):
    codes.send_code(db, OutboxNotifier(db), journey=JOURNEY, nhs_number=person, channel="sms")
    with pytest.raises(InputError):
        codes.verify(db, journey=JOURNEY, nhs_number=person, code=typed)
    assert _rows(db)[0].tries == 0


def test_the_channel_falls_back_to_the_other_contact_the_notifier_can_reach():
    both = Contact(mobile="07700900123", email="a@example.com")
    mobile_only = Contact(mobile="07700900123", email=None)
    everything = frozenset({"sms", "email"})
    assert codes.channel_for(both, "email", everything) == "email"
    assert codes.channel_for(mobile_only, "email", everything) == "sms"
    assert codes.channel_for(mobile_only, "sms", frozenset({"email"})) is None
    assert codes.channel_for(Contact(None, None), "sms", everything) is None
    assert codes.channel_for(None, "sms", everything) is None


def test_only_living_people_of_13_or_over_with_a_contact_verify_online(db):
    today = date.today()
    everything = frozenset({"sms", "email"})
    adult = add(db, "9434765919", born=BORN, mobile=None, email="a@example.com")
    thirteen = add(db, "9000000009", born=date(today.year - 13, 1, 1))  # 13 since 1 January
    child = add(db, "9000000017", born=date(today.year - 12, 1, 1))  # 12
    dead = add(db, "9000000025", born=BORN, date_of_death=date(2020, 1, 1))
    unreachable = add(db, "9000000033", born=BORN, mobile=None, email=None)

    def channel(number: str, available: frozenset[str] = everything) -> str | None:
        return codes.online_channel(db, number, preferred="sms", available=available)

    assert channel(adult) == "email"
    assert channel(thirteen) == "sms"
    assert channel(child) is None
    assert channel(dead) is None
    assert channel(unreachable) is None
    assert channel(thirteen, frozenset({"email"})) == "email"
