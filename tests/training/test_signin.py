"""Signing in to the module with a code sent to the email on the roster."""

from __future__ import annotations

import re

import pytest

from ndoo.errors import RuleViolation
from ndoo.identity.notify import OutboxNotifier, outbox
from ndoo.training import roster, signin
from tests.training.helpers import person


def _code(db) -> str:
    found = re.search(r"\b(\d{6})\b", outbox(db, 1)[0].body)
    assert found
    return found.group(1)


def test_a_code_goes_to_the_rosters_address_and_signs_in(db):
    learner = person(db, "Alan Turing")
    assert signin.send_code(
        db, OutboxNotifier(db), journey="j", email=" Alan.Turing@Example.NHS.uk "
    )
    message = outbox(db, 1)[0]
    assert message.recipient == learner.email and message.channel == "email"
    assert message.reference and message.reference.startswith("training-code-")
    signed = signin.verify(db, journey="j", email=learner.email, code=_code(db))
    assert signed is not None and signed.id == learner.id


def test_an_unknown_or_departed_address_gets_nothing(db):
    leaver = person(db, "Gone Away")
    roster.leave(db, leaver.email, actor="t")
    notifier = OutboxNotifier(db)
    assert not signin.send_code(db, notifier, journey="j", email="nobody@example.nhs.uk")
    assert not signin.send_code(db, notifier, journey="j", email=leaver.email)
    assert outbox(db) == []


def test_wrong_codes_count_and_the_third_kills_it(db):
    learner = person(db, "Rosalind Franklin")
    signin.send_code(db, OutboxNotifier(db), journey="j", email=learner.email)
    right = _code(db)
    wrong = "000000" if right != "000000" else "111111"
    assert signin.verify(db, journey="j", email=learner.email, code=wrong) is None
    assert signin.verify(db, journey="j", email=learner.email, code=wrong) is None
    with pytest.raises(RuleViolation) as caught:
        signin.verify(db, journey="j", email=learner.email, code=wrong)
    assert caught.value.details["reason"] == "too_many_tries"
    with pytest.raises(RuleViolation):
        signin.verify(db, journey="j", email=learner.email, code=right)


def test_a_code_works_only_in_its_own_journey(db):
    learner = person(db, "Dorothy Hodgkin")
    signin.send_code(db, OutboxNotifier(db), journey="first", email=learner.email)
    with pytest.raises(RuleViolation) as caught:
        signin.verify(db, journey="second", email=learner.email, code=_code(db))
    assert caught.value.details["reason"] == "no_code"
