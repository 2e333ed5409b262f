"""The FHIR Consent API, as a contact-centre agent's system uses it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from ndoo import people
from ndoo.db.models import audit_entry
from ndoo.register import fhir, history
from tests.web.conftest import STAFF, sign_in

ADULT = "9434765919"
CHILD = "9000000009"
FHIR = {"accept": "application/fhir+json", "content-type": "application/fhir+json"}


@pytest.fixture
def person(web_db):
    people.add(web_db, people.Person(ADULT, date(1980, 1, 1), "2"), actor="test")
    people.add(web_db, people.Person(CHILD, date(2018, 1, 1), "1"), actor="test")
    return ADULT


@pytest.fixture
def agent(client, person):
    sign_in(client, "agent")
    return client


def consent(number: str = ADULT, status: str = "active", **changes: Any) -> dict[str, Any]:
    patient = {"identifier": {"system": fhir.NHS_NUMBER_SYSTEM, "value": number}}
    body: dict[str, Any] = {
        "resourceType": "Consent",
        "extension": [
            {
                "url": fhir.SOURCE_EXTENSION,
                "valueCodeableConcept": {"coding": [{"system": fhir.SOURCE_SYSTEM, "code": "CC"}]},
            }
        ],
        "status": status,
        "scope": {"coding": [{"system": fhir.SCOPE_SYSTEM, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": fhir.CATEGORY_SYSTEM, "code": "NDOP"}]}],
        "patient": patient,
        "dateTime": "2024-06-01T09:30:00Z",
        "performer": [patient],
        **changes,
    }
    return body


def post(client, body: dict[str, Any]):
    return client.post("/fhir/Consent", content=json.dumps(body), headers=FHIR)


def put(client, logical_id: str, body: dict[str, Any]):
    return client.put(f"/fhir/Consent/{logical_id}", content=json.dumps(body), headers=FHIR)


def search(client, patient: str = ADULT):
    return client.get("/fhir/Consent", params={"patient": patient}, headers=FHIR)


def assert_error(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body


def register_audit(web_db) -> list[Any]:
    with web_db.read() as conn:
        return list(
            conn.execute(
                select(audit_entry.c.actor, audit_entry.c.outcome, audit_entry.c.detail)
                .where(audit_entry.c.action == "register.set")
                .order_by(audit_entry.c.seq)
            )
        )


def test_a_person_who_never_chose_has_an_empty_searchset(agent):
    answer = search(agent)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/fhir+json")
    bundle = answer.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert bundle["total"] == 0 and "entry" not in bundle
    assert search(agent, "9000000017").json()["total"] == 0  # not known to the register


def test_create_then_search_read_update_and_history(agent, web_db):
    created = post(agent, consent())
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/fhir+json")
    made = created.json()
    assert made["status"] == "active"
    logical_id = made["id"]
    assert ADULT not in logical_id
    assert created.headers["location"] == f"http://testserver/fhir/Consent/{logical_id}"

    found = search(agent, "943 476 5919").json()
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["id"] == logical_id
    assert agent.get(f"/fhir/Consent/{logical_id}", headers=FHIR).json() == made

    withdrawn = {**made, "status": "inactive", "dateTime": "2024-07-01T10:00:00Z"}
    updated = put(agent, logical_id, withdrawn)
    assert updated.status_code == 200, updated.text
    assert updated.json()["status"] == "inactive"
    assert updated.json()["id"] == logical_id
    assert agent.get(f"/api/v1/people/{ADULT}/choice").json()["state"] == "IN"

    versions = agent.get(f"/fhir/Consent/{logical_id}/_history", headers=FHIR)
    assert versions.status_code == 200
    bundle = versions.json()
    assert bundle["type"] == "history" and bundle["total"] == 2
    assert [e["resource"]["status"] for e in bundle["entry"]] == ["inactive", "active"]
    assert len(history(web_db, ADULT).events) == 2


def test_every_write_is_an_audit_entry_by_the_agent_without_the_nhs_number(agent, web_db):
    made = post(agent, consent()).json()
    put(agent, made["id"], {**made, "status": "inactive", "dateTime": "2024-07-01T10:00:00Z"})
    put(agent, made["id"], {**made, "status": "inactive", "dateTime": "2024-07-02T10:00:00Z"})
    entries = register_audit(web_db)
    assert [(e.actor, e.outcome) for e in entries] == [
        (STAFF["agent"], "ok"),
        (STAFF["agent"], "ok"),
        (STAFF["agent"], "unchanged"),
    ]
    assert all(ADULT not in e.detail for e in entries)


def test_a_second_create_for_the_same_person_is_a_duplicate(agent, web_db):
    assert post(agent, consent()).status_code == 201
    again = post(agent, consent(dateTime="2024-06-02T09:30:00Z"))
    assert_error(again, 422, "DUPLICATE_REJECTED")
    assert len(history(web_db, ADULT).events) == 1


def test_a_client_assigned_id_is_refused(agent, web_db):
    answer = post(agent, consent(id="my-own-id"))
    assert_error(answer, 405, "MSG_RESOURCE_ID_FAIL")
    assert history(web_db, ADULT).events == []
    assert register_audit(web_db) == []


def test_a_proxy_acting_for_a_child_through_the_api(agent, web_db):
    body = consent(CHILD)
    del body["performer"]
    body["extension"].append(
        {
            "url": fhir.PROXY_EXTENSION,
            "extension": [
                {
                    "url": "role",
                    "valueCodeableConcept": {
                        "coding": [{"system": fhir.PROXY_ROLE_SYSTEM, "code": "GUARDIAN"}]
                    },
                },
                {"url": "NIC", "valueString": "12345-C"},
                {"url": "name", "valueString": "Pat Parent"},
                {"url": "evidence", "valueString": "BIRTH-CERT-1"},
            ],
        }
    )
    answer = post(agent, body)
    assert answer.status_code == 201, answer.text
    (only,) = history(web_db, CHILD).events
    assert (only.actor, only.case_reference) == ("GUARDIAN", "12345-C")


def test_a_register_rule_refuses_the_change(agent, web_db):
    answer = post(agent, consent(CHILD))  # a child under 13 cannot act alone
    assert_error(answer, 409, "self_not_permitted")
    assert history(web_db, CHILD).events == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (consent(status="draft"), "invalid_input"),
        (consent(number="943 476 5919"), "invalid_nhs_number"),
        (consent(performer=None), "invalid_input"),
        ({"resourceType": "Patient"}, "invalid_input"),
    ],
    ids=["status", "nhs-number-with-spaces", "no-performer-or-proxy", "not-a-consent"],
)
def test_an_invalid_consent_is_refused(agent, web_db, body, code):
    assert_error(post(agent, {k: v for k, v in body.items() if v is not None}), 422, code)
    assert history(web_db, ADULT).events == []


def test_an_update_needs_the_same_id_in_the_body(agent):
    made = post(agent, consent()).json()
    answer = put(agent, made["id"], {**made, "id": "ndop-999", "status": "inactive"})
    assert_error(answer, 422, "invalid_input")
    assert_error(put(agent, "ndop-999", {**made, "id": "ndop-999"}), 404, "not_found")


def test_unknown_ids_and_people(agent):
    assert_error(agent.get("/fhir/Consent/ndop-12345", headers=FHIR), 404, "not_found")
    assert_error(agent.get(f"/fhir/Consent/{ADULT}/_history", headers=FHIR), 404, "not_found")
    assert_error(post(agent, consent("9000000017")), 404, "person_not_found")
    assert_error(search(agent, "12345"), 422, "invalid_nhs_number")


def test_a_write_must_be_json(agent, web_db):
    answer = agent.post(
        "/fhir/Consent",
        content=json.dumps(consent()),
        headers={"accept": "application/fhir+json", "content-type": "text/plain"},
    )
    assert_error(answer, 415, "unsupported_media_type")
    assert history(web_db, ADULT).events == []


def test_the_api_is_for_contact_centre_agents(client, person):
    assert_error(search(client), 401, "login_required")
    assert_error(post(client, consent()), 401, "login_required")
    sign_in(client, "analyst")
    assert_error(search(client), 403, "access_denied")
    assert_error(post(client, consent()), 403, "access_denied")


def test_an_administrator_may_use_it(client, person):
    sign_in(client, "administrator")
    assert search(client).status_code == 200


def test_fhir_errors_are_json_without_an_accept_header(client, person):
    assert_error(client.get("/fhir/Consent", params={"patient": ADULT}), 401, "login_required")
