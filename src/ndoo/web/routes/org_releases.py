"""Releases in the console: every run that applied opt-outs, with its manifest, and a check.

Analysts and information governance leads read the list of releases (the ``release``
table) and each release's manifest as the database stored it when the run ended
(:func:`ndoo.apply.manifest.stored`): the counts, the unmatched rows and the decision
taken, where the opt-out information came from, the assessment the release rests on,
and every output file with its SHA-256.  While the output is still where the run wrote
it, the release can be verified again (:func:`ndoo.apply.verify.verify`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from ndoo.apply import manifest as manifests
from ndoo.apply.duck import DuckEngine
from ndoo.apply.verify import verify
from ndoo.db import Database
from ndoo.errors import InputError, NotFound
from ndoo.staff.accounts import Staff
from ndoo.web import deps
from ndoo.web.errors import error_responses
from ndoo.web.templating import render

router = APIRouter(tags=["releases"])

Reader = Annotated[Staff, Depends(deps.require("analyst", "ig_lead"))]

#: Releases a page of the list shows.
PAGE_SIZE = 50

#: How the manifest names where the opt-out information came from, as a person reads it.
SOURCE_LABELS = {
    "kind": "Source",
    "snapshot_at": "Register snapshot taken at",
    "opted_out": "Opt-outs in force in the register",
    "cohort": "Cohort or disclosure",
    "cache_entry": "Cache entry",
    "mode": "Kind of check",
    "message_id": "MESH message of the cleaned list",
    "request_message_id": "MESH message of the request",
    "checked_at": "Checked at",
    "age_hours": "Age of the list when used (hours)",
    "covered": "NHS numbers checked",
    "kept": "NHS numbers that may be used",
    "sent": "NHS numbers sent",
    "justification": "Why opt-outs do not apply",
    "cites": "Policy it rests on",
}


class ReleaseRow(BaseModel):
    release_id: str
    disclosure: str
    started_at: str
    finished_at: str
    rows_in: int
    rows_out: int
    rows_removed: int
    source: str
    engine: str
    operator: str


class ReleaseList(BaseModel):
    """Releases, newest first, a page at a time."""

    page: int
    more: bool
    releases: list[ReleaseRow]


class ReleaseCounts(BaseModel):
    rows_in: int
    rows_out: int
    rows_removed: int
    rows_withheld: int
    distinct_patients_in: int
    distinct_patients_out: int


class Unmatched(BaseModel):
    """Rows with a missing or invalid NHS number, and what was decided for them."""

    rows: int
    missing: int
    invalid: int
    decision: str
    rows_dropped: int
    rows_kept: int
    first_rows: list[int]


class AssessmentSummary(BaseModel):
    id: int
    outcome: str
    ruleset: str
    disclosure_version: int
    assessed_at: str
    assessed_by: str


class FileOut(BaseModel):
    name: str
    bytes: int
    sha256: str


class SourceItem(BaseModel):
    key: str
    label: str
    value: Any


class ReleaseDetail(BaseModel):
    """One release's manifest, as stored when its run ended, in readable parts."""

    release_id: str
    digest: str
    disclosure: str
    opt_outs: str
    counts: ReleaseCounts
    unmatched: Unmatched
    source: list[SourceItem]
    assessment: AssessmentSummary | None
    input: dict[str, Any]
    output: dict[str, Any]
    files: list[FileOut]
    engine: str
    operator: str
    software: dict[str, Any]
    started_at: str
    finished_at: str
    output_exists: bool
    manifest: dict[str, Any]


class VerificationOut(BaseModel):
    """A release checked again: every check that held and every problem found."""

    release_id: str
    manifest_checked: str
    ok: bool
    checks: list[str]
    problems: list[str]


#: A page of the list: 1 is the newest releases.
Page = Annotated[int, Query(ge=1, le=1_000_000, description="Page of the list, 1 the newest.")]


