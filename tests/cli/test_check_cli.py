"""A round trip as an analyst runs it: `ndoo pos serve` in its own process, and the
organisation's commands against the same MESH sandbox."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ndoo.cli.main import cli
from ndoo.db import Database
from ndoo.db.migrate import upgrade
from ndoo.mesh.sandbox import Sandbox
from tests.conftest import SHARED_KEY
from tests.pos.helpers import NOT_OPTED_OUT, OPTED_OUT, register_with_optouts

NHS_NUMBER = re.compile(r"\b\d{10}\b|\b\d{3} \d{3} \d{4}\b")


@pytest.fixture
def env(tmp_path: Path, mesh: Sandbox) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'org.db'}"
    db = Database(url)
    upgrade(db)
    register_with_optouts(db)
    db.dispose()
    return {
        "NDOO_HOME": str(tmp_path / "home"),
        "NDOO_DATABASE_URL": url,
        "NDOO_ENV_FILE": str(tmp_path / "absent.env"),
        "NDOO_MESH_URL": mesh.url,
        "NDOO_MESH_SHARED_KEY": SHARED_KEY,
        "NDOO_ACTOR": "analyst@trust.nhs.uk",
        "NDOO_CHECK_POLL_MAX": "1",
    }


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "ndoo.cli.main", "pos", "serve", "--interval", "0.3"],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    log.close()
    assert "Stopped after" in (tmp_path / "worker.log").read_text()


def invoke(env: dict[str, str], *args: str):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_check_run_then_apply_the_cleaned_list(
    env: dict[str, str], worker: subprocess.Popen[bytes], tmp_path: Path
):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text(
        "nhs_number,practice\n"
        + "".join(f"{n[:3]} {n[3:6]} {n[6:]},A81001\n" for n in (*OPTED_OUT, *NOT_OPTED_OUT))
        + f"{NOT_OPTED_OUT[0]},A81001\n"
    )
    ran = invoke(
        env,
        "check",
        "run",
        str(cohort),
        "--column",
        "nhs_number",
        "--disclosure",
        "DARS-1",
        "--wait",
        "60",
    )
    assert ran.exit_code == 0, ran.output
    assert "5 checked, 3 may be used, 2 removed for opt-outs" in ran.output
    assert not NHS_NUMBER.search(ran.output)

    listed = invoke(env, "cache", "list")
    assert "DARS-1" in listed.output and "current" in listed.output
    assert not NHS_NUMBER.search(listed.output)

    out = tmp_path / "cleaned.csv"
    applied = invoke(
        env,
        "cache",
        "apply",
        str(cohort),
        "--cohort",
        "DARS-1",
        "--column",
        "nhs_number",
        "--purpose",
        "DARS-1 extract",
        "--out",
        str(out),
    )
    assert applied.exit_code == 0, applied.output
    assert "6 rows in, 2 removed for opt-outs, 4 written" in applied.output
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    kept = {row["nhs_number"].replace(" ", "") for row in rows}
    assert kept == set(NOT_OPTED_OUT) and all(row["practice"] == "A81001" for row in rows)

    status = invoke(env, "check", "status")
    assert "received" in status.output and "disclosure DARS-1" in status.output
    served = invoke(env, "pos", "status")
    assert "success" in served.output and "X26ORG01" in served.output


def test_an_invalid_list_is_refused_with_its_lines_and_nothing_is_sent(
    env: dict[str, str], tmp_path: Path, mesh: Sandbox
):
    bad = tmp_path / "bad.txt"
    bad.write_text("9434765919\n9434765918\n943476591\n")
    result = CliRunner().invoke(cli, ["check", "send", str(bad), "--disclosure", "D"], env=env)
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "2 entries are not valid NHS numbers, on lines 2, 3" in result.stderr
    assert "9434765918" not in result.stderr
    assert invoke(env, "check", "status").output.strip() == "No requests sent yet."


def test_mesh_down_is_one_clear_line(env: dict[str, str], tmp_path: Path):
    from tests.mesh.faulty import refused_url

    cohort = tmp_path / "c.txt"
    cohort.write_text("9434765919\n")
    down = {**env, "NDOO_MESH_URL": refused_url()}
    result = CliRunner().invoke(cli, ["check", "send", str(cohort), "--cohort", "all"], env=down)
    assert result.exit_code == 1
    assert result.stderr.startswith("ndoo: error: MESH send on mailbox X26ORG01")
    assert "cannot connect (connection refused)" in result.stderr
    assert "password" not in result.stderr.lower().replace("its password", "")


def test_an_old_cleaned_list_is_refused_with_when_and_how_to_refresh(
    env: dict[str, str], worker: subprocess.Popen[bytes], tmp_path: Path
):
    cohort = tmp_path / "c.txt"
    cohort.write_text("\n".join(NOT_OPTED_OUT) + "\n")
    assert (
        invoke(env, "check", "run", str(cohort), "--cohort", "all", "--wait", "60").exit_code == 0
    )
    data = tmp_path / "data.csv"
    data.write_text("nhs_number\n" + "\n".join(NOT_OPTED_OUT) + "\n")
    strict = {**env, "NDOO_CACHE_MAX_AGE_DAYS": "0.0000001"}
    result = CliRunner().invoke(
        cli,
        [
            "cache",
            "apply",
            str(data),
            "--cohort",
            "all",
            "--column",
            "nhs_number",
            "--purpose",
            "p",
            "--out",
            str(tmp_path / "o.csv"),
        ],
        env=strict,
    )
    assert result.exit_code == 1
    assert "ndoo cache refresh all" in result.stderr and "checked" in result.stderr
    assert not (tmp_path / "o.csv").exists()
    refreshed = invoke(env, "cache", "refresh", "all", "--wait", "60")
    assert refreshed.exit_code == 0 and "re-checked 3 numbers" in refreshed.output
