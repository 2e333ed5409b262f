"""``ndoo compliance`` as a person uses it: readable text, one error line, JSON."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from ndoo.cli.main import cli
from ndoo.errors import DeclarationRefused, InputError, error_body
from tests.compliance.conftest import ORG
from tests.compliance.helpers import EVIDENCE


@pytest.fixture
def run(db, tmp_path):
    env = {
        "NDOO_DATABASE_URL": db.url,
        "NDOO_ENV_FILE": str(tmp_path / "absent.env"),
        "NDOO_ACTOR": "cli-test",
        "NDOO_ORGANISATION_CODE": ORG,
        "NDOO_ORGANISATION_NAME": "Anytown Hospitals NHS Foundation Trust",
        "NDOO_TECHNICAL_SOLUTION_BY_SUPPLIER": "false",
    }
    runner = CliRunner()

    def invoke(*args: str, **extra: str):
        return runner.invoke(
            cli, ["compliance", *args], env={**env, **extra}, catch_exceptions=False
        )

    return invoke


def test_status_shows_the_whole_picture(run, add_disclosure):
    add_disclosure("R-NOW")
    add_disclosure("R-NEW", "unassessed")
    result = run("status")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{ORG}: not started (as of ")
    assert "1. Assess data disclosures and update procedures" in result.output
    assert "not started; owner Information governance lead" in result.output
    assert "Technical solution: required (provisional)" in result.output
    assert "Declaration: not declared" in result.output
    assert "APPLY: 1 (R-NOW)" in result.output
    assert "not assessed: 1 (R-NEW)" in result.output
    assert "Assess disclosure R-NEW" in result.output


def test_status_as_json(run, add_disclosure):
    add_disclosure("R-NOW")
    body = json.loads(run("status", "--json").output)
    assert body["organisation"] == ORG
    assert body["state"] == "not started"
    assert len(body["steps"]) == 5
    assert body["technical_solution"]["verdict"] == "required"
    assert body["disclosures"]["counts"] == {"APPLY": 1}


def test_a_step_is_shown_and_changed(run):
    shown = run("step", "2")
    assert shown.exit_code == 0
    assert "2. Decide whether to implement the technical solution" in shown.output
    assert "not started; owner Senior Information Risk Owner" in shown.output
    changed = run("step", "2", "--status", "in_progress", "--owner", "board", "--due", "2026-03-31")
    assert changed.exit_code == 0, changed.output
    assert "in progress; owner Board; due 2026-03-31" in changed.output
    assert "last changed" in changed.output and "by cli-test" in changed.output
    body = json.loads(run("step", "2", "--json").output)
    assert (body["status"], body["owner_role"], body["due"]) == (
        "in_progress",
        "board",
        "2026-03-31",
    )


def test_done_without_evidence_is_one_error_line(run):
    result = run("step", "1", "--status", "done")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("ndoo: error: action 1 (Assess data disclosures")


def test_errors_as_json_have_the_one_shape(run):
    result = run("step", "1", "--status", "done", "--json")
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "invalid_input"
    assert body["error"]["details"] == {"field": "evidence"}
    bad_date = json.loads(run("step", "1", "--due", "31/03/2026", "--json").output)
    assert bad_date == error_body(
        InputError("--due '31/03/2026' is not a date (YYYY-MM-DD)", field="--due")
    )


def test_declare_is_refused_naming_every_undone_step_then_accepted(run, add_disclosure):
    add_disclosure("R-CONSENT", "do_not_apply")
    refused = run("declare", "--json")
    assert refused.exit_code == 1
    body = json.loads(refused.output)
    assert body["error"]["code"] == DeclarationRefused.code
    assert body["error"]["details"]["steps"] == [1, 2, 3, 4, 5]
    assert "action 5 (Plan communications and declare compliance)" in body["error"]["message"]

    for action, evidence in EVIDENCE.items():
        if action == 3:
            result = run("step", "3", "--status", "not_needed")
        else:
            result = run("step", str(action), "--status", "done", "--evidence", evidence)
        assert result.exit_code == 0, result.output
    assert json.loads(run("status", "--json").output)["state"] == "ready to declare"

    declared = run("declare")
    assert declared.exit_code == 0, declared.output
    assert "complies with the national data opt-out policy from" in declared.output
    assert "technical solution optional" in declared.output
    body = json.loads(run("status", "--json").output)
    assert body["state"] == "declared"
    assert body["declaration"]["declared_by"] == "cli-test"


def test_the_supplier_setting_lets_action_3_be_not_needed(run, add_disclosure, tmp_path):
    add_disclosure("R-NOW")
    supplier = {"NDOO_TECHNICAL_SOLUTION_BY_SUPPLIER": "true"}
    refused = run("step", "3", "--status", "not_needed")
    assert refused.exit_code == 1
    assert "the technical solution is required" in refused.output

    shown = run("status", **supplier)
    assert (
        "Technical solution: required; opt-outs applied by the clinical system supplier"
        in shown.output
    )
    assert "by the supplier's system" in shown.output
    for action, evidence in EVIDENCE.items():
        if action == 3:
            result = run("step", "3", "--status", "not_needed", **supplier)
        else:
            result = run("step", str(action), "--status", "done", "--evidence", evidence)
        assert result.exit_code == 0, result.output
    assert run("declare").exit_code == 1
    declared = run("declare", **supplier)
    assert declared.exit_code == 0, declared.output
    assert "(technical solution required, opt-outs applied by the clinical" in declared.output
    out = tmp_path / "docs"
    assert run("documents", "--out", str(out), "--format", "md", **supplier).exit_code == 0
    assert "clinical system supplier" in (out / "dpia.md").read_text(encoding="utf-8")


def test_declare_refuses_a_date_in_the_past(run):
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    result = run("declare", "--on", yesterday)
    assert result.exit_code == 1
    assert "is in the past" in result.output


def test_documents_are_written_where_asked(run, add_disclosure, tmp_path):
    add_disclosure("R-NOW", recipient="University of Anytown")
    out = tmp_path / "docs"
    result = run("documents", "--out", str(out), "--format", "html")
    assert result.exit_code == 0, result.output
    assert "wrote 5 files" in result.output
    notice = (out / "recipient-notice-university-of-anytown.html").read_text(encoding="utf-8")
    assert "Anytown Hospitals NHS Foundation Trust" in notice
    assert not list(out.glob("*.md"))


def test_another_organisation_can_be_named(run, add_disclosure):
    add_disclosure("R-OTHER", organisation="RXX")
    body = json.loads(run("status", "--organisation", "rxx", "--json").output)
    assert body["organisation"] == "RXX"
    assert body["disclosures"]["counts"] == {"APPLY": 1}
    assert json.loads(run("status", "--json").output)["disclosures"]["total"] == 0
    bad = json.loads(run("status", "--organisation", "R X!", "--json").output)
    assert bad["error"]["code"] == "invalid_input"


def test_an_action_that_does_not_exist_is_named(run):
    result = run("step", "9")
    assert result.exit_code == 1
    assert (
        result.output == "ndoo: error: there is no action 9; the programme's actions are 1 to 5\n"
    )
