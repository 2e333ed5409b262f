"""Applying opt-outs to an uploaded dataset in the staff console."""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from ndoo.db.models import release
from ndoo.disclosures import store
from ndoo.disclosures.record import parse
from ndoo.web.routes import org_apply
from tests.disclosures.helpers import assessed
from tests.pos.helpers import NOT_OPTED_OUT, OPTED_OUT, register_with_optouts
from tests.web.conftest import csrf, sign_in

#: Five episodes of five people; the first and third people have an opt-out.
EPISODES = [
    ("E01", OPTED_OUT[0], "007"),
    ("E02", NOT_OPTED_OUT[0], "A01"),
    ("E03", OPTED_OUT[1], "B02"),
    ("E04", NOT_OPTED_OUT[1], "C03"),
    ("E05", NOT_OPTED_OUT[2], "D04"),
]


def dataset(rows=EPISODES) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["episode", "nhs_number", "code"])
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(client, content: bytes, *, name: str = "episodes.csv", **values: str):
    page = client.get("/console/apply")
    assert page.status_code == 200
    form = {
        "csrf_token": csrf(page.text),
        "nhs_number_column": "nhs_number",
        "disclosure": "DSA-001",
        "source": "register",
        "unmatched": "stop",
        **values,
    }
    return client.post("/console/apply", data=form, files={"dataset": (name, content, "text/csv")})


def left_behind(tmp_path) -> list[str]:
    root = tmp_path / "uploads"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def releases(db) -> int:
    with db.read() as conn:
        return len(conn.execute(release.select()).all())


def test_an_analyst_applies_opt_outs_and_downloads_the_release(client, web_db, tmp_path):
    register_with_optouts(web_db)
    assessed(web_db, "DSA-001")
    sign_in(client, "analyst")
    done = upload(client, dataset())
    assert done.status_code == 303, done.text
    location = done.headers["location"]
    release_id = location.rsplit("/", 1)[1]
    page = client.get(location)
    assert page.status_code == 200
    assert "Released 3 of 5 rows" in page.text
    assert "APPLY: assessment" in page.text
    assert "Release notice: disclosure DSA-001" in page.text
    output = client.get(f"{location}/output")
    assert output.status_code == 200
    assert output.headers["content-disposition"] == f'attachment; filename="{release_id}.csv"'
    kept = list(csv.DictReader(io.StringIO(output.text)))
    assert [r["episode"] for r in kept] == ["E02", "E04", "E05"]
    assert not {r["nhs_number"] for r in kept} & set(OPTED_OUT)
    assert [r["code"] for r in kept] == ["A01", "C03", "D04"]  # values as they were
    manifest = json.loads(client.get(f"{location}/manifest").content)
    assert manifest["release_id"] == release_id and manifest["operator"] == "analyst.ade"
    assert manifest["counts"]["rows_withheld"] == 2
    notice = client.get(f"{location}/notice")
    assert notice.text.startswith("Release notice: disclosure DSA-001")
    twin = client.get(f"{location}.json").json()
    assert twin["release"]["counts"]["rows_out"] == 3
    assert twin["release"]["assessment"]["outcome"] == "APPLY"
    assert twin["notice"] == notice.text
    assert twin["downloads"]["output"] == f"{location}/output"
    # Only the release stays on the server: the uploaded input is gone.
    assert not any(name.endswith("input.csv") for name in left_behind(tmp_path))


