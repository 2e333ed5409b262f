"""``ndoo synth population`` as a person runs it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ndoo.cli.main import cli


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.setenv("NDOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NDOO_ENV_FILE", str(tmp_path / "absent.env"))
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["synth", "population", *args], catch_exceptions=False)

    return invoke


def test_writes_three_files_under_home_and_reports_json(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    result = run("--people", "2000", "--seed", "5", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["people"] == 2000
    assert summary["seed"] == 5
    assert summary["reference_date"] == "2026-10-01"
    assert 0 < summary["active_opt_outs"] < 2000
    out = tmp_path / "home" / "synth"
    assert Path(summary["out_dir"]) == out
    assert sorted(p.name for p in out.iterdir()) == [
        "events.parquet",
        "people.parquet",
        "practices.parquet",
    ]


def test_text_summary_names_the_rate(run: Callable[..., Result], tmp_path: Path) -> None:
    result = run("--people", "1500", "--out", str(tmp_path / "x"), "--reference-date", "2024-01-31")
    assert result.exit_code == 0, result.output
    assert "active opt-outs" in result.stdout
    assert "of the living on 2024-01-31" in result.stdout
    assert (tmp_path / "x" / "people.parquet").exists()


def test_an_impossible_date_is_one_line_on_stderr(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    result = run("--people", "10", "--out", str(tmp_path / "x"), "--reference-date", "2012-01-01")
    assert result.exit_code == 1
    assert result.stderr.startswith("ndoo: error: reference date must be between")
    as_json = run("--people", "10", "--reference-date", "2012-01-01", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["error"]["code"] == "invalid_input"


def test_people_must_be_positive(run: Callable[..., Result]) -> None:
    result = run("--people", "0")
    assert result.exit_code == 2
    assert "--people" in result.stderr
