"""Proxy review: list, read, approve and reject applications; the proxy is told the outcome."""

from __future__ import annotations

from datetime import date

import pytest

from ndoo import audit, people
from ndoo import register as reg
from ndoo.db.models import demographics
from ndoo.identity.notify import outbox
from ndoo.register import proxies
from tests.conftest import ADULT, CHILD
from tests.web.conftest import STAFF, csrf, sign_in

CHILD_BORN = date(date.today().year - 6, 3, 1)
ADULT_BORN = date(1980, 4, 1)


@pytest.fixture
def register(web_db):
    """A child of five or six and an adult, each with a demographic record."""
    for number, born, family, postcode in (
        (CHILD, CHILD_BORN, "Smith", "LS1 4AP"),
        (ADULT, ADULT_BORN, "Jones", "M1 1AA"),
    ):
        people.add(web_db, people.Person(number, born, "2"), actor="test")
        with web_db.write() as conn:
            conn.execute(
                demographics.insert().values(
                    nhs_number=number, given_name="Sam", family_name=family, postcode=postcode
                )
            )
    return web_db


def apply(db, *, number=CHILD, born=CHILD_BORN, family="Smith", postcode="LS1 4AP", **extra):
    fields = {
        "nhs_number": number,
        "given_name": "Sam",
        "family_name": family,
        "date_of_birth": born,
        "postcode": postcode,
        "proxy_name": "Pat Smith",
        "proxy_role": "GUARDIAN",
        "evidence_reference": "Birth certificate BC-42",
        "requested_state": "OUT",
        "proxy_email": "pat@example.com",
        **extra,
    }
    return proxies.submit(db, **fields)


def post(client, reference: str, action: str, **fields: str):
    page = client.get(f"/console/proxy-applications/{reference}")
    assert page.status_code == 200
    return client.post(
        f"/console/proxy-applications/{reference}/{action}",
        data={"csrf_token": csrf(page.text), **fields},
    )


def test_the_list_shows_pending_applications_and_filters_by_status(client, register):
    waiting = apply(register)
    done = apply(register, family="Wrong")
    proxies.reject(register, done.reference, reviewer="test", note="no match")
    sign_in(client, "proxy_reviewer")
    page = client.get("/console/proxy-applications")
    assert page.status_code == 200
    assert waiting.reference in page.text and done.reference not in page.text
    rejected = client.get("/console/proxy-applications?status=rejected")
    assert done.reference in rejected.text and waiting.reference not in rejected.text
    data = client.get("/console/proxy-applications.json").json()
    assert data["status"] == "pending"
    assert [a["reference"] for a in data["applications"]] == [waiting.reference]
    assert data["applications"][0]["matched"] is True
    everything = client.get("/console/proxy-applications.json?status=all").json()
    assert {a["reference"] for a in everything["applications"]} == {
        waiting.reference,
        done.reference,
    }
    assert client.get("/console/proxy-applications.json?status=lost").status_code == 422


def test_the_detail_shows_the_details_given_the_match_and_the_persons_record(client, register):
    application = apply(register)
    sign_in(client, "proxy_reviewer")
    page = client.get(f"/console/proxy-applications/{application.reference}")
    assert page.status_code == 200
    for text in (
        "Pat Smith",
        "Birth certificate BC-42",
        "pat@example.com",
        "LS1 4AP",
        "Parent or guardian with parental responsibility",
        reg.QUESTION,
        "Approve and record the choice",
    ):
        assert text in page.text
    data = client.get(f"/console/proxy-applications/{application.reference}.json").json()
    assert data["matched"] is True
    assert data["person"]["family_name"] == "Smith"
    assert data["person"]["date_of_birth"] == CHILD_BORN.isoformat()
    assert data["matched_person"]["age"] in (5, 6)
    assert data["matched_person"]["choice"]["state"] == "IN"
    assert data["proxy"]["role"] == "GUARDIAN"
    assert data["proxy"]["evidence_reference"] == "Birth certificate BC-42"
    assert data["requested_state"] == "OUT" and data["requested_answer"] == "No"
    assert client.get("/console/proxy-applications/PA-NOTHERE").status_code == 404
    schema = client.get("/api/openapi.json").json()["paths"]
    assert "/console/proxy-applications.json" in schema
    assert "/console/proxy-applications/{reference}.json" in schema


