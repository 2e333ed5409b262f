"""Releases in the staff console: the list, each manifest, and verifying an output again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from ndoo.apply.duck import DuckEngine
from ndoo.apply.locations import locate
from ndoo.apply.release import ApplyRequest, Release, apply
from ndoo.apply.sources import SourceChoice
from tests.disclosures.helpers import assessed
from tests.pos.helpers import NOT_OPTED_OUT, OPTED_OUT, register_with_optouts
from tests.web.conftest import csrf, sign_in


def released(db, folder: Path) -> tuple[Release, Path]:
    """A release of four episodes for DSA-001, made as ``ndoo apply`` makes it."""
    register_with_optouts(db)
    assessed(db, "DSA-001")
    source = folder / "episodes.csv"
    pa_csv.write_csv(
        pa.table(
            {
                "episode": ["E1", "E2", "E3", "E4"],
                "nhs_number": [OPTED_OUT[0], NOT_OPTED_OUT[0], NOT_OPTED_OUT[1], OPTED_OUT[1]],
            }
        ),
        source,
    )
    output = folder / "release.csv"
    request = ApplyRequest(
        input=locate(str(source)),
        output=locate(str(output), output=True),
        column="nhs_number",
        disclosure="DSA-001",
        source=SourceChoice(kind="register"),
    )
    engine = DuckEngine(memory_limit="1GB")
    try:
        return apply(db, request, actor="analyst.ade", engine=engine), output
    finally:
        engine.close()


def test_releases_are_listed_newest_first_with_their_json_twin(client, web_db, tmp_path):
    made, _ = released(web_db, tmp_path)
    release_id = made.manifest["release_id"]
    sign_in(client, "ig_lead")
    page = client.get("/console/releases")
    assert page.status_code == 200
    assert f'href="/console/releases/{release_id}"' in page.text
    twin = client.get("/console/releases.json").json()
    assert twin["page"] == 1 and twin["more"] is False
    (row,) = twin["releases"]
    assert row["release_id"] == release_id and row["disclosure"] == "DSA-001"
    assert (row["rows_in"], row["rows_out"], row["rows_removed"]) == (4, 2, 2)
    assert (row["source"], row["engine"], row["operator"]) == ("register", "duckdb", "analyst.ade")


def test_a_release_shows_its_manifest_in_readable_form(client, web_db, tmp_path):
    made, output = released(web_db, tmp_path)
    release_id = made.manifest["release_id"]
    sign_in(client, "analyst")
    page = client.get(f"/console/releases/{release_id}")
    assert page.status_code == 200
    sha = hashlib.sha256(output.read_bytes()).hexdigest()
    assert sha in page.text
    assert "Opt-outs in force in the register" in page.text
    assert "APPLY: assessment" in page.text
    assert "Verify the output against its manifest" in page.text
    twin = client.get(f"/console/releases/{release_id}.json").json()
    assert twin["counts"]["rows_withheld"] == 2
    assert twin["unmatched"]["decision"] == "stop"
    assert twin["files"] == [{"name": "release.csv", "bytes": output.stat().st_size, "sha256": sha}]
    assert twin["assessment"]["outcome"] == "APPLY"
    assert {item["key"] for item in twin["source"]} == {"kind", "snapshot_at", "opted_out"}
    assert twin["manifest"] == made.manifest and twin["output_exists"] is True


def test_verifying_finds_an_output_as_released_then_a_changed_one(client, web_db, tmp_path):
    made, output = released(web_db, tmp_path)
    release_id = made.manifest["release_id"]
    sign_in(client, "analyst")
    page = client.get(f"/console/releases/{release_id}")
    token = csrf(page.text)
    verified = client.post(f"/console/releases/{release_id}/verify", data={"csrf_token": token})
    assert verified.status_code == 200
    assert "Verified: the output matches its manifest" in verified.text
    assert "the manifest file beside the output" in verified.text
    output.write_text(output.read_text() + f"E9,{OPTED_OUT[0]}\n")
    changed = client.post(f"/console/releases/{release_id}/verify", data={"csrf_token": token})
    assert "Not verified" in changed.text
    assert "changed since release" in changed.text


def test_without_the_manifest_file_the_stored_copy_is_checked(client, web_db, tmp_path):
    made, _ = released(web_db, tmp_path)
    assert made.manifest_path is not None
    made.manifest_path.unlink()
    release_id = made.manifest["release_id"]
    sign_in(client, "analyst")
    token = csrf(client.get(f"/console/releases/{release_id}").text)
    verified = client.post(f"/console/releases/{release_id}/verify", data={"csrf_token": token})
    assert "Verified: the output matches its manifest" in verified.text
    assert "the copy stored in the database" in verified.text


def test_an_output_that_is_gone_cannot_be_verified(client, web_db, tmp_path):
    made, output = released(web_db, tmp_path)
    release_id = made.manifest["release_id"]
    output.unlink()
    sign_in(client, "analyst")
    page = client.get(f"/console/releases/{release_id}")
    assert "Verify the output" not in page.text and "no longer there" in page.text
    token = csrf(client.get("/staff/sign-out").text)
    refused = client.post(f"/console/releases/{release_id}/verify", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "no longer where the release wrote it" in refused.text


def test_an_unknown_release_is_not_found(client):
    sign_in(client, "analyst")
    assert client.get("/console/releases/R20260101-nothere").status_code == 404
    missing = client.get("/console/releases/R20260101-nothere.json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_other_roles_cannot_see_releases(client, web_db, tmp_path):
    made, _ = released(web_db, tmp_path)
    release_id = made.manifest["release_id"]
    sign_in(client, "agent")
    token = csrf(client.get("/staff/sign-out").text)
    assert client.get("/console/releases").status_code == 403
    assert client.get(f"/console/releases/{release_id}.json").status_code == 403
    refused = client.post(f"/console/releases/{release_id}/verify", data={"csrf_token": token})
    assert refused.status_code == 403


def test_verifying_needs_the_sessions_token(client, web_db, tmp_path):
    made, _ = released(web_db, tmp_path)
    sign_in(client, "analyst")
    forged = client.post(f"/console/releases/{made.manifest['release_id']}/verify")
    assert forged.status_code == 403
