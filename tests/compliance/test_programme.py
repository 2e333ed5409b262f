"""The programme's five actions as a checklist, and the rules on changing a step."""

from __future__ import annotations

from datetime import date

import pytest

from ndoo import audit
from ndoo.compliance.programme import ACTIONS, steps, update_step
from ndoo.db.models import OWNER_ROLES
from ndoo.errors import InputError, RuleViolation
from tests.compliance.conftest import ORG, TODAY, days


def change(db, action, **values):
    values.setdefault("today", TODAY)
    return update_step(db, ORG, action, actor="ig-lead", **values)


def test_a_new_programme_shows_the_five_actions_not_started_with_their_default_owners(db):
    found = steps(db, ORG)
    assert [s.action for s in found] == [1, 2, 3, 4, 5]
    assert [s.status for s in found] == ["not_started"] * 5
    assert [s.owner_role for s in found] == ["ig_lead", "siro", "cio", "dpo", "caldicott_guardian"]
    assert found[0].title == "Assess data disclosures and update procedures"
    assert found[2].title == "Set up the technical solution"
    assert all(s.involves and s.due is None and s.evidence == "" for s in found)
    assert {a.default_owner for a in ACTIONS} <= set(OWNER_ROLES)


def test_a_change_is_kept_and_audited(db):
    changed = change(db, 2, status="in_progress", owner_role="board", due=date(2026, 3, 1))
    assert (changed.status, changed.owner_role, changed.owner_label) == (
        "in_progress",
        "board",
        "Board",
    )
    again = steps(db, ORG)[1]
    assert (again.status, again.owner_role, again.due) == ("in_progress", "board", date(2026, 3, 1))
    assert again.updated_by == "ig-lead"
    # The other steps still read as their defaults.
    assert steps(db, ORG)[0].status == "not_started"
    (entry,) = audit.entries(db, action="compliance.step")
    assert entry.actor == "ig-lead"
    assert entry.detail["step"] == 2
    assert entry.detail["organisation"] == ORG
    assert sorted(entry.detail["changed"]) == ["due", "owner_role", "status"]
    assert audit.verify(db).ok


def test_a_call_that_changes_nothing_writes_nothing(db):
    change(db, 1, status="in_progress")
    change(db, 1, status="in_progress")
    change(db, 4)
    assert len(audit.entries(db, action="compliance.step")) == 1


def test_done_needs_evidence(db):
    with pytest.raises(InputError, match="only with evidence") as refused:
        change(db, 1, status="done")
    assert refused.value.details["field"] == "evidence"
    assert steps(db, ORG)[0].status == "not_started"
    done = change(db, 1, status="done", evidence="Register of 42 flows reviewed by the IG board")
    assert done.status == "done"


def test_evidence_recorded_earlier_is_enough_to_mark_a_step_done(db):
    change(db, 4, status="in_progress", evidence="DPIA approved by the DPO")
    assert change(db, 4, status="done").evidence == "DPIA approved by the DPO"


def test_evidence_of_a_done_step_cannot_be_emptied(db):
    change(db, 4, status="done", evidence="SOP v2 published")
    with pytest.raises(InputError, match="only with evidence"):
        change(db, 4, evidence="   ")


def test_only_action_3_can_be_not_needed(db):
    with pytest.raises(RuleViolation, match="only action 3"):
        change(db, 4, status="not_needed")


def test_action_3_cannot_be_not_needed_while_the_solution_is_required(db, add_disclosure):
    add_disclosure("R-NOW")
    with pytest.raises(RuleViolation, match="technical solution is required") as refused:
        change(db, 3, status="not_needed")
    assert "R-NOW" in refused.value.message
    assert refused.value.details["references"] == ["R-NOW"]
    assert steps(db, ORG)[2].status == "not_started"


def test_action_3_cannot_be_not_needed_when_an_in_scope_flow_starts_within_the_horizon(
    db, add_disclosure
):
    add_disclosure("R-SOON", start=days(60))
    with pytest.raises(RuleViolation, match="R-SOON"):
        change(db, 3, status="not_needed")
    assert change(db, 3, status="not_needed", horizon_days=30).status == "not_needed"


def test_action_3_can_be_not_needed_while_a_supplier_applies_opt_outs(db, add_disclosure):
    # A GP practice on a principal GP system, or an organisation using TPP SystmOne's
    # Strategic Reporting Extract: opt-outs still apply, but the supplier's system applies them.
    add_disclosure("R-NOW")
    with pytest.raises(RuleViolation, match="technical solution is required"):
        change(db, 3, status="not_needed")
    assert change(db, 3, status="not_needed", by_supplier=True).status == "not_needed"
    assert steps(db, ORG)[2].status == "not_needed"


def test_action_3_can_be_not_needed_while_the_solution_is_optional(db, add_disclosure):
    add_disclosure("R-CONSENT", "do_not_apply")
    assert change(db, 3, status="not_needed").status == "not_needed"


@pytest.mark.parametrize(
    ("action", "values", "message"),
    [
        (6, {"status": "done"}, "there is no action 6"),
        (0, {}, "there is no action 0"),
        (1, {"status": "finished"}, "is not one of"),
        (1, {"owner_role": "janitor"}, "is not one of"),
        (1, {"evidence": "Call 943 476 5919 for the minutes"}, "ten digits"),
        (1, {"evidence": "bad\x00text"}, "control characters"),
    ],
)
def test_wrong_values_are_refused_saying_what_is_wrong(db, action, values, message):
    with pytest.raises(InputError, match=message):
        change(db, action, **values)


def test_programmes_of_different_organisations_are_separate(db):
    update_step(db, "RXX", 1, actor="other", status="in_progress", today=TODAY)
    assert steps(db, ORG)[0].status == "not_started"
    assert steps(db, "RXX")[0].status == "in_progress"


def test_an_organisation_code_is_checked(db):
    with pytest.raises(InputError, match="ODS code"):
        update_step(db, "not a code!", 1, actor="x", status="in_progress")
