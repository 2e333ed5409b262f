"""``ndoo apply verify``: re-check a released output against its manifest.

Checks, each reported: the manifest is the one stored in the database when the run
ended (same SHA-256 of its canonical JSON); every output file is still there with the
recorded size and SHA-256; the output holds the recorded number of rows and of
distinct patients.  Nothing is changed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ndoo.apply import manifest as manifests
from ndoo.apply.engine import Engine
from ndoo.apply.locations import Location, sniff_csv
from ndoo.db import Database
from ndoo.errors import InputError


def verify(
    db: Database | None, path: Path, *, engine: Engine, url: str | None = None
) -> manifests.Verification:
    """Re-check the output named by the manifest at ``path`` (``url`` for a table output)."""
    manifest = manifests.load(path)
    result = manifests.Verification(path)
    if db is not None:
        stored = manifests.stored(db, str(manifest["release_id"]))
        if stored is None:
            result.problems.append("the database holds no release with this manifest's id")
        elif stored[0] != manifests.digest(manifest):
            result.problems.append(
                "the manifest differs from the copy stored in the database when the run ended"
            )
        else:
            result.checks.append("manifest matches the copy stored in the database")
    if manifest.get("dry_run"):
        result.problems.append("the manifest is from a dry run; nothing was released")
        return result
    entry = dict(manifest["output"])
    if "database" in entry:
        if url is None:
            result.problems.append(
                "the output is a database table; give its URL (--url) to count its rows"
            )
            return result
        location = Location("table", url=url, table=entry["table"])
    else:
        location = manifests.location_from(entry)
    if location.path is not None:
        _check_files(location, entry.get("files", []), result)
        if result.problems and not location.path.exists():
            return result
    try:
        _check_counts(location, manifest, engine, result)
    except InputError as exc:  # e.g. a file added to a released folder that is not like it
        result.problems.append(f"the output cannot be read to count its rows: {exc.message}")
    return result


def _check_files(
    location: Location, files: list[dict[str, object]], result: manifests.Verification
) -> None:
    assert location.path is not None
    if not location.path.exists():
        result.problems.append(f"{location.path}: the output is missing")
        return
    now = {f["name"]: f for f in manifests.file_hashes(location)}
    for recorded in files:
        name = str(recorded["name"])
        found = now.get(name)
        if found is None:
            result.problems.append(f"{name}: missing from the output")
        elif found["sha256"] != recorded["sha256"] or found["bytes"] != recorded["bytes"]:
            result.problems.append(f"{name}: changed since release (SHA-256 differs)")
        else:
            result.checks.append(f"{name}: SHA-256 matches")
    extra = sorted(set(now) - {str(f["name"]) for f in files})
    for name in extra:
        result.problems.append(f"{name}: not part of the release")


def _check_counts(
    location: Location,
    manifest: dict[str, object],
    engine: Engine,
    result: manifests.Verification,
) -> None:
    counts = manifest["counts"]
    assert isinstance(counts, dict)
    column = str(manifest["nhs_number_column"])
    if location.path is not None and location.format == "csv" and location.dialect is None:
        location = replace(location, dialect=sniff_csv(location.path))
    scan = engine.scan(location, column, None)
    rows = scan.counts.rows_in
    patients = scan.counts.distinct_in
    if rows != counts["rows_out"]:
        result.problems.append(
            f"the output holds {rows} rows; the manifest says {counts['rows_out']}"
        )
    else:
        result.checks.append(f"rows: {rows} as recorded")
    if patients != counts["distinct_patients_out"]:
        result.problems.append(
            f"the output holds {patients} distinct patients; the manifest says "
            f"{counts['distinct_patients_out']}"
        )
    else:
        result.checks.append(f"distinct patients: {patients} as recorded")
