"""A running web service for the tests: the app on a migrated register, and a client."""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ndoo.db import Database
from ndoo.db.migrate import upgrade
from ndoo.settings import load_settings
from ndoo.staff import accounts
from ndoo.web.app import create_app

PASSWORD = "correct horse battery"
STAFF = {
    "agent": "agent.amy",
    "proxy_reviewer": "reviewer.raj",
    "ig_lead": "ig.imogen",
    "analyst": "analyst.ade",
    "administrator": "admin.ali",
}


def settings_for(tmp_path: Path, **extra: str):
    environ = {
        "NDOO_HOME": str(tmp_path),
        "NDOO_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}",
        "NDOO_ENV_FILE": str(tmp_path / "absent.env"),
        "NDOO_ORGANISATION_CODE": "X26",
        **{f"NDOO_{k.upper()}": v for k, v in extra.items()},
    }
    return load_settings(environ=environ)


_TEMPLATE: list[Path] = []


def staffed_database(path: Path) -> Database:
    """A migrated SQLite database at ``path`` with one staff account per role.

    Built once per test session and copied: hashing five passwords with Argon2 and
    migrating take seconds, which every web test would pay again.
    """
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="ndoo-web-template-"))
        atexit.register(shutil.rmtree, folder, True)
        made = Database(f"sqlite:///{folder / 'web.db'}")
        upgrade(made)
        for role, username in STAFF.items():
            name = username.replace(".", " ").title()
            accounts.create(made, username, name, role, PASSWORD, actor="test")
        made.dispose()
        _TEMPLATE.append(folder / "web.db")
    shutil.copyfile(_TEMPLATE[0], path)
    return Database(f"sqlite:///{path}")


@pytest.fixture
def web_db(tmp_path: Path) -> Iterator[Database]:
    db = staffed_database(tmp_path / "web.db")
    yield db
    db.dispose()


@pytest.fixture
def app(tmp_path: Path, web_db: Database):
    return create_app(settings_for(tmp_path), db=web_db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


def csrf(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, role: str) -> None:
    page = client.get("/staff/sign-in")
    answer = client.post(
        "/staff/sign-in",
        data={
            "username": STAFF[role],
            "password": PASSWORD,
            "csrf_token": csrf(page.text),
            "next": "/console",
        },
    )
    assert answer.status_code == 303, answer.text