def list_data(db: Database, page: int) -> ReleaseList:
    page = max(page, 1)
    rows = manifests.recent(db, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return ReleaseList(
        page=page,
        more=len(rows) > PAGE_SIZE,
        releases=[
            ReleaseRow(
                release_id=row["release_id"],
                disclosure=row["disclosure"],
                started_at=row["started_at"],
                finished_at=row["finished_at"],
                rows_in=row["rows_in"],
                rows_out=row["rows_out"],
                rows_removed=row["rows_in"] - row["rows_out"],
                source=row["source"],
                engine=row["engine"],
                operator=row["actor"],
            )
            for row in rows[:PAGE_SIZE]
        ],
    )


def stored_manifest(db: Database, release_id: str) -> tuple[str, dict[str, Any]]:
    found = manifests.stored(db, release_id)
    if found is None:
        raise NotFound(f"there is no release {release_id!r}", release_id=release_id)
    return found


def output_path(manifest: dict[str, Any]) -> Path | None:
    """The output a release wrote, when it was a file or folder."""
    path = manifest.get("output", {}).get("path")
    return Path(path) if path else None


def detail_data(db: Database, release_id: str) -> ReleaseDetail:
    digest, manifest = stored_manifest(db, release_id)
    source = manifest.get("source", {})
    output = dict(manifest.get("output", {}))
    files = output.pop("files", [])
    path = output_path(manifest)
    return ReleaseDetail(
        release_id=release_id,
        digest=digest,
        disclosure=manifest["disclosure"],
        opt_outs=manifest.get("opt_outs", "applied"),
        counts=ReleaseCounts.model_validate(manifest["counts"]),
        unmatched=Unmatched.model_validate(manifest["unmatched"]),
        source=[
            SourceItem(key=key, label=SOURCE_LABELS.get(key, key), value=value)
            for key, value in source.items()
        ],
        assessment=(
            AssessmentSummary.model_validate(manifest["assessment"])
            if manifest.get("assessment")
            else None
        ),
        input=manifest.get("input", {}),
        output=output,
        files=[FileOut.model_validate(f) for f in files],
        engine=manifest.get("engine", ""),
        operator=manifest.get("operator", ""),
        software=manifest.get("software", {}),
        started_at=manifest.get("started_at", ""),
        finished_at=manifest.get("finished_at", ""),
        output_exists=path is not None and path.exists(),
        manifest=manifest,
    )


def check_release(db: Database, release_id: str, memory_limit: str) -> VerificationOut:
    """Verify a release's output against its manifest.

    The manifest file the run wrote beside the output is checked when it is still
    there and names this release; otherwise the copy stored in the database is.
    """
    _, manifest = stored_manifest(db, release_id)
    path = output_path(manifest)
    if path is None:
        raise InputError(
            "the output is a database table; verify it with `ndoo apply verify MANIFEST --url URL`"
        )
    if not path.exists():
        raise InputError(
            "the output is no longer where the release wrote it, so it cannot be verified"
        )
    beside = path.with_name(path.name + ".manifest.json")
    engine = DuckEngine(memory_limit=memory_limit)
    try:
        if beside.is_file() and _names(beside, release_id):
            result = verify(db, beside, engine=engine)
            checked = "the manifest file beside the output"
        else:
            with tempfile.TemporaryDirectory(prefix="ndoo-verify-") as folder:
                copy = Path(folder) / "manifest.json"
                manifests.write_json(copy, manifest)
                result = verify(db, copy, engine=engine)
            checked = "the copy stored in the database (no manifest file beside the output)"
    finally:
        engine.close()
    return VerificationOut(
        release_id=release_id,
        manifest_checked=checked,
        ok=result.ok,
        checks=result.checks,
        problems=result.problems,
    )


def _names(path: Path, release_id: str) -> bool:
    try:
        return manifests.load(path).get("release_id") == release_id
    except InputError:
        return False


@router.get(
    "/console/releases.json", response_model=ReleaseList, responses=error_responses(401, 403, 422)
)
def releases_json(request: Request, staff: Reader, page: Page = 1) -> ReleaseList:
    """Every release made with opt-outs applied, newest first."""
    return list_data(deps.database(request), page)


@router.get("/console/releases", response_class=HTMLResponse, include_in_schema=False)
def releases_page(request: Request, staff: Reader, page: Page = 1) -> HTMLResponse:
    return render(
        request,
        "org/releases.html",
        {"data": list_data(deps.database(request), page), "back": "/console"},
    )


@router.get(
    "/console/releases/{release_id}.json",
    response_model=ReleaseDetail,
    responses=error_responses(401, 403, 404, 422),
)
def release_json(request: Request, release_id: str, staff: Reader) -> ReleaseDetail:
    """One release's manifest, as stored when the run ended."""
    return detail_data(deps.database(request), release_id)


@router.get("/console/releases/{release_id}", response_class=HTMLResponse, include_in_schema=False)
def release_page(request: Request, release_id: str, staff: Reader) -> HTMLResponse:
    return render(
        request,
        "org/release.html",
        {"data": detail_data(deps.database(request), release_id), "back": "/console/releases"},
    )


@router.post("/console/releases/{release_id}/verify", include_in_schema=False)
async def verify_release(request: Request, release_id: str, staff: Reader) -> Response:
    await deps.form(request)
    db = deps.database(request)
    memory = str(deps.settings(request).apply_memory_limit)
    result = await run_in_threadpool(check_release, db, release_id, memory)
    return render(
        request,
        "org/release.html",
        {
            "data": detail_data(db, release_id),
            "verification": result,
            "back": "/console/releases",
        },
    )
