"""The release manifest: evidence of what one run of ``ndoo apply`` did, and its check.

The manifest is JSON: the disclosure, input and output (with the SHA-256 of every
output file), the counts (rows in, out and removed; distinct patients in and out;
unmatched rows and the decision taken), where the opt-out information came from,
who ran it, the software version and the start and end times.  It is written beside
the output and stored in the database (:data:`ndoo.db.models.release`) with the
SHA-256 of its canonical form, so an edited file is detected.

:func:`verify` re-checks an output against its manifest: the files' hashes, the rows
and distinct patients now in the output, and the stored copy.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ndoo.apply.locations import CsvDialect, Location
from ndoo.db import Database
from ndoo.db.models import release
from ndoo.errors import InputError
from ndoo.timeutil import from_db, iso

SCHEMA = "ndoo-release-manifest/1"
_CHUNK = 8 << 20


def canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str).encode()


def digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's canonical JSON."""
    return hashlib.sha256(canonical(manifest)).hexdigest()


def sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def file_hashes(location: Location, *, root: Path | None = None) -> list[dict[str, Any]]:
    """SHA-256 and size of each output file (relative names for a folder)."""
    if location.path is None:
        return []
    base = root if root is not None else location.path
    if base.is_dir():
        files = sorted(p for p in base.rglob("*") if p.is_file())
        return [
            {"name": str(p.relative_to(base)), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in files
        ]
    return [{"name": location.path.name, "bytes": base.stat().st_size, "sha256": sha256_file(base)}]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically: a temporary file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def location_from(entry: dict[str, Any]) -> Location:
    """The output location a manifest names."""
    csv = entry.get("csv")
    dialect = CsvDialect(**csv) if isinstance(csv, dict) else None
    if "path" in entry:
        return Location(entry["format"], path=Path(entry["path"]), dialect=dialect)
    if entry["format"] == "spark":
        return Location("spark", table=entry["table"])
    raise InputError(
        "the manifest names a database table; give its URL with --url to verify it "
        "(the manifest never stores passwords)"
    )


@dataclass
class Verification:
    """The result of :func:`verify`: ``ok`` and every problem found."""

    manifest: Path
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "manifest": str(self.manifest),
            "ok": self.ok,
            "checks": self.checks,
            "problems": self.problems,
        }


def load(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a release manifest (not JSON: {exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise InputError(f"{path}: not a release manifest (no schema {SCHEMA!r})")
    return manifest


def recent(db: Database, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The newest releases, as the ``release`` table lists them (not their manifests):
    id, disclosure, operator, engine, source, dry run, start and end (ISO), rows in and
    out, and the digest of the stored manifest."""
    query = (
        select(
            release.c.release_id,
            release.c.disclosure,
            release.c.actor,
            release.c.engine,
            release.c.source,
            release.c.dry_run,
            release.c.started_at,
            release.c.finished_at,
            release.c.rows_in,
            release.c.rows_out,
            release.c.digest,
        )
        .order_by(release.c.started_at.desc(), release.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with db.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        {
            **row,
            "dry_run": bool(row["dry_run"]),
            "rows_in": int(row["rows_in"]),
            "rows_out": int(row["rows_out"]),
            "started_at": iso(from_db(row["started_at"])),
            "finished_at": iso(from_db(row["finished_at"])),
        }
        for row in rows
    ]


def stored(db: Database, release_id: str) -> tuple[str, dict[str, Any]] | None:
    with db.read() as conn:
        row = conn.execute(
            select(release.c.digest, release.c.manifest).where(release.c.release_id == release_id)
        ).first()
    return None if row is None else (str(row.digest), json.loads(row.manifest))
