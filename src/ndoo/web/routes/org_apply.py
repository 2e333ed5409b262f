"""Apply opt-outs to an uploaded dataset, in the console: for analysts.

The analyst uploads a CSV or Parquet file, names its NHS number column, and chooses
the disclosure (from the register), where the opt-outs come from (the register kept
here, or a cached cleaned list) and what to do with rows whose NHS number is missing or
invalid.  The server keeps the upload in a folder of its own under
``NDOO_HOME/uploads`` and runs :func:`ndoo.apply.release.apply` with the DuckDB
engine, writing the output, its manifest and the recipient's notice beside it.  The
uploaded input is removed once the run ends, whatever its outcome: only the release,
with whole records of people with an opt-out removed, stays.

The result page shows the counts, the assessment the release rests on and the notice,
with links to download the output, the manifest and the notice.  They are served only
to analysts, and only the files of the release asked for.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from ndoo.apply.duck import DuckEngine
from ndoo.apply.locations import locate
from ndoo.apply.release import ApplyRequest, Release, apply
from ndoo.apply.rows import UNMATCHED_DECISIONS
from ndoo.apply.sources import SourceChoice
from ndoo.db import Database
from ndoo.disclosures import assessments
from ndoo.errors import (
    AssessmentNeeded,
    CheckError,
    DisclosureNotFound,
    FileFormatError,
    InputError,
    NdooError,
    NotFound,
)
from ndoo.settings import Settings
from ndoo.staff.accounts import Staff
from ndoo.web import deps
from ndoo.web.errors import error_responses, status_of
from ndoo.web.forms import Problems
from ndoo.web.routes.org_common import (
    declared_length,
    organisation,
    random_name,
    save_upload,
    too_large_message,
    uploaded_file,
)
from ndoo.web.routes.org_releases import ReleaseDetail, detail_data, stored_manifest
from ndoo.web.templating import render

router = APIRouter(tags=["apply"])

Analyst = Annotated[Staff, Depends(deps.require("analyst"))]

#: The largest dataset accepted by upload.
MAX_DATASET_BYTES = 200 * 1024 * 1024
#: Dataset files accepted, by suffix.
SUFFIXES = (".csv", ".tsv", ".parquet")
#: Where the opt-outs may come from on the web (a check over MESH takes up to an hour).
WEB_SOURCES = {
    "register": "The opt-out register kept here: the opt-outs in force now",
    "cache": "A cached cleaned list from the Check for National Data Opt-outs service",
}
DECISIONS = {
    "stop": "Stop, and list the first rows, so they can be corrected",
    "keep": "Keep them in the release",
    "drop": "Leave them out of the release",
}
FILES = ("output", "manifest", "notice")


class Downloads(BaseModel):
    output: str
    manifest: str
    notice: str


class ApplyResult(BaseModel):
    """A release made in the console: its manifest, the notice and where to download."""

    release: ReleaseDetail
    notice: str
    downloads: Downloads


def uploads(settings: Settings) -> Path:
    return Path(settings.home) / "uploads"


@dataclass(frozen=True)
class _Posted:
    column: str
    disclosure: str
    source: str
    cohort: str
    unmatched: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def _form_page(
    request: Request,
    *,
    posted: _Posted | None = None,
    problems: Problems | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = assessments.standings(deps.database(request), organisation=organisation(request))
    return render(
        request,
        "org/apply.html",
        {
            "disclosures": [
                {
                    "value": s.entry.reference,
                    "text": f"{s.entry.reference}: {s.entry.disclosure.title} ({s.state})",
                }
                for s in found
            ],
            "sources": WEB_SOURCES,
            "decisions": DECISIONS,
            "values": posted.as_dict() if posted else {"source": "register", "unmatched": "stop"},
            "limit_mb": MAX_DATASET_BYTES // (1024 * 1024),
            "back": "/console",
            **(problems.context() if problems else {}),
        },
        status_code=status_code,
    )


@router.get("/console/apply", response_class=HTMLResponse, include_in_schema=False)
def apply_page(request: Request, staff: Analyst) -> HTMLResponse:
    return _form_page(request)


@router.post("/console/apply", include_in_schema=False)
async def apply_upload(request: Request, staff: Analyst) -> Response:
    size = declared_length(request)
    if size is not None and size > MAX_DATASET_BYTES + 64 * 1024:
        problems = Problems()
        problems.add("dataset", too_large_message(MAX_DATASET_BYTES))
        return _form_page(request, problems=problems, status_code=413)
    try:
        return await _apply(request, staff)
    finally:
        await request.close()  # the upload's temporary copy


async def _apply(request: Request, staff: Staff) -> Response:
    values = await deps.form(request)
    upload = await uploaded_file(request, "dataset")
    posted = _Posted(
        column=values.get("nhs_number_column", "").strip(),
        disclosure=values.get("disclosure", "").strip(),
        source=values.get("source", ""),
        cohort=values.get("cohort", "").strip(),
        unmatched=values.get("unmatched", ""),
    )
    problems = Problems()
    suffix = Path(upload.filename or "").suffix.lower() if upload is not None else ""
    if upload is None:
        problems.add("dataset", "choose the dataset file to upload (CSV or Parquet)")
    elif suffix not in SUFFIXES:
        problems.add(
            "dataset", "the dataset must be a CSV or Parquet file (.csv, .tsv or .parquet)"
        )
    if not posted.column:
        problems.add("nhs_number_column", "enter the name of the column that holds NHS numbers")
    if not posted.disclosure:
        problems.add("disclosure", "choose the disclosure the data is released for")
    if posted.source not in WEB_SOURCES:
        problems.add("source", "choose where the opt-outs come from")
    if posted.unmatched not in UNMATCHED_DECISIONS:
        problems.add("unmatched", "choose what to do with rows without a valid NHS number")
    if problems or upload is None:
        return _form_page(request, posted=posted, problems=problems, status_code=422)
    settings = deps.settings(request)
    folder = uploads(settings) / random_name()
    folder.mkdir(parents=True)
    source = folder / f"input{suffix}"
    try:
        await save_upload(upload, source, MAX_DATASET_BYTES, "dataset")
        made = await run_in_threadpool(
            _run, deps.database(request), settings, source, posted, staff.username
        )
    except NdooError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        problems.add(_field_of(exc, posted), _tidy(exc, source))
        return _form_page(request, posted=posted, problems=problems, status_code=status_of(exc))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        source.unlink(missing_ok=True)
    release_id = str(made.manifest["release_id"])
    return RedirectResponse(f"/console/apply/{release_id}", status_code=303)


def _run(db: Database, settings: Settings, source: Path, posted: _Posted, actor: str) -> Release:
    output = source.with_name(f"output{source.suffix}")
    request = ApplyRequest(
        input=locate(str(source)),
        output=locate(str(output), output=True),
        column=posted.column,
        disclosure=posted.disclosure,
        source=SourceChoice(
            kind=posted.source,
            cohort=posted.cohort or None,
            max_age=timedelta(days=float(settings.cache_max_age_days)),
        ),
        unmatched=posted.unmatched,
        manifest_path=_beside(output, "manifest"),
        notice_path=_beside(output, "notice"),
        organisation=str(settings.organisation_code),
    )
    engine = DuckEngine(memory_limit=str(settings.apply_memory_limit))
    try:
        return apply(db, request, actor=actor, engine=engine)
    finally:
        engine.close()


def _beside(output: Path, what: str) -> Path:
    """Where the manifest or the notice of ``output`` goes (as ``ndoo apply`` names them)."""
    suffix = {"manifest": ".manifest.json", "notice": ".notice.txt"}[what]
    return output.with_name(output.name + suffix)


def _field_of(exc: NdooError, posted: _Posted) -> str | None:
    """The form field a refusal is about."""
    if isinstance(exc, AssessmentNeeded | DisclosureNotFound):
        return "disclosure"
    if isinstance(exc, NotFound | CheckError):  # no cleaned list, or too old
        return "cohort" if posted.source == "cache" else "source"
    if isinstance(exc, FileFormatError):
        return "dataset"
    if isinstance(exc, InputError):
        details = exc.details
        if "uncovered" in details:
            return "source"
        if "missing" in details or "invalid" in details:
            return "unmatched"
        if details.get("field") == posted.column:
            return "nhs_number_column"
        return "dataset"
    return None


def _tidy(exc: NdooError, source: Path) -> str:
    """A refusal's message, naming the upload rather than where the server kept it."""
    text = exc.problem if isinstance(exc, FileFormatError) else exc.message
    if isinstance(exc, FileFormatError) and exc.line is not None:
        text = f"line {exc.line}: {text}"
    for name in (str(source.resolve()), str(source)):
        text = text.replace(name, "the uploaded file")
    # The library's advice names the command line's options; the form has them as choices.
    return text.replace(
        "decide with --unmatched keep or --unmatched drop",
        "choose below to keep those rows or leave them out",
    ).replace("check this dataset's numbers (--source mesh) or ", "")


