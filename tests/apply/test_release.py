"""A release as a whole: decisions on unmatched rows, evidence, refusals and atomic output."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndoo import __version__, audit
from ndoo.apply import manifest as manifests
from ndoo.apply import notice
from ndoo.apply import release as release_module
from ndoo.apply.duck import DuckEngine
from ndoo.apply.engine import Step
from ndoo.apply.locations import CsvDialect, Location
from ndoo.db import Database
from ndoo.errors import FileFormatError, InputError
from tests.apply.helpers import (
    KEPT_EPISODES,
    NHS_LIKE,
    NOT_OPTED_OUT,
    OPTED_OUT,
    audit_details,
    digest,
    episodes,
    register_with_optouts,
    releases,
    run,
    tree,
    write_parquet,
)


def with_unmatched(size: int = 8) -> pa.Table:
    """Episodes with a blank, a null and an invalid number among valid ones."""
    numbers = [
        NOT_OPTED_OUT[0],
        OPTED_OUT[0],
        "  ",
        NOT_OPTED_OUT[1],
        "9000000008",  # wrong check digit
        None,
        NOT_OPTED_OUT[2],
        OPTED_OUT[1],
    ][:size]
    return pa.table({"row": list(range(1, len(numbers) + 1)), "nhs_number": numbers})


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------
# The manifest, the stored release and the audit trail, on each backend


def test_the_manifest_records_the_whole_release(db: Database, data: Path):
    register_with_optouts(db)
    source = write_parquet(episodes(), data / "episodes.parquet")
    result = run(db, str(source), str(data / "release.parquet"), disclosure="DARS-NIC-1234")
    manifest = result.manifest

    assert manifest["schema"] == manifests.SCHEMA
    assert re.fullmatch(r"R\d{8}-[a-z]{8}", manifest["release_id"])
    assert manifest["disclosure"] == "DARS-NIC-1234" and manifest["dry_run"] is False
    assert manifest["input"] == {"format": "parquet", "path": str(source.resolve())}
    assert manifest["nhs_number_column"] == "nhs_number"
    output = data / "release.parquet"
    assert manifest["output"] == {
        "format": "parquet",
        "path": str(output.resolve()),
        "files": [
            {
                "name": "release.parquet",
                "bytes": output.stat().st_size,
                "sha256": manifests.sha256_file(output),
            }
        ],
    }
    assert manifest["counts"] == {
        "rows_in": 6,
        "rows_out": 3,
        "rows_removed": 3,
        "rows_withheld": 3,
        "distinct_patients_in": 5,
        "distinct_patients_out": 3,
    }
    assert manifest["unmatched"] == {
        "rows": 0,
        "missing": 0,
        "invalid": 0,
        "decision": "stop",
        "rows_dropped": 0,
        "rows_kept": 0,
        "first_rows": [],
    }
    source_info = manifest["source"]
    assert (source_info["kind"], source_info["opted_out"]) == ("register", 2)
    started, finished = parse_time(manifest["started_at"]), parse_time(manifest["finished_at"])
    assert started <= parse_time(source_info["snapshot_at"]) <= finished
    assert manifest["engine"] == "duckdb" and manifest["operator"] == "analyst"
    assert manifest["software"] == {"name": "ndoo", "version": __version__}
    # The file beside the output is the same manifest.
    assert result.manifest_path == data / "release.parquet.manifest.json"
    assert json.loads(result.manifest_path.read_text()) == manifest
    assert pq.read_table(output).column("episode").to_pylist() == KEPT_EPISODES


def test_the_release_is_stored_with_the_digest_of_its_manifest(db: Database, data: Path):
    register_with_optouts(db)
    source = write_parquet(episodes(), data / "episodes.parquet")
    result = run(db, str(source), str(data / "release.parquet"))
    (row,) = releases(db)
    manifest = result.manifest
    assert row.release_id == manifest["release_id"]
    assert (row.disclosure, row.actor, row.engine, row.source) == (
        "DSA-001",
        "analyst",
        "duckdb",
        "register",
    )
    assert (row.dry_run, row.rows_in, row.rows_out) == (False, 6, 3)
    assert row.digest == manifests.digest(manifest)
    assert json.loads(row.manifest) == manifest
    assert manifests.stored(db, manifest["release_id"]) == (row.digest, manifest)


def test_every_run_is_audited_and_the_trail_holds_no_nhs_number(db: Database, data: Path):
    register_with_optouts(db)
    source = write_parquet(episodes(), data / "episodes.parquet")
    done = run(db, str(source), str(data / "release.parquet"))
    run(db, str(source), str(data / "dry.parquet"), dry_run=True)
    unmatched = write_parquet(with_unmatched(), data / "unmatched.parquet")
    with pytest.raises(InputError):
        run(db, str(unmatched), str(data / "refused.parquet"))

    (refused, released) = audit.entries(db, action="apply.release")
    assert released.outcome == "ok" and released.actor == "analyst"
    assert released.detail["release_id"] == done.manifest["release_id"]
    assert (released.detail["rows_in"], released.detail["rows_out"]) == (6, 3)
    assert released.detail["rows_removed"] == 3 and released.detail["decision"] == "stop"
    assert refused.outcome == "refused" and refused.detail["reason"] == "invalid_input"
    assert (refused.detail["missing"], refused.detail["invalid"]) == (2, 1)
    (dry,) = audit.entries(db, action="apply.dry_run")
    assert (dry.detail["rows_in"], dry.detail["rows_out"]) == (6, 3)
    assert audit.verify(db).ok
    for detail in audit_details(db):
        assert not NHS_LIKE.search(detail), detail


# ---------------------------------------------------------------------------
# Rows without a valid NHS number: never kept or dropped silently


def test_unmatched_rows_stop_the_run_with_counts_and_row_numbers(register, data):
    source = write_parquet(with_unmatched(), data / "in.parquet")
    before = tree(data)
    with pytest.raises(InputError) as caught:
        run(register, str(source), str(data / "out.parquet"))
    error = caught.value
    assert error.message.startswith(
        "3 of 8 rows cannot be matched (2 with no NHS number and 1 with an invalid NHS "
        "number in column 'nhs_number'; rows 3, 5, 6); correct them, or decide with "
        "--unmatched keep or --unmatched drop (nothing was written)"
    )
    assert error.details == {
        "field": "nhs_number",
        "missing": 2,
        "invalid": 1,
        "rows": [3, 5, 6],
    }
    assert "9000000008" not in error.message
    assert tree(data) == before
    assert releases(register) == []


def test_a_long_list_of_unmatched_rows_is_cut_short(register, data):
    numbers = [NOT_OPTED_OUT[0]] + ["bad"] * 30
    source = write_parquet(pa.table({"nhs_number": numbers}), data / "in.parquet")
    with pytest.raises(InputError) as caught:
        run(register, str(source), str(data / "out.parquet"))
    shown = ", ".join(str(n) for n in range(2, 22))
    assert f"rows {shown} and 10 more" in caught.value.message
    assert "30 with an invalid NHS number" in caught.value.message


def test_unmatched_rows_kept_when_the_user_says_so(register, data):
    source = write_parquet(with_unmatched(), data / "in.parquet")
    result = run(register, str(source), str(data / "out.parquet"), unmatched="keep")
    written = pq.read_table(data / "out.parquet")
    assert written.column("row").to_pylist() == [1, 3, 4, 5, 6, 7]
    assert written.column("nhs_number").to_pylist() == [
        NOT_OPTED_OUT[0],
        "  ",
        NOT_OPTED_OUT[1],
        "9000000008",
        None,
        NOT_OPTED_OUT[2],
    ]
    unmatched = result.manifest["unmatched"]
    assert (unmatched["decision"], unmatched["rows_kept"], unmatched["rows_dropped"]) == (
        "keep",
        3,
        0,
    )
    assert unmatched["first_rows"] == [3, 5, 6]
    assert result.manifest["counts"]["rows_out"] == 6
    assert "without a valid NHS number were kept, as the sender decided" in result.notice


def test_unmatched_rows_dropped_when_the_user_says_so(register, data):
    source = write_parquet(with_unmatched(), data / "in.parquet")
    result = run(register, str(source), str(data / "out.parquet"), unmatched="drop")
    assert pq.read_table(data / "out.parquet").column("row").to_pylist() == [1, 4, 7]
    counts, unmatched = result.manifest["counts"], result.manifest["unmatched"]
    assert (counts["rows_out"], counts["rows_removed"], counts["rows_withheld"]) == (3, 5, 2)
    assert (unmatched["decision"], unmatched["rows_dropped"]) == ("drop", 3)
    assert "without a valid NHS number were removed" in result.notice


@pytest.mark.parametrize("decision", ["keep", "drop"])
def test_an_integer_column_with_nulls_and_invalid_numbers(register, data, decision):
    numbers = pa.array(
        [int(NOT_OPTED_OUT[0]), None, int(OPTED_OUT[0]), 12345, int(NOT_OPTED_OUT[1])], pa.int64()
    )
    table = pa.table({"row": [1, 2, 3, 4, 5], "nhs_number": numbers})
    source = write_parquet(table, data / "in.parquet")
    run(register, str(source), str(data / "out.parquet"), unmatched=decision)
    written = pq.read_table(data / "out.parquet")
    assert written.column("row").to_pylist() == ([1, 2, 4, 5] if decision == "keep" else [1, 5])
    assert written.schema.field("nhs_number").type == pa.int64()


def test_an_unknown_decision_is_refused(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    with pytest.raises(InputError, match="unknown decision 'ignore'"):
        run(register, str(source), str(data / "out.parquet"), unmatched="ignore")


# ---------------------------------------------------------------------------
# Dry runs, existing outputs, references


def test_a_dry_run_reports_the_counts_and_writes_nothing(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    (data / "out.parquet").write_bytes(b"an earlier release")
    before = tree(data)
    result = run(register, str(source), str(data / "out.parquet"), dry_run=True)
    assert result.manifest["dry_run"] is True
    assert result.manifest["counts"]["rows_out"] == 3
    assert "files" not in result.manifest["output"]
    assert (result.manifest_path, result.notice_path) == (None, None)
    assert tree(data) == before
    assert (data / "out.parquet").read_bytes() == b"an earlier release"
    assert releases(register) == []


def test_a_dry_run_still_stops_on_unmatched_rows(register, data):
    source = write_parquet(with_unmatched(), data / "in.parquet")
    with pytest.raises(InputError, match="cannot be matched"):
        run(register, str(source), str(data / "out.parquet"), dry_run=True)


def test_an_existing_output_is_refused_and_replaced_only_with_overwrite(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    output = data / "out.parquet"
    output.write_bytes(b"an earlier release")
    with pytest.raises(InputError, match=r"out\.parquet already exists; give --overwrite"):
        run(register, str(source), str(output))
    assert output.read_bytes() == b"an earlier release"
    assert not (data / "out.parquet.manifest.json").exists()
    result = run(register, str(source), str(output), overwrite=True)
    assert pq.read_table(output).column("episode").to_pylist() == KEPT_EPISODES
    assert result.manifest["output"]["files"][0]["sha256"] == manifests.sha256_file(output)


def test_an_existing_manifest_alone_is_refused(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    (data / "out.parquet.manifest.json").write_text("{}")
    with pytest.raises(InputError, match=r"manifest\.json already exists"):
        run(register, str(source), str(data / "out.parquet"))
    assert not (data / "out.parquet").exists()


def test_an_existing_folder_is_replaced_whole_with_overwrite(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    folder = data / "release"
    folder.mkdir()
    (folder / "stale.parquet").write_bytes(b"old")
    with pytest.raises(InputError, match="already exists"):
        run(register, str(source), str(folder))
    run(register, str(source), str(folder), overwrite=True)
    assert not (folder / "stale.parquet").exists()
    assert pq.read_table(folder).column("episode").to_pylist() == KEPT_EPISODES
    assert {p for p in tree(data) if p.startswith(".")} == set()


def test_the_input_cannot_be_its_own_output(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    before = digest(source)
    with pytest.raises(InputError, match="cannot be the input"):
        run(register, str(source), str(source), overwrite=True)
    assert digest(source) == before


def test_the_manifest_and_notice_go_where_they_are_told(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    evidence = data / "evidence"
    result = run(
        register,
        str(source),
        str(data / "out.parquet"),
        manifest_path=evidence / "dsa.manifest.json",
        notice_path=evidence / "for-recipient.txt",
    )
    assert json.loads((evidence / "dsa.manifest.json").read_text()) == result.manifest
    assert (evidence / "for-recipient.txt").read_text() == result.notice


@pytest.mark.parametrize("reference", ["", "DSA 943 476 5919", "x" * 201, "a\nb"])
def test_a_disclosure_reference_must_be_usable_in_the_audit_trail(register, data, reference):
    source = write_parquet(episodes(), data / "in.parquet")
    with pytest.raises(InputError):
        run(register, str(source), str(data / "out.parquet"), disclosure=reference)
    assert not (data / "out.parquet").exists()


# ---------------------------------------------------------------------------
# Atomic output: a failure at any point leaves nothing behind


def _fail_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> list[dict[str, object]]:
        raise OSError("disk failed while hashing")

    monkeypatch.setattr(manifests, "file_hashes", boom)


def _interrupt_the_record(monkeypatch: pytest.MonkeyPatch) -> None:
    original = audit.record

    def interrupted(conn, *, action: str, **kw):  # type: ignore[no-untyped-def]
        entry = original(conn, action=action, **kw)
        if action == "apply.release":
            raise KeyboardInterrupt
        return entry

    monkeypatch.setattr(audit, "record", interrupted)


def _fail_the_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(manifest: dict[str, object]) -> str:
        raise RuntimeError("notice failed")

    monkeypatch.setattr(notice, "text", boom)


@pytest.mark.parametrize(
    "failure",
    [_fail_hashing, _interrupt_the_record, _fail_the_notice],
    ids=["hashing", "recording", "notice"],
)
@pytest.mark.parametrize("output", ["out.parquet", "out.csv", "out.jsonl", "release"])
@pytest.mark.parametrize("kind", ["text", "integers"])
def test_a_failure_after_writing_leaves_no_output_no_temporary_and_no_record(
    register, data, monkeypatch, failure, output, kind
):
    table = episodes()
    if kind == "integers":
        numbers = [
            int(n.replace(" ", "").replace("-", "")) for n in table["nhs_number"].to_pylist()
        ]
        table = table.set_column(1, "nhs_number", pa.array(numbers, pa.int64()))
    source = write_parquet(table, data / "in.parquet")
    before, files = digest(source), tree(data)
    failure(monkeypatch)
    with pytest.raises((OSError, KeyboardInterrupt, RuntimeError)):
        run(register, str(source), str(data / output))
    assert tree(data) == files
    assert digest(source) == before
    assert releases(register) == []
    assert audit.entries(register, action="apply.release") == []


def test_a_write_that_fails_part_way_leaves_nothing(register, data):
    """A real failure mid-write: the output's encoding cannot hold a character 8 MB in."""
    filler = "".join(f"{NOT_OPTED_OUT[i % 3]},{'x' * 60}\n" for i in range(150_000))
    source = data / "in.csv"
    source.write_text(f"nhs_number,note\n{filler}{NOT_OPTED_OUT[0]},Łódź\n", encoding="utf-8")
    before, files = digest(source), tree(data)
    target = Location("csv", path=data / "out.csv", dialect=CsvDialect(encoding="cp1252"))
    with pytest.raises(FileFormatError, match="cannot be converted from utf-8 to cp1252"):
        run(register, str(source), target)
    assert tree(data) == files
    assert digest(source) == before
    assert releases(register) == []


