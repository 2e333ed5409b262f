"""The served OpenAPI document: valid, true to the API, and errors in the one shape."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ndoo import people
from ndoo.db.models import release
from ndoo.disclosures import assessments, store
from ndoo.disclosures.record import Disclosure
from ndoo.register import Channel, ChoiceChange, State, set_choice
from tests.web.conftest import sign_in

ADULT = "9434765919"
JSON = {"Accept": "application/fhir+json, application/json"}


def seed(db) -> None:
    """A person with a choice, one without, an assessed disclosure and a release."""
    people.add(db, people.Person(ADULT, date(1980, 1, 1), "2"), actor="test")
    people.add(db, people.Person("9000000017", date(1950, 1, 1), "1"), actor="test")
    when = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
    change = ChoiceChange(ADULT, State.OUT, Channel.CC, by_self=True, effective_at=when)
    set_choice(db, change, actor="test")
    store.add(
        db,
        Disclosure(reference="NCAPOP-01", title="National audit", recipient="HQIP"),
        organisation="X26",
        actor="test",
    )
    assessments.assess(db, "NCAPOP-01", organisation="X26", actor="test")
    with db.write() as conn:
        conn.execute(
            release.insert().values(
                release_id="R-20240601-ABCDEFGH",
                disclosure="NCAPOP-01",
                actor="analyst.ade",
                engine="duckdb",
                source="register",
                dry_run=False,
                started_at=datetime(2024, 6, 1, 10, 0),
                finished_at=datetime(2024, 6, 1, 10, 1),
                rows_in=10,
                rows_out=9,
                digest="0" * 64,
                manifest="{}",
            )
        )


@pytest.fixture
def staff_cookie(client, web_db) -> dict[str, str]:
    """Headers of a signed-in administrator (who passes every role check)."""
    seed(web_db)
    sign_in(client, "administrator")
    return {**JSON, "cookie": f"ndoo_staff={client.cookies.get('ndoo_staff')}"}


#: Every operation of the JSON API and the FHIR API, and whether it takes any input.
OPERATIONS = [
    ("GET", "/api/v1/people/{nhs_number}/choice", True),
    ("GET", "/api/v1/people/{nhs_number}/history", True),
    ("GET", "/api/v1/disclosures", False),
    ("GET", "/api/v1/disclosures/{reference}", True),
    ("GET", "/api/v1/compliance", False),
    ("GET", "/api/v1/releases", True),
    ("GET", "/fhir/Consent", True),
    ("POST", "/fhir/Consent", True),
    ("GET", "/fhir/Consent/{logical_id}", True),
    ("PUT", "/fhir/Consent/{logical_id}", True),
    ("GET", "/fhir/Consent/{logical_id}/_history", True),
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz(operation, mode, headers: dict[str, str], *, examples: int, note: str) -> None:
    """Schemathesis cases for one operation, each called and checked against the document
    (derandomised, so a run is repeatable)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
    )
    def check(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        check()
    except BaseException as exc:
        exc.add_note(note)
        raise


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_response_conforms_to_the_document(app, staff_cookie, mode):
    """Schemathesis on every operation, with valid inputs and with invalid ones: no server
    error, and every status, media type and body as the document says."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    for method, path, has_input in OPERATIONS:
        if mode is GenerationMode.NEGATIVE and not has_input:
            continue
        note = f"operation: {method} {path} ({mode.value})"
        fuzz(schema[path][method], mode, staff_cookie, examples=20, note=note)


def test_the_document_is_valid_openapi_and_declares_the_error_shape(client, app):
    document = client.get("/api/openapi.json").json()
    schemathesis.openapi.from_dict(document).validate()
    error = document["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error"]
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "details"}
    ours = {
        path: ops
        for path, ops in document["paths"].items()
        if path.startswith(("/api/v1/", "/fhir/"))
    }
    assert set(ours) == {
        "/api/v1/people/{nhs_number}/choice",
        "/api/v1/people/{nhs_number}/history",
        "/api/v1/disclosures",
        "/api/v1/disclosures/{reference}",
        "/api/v1/compliance",
        "/api/v1/releases",
        "/fhir/Consent",
        "/fhir/Consent/{logical_id}",
        "/fhir/Consent/{logical_id}/_history",
    }
    for path, operations in ours.items():
        for method, operation in operations.items():
            for status in ("401", "403", "422"):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, (
                    method,
                    path,
                    status,
                )
    assert "application/fhir+json" in ours["/fhir/Consent"]["get"]["responses"]["200"]["content"]
    assert "application/fhir+json" in ours["/fhir/Consent"]["post"]["requestBody"]["content"]


def assert_error(response, status: int) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert ADULT not in response.text or "/people/" in str(response.request.url)


READS = [
    f"/api/v1/people/{ADULT}/choice",
    f"/api/v1/people/{ADULT}/history",
    "/api/v1/disclosures",
    "/api/v1/disclosures/NCAPOP-01",
    "/api/v1/compliance",
    "/api/v1/releases",
    f"/fhir/Consent?patient={ADULT}",
    "/fhir/Consent/ndop-1",
    "/fhir/Consent/ndop-1/_history",
]


def test_without_signing_in_every_api_route_answers_401_in_the_one_shape(client):
    for path in READS:
        assert_error(client.get(path, headers=JSON), 401)


def test_a_role_without_access_gets_403_in_the_one_shape(client, web_db):
    seed(web_db)
    sign_in(client, "proxy_reviewer")
    for path in READS:
        assert_error(client.get(path, headers=JSON), 403)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("agent", {"/api/v1/people", "/fhir/"}),
        ("analyst", {"/api/v1/disclosures", "/api/v1/releases"}),
        ("ig_lead", {"/api/v1/disclosures", "/api/v1/releases", "/api/v1/compliance"}),
        ("administrator", {"/api/v1/", "/fhir/"}),
    ],
)
def test_each_role_reads_what_it_is_for(client, web_db, role, allowed):
    seed(web_db)
    sign_in(client, role)
    for path in READS:
        answer = client.get(path, headers=JSON)
        if path.startswith(tuple(allowed)):
            assert answer.status_code == 200, (path, answer.text)
        else:
            assert_error(answer, 403)


def test_not_found_method_not_allowed_and_invalid_input_take_the_one_shape(client, web_db):
    seed(web_db)
    sign_in(client, "administrator")
    for path in (
        "/api/v1/people/9000000025/choice",
        "/api/v1/disclosures/NOT-THERE",
        "/fhir/Consent/ndop-999",
        "/fhir/Consent/ndop-999/_history",
        "/api/v1/nothing-here",
    ):
        assert_error(client.get(path, headers=JSON), 404)
    assert_error(client.delete("/api/v1/compliance", headers=JSON), 405)
    assert_error(client.put("/api/v1/releases", headers=JSON), 405)
    assert_error(client.delete("/fhir/Consent/ndop-1", headers=JSON), 405)
    for path in (
        "/api/v1/people/12345/choice",
        "/api/v1/people/9434765918/history",
        "/api/v1/releases?limit=0",
        "/fhir/Consent",
        "/fhir/Consent?patient=nobody",
    ):
        assert_error(client.get(path, headers=JSON), 422)
    bad_json = client.post(
        "/fhir/Consent",
        content=b"{not json",
        headers={**JSON, "content-type": "application/fhir+json"},
    )
    assert_error(bad_json, 422)


def test_the_json_api_answers_what_the_library_says(client, web_db):
    seed(web_db)
    sign_in(client, "administrator")
    choice = client.get(f"/api/v1/people/{ADULT}/choice").json()
    assert (choice["state"], choice["since"]) == ("OUT", "2024-06-01T09:30:00Z")
    events = client.get(f"/api/v1/people/{ADULT}/history").json()["events"]
    assert [(e["state"], e["channel"], e["actor"]) for e in events] == [("OUT", "CC", "SELF")]
    listed = client.get("/api/v1/disclosures").json()
    assert listed["organisation"] == "X26"
    assert [d["reference"] for d in listed["disclosures"]] == ["NCAPOP-01"]
    one = client.get("/api/v1/disclosures/NCAPOP-01").json()
    assert one["record"]["title"] == "National audit"
    assert one["assessment"]["reference"] == "NCAPOP-01"
    assert client.get("/api/v1/compliance").json()["organisation"] == "X26"
    releases = client.get("/api/v1/releases").json()["releases"]
    assert [(r["release_id"], r["rows_in"], r["rows_out"]) for r in releases] == [
        ("R-20240601-ABCDEFGH", 10, 9)
    ]


def test_every_other_documented_read_conforms_too(app, staff_cookie, client):
    """The pages' JSON twins and the rest: every GET the document lists, with valid
    inputs, answers as the document says and never with a server error."""
    document = client.get("/api/openapi.json").json()
    covered = {(method, path) for method, path, _ in OPERATIONS}
    reads = [
        path
        for path, operations in document["paths"].items()
        if "get" in operations and ("GET", path) not in covered
    ]
    assert any(path.endswith(".json") for path in reads), "the JSON twins are not documented"
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    for path in reads:
        note = f"operation: GET {path}"
        fuzz(schema[path]["GET"], GenerationMode.POSITIVE, staff_cookie, examples=5, note=note)
