"""`ndoo training` as an IG lead runs it: roster from a file, status, evidence, reminders
from cron."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ndoo.cli.main import cli
from ndoo.db import Database
from ndoo.db.migrate import upgrade
from ndoo.identity.notify import outbox
from ndoo.training import assessment, roster
from tests.training.helpers import take_module


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'org.db'}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    return {
        "NDOO_HOME": str(tmp_path / "home"),
        "NDOO_DATABASE_URL": url,
        "NDOO_ENV_FILE": str(tmp_path / "absent.env"),
        "NDOO_ACTOR": "ig.lead@trust.nhs.uk",
        "NDOO_TRAINING_REQUIRED_ROLES": "Nurse,Receptionist",
    }


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["training", *args], env=env)
    return result.exit_code, result.output


def test_roster_status_and_evidence(env, tmp_path):
    staff = tmp_path / "staff.csv"
    staff.write_text(
        "Name,Email,Team,Role\n"
        "Nia Jones,nia@trust.nhs.uk,Ward 1,Nurse\n"
        "Tom Hall,tom@trust.nhs.uk,Estates,Porter\n",
        encoding="utf-8",
    )
    code, out = _run(env, "roster", "import", str(staff))
    assert code == 0 and "2 joined" in out
    db = Database(env["NDOO_DATABASE_URL"])
    take_module(db, roster.get(db, "nia@trust.nhs.uk").id)
    db.dispose()

    code, out = _run(env, "status")
    assert code == 0 and out.startswith("100.0% of staff whose role requires the training")
    code, out = _run(env, "status", "--json")
    assert json.loads(out)["overall"]["required"] == 1

    code, out = _run(env, "evidence", str(tmp_path / "evidence.pdf"))
    assert code == 0 and (tmp_path / "evidence.pdf").read_bytes().startswith(b"%PDF-")
    code, out = _run(env, "evidence", str(tmp_path / "evidence.pdf"))
    assert code == 1 and "already exists" in out

    staff.write_text("Name,Email,Team,Role\nNia Jones,nia@trust.nhs.uk,Ward 1,Nurse\n")
    code, out = _run(env, "roster", "import", str(staff))
    assert "tom@trust.nhs.uk" in out and "--whole-list" in out
    code, out = _run(env, "roster", "import", str(staff), "--whole-list")
    assert "1 left" in out


def test_a_bad_roster_is_one_message_naming_the_line(env, tmp_path):
    staff = tmp_path / "staff.csv"
    staff.write_text("Name,Email,Team,Role\nNia,not-an-email,Ward 1,Nurse\n", encoding="utf-8")
    code, out = _run(env, "roster", "import", str(staff))
    assert code == 1
    assert "staff.csv: 1 row has a problem, nothing was imported: line 2, field 'email'" in out


def test_remind_from_cron_sends_each_reminder_once(env):
    db = Database(env["NDOO_DATABASE_URL"])
    roster.add(db, name="Nia Jones", email="nia@trust.nhs.uk", team="W", role="Nurse", actor="t")
    done = assessment.completion(db, take_module(db, roster.get(db, "nia@trust.nhs.uk").id))
    day = (done.expires_on - timedelta(days=30)).isoformat()
    command = [sys.executable, "-m", "ndoo.cli.main", "training", "remind", "--today", day]
    for _ in range(3):  # cron firing again, as separate processes
        finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert finished.returncode == 0, finished.stderr
    assert "0 reminders sent" in finished.stdout
    sent = [m for m in outbox(db) if (m.reference or "").startswith("training-reminder-")]
    assert len(sent) == 1 and sent[0].recipient == "nia@trust.nhs.uk"
    assert "nia@trust.nhs.uk" not in finished.stdout + finished.stderr
    db.dispose()


def test_check_reports_the_content_and_both_translations(env):
    _, out = _run(env, "check")
    assert "12 learning points" in out
    assert "Cymraeg (cy):" in out and "Polski (pl):" in out
