"""Apply opt-outs to one disclosure's dataset: the run, from checks to evidence.

:func:`apply` is what ``ndoo apply`` does:

1. refuse at once what cannot work (an existing output without ``overwrite``, the
   input as its own output, an unknown decision), and consult the disclosure's current
   scope assessment (:func:`ndoo.disclosures.assessments.release_decision`): refuse
   when it has none, when more information is needed or when it changed since; when
   opt-outs do not apply, nothing is withheld, no list is fetched, and the manifest
   records the justification;
2. get the opt-out information (:mod:`ndoo.apply.sources`), checking the dataset's
   own numbers over MESH first when asked;
3. scan the NHS number column and judge every row (:mod:`ndoo.apply.rows`); stop,
   naming the first rows, if any number was not checked, or if numbers are missing
   or invalid and no decision was given;
4. write the rows to keep to a temporary file, folder or table beside the output,
   hash it, store the manifest and the audit entry in one transaction, then move the
   output, the manifest and the recipient's notice into place.

An error at any point removes what was written; the input is only ever read.
"""

from __future__ import annotations

import os
import secrets
import shutil
import string
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ndoo import __version__, audit
from ndoo.apply import manifest as manifests
from ndoo.apply import notice, tables
from ndoo.apply.engine import Engine, Scan
from ndoo.apply.locations import CsvDialect, Location
from ndoo.apply.rows import UNMATCHED_DECISIONS, Counts, Lookup
from ndoo.apply.sources import (
    NOT_APPLIED,
    Resolved,
    SourceChoice,
    from_cache,
    from_check,
    from_register,
)
from ndoo.db import Database
from ndoo.db.models import release
from ndoo.disclosures.assessments import Assessment, release_decision
from ndoo.disclosures.scope import DO_NOT_APPLY
from ndoo.errors import InputError, NdooError
from ndoo.timeutil import iso, to_db, utcnow
from ndoo.uphold.cacheentry import check_cohort


@dataclass(frozen=True)
class ApplyRequest:
    """One run: what to read, where to write, for which disclosure, from which source."""

    input: Location
    output: Location
    column: str
    disclosure: str
    source: SourceChoice = field(default_factory=SourceChoice)
    unmatched: str = "stop"
    overwrite: bool = False
    dry_run: bool = False
    manifest_path: Path | None = None
    notice_path: Path | None = None
    organisation: str = "X26"


@dataclass
class Release:
    """What a run produced: the manifest (as stored) and where its files are."""

    manifest: dict[str, Any]
    manifest_path: Path | None
    notice_path: Path | None
    notice: str


def evidence_paths(request: ApplyRequest) -> tuple[Path | None, Path | None]:
    """Where the manifest and the notice go: as given, or beside a file output."""
    base = request.output.path
    manifest = request.manifest_path or (
        base.with_name(base.name + ".manifest.json") if base is not None else None
    )
    notice_path = request.notice_path or (
        manifest.with_name(manifest.name.replace(".manifest.json", "") + ".notice.txt")
        if manifest is not None
        else None
    )
    return manifest, notice_path


def _output_exists(location: Location, engine: Engine) -> bool:
    if location.path is not None:
        return location.path.exists()
    if location.format == "table":
        return tables.exists(location)
    if location.format == "spark":
        return bool(_spark_tables(engine).table_exists(location))
    return False


def _spark_tables(engine: Engine) -> Any:
    """The engine's handling of Spark tables (only the Spark engine has them)."""
    if not hasattr(engine, "move_table"):
        raise InputError("Spark tables can be read and written only with --engine spark")
    return engine


def _settle_output(request: ApplyRequest) -> ApplyRequest:
    """A CSV output without a dialect of its own is written as the input was (or plainly)."""
    output = request.output
    if output.format != "csv" or output.dialect is not None:
        return request
    return replace(request, output=replace(output, dialect=request.input.dialect or CsvDialect()))


def _precheck(request: ApplyRequest, engine: Engine) -> None:
    if request.unmatched not in UNMATCHED_DECISIONS:
        raise InputError(
            f"unknown decision {request.unmatched!r} for unmatched rows; "
            f"use one of {', '.join(UNMATCHED_DECISIONS)}"
        )
    check_cohort(request.disclosure)
    if not request.column:
        raise InputError("name the NHS number column (--nhs-number-column)")
    same = (
        request.input.path is not None
        and request.output.path is not None
        and request.input.path.resolve() == request.output.path.resolve()
    ) or (
        request.input.format in ("table", "spark")
        and request.input.format == request.output.format
        and request.input.url == request.output.url
        and request.input.table == request.output.table
    )
    if same:
        raise InputError("the output cannot be the input: the source is never changed")
    if request.dry_run:
        return
    manifest_path, _ = evidence_paths(request)
    if manifest_path is None:
        raise InputError("say where the manifest goes (--manifest) when writing to a table")
    path = request.output.path
    if path is not None and not path.parent.is_dir():
        raise InputError(f"{path.parent}: no such folder to write {path.name} into")
    if not request.overwrite:
        for what, exists in (
            (request.output.describe(), _output_exists(request.output, engine)),
            (str(manifest_path), manifest_path.exists()),
        ):
            if exists:
                raise InputError(f"{what} already exists; give --overwrite to replace it")


