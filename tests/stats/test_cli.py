"""``ndoo stats publish``: one library call, the setting for test numbers, clear errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ndoo.cli.main import cli
from ndoo.db import Database
from tests.stats.conftest import Hand


@pytest.fixture
def run(db: Database, tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NDOO_DATABASE_URL", db.url)
    monkeypatch.setenv("NDOO_ENV_FILE", str(tmp_path / "absent.env"))

    def invoke(*args: str):
        return CliRunner().invoke(cli, ["stats", *args], catch_exceptions=False)

    return invoke


def test_publish_writes_the_files_and_reports_the_reporting_month(run, hand: Hand, tmp_path):
    out = tmp_path / "pub"
    result = run("publish", "--period-end", "2024-06-01", "--months", "3", "--out", str(out),
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["opt_out"], body["list_size"], body["deceased"]) == (6, 9, 2)
    assert body["drop_test_numbers"] is True
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("NDOP_chart_")) == [
        "NDOP_age_gen_Jun_2024.csv", "NDOP_reg_geog_Jun_2024.csv",
        "NDOP_res_geog_Jun_2024.csv", "NDOP_sum_Jun_2024.xlsx",
    ]  # fmt: skip
    assert len([p for p in out.iterdir() if p.name.startswith("NDOP_chart_")]) == 8
    again = run("publish", "--period-end", "2024-06-01", "--out", str(out))
    assert again.exit_code == 1 and "already in" in again.output
    text = run("publish", "--period-end", "2024-06-01", "--months", "3", "--out", str(out),
               "--overwrite", "--keep-test-numbers")  # fmt: skip
    assert text.exit_code == 0
    assert text.output.startswith("01 June 2024: 8 opt-outs, list size 9 (88.89%), 2 deceased")


def test_the_setting_decides_unless_an_option_is_given(run, hand: Hand, tmp_path, monkeypatch):
    monkeypatch.setenv("NDOO_STATS_DROP_TEST_NUMBERS", "false")
    result = run("publish", "--period-end", "2024-06-01", "--months", "1",
                 "--out", str(tmp_path / "a"), "--json")  # fmt: skip
    assert json.loads(result.output)["opt_out"] == 8
    result = run("publish", "--period-end", "2024-06-01", "--months", "1",
                 "--out", str(tmp_path / "b"), "--json", "--drop-test-numbers")  # fmt: skip
    assert json.loads(result.output)["opt_out"] == 6


@pytest.mark.parametrize("bad", ["2024-06-15", "June"])
def test_a_period_end_that_is_not_the_first_of_a_month_is_one_clear_error(run, tmp_path, bad):
    result = run("publish", "--period-end", bad, "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "ndoo: error:" in result.output and "YYYY-MM-01" in result.output
