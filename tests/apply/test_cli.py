"""``ndoo apply`` as an analyst types it: summaries, JSON, one-line errors, exit codes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from ndoo.cli.main import cli
from ndoo.db import Database
from ndoo.mesh.sandbox import Sandbox
from ndoo.mesh.transport import Mailbox
from ndoo.pos.service import CheckService
from tests.apply.helpers import (
    KEPT_EPISODES,
    NHS_LIKE,
    NOT_OPTED_OUT,
    OPTED_OUT,
    digest,
    episodes,
    read_table,
    releases,
    tree,
    write_parquet,
)
from tests.conftest import SERVICE_MAILBOX, SHARED_KEY

CSV = (
    "episode,nhs_number,code\n"
    f"E01,{OPTED_OUT[0]},007\n"
    "E02,943 476 5919,A01\n"
    f"E03,{OPTED_OUT[1]},B02\n"
    f"E04,{NOT_OPTED_OUT[0]},C03\n"
    "E05,900-000-0009,D04\n"
    f"E06,{NOT_OPTED_OUT[1]},E05\n"
)
KEPT_CSV = (
    "episode,nhs_number,code\nE02,943 476 5919,A01\n"
    f"E04,{NOT_OPTED_OUT[0]},C03\nE06,{NOT_OPTED_OUT[1]},E05\n"
)

Invoke = Callable[..., Result]


@pytest.fixture
def ndoo(tmp_path: Path, register: Database, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("NDOO_DATABASE_URL", f"sqlite:///{tmp_path / 'register.db'}")
    monkeypatch.setenv("NDOO_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("NDOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NDOO_ACTOR", "analyst@trust.nhs.uk")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "episodes.csv").write_text(CSV)
    return folder


def apply_args(data: Path, *extra: str, out: str = "release.csv") -> list[str]:
    return [
        "apply",
        str(data / "episodes.csv"),
        "--nhs-number-column",
        "nhs_number",
        "--out",
        str(data / out),
        "--disclosure",
        "DSA-042",
        "--source",
        "register",
        *extra,
    ]


# ---------------------------------------------------------------------------
# Help


def test_apply_help_explains_both_commands_with_an_example(ndoo):
    result = ndoo("apply", "--help")
    assert result.exit_code == 0
    assert "Apply national data opt-outs to a dataset before it is disclosed." in result.output
    assert "run" in result.output and "verify" in result.output
    assert "Example:" in result.output and "ndoo apply episodes.csv" in result.output


def test_apply_run_help_lists_every_option_and_an_example(ndoo):
    result = ndoo("apply", "run", "--help")
    assert result.exit_code == 0
    for option in (
        "--nhs-number-column",
        "--out",
        "--disclosure",
        "--source",
        "--unmatched",
        "--table",
        "--out-table",
        "--delimiter",
        "--encoding",
        "--overwrite",
        "--dry-run",
        "--manifest",
        "--json",
    ):
        assert option in result.output, option
    assert "[register|cache|mesh]" in result.output
    assert "[stop|keep|drop]" in result.output
    assert "Example:" in result.output


def test_apply_verify_help_has_an_example(ndoo):
    result = ndoo("apply", "verify", "--help")
    assert result.exit_code == 0
    assert "ndoo apply verify release.parquet.manifest.json" in result.output


# ---------------------------------------------------------------------------
# Releasing


def test_a_release_prints_a_summary_and_writes_output_manifest_and_notice(ndoo, data, register):
    result = ndoo(*apply_args(data))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Released 3 of 6 rows for disclosure DSA-042; 3 removed (3 with an opt-out).",
        "Distinct patients: 5 in, 3 out.",
        "Opt-outs from: register.",
        f"Manifest: {data / 'release.csv.manifest.json'}",
        f"Notice for the recipient: {data / 'release.csv.notice.txt'}",
    ]
    assert (data / "release.csv").read_text() == KEPT_CSV
    manifest = json.loads((data / "release.csv.manifest.json").read_text())
    assert manifest["operator"] == "analyst@trust.nhs.uk"
    assert (data / "release.csv.notice.txt").read_text().startswith("Release notice")
    assert not NHS_LIKE.search(result.output)
    assert ndoo("audit", "verify").exit_code == 0
    assert len(releases(register)) == 1


def test_a_release_as_json(ndoo, data):
    result = ndoo(*apply_args(data, "--json", "--out-format", "parquet", out="release"))
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) == {"manifest", "manifest_path", "notice_path"}
    assert body["manifest"]["counts"]["rows_out"] == 3
    assert body["manifest_path"] == str(data / "release.manifest.json")
    assert body["notice_path"] == str(data / "release.notice.txt")
    assert pq.read_table(data / "release").column("episode").to_pylist() == KEPT_EPISODES


def test_options_may_come_before_the_input(ndoo, data):
    result = ndoo(
        "apply",
        "-c",
        "nhs_number",
        "--source",
        "register",
        "--disclosure",
        "D-1",
        "--out",
        data / "out.csv",
        data / "episodes.csv",
    )
    assert result.exit_code == 0, result.output
    assert (data / "out.csv").read_text() == KEPT_CSV


def test_a_dry_run_prints_the_counts_and_writes_nothing(ndoo, data, register):
    before = tree(data)
    result = ndoo(*apply_args(data, "--dry-run"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Dry run: would release 3 of 6 rows for disclosure DSA-042")
    assert "Manifest:" not in result.stdout
    assert tree(data) == before
    assert releases(register) == []


def test_csv_options_given_on_the_command_line(ndoo, data):
    source = data / "extract.dat"
    source.write_bytes(
        f"nhs_number;name\n{NOT_OPTED_OUT[0]};Zoë\n{OPTED_OUT[0]};Renée\n".encode("cp1252")
    )
    result = ndoo(
        "apply",
        source,
        "-c",
        "nhs_number",
        "--format",
        "csv",
        "--delimiter",
        ";",
        "--encoding",
        "cp1252",
        "--out",
        data / "out.csv",
        "--disclosure",
        "D-1",
        "--source",
        "register",
    )
    assert result.exit_code == 0, result.output
    assert (data / "out.csv").read_bytes() == f"nhs_number;name\n{NOT_OPTED_OUT[0]};Zoë\n".encode(
        "cp1252"
    )


def test_tables_in_and_out_on_the_command_line(ndoo, tmp_path, data):
    trust = f"sqlite:///{tmp_path / 'trust.db'}"
    engine = sa.create_engine(trust)
    with engine.begin() as conn:
        table = sa.Table("episodes", sa.MetaData(), sa.Column("nhs_number", sa.Text))
        table.create(conn)
        conn.execute(table.insert(), [{"nhs_number": OPTED_OUT[0]}, {"nhs_number": "9434765919"}])
    engine.dispose()
    released = f"sqlite:///{tmp_path / 'released.db'}"
    result = ndoo(
        "apply",
        trust,
        "--table",
        "episodes",
        "-c",
        "nhs_number",
        "--out",
        released,
        "--out-table",
        "episodes_released",
        "--manifest",
        data / "released.manifest.json",
        "--disclosure",
        "D-1",
        "--source",
        "register",
    )
    assert result.exit_code == 0, result.output
    assert read_table(released, "episodes_released") == (["nhs_number"], [("9434765919",)])
    assert (data / "released.notice.txt").exists()
    verified = ndoo("apply", "verify", data / "released.manifest.json", "--url", released)
    assert verified.exit_code == 0, verified.output


# ---------------------------------------------------------------------------
# Errors: one line, or the JSON error shape; exit 1; nothing written


def test_a_missing_column_is_one_line_naming_the_columns(ndoo, data):
    before = tree(data)
    args = apply_args(data)
    result = ndoo(*args[:3], "nhs", *args[4:])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "ndoo: error: the dataset has no column 'nhs'; its columns are: "
        "'episode', 'nhs_number', 'code'\n"
    )
    assert tree(data) == before


def test_errors_as_json_take_the_one_error_shape(ndoo, data):
    (data / "episodes.csv").write_text(CSV + "E07,,X\nE08,12345,Y\n")
    result = ndoo(*apply_args(data, "--json"))
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "invalid_input"
    assert body["error"]["details"] == {
        "field": "nhs_number",
        "missing": 1,
        "invalid": 1,
        "rows": [7, 8],
    }
    assert "rows 7, 8" in body["error"]["message"]
    assert not (data / "release.csv").exists()


def test_unmatched_rows_can_be_decided_on_the_command_line(ndoo, data):
    (data / "episodes.csv").write_text(CSV + "E07,,X\n")
    stopped = ndoo(*apply_args(data))
    assert stopped.exit_code == 1 and "--unmatched keep or --unmatched drop" in stopped.stderr
    kept = ndoo(*apply_args(data, "--unmatched", "keep"))
    assert kept.exit_code == 0, kept.output
    assert "Rows without a valid NHS number: 1 (keep)." in kept.stdout
    assert (data / "release.csv").read_text() == KEPT_CSV + "E07,,X\n"
    dropped = ndoo(*apply_args(data, "--unmatched", "drop", "--overwrite"))
    assert dropped.exit_code == 0, dropped.output
    assert (data / "release.csv").read_text() == KEPT_CSV
    manifest = json.loads((data / "release.csv.manifest.json").read_text())
    assert manifest["unmatched"]["decision"] == "drop"


def test_an_unknown_decision_is_a_usage_error(ndoo, data):
    result = ndoo(*apply_args(data, "--unmatched", "maybe"))
    assert result.exit_code == 2
    assert "'maybe' is not one of 'stop', 'keep', 'drop'" in result.output


def test_an_existing_output_needs_overwrite(ndoo, data):
    (data / "release.csv").write_text("earlier\n")
    refused = ndoo(*apply_args(data))
    assert refused.exit_code == 1
    assert refused.stderr.startswith("ndoo: error: ") and "--overwrite" in refused.stderr
    assert (data / "release.csv").read_text() == "earlier\n"
    replaced = ndoo(*apply_args(data, "--overwrite"))
    assert replaced.exit_code == 0, replaced.output
    assert (data / "release.csv").read_text() == KEPT_CSV


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sqlite:///x.db"], "--table is needed with a database URL"),
        (["missing.csv"], "missing.csv: no such file or folder"),
    ],
)
def test_an_unusable_input_is_named(ndoo, data, args, message):
    result = ndoo(
        "apply", *args, "-c", "n", "--out", data / "o.csv", "--disclosure", "D", "--source",
        "register",
    )  # fmt: skip
    assert result.exit_code == 1
    assert message in result.stderr


def test_an_unreachable_output_database_is_named(ndoo, data):
    pytest.importorskip("psycopg")
    result = ndoo(
        *apply_args(data)[:5],
        "postgresql://root:hunter2@127.0.0.1:1/test",
        "--out-table",
        "released",
        "--manifest",
        data / "m.json",
        *apply_args(data)[6:],
    )
    assert result.exit_code == 1
    assert "cannot reach the database" in result.stderr and "hunter2" not in result.stderr


# ---------------------------------------------------------------------------
# Verifying


def test_verify_says_ok_then_finds_a_tampered_output(ndoo, data):
    assert ndoo(*apply_args(data)).exit_code == 0
    manifest = data / "release.csv.manifest.json"
    ok = ndoo("apply", "verify", manifest)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines()[-1] == "verified: the output matches its manifest"
    assert "ok: rows: 3 as recorded" in ok.stdout
    as_json = json.loads(ndoo("apply", "verify", manifest, "--json").stdout)
    assert as_json["ok"] is True and as_json["problems"] == []
    before = digest(data / "release.csv")
    (data / "release.csv").write_text(KEPT_CSV + f"E01,{OPTED_OUT[0]},007\n")
    assert digest(data / "release.csv") != before
    bad = ndoo("apply", "verify", manifest)
    assert bad.exit_code == 1
    assert "PROBLEM: release.csv: changed since release (SHA-256 differs)" in bad.stdout
    assert bad.stdout.splitlines()[-1] == "NOT verified"
    bad_json = ndoo("apply", "verify", manifest, "--json")
    assert bad_json.exit_code == 1 and json.loads(bad_json.stdout)["ok"] is False


def test_verify_finds_an_edited_manifest(ndoo, data):
    assert ndoo(*apply_args(data)).exit_code == 0
    manifest = data / "release.csv.manifest.json"
    content = json.loads(manifest.read_text())
    content["operator"] = "someone else"
    manifest.write_text(json.dumps(content))
    result = ndoo("apply", "verify", manifest)
    assert result.exit_code == 1
    assert "PROBLEM: the manifest differs from the copy stored in the database" in result.stdout


def test_verify_of_something_that_is_not_a_manifest(ndoo, data):
    result = ndoo("apply", "verify", data / "episodes.csv", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "invalid_input"


# ---------------------------------------------------------------------------
# A fresh check over MESH, from the command line


@pytest.fixture
def service(
    register: Database, mesh: Sandbox, open_mailbox: Callable[..., Mailbox], monkeypatch
) -> Iterator[None]:
    monkeypatch.setenv("NDOO_MESH_URL", mesh.url)
    monkeypatch.setenv("NDOO_MESH_SHARED_KEY", SHARED_KEY)
    monkeypatch.setenv("NDOO_CHECK_POLL_MAX", "0.5")
    monkeypatch.setenv("NDOO_CHECK_WAIT", "30")
    checker = CheckService(register, open_mailbox(SERVICE_MAILBOX))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            checker.poll()
            stop.wait(0.1)

    worker = threading.Thread(target=serve, name="check-service", daemon=True)
    worker.start()
    yield
    stop.set()
    worker.join(30)


def test_source_mesh_checks_the_datasets_numbers_first(ndoo, data, service):
    result = ndoo(*apply_args(data)[:-1], "mesh", "--json")
    assert result.exit_code == 0, result.output
    source = json.loads(result.stdout)["manifest"]["source"]
    assert (source["kind"], source["sent"], source["covered"], source["kept"]) == (
        "mesh",
        5,
        5,
        3,
    )
    assert (data / "release.csv").read_text() == KEPT_CSV


def test_source_cache_without_a_list_explains_what_to_do(ndoo, data):
    result = ndoo(*apply_args(data)[:-1], "cache", "--cohort", "gp-registered")
    assert result.exit_code == 1
    assert "ndoo check run" in result.stderr and "gp-registered" in result.stderr
    assert not (data / "release.csv").exists()


@pytest.mark.parametrize("keep_order", [True, False])
def test_a_parquet_folder_input_from_the_command_line(ndoo, data, keep_order):
    folder = data / "parts"
    folder.mkdir()
    write_parquet(episodes().slice(0, 2), folder / "a.parquet")
    write_parquet(episodes().slice(2), folder / "b.parquet")
    result = ndoo(
        "apply", folder, "-c", "nhs_number", "--out", data / "out.jsonl", "--disclosure", "D-1",
        "--source", "register", *(["--keep-order"] if keep_order else []),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = (data / "out.jsonl").read_text().splitlines()
    episodes_out = [json.loads(line)["episode"] for line in lines]
    manifest = json.loads((data / "out.jsonl.manifest.json").read_text())
    if keep_order:
        assert episodes_out == KEPT_EPISODES
        assert manifest["row_order"] == "kept"
    else:  # the same rows; blocks read in parallel may interleave
        assert sorted(episodes_out) == KEPT_EPISODES
        assert manifest["row_order"] == "not guaranteed"
