"""The whole picture of an organisation's compliance, as the CLI and web show it."""

from __future__ import annotations

import json
from datetime import date

from ndoo.compliance.declaration import declare
from ndoo.compliance.programme import update_step
from ndoo.compliance.status import status
from ndoo.disclosures import assessments
from tests.compliance.conftest import ORG, TODAY, days
from tests.compliance.helpers import complete


def test_a_new_programme_is_not_started_and_says_where_to_begin(db):
    found = status(db, ORG, TODAY)
    assert found.state == "not started"
    assert found.declaration is None
    assert [a.text for a in found.next_actions] == [
        "Start action 1 (Assess data disclosures and update procedures); "
        "owner: Information governance lead."
    ]


def test_the_picture_while_in_progress(db, add_disclosure):
    add_disclosure("R-NOW")
    add_disclosure("R-CONSENT", "do_not_apply")
    add_disclosure("R-NEW", "unassessed")
    update_step(db, ORG, 1, actor="ig", status="in_progress", due=date(2026, 1, 1), today=TODAY)
    found = status(db, ORG, TODAY)
    assert found.state == "in progress"
    assert found.solution.verdict == "required"
    assert found.solution.provisional
    assert found.disclosures == {
        "APPLY": ("R-NOW",),
        "DO NOT APPLY": ("R-CONSENT",),
        "not assessed": ("R-NEW",),
    }
    assert found.counts == {"APPLY": 1, "DO NOT APPLY": 1, "not assessed": 1}
    texts = [a.text for a in found.next_actions]
    assert any(t.startswith("Assess disclosure R-NEW") for t in texts)
    assert any(
        "Action 1 (Assess data disclosures and update procedures) was due on 2026-01-01 "
        "and is in progress" in t
        for t in texts
    )


def test_ready_to_declare_once_every_action_is_done(db, add_disclosure):
    add_disclosure("R-NOW")
    complete(db)
    found = status(db, ORG, TODAY)
    assert found.state == "ready to declare"
    assert "declare compliance" in found.next_actions[-1].text


def test_declared_and_its_json_form(db, add_disclosure):
    add_disclosure("R-NOW")
    complete(db)
    declare(db, ORG, actor="caldicott", on=TODAY, today=TODAY)
    body = json.loads(json.dumps(status(db, ORG, TODAY).as_dict()))
    assert body["state"] == "declared"
    assert body["declaration"]["declared_on"] == TODAY.isoformat()
    assert body["declaration"]["declared_by"] == "caldicott"
    assert body["technical_solution"]["verdict"] == "required"
    assert [s["status"] for s in body["steps"]] == ["done"] * 5
    assert body["disclosures"] == {
        "total": 1,
        "counts": {"APPLY": 1},
        "references": {"APPLY": ["R-NOW"]},
    }
    assert body["breaches"] == []


def test_an_unassessed_disclosure_blocks_ready_to_declare(db, add_disclosure):
    complete(db, skip_solution=True)
    add_disclosure("R-NEW", "unassessed")
    assert status(db, ORG, TODAY).state == "in progress"
    assessments.assess(db, "R-NEW", organisation=ORG, actor="ig")
    # Now in scope, the technical solution is required and action 3 cannot stay not needed.
    found = status(db, ORG, TODAY)
    assert found.state == "in progress"
    assert any(a.action == 3 and "now required" in a.text for a in found.next_actions)


def test_a_supplier_applying_opt_outs_is_stated_in_the_picture(db, add_disclosure):
    add_disclosure("R-NOW")
    update_step(db, ORG, 1, actor="ig", status="in_progress", today=TODAY)
    found = status(db, ORG, TODAY, by_supplier=True)
    assert found.solution.verdict == "required" and not found.solution.must_set_up
    assert "by the supplier's system" in found.solution.obligation
    (hint,) = [a for a in found.next_actions if a.action == 3]
    assert "can be marked not needed" in hint.text
    assert "clinical system supplier" in hint.text and "from another system" in hint.text
    assert not any(a.text.startswith("Start action 3") for a in found.next_actions)
    assert found.as_dict()["technical_solution"]["by_supplier"] is True

    complete(db, skip_solution=True, by_supplier=True)
    assert status(db, ORG, TODAY, by_supplier=True).state == "ready to declare"
    # Without the supplier, action 3 cannot stay not needed.
    without = status(db, ORG, TODAY)
    assert without.state == "in progress"
    assert any(a.action == 3 and "now required" in a.text for a in without.next_actions)


def test_an_in_scope_flow_beyond_the_horizon_asks_for_the_solution_before_it_starts(
    db, add_disclosure
):
    add_disclosure("R-NEXT-YEAR", start=days(300))
    update_step(db, ORG, 3, actor="ig", status="not_needed", today=TODAY)
    found = status(db, ORG, TODAY)
    assert found.solution.verdict == "optional"
    reminder = [a for a in found.next_actions if a.action == 3]
    assert reminder and f"before {days(300)}" in reminder[0].text
    assert reminder[0].references == ("R-NEXT-YEAR",)
