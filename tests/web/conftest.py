"""A running web service for the tests: the app on a migrated register, and a client."""

from __future__ import annotations

import re
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


@pytest.fixture
def web_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'web.db'}")
    upgrade(db)
    for role, username in STAFF.items():
        accounts.create(
            db, username, username.replace(".", " ").title(), role, PASSWORD, actor="test"
        )
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
