"""The disclosure register in the staff console: read, add, change, import, export, assess."""

from __future__ import annotations

import csv
import io
import re

from ndoo.disclosures import store
from tests.disclosures.helpers import CONSENTED, IN_SCOPE, assessed
from tests.web.conftest import csrf, sign_in

#: The answers an information governance lead gives for a research extract under
#: section 251 support with the standard condition (as codes, the forms' values).
ANSWERS = {
    "origin": ["england_health_adult_social_care"],
    "contains_cpi": ["yes"],
    "anonymised": ["no"],
    "purpose": ["research"],
    "legal_bases": ["s251_regulation_5"],
    "cag_reference": ["21/CAG/0042"],
    "cag_condition": ["standard_condition"],
    "national_exemption": ["none"],
}


def add_bare(client, reference: str = "RES-01") -> None:
    """Add a disclosure through the form with only the fields it must have."""
    page = client.get("/console/disclosures/new")
    answer = client.post(
        "/console/disclosures/new",
        data={
            "csrf_token": csrf(page.text),
            "reference": reference,
            "title": "Outcomes study extract",
            "recipient": "University research team",
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/console/disclosures/{reference}?added=1"


def test_the_register_lists_each_disclosure_with_where_it_stands(client, web_db):
    assessed(web_db, "DSA-001")
    assessed(web_db, "DSA-002", CONSENTED)
    sign_in(client, "analyst")
    page = client.get("/console/disclosures")
    assert page.status_code == 200
    assert 'href="/console/disclosures/DSA-001"' in page.text
    assert "APPLY" in page.text and "DO NOT APPLY" in page.text
    assert "Add a disclosure" not in page.text  # an analyst reads, never changes
    twin = client.get("/console/disclosures.json").json()
    assert twin["organisation"] == "X26"
    states = {d["reference"]: d["state"] for d in twin["disclosures"]}
    assert states == {"DSA-001": "APPLY", "DSA-002": "DO NOT APPLY"}
    assert twin["counts"] == {"APPLY": 1, "DO NOT APPLY": 1}


def test_a_disclosure_shows_its_record_assessment_with_sources_and_history(client, web_db):
    assessed(web_db, "DSA-001")
    sign_in(client, "ig_lead")
    page = client.get("/console/disclosures/DSA-001")
    assert page.status_code == 200
    assert "Section 251 support under Regulation 5" in page.text  # labels, not codes
    assert "s251_regulation_5" not in page.text
    assert "Latest assessment: APPLY" in page.text
    assert re.search(r'<a href="https://digital\.nhs\.uk/[^"]+"', page.text)
    twin = client.get("/console/disclosures/DSA-001.json").json()
    assert twin["state"] == "APPLY"
    assert twin["record"]["legal_bases"] == ["s251_regulation_5"]
    assert twin["assessment"]["outcome"] == "APPLY"
    assert all(r["source"].startswith("https://") for r in twin["assessment"]["reasons"])
    assert [v["change"] for v in twin["versions"]] == ["created"]
    assert len(twin["assessments"]) == 1


def test_an_unknown_disclosure_is_not_found(client):
    sign_in(client, "analyst")
    assert client.get("/console/disclosures/NOPE").status_code == 404
    missing = client.get("/console/disclosures/NOPE.json")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "disclosure_not_found"


def test_adding_shows_every_problem_beside_its_field(client, web_db):
    sign_in(client, "ig_lead")
    page = client.get("/console/disclosures/new")
    answer = client.post(
        "/console/disclosures/new",
        data={"csrf_token": csrf(page.text), "reference": "", "title": "x", "start_date": "soon"},
    )
    assert answer.status_code == 422
    assert 'href="#reference"' in answer.text and 'href="#recipient"' in answer.text
    assert 'href="#start_date"' in answer.text
    assert 'id="reference-error"' in answer.text
    assert store.entries(web_db, organisation="X26") == []


def test_adding_from_a_library_case_fills_the_form(client):
    sign_in(client, "ig_lead")
    page = client.get("/console/disclosures/new?case=national-clinical-audit-s251")
    assert page.status_code == 200
    assert re.search(r'<option value="national_clinical_audit" selected', page.text)
    assert "Fill in from your own records: CAG reference" in page.text


def test_a_change_keeps_a_version_and_asks_for_a_new_assessment(client, web_db):
    assessed(web_db, "DSA-001")
    sign_in(client, "ig_lead")
    form = client.get("/console/disclosures/DSA-001/change")
    assert form.status_code == 200
    values = {**IN_SCOPE, "legal_bases": ["s251_regulation_5"], "cag_condition": "exempts_flow"}
    values.update(origin="england_health_adult_social_care", purpose="research")
    done = client.post(
        "/console/disclosures/DSA-001/change", data={"csrf_token": csrf(form.text), **values}
    )
    assert done.status_code == 303, done.text
    twin = client.get("/console/disclosures/DSA-001.json").json()
    assert twin["version"] == 2 and twin["state"] == "changed since assessed"
    assert twin["versions"][0]["changed"] == ["cag_condition"]


def test_the_guided_assessment_asks_one_question_at_a_time_until_apply(client, web_db):
    sign_in(client, "ig_lead")
    add_bare(client)
    asked = []
    for _ in range(len(ANSWERS) + 1):
        state = client.get("/console/disclosures/RES-01/assess.json").json()
        if not state["questions"]:
            break
        question = state["questions"][0]
        page = client.get("/console/disclosures/RES-01/assess")
        assert page.status_code == 200
        kind = {"choice": "radio", "yes_no": "radio", "choices": "checkbox", "text": "text"}
        assert f'name="answer" type="{kind[question["kind"]]}"' in page.text
        assert page.text.count("<h1") == 1
        asked.append(question["field"])
        answer = client.post(
            "/console/disclosures/RES-01/assess",
            data={
                "csrf_token": csrf(page.text),
                "field": question["field"],
                "answer": ANSWERS[question["field"]],
            },
        )
        assert answer.status_code == 303
    assert sorted(asked) == sorted(ANSWERS)
    location = answer.headers["location"]
    assert location.startswith("/console/disclosures/RES-01?recorded=")
    outcome = client.get(location)
    assert "The assessment was recorded: APPLY" in outcome.text
    assert "Latest assessment: APPLY" in outcome.text
    twin = client.get("/console/disclosures/RES-01.json").json()
    assert twin["state"] == "APPLY"
    assert twin["versions"][0]["change"] == "answered"  # newest first


def test_a_question_left_unanswered_is_asked_again_with_an_error(client):
    sign_in(client, "ig_lead")
    add_bare(client)
    page = client.get("/console/disclosures/RES-01/assess")
    answer = client.post(
        "/console/disclosures/RES-01/assess",
        data={"csrf_token": csrf(page.text), "field": "origin"},
    )
    assert answer.status_code == 422
    assert 'href="#answer"' in answer.text
    assert "Choose an answer, or record the assessment as it stands" in answer.text


def test_contradicting_answers_are_explained_when_asked(client, web_db):
    assessed(web_db, "DSA-009", {**IN_SCOPE, "legal_bases": "Explicit consent; s251 reg 5"})
    sign_in(client, "ig_lead")
    page = client.get("/console/disclosures/DSA-009/assess")
    assert "These answers contradict each other" in page.text
    assert "say which one covers this flow" in page.text


def test_recording_as_it_stands_gives_more_information_needed(client):
    sign_in(client, "ig_lead")
    add_bare(client)
    page = client.get("/console/disclosures/RES-01/assess")
    done = client.post(
        "/console/disclosures/RES-01/assess/record", data={"csrf_token": csrf(page.text)}
    )
    assert done.status_code == 303
    outcome = client.get(done.headers["location"])
    assert "Latest assessment: MORE INFORMATION NEEDED" in outcome.text
    assert "Still needed: Origin of the data" in outcome.text


def test_an_import_with_errors_imports_nothing_and_names_line_and_column(client, web_db):
    sign_in(client, "ig_lead")
    page = client.get("/console/disclosures/import")
    rows = (
        "Reference,Title,Recipient organisation,Purpose\r\n"
        "ROPA-1,Audit submission,HQIP,National clinical audit\r\n"
        "ROPA-2,Research extract,University,Resarch\r\n"
    )
    answer = client.post(
        "/console/disclosures/import",
        data={"csrf_token": csrf(page.text)},
        files={"file": ("ropa.csv", rows.encode(), "text/csv")},
    )
    assert answer.status_code == 422
    assert "nothing was imported" in answer.text
    assert "Line 3" in answer.text and "Purpose" in answer.text and "Resarch" in answer.text
    assert store.entries(web_db, organisation="X26") == []


def test_an_import_adds_the_rows_and_an_export_gives_them_back(client, web_db):
    sign_in(client, "ig_lead")
    page = client.get("/console/disclosures/import")
    rows = (
        "Reference,Title,Recipient organisation,Purpose\n"
        "ROPA-1,Audit submission,HQIP,National audit\n"
    )
    answer = client.post(
        "/console/disclosures/import",
        data={"csrf_token": csrf(page.text)},
        files={"file": ("ropa.csv", rows.encode(), "text/csv")},
    )
    assert answer.status_code == 200, answer.text
    assert "1 added" in answer.text
    exported = client.get("/console/disclosures/export.csv")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["Reference"], r["Purpose"]) for r in table] == [
        ("ROPA-1", "National clinical audit")
    ]