def _not_applied(decision: Assessment) -> Resolved:
    """Opt-outs do not apply: nothing is withheld, and the manifest records why."""
    result = decision.result
    return Resolved(
        Lookup(np.empty(0, dtype=np.int64)),
        {
            "kind": NOT_APPLIED,
            "justification": [reason.text for reason in result.reasons if reason.rule],
            "cites": [
                {"cite": reason.cite, "source": reason.source}
                for reason in result.reasons
                if reason.rule
            ],
        },
    )


def _resolve(
    db: Database, engine: Engine, request: ApplyRequest, actor: str, decision: Assessment
) -> tuple[Resolved, int | None]:
    if decision.outcome == DO_NOT_APPLY:
        return _not_applied(decision), None
    choice = request.source
    if choice.kind == "register":
        return from_register(db), None
    if choice.kind == "cache":
        cohort = choice.cohort or request.disclosure
        resolved = from_cache(
            db, cohort, disclosure=request.disclosure, actor=actor, max_age=choice.max_age
        )
        return resolved, None
    first = engine.scan(request.input, request.column, None)
    numbers = first.distinct_numbers()
    return from_check(db, numbers, choice, disclosure=request.disclosure, actor=actor), len(numbers)


def _rows(rows: list[int], count: int) -> str:
    shown = ", ".join(str(r) for r in rows)
    more = count - len(rows)
    return f"row{'s' if count > 1 else ''} {shown}" + (f" and {more} more" if more > 0 else "")


def _refusal(counts: Counts, request: ApplyRequest) -> InputError | None:
    column = request.column
    if counts.uncovered:
        return InputError(
            f"{counts.uncovered} rows hold NHS numbers that the cleaned list does not cover "
            f"(column {column!r}; {_rows(counts.first_uncovered, counts.uncovered)}), so their "
            "opt-outs are unknown; check this dataset's numbers (--source mesh) or refresh the "
            "cohort to include them (nothing was written)",
            field=column,
            uncovered=counts.uncovered,
            rows=counts.first_uncovered,
        )
    if counts.unmatched and request.unmatched == "stop":
        parts = []
        if counts.missing:
            parts.append(f"{counts.missing} with no NHS number")
        if counts.invalid:
            parts.append(f"{counts.invalid} with an invalid NHS number")
        return InputError(
            f"{counts.unmatched} of {counts.rows_in} rows cannot be matched ("
            + " and ".join(parts)
            + f" in column {column!r}; {_rows(counts.first_unmatched, counts.unmatched)}); "
            "correct them, or decide with --unmatched keep or --unmatched drop "
            "(nothing was written)",
            field=column,
            missing=counts.missing,
            invalid=counts.invalid,
            rows=counts.first_unmatched,
        )
    return None


def _temporary(output: Location, tag: str) -> Location:
    if output.path is not None:
        path = output.path
        if output.is_folder:  # no suffix, so it stays a folder
            return replace(output, path=path.with_name(f".{path.name}-ndoo-{tag}"))
        return replace(output, path=path.with_name(f".{path.stem}.ndoo-{tag}{path.suffix}"))
    if output.format == "table":
        assert output.table is not None
        schema, _, name = output.table.rpartition(".")
        temp = f"{name[:40]}__ndoo_{tag}"
        return replace(output, table=f"{schema}.{temp}" if schema else temp)
    return replace(output, table=f"{output.table}__ndoo_{tag}")


def _discard(location: Location, engine: Engine) -> None:
    if location.path is not None:
        if location.path.is_dir():
            shutil.rmtree(location.path, ignore_errors=True)
        elif location.path.exists():
            location.path.unlink()
    elif location.format == "table":
        tables.drop(location)
    elif location.format == "spark":
        _spark_tables(engine).drop_table(location)


