"""Fixtures shared by the whole suite: a fresh register on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from ndoo import people
from ndoo.db import Database
from ndoo.db.migrate import upgrade
from ndoo.mesh.sandbox import Sandbox
from ndoo.mesh.transport import Mailbox, MailboxConfig
from ndoo.settings import Secret

PG_URL = os.environ.get("NDOO_TEST_DATABASE_URL")
PG_SKIP = (
    "PostgreSQL storage tests need NDOO_TEST_DATABASE_URL "
    "(e.g. postgresql://root@127.0.0.1:5432/test); .ci/run sets it"
)


def with_search_path(url: str, schema: str) -> str:
    option = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Database]:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    admin = Database(PG_URL)
    yield admin
    admin.dispose()


def _fresh_database(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Database]:
    if kind == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'register.db'}")
        yield database
        database.dispose()
        return
    admin: Database = request.getfixturevalue("pg_admin")
    schema = f"ndoo_test_{uuid.uuid4().hex[:12]}"
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(with_search_path(str(PG_URL), schema))
    try:
        yield database
    finally:
        database.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema yet, on each backend."""
    yield from _fresh_database(request.param, tmp_path, request)


@pytest.fixture
def db(empty_db: Database) -> Database:
    """A migrated, empty register on each backend."""
    upgrade(empty_db)
    return empty_db


ADULT = "9434765919"
CHILD = "9000000009"
ELDER = "9000000017"
OTHER = "9000000025"


@pytest.fixture
def add_person(db: Database) -> Callable[..., people.Person]:
    """Add a person to the register: ``add_person(number, born=date(...), **facts)``."""

    def add(number: str, born: date, gender: str = "2", **facts: object) -> people.Person:
        person = people.add(db, people.Person(number, born, gender), actor="test")
        if facts:
            person = people.update_facts(db, number, actor="test", **facts)  # type: ignore[arg-type]
        return person

    return add


# ---------------------------------------------------------------------------
# A real MESH server: mesh-sandbox on a free loopback port, full token auth, file store.

SERVICE_MAILBOX = "X26HC065"
ORG_MAILBOX = "X26ORG01"
OTHER_ORG_MAILBOX = "X26ORG02"
SHARED_KEY = "ndoo-tests-shared-key"


@pytest.fixture(scope="session")
def mesh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    store = tmp_path_factory.mktemp("mesh") / "store"
    sandbox = Sandbox.start(
        store, shared_key=SHARED_KEY, mailboxes=(SERVICE_MAILBOX, ORG_MAILBOX, OTHER_ORG_MAILBOX)
    )
    yield sandbox
    sandbox.stop()


@pytest.fixture
def mesh(mesh_server: Sandbox) -> Sandbox:
    """The sandbox with every mailbox emptied."""
    mesh_server.reset()
    return mesh_server


def mailbox_config(sandbox: Sandbox, mailbox: str, **changes: object) -> MailboxConfig:
    config = MailboxConfig(
        url=sandbox.url,
        mailbox=mailbox,
        password=Secret("password"),
        shared_key=Secret(SHARED_KEY),
        timeout=30,
        chunk_size=256 * 1024,
    )
    return replace(config, **changes)  # type: ignore[arg-type]


@pytest.fixture
def open_mailbox(mesh: Sandbox) -> Iterator[Callable[..., Mailbox]]:
    """``open_mailbox("X26ORG01")``: a session on a sandbox mailbox, closed after the test."""
    opened: list[Mailbox] = []

    def make(mailbox: str, **changes: object) -> Mailbox:
        box = Mailbox(mailbox_config(mesh, mailbox, **changes))
        opened.append(box)
        return box

    yield make
    for box in opened:
        box.close()
