"""The compliance programme in the staff console: status, steps, declaration, documents."""

from __future__ import annotations

from ndoo.compliance import declaration
from ndoo.compliance.solution import today_utc
from tests.disclosures.helpers import assessed
from tests.web.conftest import csrf, sign_in

EVIDENCE = {
    1: "Register reviewed by the IG board",
    2: "SIRO decision minuted",
    3: "MESH mailbox live; test file checked",
    4: "DPIA approved; SOP v3 published",
    5: "Staff bulletin sent; privacy notice updated",
}


def change_step(client, action: int, **values: str):
    page = client.get(f"/console/compliance/steps/{action}")
    assert page.status_code == 200
    return client.post(
        f"/console/compliance/steps/{action}", data={"csrf_token": csrf(page.text), **values}
    )


def declare(client, on: str):
    page = client.get("/console/compliance")
    return client.post(
        "/console/compliance/declare", data={"csrf_token": csrf(page.text), "on": on}
    )


def test_the_status_shows_the_whole_picture_with_its_json_twin(client, web_db):
    assessed(web_db, "DSA-001")
    sign_in(client, "ig_lead")
    page = client.get("/console/compliance")
    assert page.status_code == 200
    assert "Compliance: not started" in page.text
    assert "The technical solution: required" in page.text
    assert 'href="/console/disclosures/DSA-001"' in page.text
    twin = client.get("/console/compliance.json").json()
    assert twin["organisation"] == "X26" and twin["state"] == "not started"
    assert [s["action"] for s in twin["steps"]] == [1, 2, 3, 4, 5]
    assert twin["technical_solution"]["verdict"] == "required"
    assert twin["technical_solution"]["horizon_days"] == 120  # the setting, as the CLI passes it
    assert twin["disclosures"]["references"] == {"APPLY": ["DSA-001"]}
    assert twin["declaration"] is None and twin["next_actions"]


def test_a_step_is_done_only_with_evidence(client, web_db):
    sign_in(client, "ig_lead")
    refused = change_step(client, 1, status="done", owner_role="ig_lead", evidence="")
    assert refused.status_code == 422
    assert 'href="#evidence"' in refused.text and 'id="evidence-error"' in refused.text
    done = change_step(
        client, 1, status="done", owner_role="ig_lead", due="2026-03-31", evidence=EVIDENCE[1]
    )
    assert done.status_code == 303
    step = client.get("/console/compliance.json").json()["steps"][0]
    assert (step["status"], step["due"], step["evidence"]) == ("done", "2026-03-31", EVIDENCE[1])
    assert step["updated_by"] == "ig.imogen"


def test_a_step_that_is_needed_cannot_be_marked_not_needed(client):
    sign_in(client, "ig_lead")
    refused = change_step(client, 2, status="not_needed", owner_role="siro")
    assert refused.status_code == 409
    assert 'href="#status"' in refused.text
    assert "only action 3" in refused.text.lower()


def test_a_bad_due_date_is_shown_beside_its_field(client):
    sign_in(client, "ig_lead")
    refused = change_step(client, 4, status="in_progress", owner_role="dpo", due="next week")
    assert refused.status_code == 422
    assert 'href="#due"' in refused.text and "Enter a real date" in refused.text


def test_declaring_is_refused_with_every_reason_then_accepted(client, web_db):
    assessed(web_db, "DSA-001")
    sign_in(client, "ig_lead")
    today = today_utc().isoformat()
    refused = declare(client, today)
    assert refused.status_code == 409
    assert "Compliance cannot be declared yet" in refused.text
    for action in range(1, 6):
        assert f'href="#step-{action}"' in refused.text
    assert declaration.latest(web_db, "X26") is None
    for action, evidence in EVIDENCE.items():
        assert change_step(client, action, status="done", evidence=evidence).status_code == 303
    past = declare(client, "2020-01-01")
    assert past.status_code == 422 and 'href="#on"' in past.text
    accepted = declare(client, today)
    assert accepted.status_code == 303
    found = declaration.latest(web_db, "X26")
    assert found is not None and found.declared_on.isoformat() == today
    assert found.declared_by == "ig.imogen"
    twin = client.get("/console/compliance.json").json()
    assert twin["state"] == "declared" and twin["declaration"]["declared_on"] == today


def test_an_unassessed_disclosure_is_named_in_the_refusal(client, web_db):
    from ndoo.disclosures import store
    from ndoo.disclosures.record import parse

    disclosure, _ = parse({"reference": "NEW-1", "title": "New flow", "recipient": "Someone"})
    assert disclosure is not None
    store.add(web_db, disclosure, organisation="X26", actor="test")
    sign_in(client, "ig_lead")
    refused = declare(client, "")
    assert refused.status_code == 409
    assert 'href="/console/disclosures/NEW-1"' in refused.text
    assert "has not been assessed" in refused.text


def test_documents_are_listed_viewed_and_downloaded(client, web_db):
    assessed(web_db, "DSA-001")
    sign_in(client, "ig_lead")
    listed = client.get("/console/compliance/documents.json").json()
    names = [d["name"] for d in listed["documents"]]
    assert names[:4] == ["dpia", "sop", "privacy-notice", "staff-communication"]
    assert any(n.startswith("recipient-notice-") for n in names)
    page = client.get("/console/compliance/documents")
    assert 'href="/console/compliance/documents/dpia"' in page.text
    view = client.get("/console/compliance/documents/dpia")
    assert view.status_code == 200
    assert view.text.count("<h1") == 1 and "Demonstration Health and Care Trust" in view.text
    assert "<style" not in view.text  # the console's own styles; its CSP allows no inline ones
    markdown = client.get("/console/compliance/documents/dpia.md")
    assert markdown.headers["content-disposition"] == 'attachment; filename="dpia.md"'
    assert markdown.text.startswith("# Data Protection Impact Assessment")
    html = client.get("/console/compliance/documents/dpia.html")
    assert "attachment" in html.headers["content-disposition"] and "<html" in html.text
    twin = client.get("/console/compliance/documents/dpia.json").json()
    assert twin["markdown"] == markdown.text
    assert client.get("/console/compliance/documents/nothing").status_code == 404


def test_only_information_governance_leads_see_compliance(client):
    sign_in(client, "analyst")
    token = csrf(client.get("/staff/sign-out").text)
    for path in ("/console/compliance", "/console/compliance.json", "/console/compliance/steps/1"):
        assert client.get(path).status_code == 403, path
    assert client.get("/console/compliance/documents/dpia.md").status_code == 403
    for path in ("/console/compliance/declare", "/console/compliance/steps/1"):
        assert client.post(path, data={"csrf_token": token, "status": "done"}).status_code == 403


def test_every_form_needs_the_sessions_token(client, web_db):
    sign_in(client, "ig_lead")
    forged_step = client.post(
        "/console/compliance/steps/1", data={"status": "in_progress", "owner_role": "ig_lead"}
    )
    assert forged_step.status_code == 403
    assert client.post("/console/compliance/declare", data={"on": ""}).status_code == 403
    assert client.get("/console/compliance.json").json()["steps"][0]["status"] == "not_started"
