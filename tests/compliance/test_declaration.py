"""Declaring compliance: refused while anything is undone, and breaches afterwards."""

from __future__ import annotations

import json

import pytest

from ndoo import audit
from ndoo.compliance.declaration import declare, latest
from ndoo.compliance.programme import update_step
from ndoo.compliance.status import status
from ndoo.disclosures import assessments, store
from ndoo.errors import DeclarationRefused, InputError
from tests.compliance.conftest import ORG, TODAY, days
from tests.compliance.helpers import complete


def declare_now(db, **values):
    values.setdefault("on", TODAY)
    return declare(db, ORG, actor="caldicott", today=TODAY, **values)


def test_a_declaration_is_refused_naming_every_step_not_done_then_accepted(db, add_disclosure):
    add_disclosure("R-NOW")
    update_step(db, ORG, 1, actor="ig", status="done", evidence="Register reviewed", today=TODAY)
    update_step(db, ORG, 2, actor="ig", status="in_progress", today=TODAY)
    with pytest.raises(DeclarationRefused) as refused:
        declare_now(db)
    message = refused.value.message
    assert "action 1 " not in message
    assert "action 2 (Decide whether to implement the technical solution) is in progress" in message
    for action in (3, 4, 5):
        assert f"action {action} (" in message
    assert refused.value.details["steps"] == [2, 3, 4, 5]
    assert latest(db, ORG) is None

    complete(db)
    declared = declare_now(db)
    assert (declared.declared_on, declared.declared_by) == (TODAY, "caldicott")
    assert declared.technical_solution == "required"
    assert latest(db, ORG) == declared
    summary = latest(db, ORG).summary
    assert [s["status"] for s in summary["steps"]] == ["done"] * 5
    assert summary["technical_solution"]["verdict"] == "required"
    assert summary["counts"]["disclosures"] == 1
    assert summary["counts"]["in_scope"] == 1
    json.dumps(declared.as_dict())
    (entry,) = audit.entries(db, action="compliance.declare")
    assert entry.actor == "caldicott"
    assert entry.detail["declared_on"] == TODAY.isoformat()
    assert entry.detail["technical_solution"] == "required"


def test_a_declaration_is_refused_while_a_running_disclosure_is_not_assessed(db, add_disclosure):
    complete(db)
    add_disclosure("R-NEW", "unassessed", title="New audit flow")
    add_disclosure("R-FUTURE", "unassessed", start=days(365))
    add_disclosure("R-OLD", "unassessed", end=days(-10))
    with pytest.raises(DeclarationRefused) as refused:
        declare_now(db)
    assert "disclosure R-NEW (New audit flow) has not been assessed" in refused.value.message
    assert refused.value.details["disclosures"] == ["R-NEW"]
    assert refused.value.details["steps"] == []
    assessments.assess(db, "R-NEW", organisation=ORG, actor="ig")
    assert declare_now(db).technical_solution == "required"


def test_a_disclosure_starting_before_a_later_compliance_date_must_be_assessed_first(
    db, add_disclosure
):
    complete(db, skip_solution=True)
    add_disclosure("R-MARCH", "unassessed", start=days(40))
    with pytest.raises(DeclarationRefused, match="R-MARCH"):
        declare_now(db, on=TODAY.replace(month=3))
    assert declare_now(db).declared_on == TODAY


def test_compliance_can_be_declared_without_the_solution_while_it_is_optional(db, add_disclosure):
    add_disclosure("R-CONSENT", "do_not_apply")
    complete(db, skip_solution=True)
    assert declare_now(db).technical_solution == "optional"


def test_not_needed_no_longer_holds_once_an_in_scope_disclosure_appears(db, add_disclosure):
    complete(db, skip_solution=True)
    add_disclosure("R-NOW")
    with pytest.raises(DeclarationRefused) as refused:
        declare_now(db)
    assert "action 3 (Set up the technical solution) is marked not needed" in refused.value.message
    assert "R-NOW" in refused.value.message
    assert refused.value.details["steps"] == [3]


def test_with_a_supplier_applying_opt_outs_compliance_is_declared_without_action_3(
    db, add_disclosure
):
    add_disclosure("R-NOW")
    complete(db, skip_solution=True, by_supplier=True)
    # Without the supplier, action 3 marked not needed still stands in the way.
    with pytest.raises(DeclarationRefused) as refused:
        declare_now(db)
    assert refused.value.details["steps"] == [3]

    declared = declare_now(db, by_supplier=True)
    assert declared.technical_solution == "required"
    solution = latest(db, ORG).summary["technical_solution"]
    assert (solution["by_supplier"], solution["must_set_up"]) == (True, False)
    (entry,) = audit.entries(db, action="compliance.declare")
    assert entry.detail["by_supplier"] is True


def test_a_compliance_date_in_the_past_is_refused(db):
    complete(db)
    with pytest.raises(InputError, match="in the past"):
        declare_now(db, on=TODAY.replace(day=1))


def test_a_disclosure_changed_in_scope_after_the_declaration_is_a_breach(db, add_disclosure):
    add_disclosure("R-NOW")
    add_disclosure("R-OTHER", "do_not_apply")
    complete(db)
    declare_now(db)
    assert status(db, ORG, TODAY).state == "declared"

    store.change(db, "R-OTHER", {"notes": "Contact changed"}, organisation=ORG, actor="ig")
    assert status(db, ORG, TODAY).breaches == ()

    store.change(db, "R-OTHER", {"purpose": "service_planning"}, organisation=ORG, actor="ig")
    found = status(db, ORG, TODAY)
    assert found.state == "declared, in breach"
    assert [b.reference for b in found.breaches] == ["R-OTHER"]
    assert "after compliance was declared" in found.breaches[0].message
    assert found.next_actions[0].references == ("R-OTHER",)

    assessments.assess(db, "R-OTHER", organisation=ORG, actor="ig")
    assert status(db, ORG, TODAY).state == "declared"


def test_a_disclosure_added_after_the_declaration_without_assessment_is_a_breach(
    db, add_disclosure
):
    complete(db, skip_solution=True)
    declare_now(db)
    add_disclosure("R-LATE", "unassessed", start=days(365))
    found = status(db, ORG, TODAY)
    assert found.state == "declared, in breach"
    assert [b.reference for b in found.breaches] == ["R-LATE"]
    # Declaring again does not wash the breach away, though the flow starts next year.
    with pytest.raises(DeclarationRefused, match="R-LATE"):
        declare_now(db)
