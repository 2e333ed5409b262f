"""The contact centre: find a person, see their choice, record a choice made by phone or paper."""

from __future__ import annotations

import re
from datetime import date

import pytest

from ndoo import audit, people
from ndoo import register as reg
from ndoo.db.models import gp_practice
from tests.conftest import ADULT, CHILD
from tests.web.conftest import STAFF, csrf, sign_in

DECEASED = "9000000025"


@pytest.fixture
def register(web_db):
    """An adult registered at a practice, a child of seven or eight and a person who has died."""
    with web_db.write() as conn:
        conn.execute(
            gp_practice.insert().values(code="A81001", name="Practice", sub_icb_code="00K")
        )
    people.add(web_db, people.Person(ADULT, date(1980, 4, 1), "2", "A81001"), actor="test")
    born = date(date.today().year - 8, 1, 1)
    people.add(web_db, people.Person(CHILD, born, "1"), actor="test")
    people.add(web_db, people.Person(DECEASED, date(1940, 1, 1), "1"), actor="test")
    people.update_facts(web_db, DECEASED, actor="test", date_of_death=date(2020, 1, 1))
    return web_db


def choice_form(client, number: str, **fields: str):
    page = client.get(f"/console/people/{number}")
    assert page.status_code == 200
    data = {
        "answer": "no",
        "channel": "CC",
        "acted_by": "SELF",
        "case_reference": "12345-C",
        "csrf_token": csrf(page.text),
        **fields,
    }
    return client.post(f"/console/people/{number}/choice", data=data)


def search(client, text: str):
    token = csrf(client.get("/console/people").text)
    return client.post("/console/people", data={"nhs_number": text, "csrf_token": token})


def test_a_search_finds_a_person_in_any_common_form_and_is_audited(client, register):
    sign_in(client, "agent")
    for text in ("943 476 5919", "943-476-5919", " 9434765919 "):
        found = search(client, text)
        assert found.status_code == 303
        assert found.headers["location"] == f"/console/people/{ADULT}"
    entries = audit.entries(register, action="contact.search")
    assert [e.outcome for e in entries] == ["found"] * 3
    assert {e.actor for e in entries} == {STAFF["agent"]}
    assert entries[0].detail == {"number": "943 *** *919"}


def test_a_search_for_an_unknown_number_says_so_and_is_audited_without_the_number(client, register):
    sign_in(client, "agent")
    unknown = "9000000033"
    missing = search(client, unknown)
    assert missing.status_code == 404
    assert "No person with NHS number 900 000 0033 is known to the register" in missing.text
    assert 'href="#nhs_number"' in missing.text
    invalid = search(client, "123")
    assert invalid.status_code == 422 and 'href="#nhs_number"' in invalid.text
    entries = audit.entries(register, action="contact.search")
    assert [e.outcome for e in entries] == ["invalid", "not found"]
    stored = str([(e.detail, e.actor, e.outcome) for e in entries])
    assert unknown not in stored and "900 000 0033" not in stored


def test_the_person_page_shows_details_choice_and_history(client, register):
    reg.set_choice(
        register,
        reg.ChoiceChange(ADULT, reg.State.OUT, reg.Channel.OP, by_self=True),
        actor="test",
    )
    sign_in(client, "agent")
    page = client.get(f"/console/people/{ADULT}")
    assert page.status_code == 200
    assert "NHS number 943 476 5919" in page.text
    assert "01 April 1980" in page.text and "A81001" in page.text
    assert reg.QUESTION in page.text
    assert "Opted out since" in page.text
    assert "Online process (OP)" in page.text
    viewed = audit.entries(register, action="contact.view")
    assert viewed[0].outcome == "found" and viewed[0].actor == STAFF["agent"]


def test_a_choice_by_phone_is_recorded_with_its_case_reference_and_shown_in_history(
    client, register
):
    sign_in(client, "agent")
    done = choice_form(client, ADULT, case_reference="12345-C")
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert "Recorded: opted out, by phone, case 12345-C." in page.text
    history = reg.history(register, ADULT)
    [event] = history.events
    assert (event.channel, event.case_reference, event.actor) == (
        reg.Channel.CC,
        "12345-C",
        "SELF",
    )
    assert "Contact centre (CC)" in page.text and "12345-C" in page.text
    [entry] = audit.entries(register, action="register.set")
    assert entry.actor == STAFF["agent"] and entry.detail["channel"] == "CC"
    # The page shows the new event; the JSON twin says the same.
    data = client.get(f"/console/people/{ADULT}.json").json()
    assert data["choice"]["state"] == "OUT" and data["choice"]["answer"] == "No"
    assert data["history"][0]["case_reference"] == "12345-C"
    assert data["history"][0]["channel"] == "CC"


def test_a_proxy_on_a_paper_form_is_recorded_with_role_name_and_evidence(client, register):
    sign_in(client, "agent")
    done = choice_form(
        client,
        CHILD,
        channel="PP",
        acted_by="GUARDIAN",
        proxy_name="Pat Parent",
        proxy_evidence="Birth certificate 42",
        case_reference="PP-778",
    )
    assert done.status_code == 303
    data = client.get(f"/console/people/{CHILD}.json").json()
    [event] = data["history"]
    assert event["channel"] == "PP"
    assert event["proxy_role"] == "GUARDIAN" and event["proxy_name"] == "Pat Parent"
    assert event["proxy_evidence"] == "Birth certificate 42"
    assert event["case_reference"] == "PP-778"


