"""``ndoo disclosures`` as an information-governance lead uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ndoo.cli.main import cli


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NDOO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NDOO_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("NDOO_ACTOR", "ig-lead")
    monkeypatch.setenv("NDOO_ORGANISATION_CODE", "RXX")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def add_research(run, reference: str = "RES-1", *extra: str):
    result = run(
        "disclosures", "add", reference,
        "--title", "Outcomes study", "--recipient", "University of Anytown",
        "--set", "purpose=research", "--set", "contains_cpi=yes", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def test_the_guided_assessment_asks_only_what_is_still_open(run):
    add_research(run)
    # Origin, anonymisation, legal basis, CAG condition, exemption, CAG reference: in
    # the rules' order; purpose and CPI were given when the disclosure was added.
    answers = "\n".join(["1", "no", "5", "1", "1", "21/CAG/0042"]) + "\n"
    result = run("disclosures", "assess", "RES-1", input=answers)
    assert result.exit_code == 0, result.output
    asked = [line for line in result.output.splitlines() if line.endswith("?")]
    assert asked == [
        "Where does the data originate?",
        "Is the data anonymised in line with the ICO's anonymisation code, or only aggregate "
        "counts?",
        "What is the common law legal basis for this flow?",
        "Check the approval letter or minutes: does the CAG approval carry the standard "
        "condition that opt-outs are respected, or exempt this flow?",
        "Does a national exemption cover this flow?",
        "What is the CAG reference of the section 251 approval?",
    ]
    assert "Confidential patient information" not in "".join(asked)
    assert "RES-1: APPLY (scope rules" in result.output
    assert "Operational policy guidance 5.1" in result.output
    listed = json.loads(run("disclosures", "list", "--json").output)
    assert [(d["reference"], d["state"], d["version"]) for d in listed] == [("RES-1", "APPLY", 7)]


def test_stopping_early_records_more_information_needed(run):
    add_research(run)
    result = run("disclosures", "assess", "RES-1", input="1\n\n")
    assert result.exit_code == 0, result.output
    assert "RES-1: MORE INFORMATION NEEDED" in result.output
    assert "Still needed: Anonymised to the ICO standard" in result.output
    shown = json.loads(run("disclosures", "show", "RES-1", "--json").output)
    assert shown["state"] == "MORE INFORMATION NEEDED"
    assert shown["record"]["origin"] == "england_health_adult_social_care"


def test_a_wrong_answer_is_asked_again(run):
    add_research(run, "RES-2", "--set", "origin=england", "--set", "anonymised=no")
    result = run("disclosures", "assess", "RES-2", input="maybe\n1\n\n")
    assert "Error: 'maybe' is not one of" in result.output
    assert json.loads(run("disclosures", "show", "RES-2", "--json").output)["record"][
        "legal_bases"
    ] == ["explicit_consent"]


def test_answers_given_as_options_and_json_output(run):
    add_research(run)
    result = run(
        "disclosures", "assess", "RES-1", "--json",
        "--set", "origin=england", "--set", "anonymised=no",
        "--set", "legal basis=Explicit consent",
    )  # fmt: skip
    body = json.loads(result.output)
    assert body["outcome"] == "DO NOT APPLY" and body["questions"] == []
    assert body["reasons"][-1]["rule"] == "Q3.explicit-consent"
    assert body["reasons"][-1]["source"].startswith("https://digital.nhs.uk/")


def test_contradictory_legal_bases_are_reported_and_asked_about(run):
    add_research(
        run, "RES-3", "--set", "origin=england", "--set", "anonymised=no",
        "--set", "legal_bases=Explicit consent; s251 reg 5",
    )  # fmt: skip
    unattended = run("disclosures", "assess", "RES-3", "--no-input")
    assert "RES-3: MORE INFORMATION NEEDED" in unattended.output
    assert (
        "Contradiction: Explicit consent and Section 251 support under Regulation 5 are both "
        "given as the legal basis; say which one covers this flow." in unattended.output
    )
    guided = run("disclosures", "assess", "RES-3", input="1\n")
    assert "These answers contradict each other" in guided.output
    assert "RES-3: DO NOT APPLY" in guided.output


def test_history_shows_versions_and_assessments(run):
    add_research(run)
    run("disclosures", "assess", "RES-1", "--no-input")
    run("disclosures", "change", "RES-1", "--set", "owner=Research office")
    history = json.loads(run("disclosures", "history", "RES-1", "--json").output)
    assert [v["change"] for v in history["versions"]] == ["created", "updated"]
    assert history["versions"][1]["changed"] == ["owner"]
    assert history["versions"][1]["scope_changed"] is False
    assert [a["outcome"] for a in history["assessments"]] == ["MORE INFORMATION NEEDED"]
    text = run("disclosures", "history", "RES-1").output
    assert "v2 updated by ig-lead: owner" in text


def test_a_library_case_starts_a_disclosure_and_asks_for_what_only_we_know(run):
    cases = {c["name"]: c for c in json.loads(run("disclosures", "library", "--json").output)}
    assert cases["national-clinical-audit-s251"]["expected"] == "APPLY"
    added = run("disclosures", "add", "LIB-1", "--from-library", "national-clinical-audit-s251")
    assert added.exit_code == 0, added.output
    assert "Fill in from your own records: CAG reference." in added.output
    first = json.loads(run("disclosures", "assess", "LIB-1", "--json").output)
    assert (first["outcome"], first["missing"]) == ("MORE INFORMATION NEEDED", ["cag_reference"])
    answered = run("disclosures", "assess", "LIB-1", "--json", "--set", "cag_reference=22/CAG/0101")
    assert json.loads(answered.output)["outcome"] == "APPLY"


def test_errors_name_the_field(run):
    bad = run(
        "disclosures", "add", "X-1", "--title", "t", "--recipient", "r", "--set", "purpose=fun"
    )
    assert bad.exit_code == 1
    assert bad.output.startswith("ndoo: error: Purpose: 'fun' is not one of: direct_care")
    missing = run("disclosures", "assess", "NOPE", "--json")
    assert json.loads(missing.output)["error"]["code"] == "disclosure_not_found"
    unknown = run("disclosures", "change", "X-1", "--set", "colour=blue")
    assert "expected FIELD=VALUE with FIELD one of reference" in unknown.output


def test_the_rules_are_shown_with_their_sources(run):
    body = json.loads(run("disclosures", "rules", "--json").output)
    assert body["version"] in body["versions"]
    assert all(rule["source"].startswith("https://") for rule in body["rules"])
    assert any(rule["unverified"] for rule in body["rules"])
