"""A parent, guardian, attorney or deputy applies to make a choice for someone else."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient

from ndoo.identity.notify import outbox
from ndoo.register import State, current_choice
from ndoo.register.proxies import listed
from tests.identity.helpers import add
from tests.web.conftest import csrf

CHILD = "9000000009"
UNKNOWN = "9000000017"
CHILD_BORN = date(date.today().year - 7, 4, 2)


def flat(html: str) -> str:
    return re.sub(r"\s+<", "<", re.sub(r">\s+", ">", html))


def main(html: str) -> str:
    found = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert found
    return found.group(1)


def application(number: str = CHILD, **changes: str) -> dict[str, str]:
    return {
        "nhs_number": number,
        "given_name": "Tom",
        "family_name": "Thumb",
        "date_of_birth[day]": str(CHILD_BORN.day),
        "date_of_birth[month]": str(CHILD_BORN.month),
        "date_of_birth[year]": str(CHILD_BORN.year),
        "postcode": "ls1 4ap",
        "proxy_name": "Pat Thumb",
        "proxy_role": "GUARDIAN",
        "proxy_email": "pat.thumb@example.org",
        "proxy_phone": "",
        "evidence_reference": "Birth certificate QBX 123456",
        "answer": "no",
        **changes,
    }


def apply(client: TestClient, values: dict[str, str]):
    page = client.get("/proxy/apply")
    assert page.status_code == 200
    return client.post("/proxy/apply", data={"csrf_token": csrf(page.text), **values})


def test_a_parent_applies_and_nothing_changes_until_staff_review(client, web_db):
    add(web_db, CHILD, born=CHILD_BORN, given="Tom", family="Thumb", postcode="LS1 4AP")
    start = client.get("/proxy")
    assert start.status_code == 200 and 'href="/proxy/apply"' in start.text
    sent = apply(client, application())
    assert sent.status_code == 303 and sent.headers["location"] == "/proxy/done"
    done = client.get("/proxy/done")
    reference = re.search(r"PA-[A-Z]{8}", done.text)
    assert reference
    assert "Nothing changes until our staff have checked your application" in done.text
    assert client.get("/proxy/done.json").json() == {
        "reference": reference.group(0),
        "status": "pending",
        "acknowledged_by": "email",
    }

    (pending,) = listed(web_db)
    assert pending.reference == reference.group(0) and pending.matched
    assert (pending.nhs_number, pending.postcode, pending.proxy_role) == (
        CHILD,
        "LS1 4AP",
        "GUARDIAN",
    )
    assert pending.requested_state == "OUT" and pending.date_of_birth == CHILD_BORN
    assert current_choice(web_db, CHILD).state is State.IN  # nothing changed yet

    (message,) = outbox(web_db)
    assert message.recipient == "pat.thumb@example.org"  # the applicant's own address
    assert reference.group(0) in message.body
    for about_the_child in (CHILD, "Tom", "Thumb", "LS1"):
        assert about_the_child not in message.body


def test_the_answer_is_the_same_whether_or_not_the_person_exists(client, web_db):
    add(web_db, CHILD, born=CHILD_BORN, given="Tom", family="Thumb", postcode="LS1 4AP")
    pages = []
    for number in (CHILD, UNKNOWN):
        assert apply(client, application(number)).headers["location"] == "/proxy/done"
        pages.append(re.sub(r"PA-[A-Z]{8}", "PA-", main(client.get("/proxy/done").text)))
    assert pages[0] == pages[1]
    assert [a.matched for a in listed(web_db)] == [True, False]


def test_an_applicant_with_only_a_phone_number_gets_a_text_message(client, web_db):
    apply(client, application(proxy_email="", proxy_phone="07700 900 982", proxy_role="COURTDEP"))
    (message,) = outbox(web_db)
    assert (message.channel, message.recipient) == ("sms", "07700 900 982")
    assert listed(web_db)[0].proxy_role == "COURTDEP"


def test_the_form_says_what_is_missing_next_to_each_field(client, web_db):
    empty = apply(client, {})
    assert empty.status_code == 422
    for anchor in (
        "#nhs_number",
        "#given_name",
        "#family_name",
        "#date_of_birth-day",
        "#postcode",
        "#proxy_name",
        "#proxy_role",
        "#proxy_email",
        "#evidence_reference",
        "#answer",
    ):
        assert f'<a href="{anchor}">' in flat(empty.text), anchor
    assert 'id="proxy_role-error"' in empty.text
    assert empty.text.count("<h1") == 1
    no_contact = apply(client, application(proxy_email="", proxy_phone=""))
    assert '<a href="#proxy_email">Give an email address or a phone number' in flat(no_contact.text)
    bad = apply(client, application(proxy_email="not an address", nhs_number="123"))
    assert '<a href="#proxy_email">Enter an email address like' in flat(bad.text)
    assert '<a href="#nhs_number">Enter a valid 10-digit NHS number' in flat(bad.text)
    assert 'value="Pat Thumb"' in bad.text  # what was typed is kept
    assert listed(web_db) == [] and outbox(web_db) == []


def test_the_done_page_needs_an_application(client):
    assert client.get("/proxy/done").headers["location"] == "/proxy"
    missing = client.get("/proxy/done.json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
