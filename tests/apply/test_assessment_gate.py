"""ndoo apply consults the disclosure's scope assessment before anything is released."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ndoo.apply.sources import SourceChoice
from ndoo.db import Database
from ndoo.disclosures import assessments, store
from ndoo.errors import AssessmentNeeded, DisclosureNotFound
from tests.apply.helpers import episodes, releases, run, tree, write_parquet
from tests.apply.test_release import with_unmatched
from tests.disclosures.helpers import CONSENTED, IN_SCOPE, ORGANISATION, assessed


def _nothing_written(register: Database, data: Path, before: set[str]) -> None:
    assert tree(data) == before
    assert releases(register) == []


def test_a_disclosure_missing_from_the_register_is_refused(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    before = tree(data)
    with pytest.raises(DisclosureNotFound, match="no disclosure 'DSA-404' in the register"):
        run(
            register,
            str(source),
            str(data / "out.parquet"),
            disclosure="DSA-404",
            register_disclosure=False,
        )
    _nothing_written(register, data, before)


def test_a_disclosure_never_assessed_is_refused(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    disclosure = store.get(register, "DSA-001", organisation=ORGANISATION).disclosure
    store.add(
        register,
        disclosure.with_values(reference="DSA-NEW"),
        organisation=ORGANISATION,
        actor="ig-lead",
    )
    before = tree(data)
    with pytest.raises(AssessmentNeeded, match=r"has not been assessed.*disclosures assess"):
        run(
            register,
            str(source),
            str(data / "out.parquet"),
            disclosure="DSA-NEW",
            register_disclosure=False,
        )
    _nothing_written(register, data, before)


def test_a_disclosure_needing_more_information_is_refused_naming_it(register, data):
    values = {**IN_SCOPE, "cag_condition": ""}
    assert assessed(register, "DSA-CAG", values) == "MORE INFORMATION NEEDED"
    source = write_parquet(episodes(), data / "in.parquet")
    with pytest.raises(AssessmentNeeded, match=r"missing: cag_condition") as caught:
        run(register, str(source), str(data / "out.parquet"), disclosure="DSA-CAG")
    assert caught.value.details["missing"] == ["cag_condition"]


def test_a_change_bearing_on_scope_since_the_assessment_is_refused(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    store.change(
        register,
        "DSA-001",
        {"legal_bases": ("explicit_consent",), "cag_reference": None, "cag_condition": None},
        organisation=ORGANISATION,
        actor="ig-lead",
    )
    with pytest.raises(AssessmentNeeded, match=r"changed .* since it was last assessed"):
        run(register, str(source), str(data / "out.parquet"))
    # Assessed again, the consent basis means opt-outs do not apply: everything is kept.
    assessments.assess(register, "DSA-001", organisation=ORGANISATION, actor="ig-lead")
    result = run(register, str(source), str(data / "out.parquet"))
    assert result.manifest["opt_outs"] == "not applied"


def test_a_change_that_does_not_bear_on_scope_keeps_the_assessment(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    store.change(
        register, "DSA-001", {"owner": "Head of research"}, organisation=ORGANISATION, actor="x"
    )
    result = run(register, str(source), str(data / "out.parquet"))
    assert result.manifest["opt_outs"] == "applied"
    assert result.manifest["counts"]["rows_out"] == 3


def test_the_manifest_names_the_assessment_it_rests_on(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    latest = assessments.latest(register, "DSA-001", organisation=ORGANISATION)
    assert latest is not None
    result = run(register, str(source), str(data / "out.parquet"))
    summary = result.manifest["assessment"]
    assert summary["id"] == latest.id and summary["outcome"] == "APPLY"
    assert summary["ruleset"] == latest.result.ruleset
    stored = json.loads(result.manifest_path.read_text()) if result.manifest_path else {}
    assert stored["assessment"] == summary


def test_opt_outs_that_do_not_apply_release_every_row_with_the_justification(register, data):
    """Consent covers the flow: nothing is withheld, no list is fetched over MESH (the
    source asks for a check but no mailbox exists), and rows without a valid number do
    not stop the release."""
    assert assessed(register, "DSA-CONSENT", CONSENTED) == "DO NOT APPLY"
    source = write_parquet(with_unmatched(), data / "in.parquet")
    result = run(
        register,
        str(source),
        str(data / "out.parquet"),
        disclosure="DSA-CONSENT",
        choice=SourceChoice(kind="mesh"),
    )
    manifest = result.manifest
    assert manifest["opt_outs"] == "not applied"
    assert manifest["counts"]["rows_in"] == manifest["counts"]["rows_out"] == 8
    assert manifest["counts"]["rows_withheld"] == 0
    assert manifest["unmatched"]["decision"] == "keep"
    assert manifest["source"]["kind"] == "not_applied"
    assert any("explicit consent" in reason for reason in manifest["source"]["justification"])
    assert all(c["source"].startswith("https://") for c in manifest["source"]["cites"])
    assert "national data opt-outs do not apply to it" in result.notice
    assert "explicit consent" in result.notice
    [row] = releases(register)
    assert (row.source, row.rows_in, row.rows_out) == ("not_applied", 8, 8)


def test_a_not_applied_release_may_still_drop_rows_without_a_valid_number(register, data):
    assessed(register, "DSA-CONSENT", CONSENTED)
    source = write_parquet(with_unmatched(), data / "in.parquet")
    result = run(
        register, str(source), str(data / "out.parquet"), disclosure="DSA-CONSENT", unmatched="drop"
    )
    assert result.manifest["counts"]["rows_out"] == 5
    assert "without a valid NHS number were removed, as the sender decided" in result.notice
