"""The command line as a person uses it: one line per error, exit codes, JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ndoo.cli.main import cli
from ndoo.mesh.sandbox import free_port
from tests.conftest import ADULT, CHILD


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NDOO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NDOO_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("NDOO_ACTOR", "cli-test")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def test_a_contact_centre_session(run):
    assert run("person", "add", ADULT, "--born", "1980-04-01", "--gender", "2").exit_code == 0
    shown = run("register", "show", "943 476 5919")
    assert shown.exit_code == 0
    assert "943 476 5919: opted in" in shown.output
    done = run(
        "register", "set", ADULT, "--opt-out", "--channel", "CC", "--self", "--case-ref", "1-C"
    )
    assert done.exit_code == 0, done.output
    assert done.output.startswith("recorded: 943 476 5919: opted out since")
    again = run("register", "set", ADULT, "--opt-out", "--channel", "OP", "--self")
    assert "unchanged" in again.output
    history = json.loads(run("register", "history", ADULT, "--json").output)
    assert [e["channel"] for e in history["events"]] == ["CC"]
    assert history["events"][0]["case_reference"] == "1-C"
    log = run("audit", "log", "--action", "register.set")
    assert "cli-test register.set" in log.output
    assert ADULT not in log.output
    assert run("audit", "verify").exit_code == 0


def test_rule_violation_is_one_line_and_exit_1(run):
    run("person", "add", CHILD, "--born", "2018-01-01", "--gender", "1")
    result = run("register", "set", CHILD, "--opt-out", "--channel", "OP", "--self")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("ndoo: error: a child under 13")


def test_bad_nhs_number_names_the_problem(run):
    result = run("register", "show", "943-476-591X")
    assert result.exit_code == 1
    assert "only digits, spaces and hyphens" in result.output


def test_errors_as_json_have_the_one_shape(run):
    result = run("register", "show", ADULT, "--json")
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body == {
        "error": {
            "code": "person_not_found",
            "message": "no person with that NHS number is known to the register",
            "details": {},
        }
    }


def test_unmigrated_database_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("NDOO_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = CliRunner().invoke(cli, ["register", "show", ADULT])
    assert result.exit_code == 1
    assert "run `ndoo db upgrade`" in result.output


def test_unreachable_database_is_one_line(monkeypatch):
    monkeypatch.setenv("NDOO_DATABASE_URL", "postgresql://x:pw@127.0.0.1:1/db?connect_timeout=2")
    result = CliRunner().invoke(cli, ["db", "status"])
    assert result.exit_code == 1
    assert result.output.startswith("ndoo: error: cannot reach the database")
    assert "pw" not in result.output.replace("postgresql", "")


def test_type2_import_from_the_command_line(run, tmp_path):
    run("person", "add", ADULT, "--born", "1970-01-01", "--gender", "1")
    csv = tmp_path / "t2.csv"
    csv.write_text(
        f"nhs_number,code,date_recorded\n{ADULT},9Nu4,2017-03-03\n{ADULT},9Nu4,2019-01-01\n"
    )
    result = run("register", "import-type2", str(csv))
    assert result.exit_code == 0, result.output
    assert "converted to national data opt-outs: 1" in result.output
    assert "recorded after 11 October 2018, not converted: 1 (lines 3)" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("nhs_number,code,date_recorded\n123,9Nu4,2017-03-03\n")
    failed = run("register", "import-type2", str(bad))
    assert failed.exit_code == 1
    assert failed.output.startswith("ndoo: error: bad.csv, line 2, field 'nhs_number':")


def test_snapshot_writes_ten_digit_text(run, tmp_path):
    run("person", "add", ADULT, "--born", "1970-01-01", "--gender", "1")
    run("register", "set", ADULT, "--opt-out", "--channel", "OP", "--self")
    out = tmp_path / "out.txt"
    result = run("register", "snapshot", "--out", str(out))
    assert "1 opt-outs in force" in result.output
    assert out.read_text() == f"{ADULT}\n"


def test_person_update_records_capacity(run):
    run("person", "add", ADULT, "--born", "1940-01-01", "--gender", "2")
    shown = json.loads(run("person", "update", ADULT, "--lacks-capacity", "--json").output)
    assert shown["lacks_capacity"] is True


def test_settings_masks_the_password(monkeypatch):
    monkeypatch.setenv("NDOO_DATABASE_URL", "postgresql://ndoo:topsecret@db/ndoo")
    result = CliRunner().invoke(cli, ["settings"])
    assert result.exit_code == 0
    assert "topsecret" not in result.output
    assert "postgresql://ndoo:***@db/ndoo" in result.output


def test_demo_builds_a_register_and_summarises_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NDOO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NDOO_DATABASE_URL", raising=False)
    monkeypatch.setenv("NDOO_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("NDOO_MESH_URL", f"http://127.0.0.1:{free_port()}")
    first = CliRunner().invoke(cli, ["demo", "--people", "5000"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "Loaded synthetic England: 5,000 people" in first.output
    # The round trip over the local MESH sandbox and checking service.
    assert "sent X26ORG01-" in first.output and "sandbox started" in first.output
    checked = re.search(r"numbers checked\s+([\d,]+)", first.output)
    removed = re.search(r"removed for opt-outs\s+([\d,]+)", first.output)
    assert checked and removed and checked.group(1) != "0" and removed.group(1) != "0"
    assert (tmp_path / "home" / "demo-cohort.txt").is_file()
    assert "with a national opt-out" in first.output
    assert "London" in first.output and "South West" in first.output
    assert "audit trail intact" in first.output
    assert (tmp_path / "home" / "ndoo.db").is_file()
    again = CliRunner().invoke(cli, ["demo", "--json"], catch_exceptions=False)
    body = json.loads(again.output)
    assert body["loaded"] is None
    assert body["summary"]["people"] > 4800
    assert body["audit"]["ok"] is True
    assert body["check"]["cache_entry"]["cohort"] == "demo-registered"
    assert body["check"]["request"]["filename"].endswith("-0002.dat")
    reset = CliRunner().invoke(cli, ["demo", "--people", "3000", "--reset", "--json"])
    assert json.loads(reset.output)["loaded"]["people"] == 3000