def test_the_same_choice_again_changes_nothing_and_says_so(client, register):
    sign_in(client, "agent")
    choice_form(client, ADULT, answer="yes")
    page = client.get(f"/console/people/{ADULT}")
    assert "Nothing changed: the person is already opted in." in page.text
    assert reg.history(register, ADULT).events == []


def test_a_missing_case_reference_is_refused_with_the_error_linked_to_its_field(client, register):
    sign_in(client, "agent")
    refused = choice_form(client, ADULT, case_reference="  ")
    assert refused.status_code == 422
    summary = refused.text.split('class="nhsuk-error-summary"')[1].split("</div>")[0]
    assert 'href="#case_reference"' in summary
    assert "Enter the case reference of the call or paper form" in summary
    assert 'id="case_reference-error"' in refused.text  # the message next to the field
    assert reg.history(register, ADULT).events == []


def test_every_missing_answer_is_listed(client, register):
    sign_in(client, "agent")
    refused = choice_form(client, ADULT, answer="", channel="OP", acted_by="")
    assert refused.status_code == 422
    for field in ("answer", "channel", "acted_by"):
        assert f'href="#{field}"' in refused.text
        assert f'id="{field}-error"' in refused.text
    assert "Error: " in refused.text.split("</title>")[0]


def test_a_child_under_13_acting_alone_is_refused_in_the_error_summary(client, register):
    sign_in(client, "agent")
    refused = choice_form(client, CHILD, acted_by="SELF")
    assert refused.status_code == 409
    summary = refused.text.split('class="nhsuk-error-summary"')[1]
    assert "A child under 13 cannot set their own choice" in summary
    assert 'href="#acted_by"' in summary
    assert reg.history(register, CHILD).events == []


def test_a_proxy_not_permitted_and_a_deceased_person_are_refused_on_the_page(client, register):
    sign_in(client, "agent")
    refused = choice_form(client, ADULT, acted_by="GUARDIAN", proxy_name="P", proxy_evidence="E")
    assert refused.status_code == 409
    assert "A parent or guardian may act only for a child under 13" in refused.text
    page = client.get(f"/console/people/{DECEASED}")
    assert "This person has died" in page.text and "Record choice" not in page.text
    token = csrf(client.get("/console/people").text)
    died = client.post(
        f"/console/people/{DECEASED}/choice",
        data={
            "answer": "no",
            "channel": "CC",
            "acted_by": "SELF",
            "case_reference": "1-C",
            "csrf_token": token,
        },
    )
    assert died.status_code == 409
    assert "This person has died" in died.text.split('class="nhsuk-error-summary"')[1]


def test_an_unknown_person_page_says_so(client, register):
    sign_in(client, "agent")
    assert client.get("/console/people/9000000033").status_code == 404
    answer = client.get("/console/people/9000000033.json")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "person_not_found"
    assert client.get("/console/people/123.json").json()["error"]["code"] == ("invalid_nhs_number")


def test_the_json_twin_describes_the_person(client, register):
    sign_in(client, "agent")
    data = client.get("/console/people/943-476-5919.json").json()
    assert data["nhs_number"] == ADULT
    assert data["date_of_birth"] == "1980-04-01"
    assert data["gp_practice_code"] == "A81001"
    assert data["deceased"] is False
    assert data["choice"] == {
        "state": "IN",
        "label": "opted in",
        "since": None,
        "question": reg.QUESTION,
        "answer": "Yes",
    }
    assert client.get(f"/console/people/{DECEASED}.json").json()["deceased"] is True
    schema = client.get("/api/openapi.json").json()
    assert "/console/people/{nhs_number}.json" in schema["paths"]
    assert "/console/people/{nhs_number}" not in schema["paths"]


@pytest.mark.parametrize("role", ["proxy_reviewer", "ig_lead", "analyst"])
def test_other_roles_are_refused(client, register, role):
    sign_in(client, role)
    assert client.get("/console/people").status_code == 403
    assert client.get(f"/console/people/{ADULT}").status_code == 403
    answer = client.get(f"/console/people/{ADULT}.json")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "access_denied"
    token = csrf(client.get("/staff/sign-out").text)
    posted = client.post(
        f"/console/people/{ADULT}/choice",
        data={
            "answer": "no",
            "channel": "CC",
            "acted_by": "SELF",
            "case_reference": "1",
            "csrf_token": token,
        },
    )
    assert posted.status_code == 403
    assert reg.history(register, ADULT).events == []


def test_every_post_needs_the_csrf_token(client, register):
    sign_in(client, "agent")
    assert client.post("/console/people", data={"nhs_number": ADULT}).status_code == 403
    forged = client.post(
        f"/console/people/{ADULT}/choice",
        data={"answer": "no", "channel": "CC", "acted_by": "SELF", "case_reference": "1-C"},
    )
    assert forged.status_code == 403
    assert reg.history(register, ADULT).events == []
    assert audit.entries(register, action="contact.search") == []


def test_no_page_writes_the_nhs_number_into_the_audit_trail(client, register):
    sign_in(client, "agent")
    search(client, ADULT)
    choice_form(client, ADULT)
    trail = str([(e.actor, e.action, e.outcome, e.detail) for e in audit.entries(register)])
    assert not re.search(r"9434765919|943 476 5919", trail)