def _move_into_place(
    temporary: Location, output: Location, *, overwrite: bool, engine: Engine
) -> None:
    if output.path is not None and temporary.path is not None:
        if temporary.path.is_dir():
            old = output.path.with_name(f".{output.path.name}.ndoo-old")
            if output.path.exists():
                os.replace(output.path, old)
            os.replace(temporary.path, output.path)
            if old.exists():
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            os.replace(temporary.path, output.path)
    elif output.format == "table":
        tables.swap(temporary, output, overwrite=overwrite)
    elif output.format == "spark":
        _spark_tables(engine).move_table(temporary, output, overwrite=overwrite)


def build_manifest(
    request: ApplyRequest,
    *,
    release_id: str,
    engine: str,
    counts: Counts,
    rows_out: int,
    provenance: dict[str, Any],
    files: list[dict[str, Any]],
    actor: str,
    started: str,
    finished: str,
    row_order: str = "kept",
    assessment: Assessment | None = None,
) -> dict[str, Any]:
    output = request.output.as_dict()
    if files:
        output["files"] = files
    dropped = counts.unmatched if request.unmatched == "drop" else 0
    return {
        "schema": manifests.SCHEMA,
        "release_id": release_id,
        "disclosure": request.disclosure,
        "dry_run": request.dry_run,
        "input": request.input.as_dict(),
        "nhs_number_column": request.column,
        "output": output,
        "counts": {
            "rows_in": counts.rows_in,
            "rows_out": rows_out,
            "rows_removed": counts.rows_in - rows_out,
            "rows_withheld": counts.withheld,
            "distinct_patients_in": counts.distinct_in,
            "distinct_patients_out": counts.distinct_out,
        },
        "unmatched": {
            "rows": counts.unmatched,
            "missing": counts.missing,
            "invalid": counts.invalid,
            "decision": request.unmatched,
            "rows_dropped": dropped,
            "rows_kept": counts.unmatched - dropped,
            "first_rows": counts.first_unmatched,
        },
        "opt_outs": "not applied" if provenance.get("kind") == NOT_APPLIED else "applied",
        "assessment": _assessment_summary(assessment),
        "source": provenance,
        "engine": engine,
        "row_order": row_order,
        "operator": actor,
        "software": {"name": "ndoo", "version": __version__},
        "started_at": started,
        "finished_at": finished,
    }


def _assessment_summary(assessment: Assessment | None) -> dict[str, Any] | None:
    if assessment is None:
        return None
    return {
        "id": assessment.id,
        "outcome": assessment.outcome,
        "ruleset": assessment.result.ruleset,
        "disclosure_version": assessment.disclosure_version,
        "assessed_at": iso(assessment.assessed_at),
        "assessed_by": assessment.assessed_by,
    }


class _Speculation(Protocol):
    def fits(self, counts: Counts, unmatched: str) -> bool: ...
    def result(self, expected: int) -> tuple[int, Any]: ...
    def cancel(self) -> None: ...


def _speculate(
    engine: Engine, request: ApplyRequest, resolved: Resolved, temporary: Location
) -> _Speculation | None:
    """Start writing while the rows are judged, when the engine can (see DuckEngine.speculate).

    Both take a core each, so the run costs about one pass, not two.
    """
    start = getattr(engine, "speculate", None)
    if request.dry_run or not callable(start):
        return None
    spec: _Speculation | None = start(
        request.input,
        request.column,
        resolved.lookup,
        temporary,
        then=lambda: manifests.file_hashes(request.output, root=temporary.path),
    )
    return spec


def _cancel(spec: _Speculation | None, temporary: Location, engine: Engine) -> None:
    if spec is not None:
        spec.cancel()
        _discard(temporary, engine)


def _withdraw(
    db: Database, release_id: str, disclosure: str, actor: str, exc: BaseException
) -> None:
    """The output could not be put in place after the release was recorded: undo the record.

    The release row goes; the audit trail, append-only, gains a second entry saying
    the release failed, so it shows both what was recorded and what became of it.
    """
    with db.write() as conn:
        conn.execute(release.delete().where(release.c.release_id == release_id))
        audit.record(
            conn,
            actor=actor,
            action="apply.release",
            outcome="failed",
            disclosure=disclosure,
            release_id=release_id,
            reason=f"the output could not be put in place ({type(exc).__name__})",
        )


def new_release_id(moment: datetime) -> str:
    """``R20261121-kqzmxwab``: the day and eight random letters (never ten digits in a row,
    so the id can never be mistaken for an NHS number)."""
    letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    return f"R{moment:%Y%m%d}-{letters}"