def test_a_guardian_for_a_child_is_approved_and_the_register_shows_it(client, register):
    application = apply(register)
    sign_in(client, "proxy_reviewer")
    done = post(client, application.reference, "approve")
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert f"Application {application.reference} approved." in page.text
    assert "The proxy has been told by email." in page.text
    [event] = reg.history(register, CHILD).events
    assert event.channel is reg.Channel.FN
    assert event.actor == "GUARDIAN"
    assert event.proxy_name == "Pat Smith"
    assert event.case_reference == application.reference
    assert reg.current_choice(register, CHILD).state is reg.State.OUT
    assert proxies.get(register, application.reference).status == "approved"
    assert proxies.get(register, application.reference).reviewed_by == STAFF["proxy_reviewer"]
    [message] = outbox(register)
    assert message.channel == "email" and message.recipient == "pat@example.com"
    assert application.reference in message.body and "approved" in message.body
    assert CHILD not in message.body and "Sam" not in message.body
    [sent] = audit.entries(register, action="proxy.message")
    assert sent.outcome == "sent" and sent.detail["channel"] == "email"


def test_a_proxy_who_gave_only_a_phone_is_sent_a_text_message(client, register):
    application = apply(register, proxy_email=None, proxy_phone="07700900123")
    sign_in(client, "proxy_reviewer")
    post(client, application.reference, "approve")
    [message] = outbox(register)
    assert message.channel == "sms" and message.recipient == "07700900123"


def test_a_guardian_for_an_adult_fails_approval_with_the_rule_and_stays_pending(client, register):
    application = apply(register, number=ADULT, born=ADULT_BORN, family="Jones", postcode="M1 1AA")
    assert application.matched
    sign_in(client, "proxy_reviewer")
    refused = post(client, application.reference, "approve")
    assert refused.status_code == 409
    summary = refused.text.split('class="nhsuk-error-summary"')[1]
    assert "A parent or guardian may act only for a child under 13" in summary
    assert proxies.get(register, application.reference).status == "pending"
    assert reg.history(register, ADULT).events == []
    assert outbox(register) == []


def test_rejection_needs_a_reason_and_tells_the_proxy(client, register):
    application = apply(register)
    sign_in(client, "proxy_reviewer")
    refused = post(client, application.reference, "reject", note="   ")
    assert refused.status_code == 422
    summary = refused.text.split('class="nhsuk-error-summary"')[1].split("</ul>")[0]
    assert 'href="#note"' in summary and "Give the reason for rejecting" in summary
    assert 'id="note-error"' in refused.text
    assert proxies.get(register, application.reference).status == "pending"
    done = post(client, application.reference, "reject", note="The evidence is unreadable.")
    assert done.status_code == 303
    found = proxies.get(register, application.reference)
    assert found.status == "rejected" and found.review_note == "The evidence is unreadable."
    assert reg.history(register, CHILD).events == []
    [message] = outbox(register)
    assert "not been approved" in message.body
    assert "The evidence is unreadable." in message.body
    page = client.get(f"/console/proxy-applications/{application.reference}")
    assert "Approve and record the choice" not in page.text
    assert "This application was rejected" in page.text


def test_an_unmatched_application_cannot_be_approved(client, register):
    application = apply(register, postcode="ZZ9 9ZZ")
    assert not application.matched
    sign_in(client, "proxy_reviewer")
    page = client.get(f"/console/proxy-applications/{application.reference}")
    assert "The details do not match" in page.text
    assert "Approve and record the choice" not in page.text
    data = client.get(f"/console/proxy-applications/{application.reference}.json").json()
    assert data["matched"] is False and data["matched_person"] is None
    refused = client.post(
        f"/console/proxy-applications/{application.reference}/approve",
        data={"csrf_token": csrf(page.text)},
    )
    assert refused.status_code == 409
    assert "do not match a demographic record" in refused.text
    assert proxies.get(register, application.reference).status == "pending"
    assert reg.history(register, CHILD).events == []


@pytest.mark.parametrize("role", ["agent", "ig_lead", "analyst"])
def test_other_roles_are_refused(client, register, role):
    application = apply(register)
    sign_in(client, role)
    base = f"/console/proxy-applications/{application.reference}"
    for path in (
        "/console/proxy-applications",
        "/console/proxy-applications.json",
        base,
        f"{base}.json",
    ):
        assert client.get(path).status_code == 403, path
    token = csrf(client.get("/staff/sign-out").text)
    assert client.post(f"{base}/approve", data={"csrf_token": token}).status_code == 403
    assert client.post(f"{base}/reject", data={"csrf_token": token, "note": "x"}).status_code == 403
    assert proxies.get(register, application.reference).status == "pending"


def test_an_administrator_may_review(client, register):
    application = apply(register)
    sign_in(client, "administrator")
    assert post(client, application.reference, "approve").status_code == 303


def test_every_post_needs_the_csrf_token(client, register):
    application = apply(register)
    sign_in(client, "proxy_reviewer")
    base = f"/console/proxy-applications/{application.reference}"
    assert client.post(f"{base}/approve").status_code == 403
    assert client.post(f"{base}/reject", data={"note": "no"}).status_code == 403
    assert proxies.get(register, application.reference).status == "pending"
