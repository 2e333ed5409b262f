"""The main job on the embedded default: a SQLite register loaded with synthetic England.

``ndoo demo`` (``make demo``) migrates the database named by the settings, generates
a synthetic population if the register is empty, loads it, and summarises the
register: people, opt-outs and the rate by NHS England region, then checks the audit
trail.  Run again, it finds the population loaded and only summarises.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ndoo import audit
from ndoo.db import Database, migrate
from ndoo.db.models import person
from ndoo.errors import InputError
from ndoo.register.load import LoadSummary, load_population
from ndoo.register.summary import RegisterSummary, summarise
from ndoo.settings import Settings
from ndoo.synth import generate_population


@dataclass(frozen=True)
class DemoResult:
    database: str
    loaded: LoadSummary | None
    summary: RegisterSummary
    audit: audit.Verification

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "loaded": self.loaded.as_dict() if self.loaded else None,
            "summary": self.summary.as_dict(),
            "audit": self.audit.__dict__,
        }


def _reset_sqlite(db: Database) -> None:
    if db.dialect != "sqlite":
        raise InputError("--reset only removes an embedded SQLite register, never PostgreSQL")
    name = make_url(db.url).database
    if name and name != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)


def run_demo(settings: Settings, *, people: int, seed: int, reset: bool = False) -> DemoResult:
    db = Database.from_settings(settings)
    if reset:
        _reset_sqlite(db)
        db = Database.from_settings(settings)
    migrate.upgrade(db)
    with db.read() as conn:
        known = int(conn.execute(select(func.count()).select_from(person)).scalar_one())
    loaded = None
    if known == 0:
        out = Path(settings.home) / "synth"
        generate_population(people=people, seed=seed, out_dir=out)
        loaded = load_population(db, out, actor=str(settings.actor))
    return DemoResult(db.display_url, loaded, summarise(db), audit.verify(db))