def apply(
    db: Database,
    request: ApplyRequest,
    *,
    actor: str,
    engine: Engine,
) -> Release:
    """Apply opt-outs as ``request`` says; returns the release (see the module's steps)."""
    request = _settle_output(request)
    _precheck(request, engine)
    decision = release_decision(db, request.disclosure, organisation=request.organisation)
    if decision.outcome == DO_NOT_APPLY and request.unmatched == "stop":
        # Nothing is matched, so rows without a valid number cannot stop the release.
        request = replace(request, unmatched="keep")
    started = utcnow()
    release_id = new_release_id(started)
    resolved, sent = _resolve(db, engine, request, actor, decision)
    temporary = _temporary(request.output, release_id[-8:])
    spec = _speculate(engine, request, resolved, temporary)
    try:
        scan: Scan = engine.scan(request.input, request.column, resolved.lookup)
    except BaseException:
        _cancel(spec, temporary, engine)
        raise
    counts = scan.counts
    refusal = _refusal(counts, request)
    if spec is not None and (refusal is not None or not spec.fits(counts, request.unmatched)):
        _cancel(spec, temporary, engine)
        spec = None
    if refusal is not None:
        with db.write() as conn:
            audit.record(
                conn,
                actor=actor,
                action="apply.release",
                outcome="refused",
                disclosure=request.disclosure,
                release_id=release_id,
                source=resolved.provenance.get("kind"),
                reason=refusal.code,
                **counts.as_dict(),
            )
        raise refusal
    rows_out = counts.rows_out(request.unmatched)

    def manifest_for(files: list[dict[str, Any]], finished: datetime) -> dict[str, Any]:
        return build_manifest(
            request,
            release_id=release_id,
            engine=engine.name,
            row_order="kept" if getattr(engine, "keep_order", True) else "not guaranteed",
            counts=counts,
            rows_out=rows_out,
            provenance=resolved.provenance,
            files=files,
            actor=actor,
            started=iso(started),
            finished=iso(finished),
            assessment=decision,
        )

    if request.dry_run:
        manifest = manifest_for([], utcnow())
        with db.write() as conn:
            audit.record(
                conn,
                actor=actor,
                action="apply.dry_run",
                disclosure=request.disclosure,
                release_id=release_id,
                rows_in=counts.rows_in,
                rows_out=rows_out,
            )
        return Release(manifest, None, None, notice.text(manifest))
    manifest_path, notice_path = evidence_paths(request)
    assert manifest_path is not None and notice_path is not None
    pending: list[Path] = []
    try:
        if spec is not None:
            written, files = spec.result(rows_out)
        else:
            written = engine.write(scan, temporary, request.unmatched)
            files = manifests.file_hashes(request.output, root=temporary.path)
        if written != rows_out:
            raise NdooError(f"wrote {written} rows where {rows_out} were expected")
        finished = utcnow()
        manifest = manifest_for(files, finished)
        if sent is not None:
            manifest["source"]["sent"] = sent
        text = notice.text(manifest)
        staged_manifest = manifest_path.with_name(f".{manifest_path.name}.{release_id[-8:]}")
        staged_notice = notice_path.with_name(f".{notice_path.name}.{release_id[-8:]}")
        pending += [staged_manifest, staged_notice]
        manifests.write_json(staged_manifest, manifest)
        staged_notice.write_text(text, encoding="utf-8")
        with db.write() as conn:
            conn.execute(
                release.insert().values(
                    release_id=release_id,
                    disclosure=request.disclosure,
                    actor=actor,
                    engine=engine.name,
                    source=str(resolved.provenance.get("kind")),
                    dry_run=False,
                    started_at=to_db(started),
                    finished_at=to_db(finished),
                    rows_in=counts.rows_in,
                    rows_out=rows_out,
                    digest=manifests.digest(manifest),
                    manifest=manifests.canonical(manifest).decode(),
                )
            )
            audit.record(
                conn,
                actor=actor,
                action="apply.release",
                disclosure=request.disclosure,
                release_id=release_id,
                engine=engine.name,
                source=resolved.provenance.get("kind"),
                rows_in=counts.rows_in,
                rows_out=rows_out,
                rows_removed=counts.rows_in - rows_out,
                unmatched=counts.unmatched,
                decision=request.unmatched,
            )
        try:
            _move_into_place(temporary, request.output, overwrite=request.overwrite, engine=engine)
            os.replace(staged_manifest, manifest_path)
            os.replace(staged_notice, notice_path)
        except BaseException as exc:
            _withdraw(db, release_id, request.disclosure, actor, exc)
            raise
    except BaseException:
        _discard(temporary, engine)
        for path in pending:
            if path.exists():
                path.unlink()
        raise
    return Release(manifest, manifest_path, notice_path, text)