# ---------------------------------------------------------------------------
# The result and its files


def _files(settings: Settings, manifest: dict[str, Any]) -> dict[str, Path]:
    """The output, manifest and notice of a release made here; :class:`NotFound` otherwise."""
    path = manifest.get("output", {}).get("path")
    root = uploads(settings).resolve()
    output = Path(path) if path else None
    if output is None or output.parent.parent != root:
        raise NotFound("this release was not made in the console, so its files are not served here")
    return {
        "output": output,
        "manifest": _beside(output, "manifest"),
        "notice": _beside(output, "notice"),
    }


def result_data(request: Request, release_id: str) -> ApplyResult:
    db = deps.database(request)
    _, manifest = stored_manifest(db, release_id)
    files = _files(deps.settings(request), manifest)
    notice = files["notice"]
    base = f"/console/apply/{release_id}"
    return ApplyResult(
        release=detail_data(db, release_id),
        notice=notice.read_text(encoding="utf-8") if notice.is_file() else "",
        downloads=Downloads(**{name: f"{base}/{name}" for name in FILES}),
    )


@router.get(
    "/console/apply/{release_id}.json",
    response_model=ApplyResult,
    responses=error_responses(401, 403, 404, 422),
)
def result_json(request: Request, release_id: str, staff: Analyst) -> ApplyResult:
    """A release made in the console: its manifest, the notice and its downloads."""
    return result_data(request, release_id)


@router.get("/console/apply/{release_id}", response_class=HTMLResponse, include_in_schema=False)
def result_page(request: Request, release_id: str, staff: Analyst) -> HTMLResponse:
    return render(
        request,
        "org/apply_result.html",
        {"data": result_data(request, release_id), "back": "/console/apply"},
    )


@router.get("/console/apply/{release_id}/{name}", include_in_schema=False)
def release_file(request: Request, release_id: str, name: str, staff: Analyst) -> Response:
    if name not in FILES:
        raise NotFound(f"a release has no file {name!r}; it has: {', '.join(FILES)}")
    _, manifest = stored_manifest(deps.database(request), release_id)
    path = _files(deps.settings(request), manifest)[name]
    if not path.is_file():
        raise NotFound(f"the {name} of release {release_id} is no longer kept")
    saved = {
        "output": f"{release_id}{path.suffix}",
        "manifest": f"{release_id}.manifest.json",
        "notice": f"{release_id}.notice.txt",
    }[name]
    media = {
        ".csv": "text/csv",
        ".tsv": "text/tab-separated-values",
        ".parquet": "application/vnd.apache.parquet",
        ".json": "application/json",
        ".txt": "text/plain; charset=utf-8",
    }.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media, filename=saved)