def test_an_interrupt_while_duckdb_writes_leaves_nothing(register, data):
    rows = 2_000_000
    table = pa.table(
        {"seq": pa.array(range(rows), pa.int64()), "nhs_number": [NOT_OPTED_OUT[0]] * rows}
    )
    table = table.set_column(
        1, "nhs_number", pa.array([OPTED_OUT[0]] + [NOT_OPTED_OUT[0]] * (rows - 1))
    )
    source = data / "in.parquet"
    pq.write_table(table, source, row_group_size=50_000)
    before, files = digest(source), tree(data)
    calls = []

    def interrupt(step: Step) -> None:
        if step.name == "write":
            calls.append(step)
            if len(calls) == 2:
                raise KeyboardInterrupt

    engine = DuckEngine(memory_limit="1GB", progress=interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            run(register, str(source), str(data / "out.csv"), engine=engine)
    finally:
        engine.close()
    assert len(calls) == 2
    assert not [t for t in threading.enumerate() if t.name == "ndoo-apply-write"]
    assert tree(data) == files
    assert digest(source) == before
    assert releases(register) == []


# ---------------------------------------------------------------------------
# The notice for the recipient


def test_the_notice_says_what_was_done_without_small_numbers(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    result = run(register, str(source), str(data / "out.parquet"), disclosure="DARS-NIC-77")
    text = result.notice
    assert result.notice_path == data / "out.parquet.notice.txt"
    assert result.notice_path.read_text() == text
    assert text.startswith("Release notice: disclosure DARS-NIC-77\n")
    assert "National data opt-outs were applied to this data on " in text
    assert (
        "- Fewer than 10 records were removed because the people they are about have "
        "registered a national data opt-out."
    ) in text
    assert "- The data you received holds 3 records." in text
    assert "Whole records were removed, not only their identifiers." in text
    assert f"Release {result.manifest['release_id']}, prepared with ndoo {__version__}." in text
    assert "without a valid NHS number" not in text
    assert not NHS_LIKE.search(text)


def _manifest(withheld: int, dropped: int = 0, kept: int = 0, out: int = 100) -> dict:  # type: ignore[type-arg]
    return {
        "disclosure": "D-1",
        "release_id": "R20260101-abcdefgh",
        "finished_at": "2026-01-02T03:04:05Z",
        "software": {"version": "9.9"},
        "counts": {"rows_withheld": withheld, "rows_out": out},
        "unmatched": {"rows_dropped": dropped, "rows_kept": kept},
    }


@pytest.mark.parametrize(
    ("withheld", "line"),
    [
        (0, "- No records were removed because"),
        (1, "- Fewer than 10 records were removed because"),
        (9, "- Fewer than 10 records were removed because"),
        (10, "- 10 records were removed because"),
        (12345, "- 12,345 records were removed because"),
    ],
)
def test_notice_counts(withheld, line):
    text = notice.text(_manifest(withheld))
    assert line in text
    assert "applied to this data on 2026-01-02" in text


def test_notice_mentions_unmatched_rows_dropped_and_kept():
    dropped = notice.text(_manifest(20, dropped=1, out=12000))
    assert "- Fewer than 10 records without a valid NHS number were removed" in dropped
    assert "- The data you received holds 12,000 records." in dropped
    kept = notice.text(_manifest(20, kept=25))
    assert "- 25 records without a valid NHS number were kept, as the sender decided." in kept


def test_an_output_that_cannot_be_put_in_place_withdraws_its_record(register, data, monkeypatch):
    source = write_parquet(episodes(), data / "in.parquet")
    before, files = digest(source), tree(data)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError("the folder became read-only")

    monkeypatch.setattr(release_module, "_move_into_place", refuse)
    with pytest.raises(PermissionError):
        run(register, str(source), str(data / "out.parquet"))
    assert tree(data) == files
    assert digest(source) == before
    assert releases(register) == []
    outcomes = [e.outcome for e in audit.entries(register, action="apply.release")]
    assert outcomes == ["failed", "ok"]  # newest first
    assert audit.verify(register).ok


def test_an_output_folder_that_does_not_exist_is_refused_before_any_work(register, data):
    source = write_parquet(episodes(), data / "in.parquet")
    with pytest.raises(InputError, match="no such folder"):
        run(register, str(source), str(data / "missing" / "out.parquet"))
    assert audit.entries(register, action="apply.release") == []
