"""When the technical solution is required (the implementation guide's action 2)."""

from __future__ import annotations

import pytest

from ndoo.compliance.solution import OPTIONAL, REQUIRED, technical_solution
from ndoo.disclosures import assessments, store
from tests.compliance.conftest import ORG, TODAY, days


def verdict(db, horizon_days=120):
    return technical_solution(db, ORG, today=TODAY, horizon_days=horizon_days)


def test_an_empty_register_makes_it_optional_with_the_obligation_stated(db):
    found = verdict(db)
    assert found.verdict == OPTIONAL
    assert not found.provisional
    assert "before any new or changed disclosure in scope" in found.obligation


def test_a_current_disclosure_in_scope_makes_it_required(db, add_disclosure):
    add_disclosure("R-NOW", start=days(-30))
    add_disclosure("R-CONSENT", "do_not_apply")
    found = verdict(db)
    assert found.verdict == REQUIRED
    assert [item.reference for item in found.in_scope_now] == ["R-NOW"]
    assert "R-NOW" in found.reasons[0]
    assert "R-CONSENT" not in found.references


@pytest.mark.parametrize(
    ("starts_in", "horizon", "expected"),
    [
        (30, 120, REQUIRED),
        (120, 120, REQUIRED),
        (121, 120, OPTIONAL),
        (100, 90, OPTIONAL),
        (100, 120, REQUIRED),
    ],
)
def test_a_disclosure_in_scope_starting_within_the_horizon_makes_it_required(
    db, add_disclosure, starts_in, horizon, expected
):
    add_disclosure("R-PLANNED", start=days(starts_in))
    found = verdict(db, horizon_days=horizon)
    assert found.verdict == expected
    if expected == REQUIRED:
        assert [item.reference for item in found.in_scope_soon] == ["R-PLANNED"]
    else:
        # Beyond the horizon it is named, with the date the solution must be ready by.
        assert [item.reference for item in found.in_scope_later] == ["R-PLANNED"]
        assert any(days(starts_in) in reason for reason in found.reasons)


def test_a_disclosure_that_has_ended_is_ignored(db, add_disclosure):
    add_disclosure("R-ENDED", start=days(-400), end=days(-1))
    add_disclosure("R-ENDED-UNASSESSED", "unassessed", end=days(-1))
    found = verdict(db)
    assert found.verdict == OPTIONAL
    assert found.references == ()


def test_a_disclosure_ending_today_still_runs(db, add_disclosure):
    add_disclosure("R-LAST-DAY", end=days(0))
    assert verdict(db).verdict == REQUIRED


def test_an_unassessed_disclosure_makes_the_verdict_provisional(db, add_disclosure):
    add_disclosure("R-CONSENT", "do_not_apply")
    add_disclosure("R-NEW", "unassessed")
    found = verdict(db)
    assert found.verdict == OPTIONAL
    assert found.provisional
    assert [(item.reference, item.state) for item in found.unknown] == [
        ("R-NEW", assessments.NOT_ASSESSED)
    ]
    assert any(r.startswith("Provisional") and "R-NEW" in r for r in found.reasons)


def test_an_unassessed_disclosure_far_in_the_future_does_not_make_it_provisional(
    db, add_disclosure
):
    add_disclosure("R-NEXT-YEAR", "unassessed", start=days(365))
    assert not verdict(db).provisional


def test_a_change_in_scope_after_an_apply_assessment_leaves_the_scope_unknown(db, add_disclosure):
    add_disclosure("R-NOW")
    store.change(db, "R-NOW", {"purpose": "service_planning"}, organisation=ORG, actor="ig-officer")
    found = verdict(db)
    assert found.verdict == OPTIONAL
    assert [(item.reference, item.state) for item in found.unknown] == [
        ("R-NOW", assessments.CHANGED)
    ]


def test_a_supplier_applying_opt_outs_keeps_the_verdict_but_not_the_set_up(db, add_disclosure):
    add_disclosure("R-NOW")
    add_disclosure("R-LATER", start=days(300))
    without = verdict(db)
    assert (without.required, without.must_set_up, without.by_supplier) == (True, True, False)
    found = technical_solution(db, ORG, today=TODAY, by_supplier=True)
    assert found.verdict == REQUIRED and found.required
    assert found.by_supplier and not found.must_set_up
    assert [item.reference for item in found.in_scope_now] == ["R-NOW"]
    supplier = [r for r in found.reasons if "clinical system supplier" in r]
    assert supplier and "by the supplier's system" in supplier[0]
    assert any("R-LATER" in r and "by the supplier's system" in r for r in found.reasons)
    assert "must still be applied to every in-scope disclosure" in found.obligation
    assert "making any in-scope disclosure from another system" in found.obligation
    body = found.as_dict()
    assert (body["verdict"], body["by_supplier"], body["must_set_up"]) == ("required", True, False)


def test_a_supplier_applying_opt_outs_is_named_when_the_solution_is_optional(db):
    found = technical_solution(db, ORG, today=TODAY, by_supplier=True)
    assert found.verdict == OPTIONAL and not found.must_set_up
    assert "from another system" in found.obligation


def test_the_verdict_is_json_ready(db, add_disclosure):
    add_disclosure("R-NOW")
    body = verdict(db).as_dict()
    assert body["verdict"] == "required"
    assert body["in_scope_now"][0]["reference"] == "R-NOW"
    assert body["horizon_days"] == 120