def test_only_information_governance_leads_change_the_register(client, web_db):
    assessed(web_db, "DSA-001")
    sign_in(client, "analyst")
    assert client.get("/console/disclosures/DSA-001").status_code == 200
    token = csrf(client.get("/staff/sign-out").text)
    for path in (
        "/console/disclosures/new",
        "/console/disclosures/import",
        "/console/disclosures/DSA-001/change",
        "/console/disclosures/DSA-001/assess",
    ):
        assert client.get(path).status_code == 403, path
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
    assert client.get("/console/disclosures/DSA-001/assess.json").status_code == 403


def test_other_roles_cannot_read_the_register(client):
    sign_in(client, "agent")
    assert client.get("/console/disclosures").status_code == 403
    assert client.get("/console/disclosures.json").json()["error"]["code"] == "access_denied"


def test_every_form_needs_the_sessions_token(client, web_db):
    assessed(web_db, "DSA-001")
    sign_in(client, "ig_lead")
    for path in (
        "/console/disclosures/new",
        "/console/disclosures/import",
        "/console/disclosures/DSA-001/change",
        "/console/disclosures/DSA-001/assess",
        "/console/disclosures/DSA-001/assess/record",
    ):
        assert client.post(path, data={"title": "x"}).status_code == 403, path
    twin = client.get("/console/disclosures/DSA-001.json").json()
    assert twin["version"] == 1 and len(twin["assessments"]) == 1


def test_the_organisations_json_twins_are_described_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/console/disclosures.json",
        "/console/disclosures/{reference}.json",
        "/console/disclosures/{reference}/assess.json",
        "/console/compliance.json",
        "/console/compliance/documents.json",
        "/console/compliance/documents/{name}.json",
        "/console/releases.json",
        "/console/releases/{release_id}.json",
        "/console/cache.json",
        "/console/apply/{release_id}.json",
    ):
        responses = paths[path]["get"]["responses"]
        assert "$ref" in responses["200"]["content"]["application/json"]["schema"], path
        refused = responses["403"]["content"]["application/json"]["schema"]
        assert refused == {"$ref": "#/components/schemas/ErrorResponse"}, path
    assert not any(p in paths for p in ("/console/disclosures", "/console/apply"))
