"""The audit trail page: the chain's verification and the newest entries."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from ndoo import audit
from ndoo.db.models import audit_entry
from tests.test_audit import allow_tampering
from tests.web.conftest import STAFF, sign_in


def test_the_page_shows_an_intact_chain_and_the_newest_entries(client, web_db):
    sign_in(client, "ig_lead")
    page = client.get("/console/audit")
    assert page.status_code == 200
    checked = audit.verify(web_db).checked
    assert f"Audit trail intact: {checked} entries, chain and head agree." in page.text
    assert "staff.sign_in" in page.text and STAFF["ig_lead"] in page.text
    data = client.get("/console/audit.json").json()
    assert data["verification"]["ok"] is True and data["verification"]["first_bad"] is None
    newest = audit.entries(web_db, limit=1)[0]
    assert data["entries"][0]["seq"] == newest.seq  # newest first
    assert data["entries"][0]["hash"] == newest.hash


def test_only_the_newest_fifty_are_shown(client, web_db):
    with web_db.write() as conn:
        for n in range(60):
            audit.record(conn, actor="test", action="test.entry", n=n)
    sign_in(client, "administrator")
    data = client.get("/console/audit.json").json()
    assert len(data["entries"]) == 50
    assert data["entries"][0]["seq"] > data["entries"][-1]["seq"]


def test_entries_can_be_filtered_by_action(client, web_db):
    sign_in(client, "administrator")
    data = client.get("/console/audit.json?action=staff.create").json()
    assert data["action"] == "staff.create"
    assert len(data["entries"]) == len(STAFF)
    assert {e["action"] for e in data["entries"]} == {"staff.create"}
    assert {e["detail"]["username"] for e in data["entries"]} == set(STAFF.values())
    page = client.get("/console/audit?action=staff.create")
    assert "staff.sign_in" not in page.text and "of staff.create" in page.text
    none = client.get("/console/audit?action=no.such")
    assert "There are no entries of no.such." in none.text


def test_an_altered_entry_is_reported_with_its_number(client, web_db):
    allow_tampering(web_db)
    with web_db.write() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 2).values(actor="mallory"))
    sign_in(client, "administrator")
    page = client.get("/console/audit")
    assert "The audit trail is broken" in page.text
    assert "Audit trail broken at entry 2: its content was altered" in page.text
    data = client.get("/console/audit.json").json()["verification"]
    assert data["ok"] is False and data["first_bad"] == 2
    assert "/console/audit.json" in client.get("/api/openapi.json").json()["paths"]


@pytest.mark.parametrize("role", ["agent", "proxy_reviewer", "analyst"])
def test_other_roles_are_refused(client, web_db, role):
    sign_in(client, role)
    assert client.get("/console/audit").status_code == 403
    refused = client.get("/console/audit.json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "access_denied"


def test_signed_out_visitors_are_sent_to_sign_in(client, web_db):
    assert client.get("/console/audit").headers["location"].startswith("/staff/sign-in")
    assert client.get("/console/audit.json").status_code == 401
