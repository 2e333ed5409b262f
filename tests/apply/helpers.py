"""A small register and datasets for the apply tests."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from ndoo.apply.duck import DuckEngine
from ndoo.apply.locations import Location, locate
from ndoo.apply.release import ApplyRequest, Release, apply
from ndoo.apply.sources import SourceChoice
from ndoo.db import Database
from ndoo.db.migrate import upgrade
from ndoo.db.models import audit_entry, release
from tests.disclosures.helpers import ORGANISATION, assessed
from tests.pos.helpers import NOT_OPTED_OUT, OPTED_OUT, register_with_optouts

__all__ = [
    "NOT_OPTED_OUT",
    "OPTED_OUT",
    "PG_URL",
    "digest",
    "episodes",
    "pg_database",
    "register_with_optouts",
    "run",
    "sqlite_register",
    "tree",
]

PG_URL = os.environ.get("NDOO_TEST_DATABASE_URL")
#: Ten digits, or 3-3-4 groups: what an NHS number looks like in any text.
NHS_LIKE = re.compile(r"(?<!\d)(\d{10}|\d{3}[ -]\d{3}[ -]\d{4})(?!\d)")


def episodes() -> pa.Table:
    """Six episodes of five people: two opted out (three rows), three not."""
    return pa.table(
        {
            "episode": ["E01", "E02", "E03", "E04", "E05", "E06"],
            "nhs_number": [
                OPTED_OUT[0],
                "943 476 5919",
                OPTED_OUT[1],
                NOT_OPTED_OUT[0],
                "900-000-0009",
                NOT_OPTED_OUT[1],
            ],
            "code": ["007", "A01", "B02", "C03", "D04", "E05"],
            "cost": [1.5, 2.0, 3.25, 4.0, 5.0, 6.5],
        }
    )


#: The episodes a release of :func:`episodes` keeps, in order.
KEPT_EPISODES = ["E02", "E04", "E06"]


def write_parquet(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


def run(
    db: Database,
    source: str | Location,
    out: str | Location,
    *,
    column: str = "nhs_number",
    disclosure: str = "DSA-001",
    kind: str = "register",
    choice: SourceChoice | None = None,
    engine: DuckEngine | None = None,
    register_disclosure: bool = True,
    **changes: object,
) -> Release:
    """Apply with the DuckDB engine, as the CLI would.

    A disclosure the register does not hold is first registered and assessed in scope
    (opt-outs apply), unless ``register_disclosure`` is false.
    """
    source_location = source if isinstance(source, Location) else locate(source)
    target = out if isinstance(out, Location) else locate(out, output=True)
    request = ApplyRequest(
        input=source_location,
        output=target,
        column=column,
        disclosure=disclosure,
        source=choice or SourceChoice(kind=kind, cohort=changes.pop("cohort", None)),  # type: ignore[arg-type]
        **changes,  # type: ignore[arg-type]
    )
    if register_disclosure and registrable(disclosure) and not registered(db, disclosure):
        assessed(db, disclosure)
    chosen = engine or DuckEngine(memory_limit="1GB")
    try:
        return apply(db, request, actor="analyst", engine=chosen)
    finally:
        if engine is None:
            chosen.close()


_TEMPLATE: list[Path] = []

#: Disclosures the template register holds, each assessed in scope (opt-outs apply).
TEMPLATE_DISCLOSURES = ("DSA-001", "DSA-042", "D", "D-1", "DARS-NIC-1234", "DARS-NIC-77")


def sqlite_register(path: Path) -> Database:
    """A migrated SQLite register holding :mod:`tests.pos.helpers`' five people.

    Built once per test session and copied: migrating for every test is most of its time.
    """
    if not _TEMPLATE:
        folder = tempfile.mkdtemp(prefix="ndoo-apply-register-")
        atexit.register(shutil.rmtree, folder, True)
        template = Path(folder) / "register.db"
        made = Database(f"sqlite:///{template}")
        upgrade(made)
        register_with_optouts(made)
        for reference in TEMPLATE_DISCLOSURES:
            assessed(made, reference)
        made.dispose()  # the last connection closed: the WAL is folded into the file
        _TEMPLATE.append(template)
    shutil.copyfile(_TEMPLATE[0], path)
    return Database(f"sqlite:///{path}")


def registered(db: Database, reference: str) -> bool:
    from ndoo.disclosures import store
    from ndoo.errors import DisclosureNotFound

    try:
        store.get(db, reference, organisation=ORGANISATION)
    except DisclosureNotFound:
        return False
    return True


def registrable(reference: str) -> bool:
    """Whether ``reference`` could be registered (the refusal tests give ones that cannot)."""
    from ndoo.disclosures.record import parse

    _, problems = parse({"reference": reference, "title": "t", "recipient": "r"})
    return not problems


def digest(path: Path) -> str:
    """SHA-256 of a file, or of a folder's names and contents."""
    hasher = hashlib.sha256()
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            hasher.update(str(item.relative_to(path)).encode() + b"\0")
            hasher.update(item.read_bytes())
    else:
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def tree(root: Path) -> set[str]:
    """Every file and folder under ``root``, relative (hidden ones too)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def releases(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(sa.select(release).order_by(release.c.id)))


def audit_details(db: Database) -> list[str]:
    """Every audit entry's detail as JSON, MESH message ids aside (opaque hex that may hold
    ten digits in a row by chance, as :mod:`ndoo.audit` allows)."""
    from ndoo.audit import _MESSAGE_ID_KEYS

    with db.read() as conn:
        details = [json.loads(d) for d in conn.execute(sa.select(audit_entry.c.detail)).scalars()]
    return [json.dumps({k: v for k, v in d.items() if k not in _MESSAGE_ID_KEYS}) for d in details]


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def read_table(url: str, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a table, in storage order."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            rows = [tuple(r) for r in conn.execute(sa.select(table))]
            return [c.name for c in table.columns], rows
    finally:
        engine.dispose()


@contextmanager
def pg_database() -> Iterator[str]:
    """A URL whose tables land in a fresh PostgreSQL schema, dropped afterwards."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need NDOO_TEST_DATABASE_URL")
    from tests.conftest import with_search_path

    schema = f"ndoo_apply_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield with_search_path(PG_URL, schema)
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