def test_a_parquet_dataset_gives_a_parquet_release(client, web_db):
    register_with_optouts(web_db)
    assessed(web_db, "DSA-001")
    sign_in(client, "analyst")
    table = pa.table(
        {
            "episode": [e for e, _, _ in EPISODES],
            "nhs_number": [n for _, n, _ in EPISODES],
            "cost": [1.5, 2.0, 3.25, 4.0, 5.0],
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    done = upload(client, sink.getvalue().to_pybytes(), name="episodes.parquet")
    assert done.status_code == 303, done.text
    output = client.get(done.headers["location"] + "/output")
    assert output.headers["content-disposition"].endswith('.parquet"')
    kept = pq.read_table(pa.BufferReader(output.content))
    assert kept.column("episode").to_pylist() == ["E02", "E04", "E05"]
    assert kept.column("cost").to_pylist() == [2.0, 4.0, 5.0]


def test_a_disclosure_that_is_not_assessed_is_refused(client, web_db, tmp_path):
    register_with_optouts(web_db)
    disclosure, _ = parse({"reference": "NEW-1", "title": "New flow", "recipient": "Someone"})
    assert disclosure is not None
    store.add(web_db, disclosure, organisation="X26", actor="test")
    sign_in(client, "analyst")
    refused = upload(client, dataset(), disclosure="NEW-1")
    assert refused.status_code == 409
    assert 'href="#disclosure"' in refused.text and 'id="disclosure-error"' in refused.text
    assert "has not been assessed" in refused.text
    assert releases(web_db) == 0
    assert left_behind(tmp_path) == []


def test_unmatched_rows_are_refused_naming_the_first_rows(client, web_db, tmp_path):
    register_with_optouts(web_db)
    assessed(web_db, "DSA-001")
    sign_in(client, "analyst")
    rows = [*EPISODES[:2], ("E06", "", "X"), ("E07", "1234567890", "Y")]
    refused = upload(client, dataset(rows))
    assert refused.status_code == 422
    assert 'href="#unmatched"' in refused.text
    assert "rows 3, 4" in refused.text
    assert "1234567890" not in refused.text
    kept = upload(client, dataset(rows), unmatched="drop")
    assert kept.status_code == 303
    assert (
        client.get(kept.headers["location"] + ".json").json()["release"]["unmatched"][
            "rows_dropped"
        ]
        == 2
    )


def test_a_missing_column_names_the_columns_there_are(client, web_db):
    register_with_optouts(web_db)
    assessed(web_db, "DSA-001")
    sign_in(client, "analyst")
    refused = upload(client, dataset(), nhs_number_column="nhs_no")
    assert refused.status_code == 422
    assert 'href="#nhs_number_column"' in refused.text
    assert "&#39;episode&#39;, &#39;nhs_number&#39;, &#39;code&#39;" in refused.text
    assert "uploads" not in refused.text  # the server's own paths are never shown


def test_the_form_says_what_is_missing(client, web_db):
    sign_in(client, "analyst")
    page = client.get("/console/apply")
    refused = client.post(
        "/console/apply",
        data={"csrf_token": csrf(page.text), "source": "mesh"},
        files={"dataset": ("notes.docx", b"x", "application/octet-stream")},
    )
    assert refused.status_code == 422
    for field in ("dataset", "nhs_number_column", "disclosure", "source", "unmatched"):
        assert f'href="#{field}"' in refused.text, field


def test_an_upload_over_the_limit_is_refused_with_a_clear_message(
    client, web_db, tmp_path, monkeypatch
):
    register_with_optouts(web_db)
    assessed(web_db, "DSA-001")
    monkeypatch.setattr(org_apply, "MAX_DATASET_BYTES", 1024 * 1024)
    sign_in(client, "analyst")
    big = dataset(EPISODES * 20_000)
    assert len(big) > 1024 * 1024
    refused = upload(client, big)
    assert refused.status_code == 413
    assert "The file must be smaller than 1 MB" in refused.text
    assert releases(web_db) == 0 and left_behind(tmp_path) == []


def test_a_cached_list_that_does_not_exist_is_refused_at_the_cohort(client, web_db):
    register_with_optouts(web_db)
    assessed(web_db, "DSA-001")
    sign_in(client, "analyst")
    refused = upload(client, dataset(), source="cache", cohort="all-registered")
    assert refused.status_code == 404
    assert 'href="#cohort"' in refused.text
    assert "No cleaned list is cached for cohort" in refused.text


def test_only_analysts_apply_and_download(client, web_db):
    register_with_optouts(web_db)
    assessed(web_db, "DSA-001")
    sign_in(client, "analyst")
    location = upload(client, dataset()).headers["location"]
    client.get("/staff/sign-out")
    client.cookies.clear()
    sign_in(client, "ig_lead")
    token = csrf(client.get("/staff/sign-out").text)
    assert client.get("/console/apply").status_code == 403
    assert client.post("/console/apply", data={"csrf_token": token}).status_code == 403
    for suffix in ("", ".json", "/output", "/manifest", "/notice"):
        assert client.get(location + suffix).status_code == 403, suffix
    assert client.get(location.replace("/console/apply/", "/console/releases/")).status_code == 200


def test_only_the_files_of_a_release_made_here_are_served(client, web_db):
    register_with_optouts(web_db)
    assessed(web_db, "DSA-001")
    sign_in(client, "analyst")
    location = upload(client, dataset()).headers["location"]
    assert client.get(f"{location}/input").status_code == 404
    assert client.get(f"{location}/..%2F..%2Fweb.db").status_code == 404
    assert client.get("/console/apply/R20260101-nothere/output").status_code == 404


def test_the_upload_needs_the_sessions_token(client, web_db, tmp_path):
    register_with_optouts(web_db)
    assessed(web_db, "DSA-001")
    sign_in(client, "analyst")
    forged = client.post(
        "/console/apply",
        data={"nhs_number_column": "nhs_number", "disclosure": "DSA-001", "source": "register"},
        files={"dataset": ("episodes.csv", dataset(), "text/csv")},
    )
    assert forged.status_code == 403
    assert releases(web_db) == 0 and left_behind(tmp_path) == []
