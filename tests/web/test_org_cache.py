"""The cleaned-list cache in the staff console: listing, and a refresh when MESH is away."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ndoo.db import Database
from ndoo.db.models import audit_entry, check_request
from ndoo.timeutil import to_db, utcnow
from ndoo.uphold import cache
from ndoo.web.app import create_app
from tests.pos.helpers import NOT_OPTED_OUT, OPTED_OUT
from tests.web.conftest import csrf, settings_for, sign_in

#: Nothing listens here, so MESH cannot be reached.
NO_MESH = "http://127.0.0.1:9"


@pytest.fixture
def client(tmp_path, web_db) -> Iterator[TestClient]:
    app = create_app(settings_for(tmp_path, mesh_url=NO_MESH), db=web_db)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


def cached(db: Database, cohort: str, *, age: timedelta, sequence: int) -> cache.CacheEntry:
    """A cleaned list of five numbers, two of them withheld, checked ``age`` ago."""
    checked_at = utcnow() - age
    covered = np.array([int(n) for n in (*OPTED_OUT, *NOT_OPTED_OUT)], dtype=np.int64)
    kept = np.array([int(n) for n in NOT_OPTED_OUT], dtype=np.int64)
    with db.write() as conn:
        request_id = conn.execute(
            check_request.insert().values(
                mailbox="X26ORG01",
                recipient="X26HC065",
                month=f"{checked_at:%Y-%m}",
                sequence=sequence,
                filename=f"X26ORG01-{checked_at:%d%m%Y}-{sequence:04d}.dat",
                subject=f"X26ORG01-{checked_at:%d%m%Y}-{sequence:04d}",
                local_id=f"X26ORG01-{checked_at:%d%m%Y}-{sequence:04d}",
                cohort=cohort,
                mode="cohort",
                numbers_sent=covered.size,
                numbers=cache.encode_numbers(covered),
                state="received",
                created_at=to_db(checked_at),
            )
        ).inserted_primary_key[0]
        return cache.store(
            conn,
            cohort=cohort,
            mode="cohort",
            check_request_id=int(request_id),
            message_id=f"2026010109300012345{sequence}_ABCDEF",
            checked_at=checked_at,
            covered=covered,
            kept=kept,
            actor="test",
        )


def test_the_cache_lists_each_list_with_its_age_and_counts_never_its_numbers(client, web_db):
    cached(web_db, "gp-registered", age=timedelta(hours=5), sequence=1)
    cached(web_db, "old-cohort", age=timedelta(days=30), sequence=2)
    sign_in(client, "analyst")
    page = client.get("/console/cache")
    assert page.status_code == 200
    assert "gp-registered" in page.text and "old-cohort" in page.text
    assert "too old: refresh" in page.text
    for number in (*OPTED_OUT, *NOT_OPTED_OUT):
        assert number not in page.text
    twin = client.get("/console/cache.json").json()
    assert twin["max_age_days"] == 7
    found = {e["cohort"]: e for e in twin["entries"]}
    assert (found["gp-registered"]["covered_count"], found["gp-registered"]["kept_count"]) == (5, 3)
    assert found["gp-registered"]["state"] == "current" and found["gp-registered"]["usable"]
    assert 4.9 <= found["gp-registered"]["age_hours"] <= 5.1
    assert found["old-cohort"]["usable"] is False


def test_superseded_lists_are_shown_only_when_asked(client, web_db):
    cached(web_db, "gp-registered", age=timedelta(days=2), sequence=1)
    cached(web_db, "gp-registered", age=timedelta(hours=1), sequence=2)
    sign_in(client, "ig_lead")
    assert len(client.get("/console/cache.json").json()["entries"]) == 1
    everything = client.get("/console/cache.json?all=true").json()["entries"]
    assert [e["state"] for e in everything] == ["current", "superseded, erased"]
    assert "superseded, erased" in client.get("/console/cache?all=true").text


def test_a_refresh_when_mesh_cannot_be_reached_says_so_and_keeps_the_list(client, web_db):
    entry = cached(web_db, "gp-registered", age=timedelta(hours=5), sequence=1)
    sign_in(client, "analyst")
    page = client.get("/console/cache")
    answer = client.post(
        "/console/cache/refresh", data={"csrf_token": csrf(page.text), "cohort": "gp-registered"}
    )
    assert answer.status_code == 502
    assert "There is a problem" in answer.text
    assert "Cohort gp-registered was not refreshed" in answer.text
    assert "cannot connect" in answer.text
    assert cache.current(web_db, "gp-registered") == entry  # the list in use stays


def test_refreshing_a_cohort_that_is_not_cached_is_refused(client, web_db):
    sign_in(client, "analyst")
    token = csrf(client.get("/staff/sign-out").text)  # the cache page has no form when empty
    answer = client.post("/console/cache/refresh", data={"csrf_token": token, "cohort": "nothing"})
    assert answer.status_code == 404
    assert "was not refreshed: no cleaned list is cached for cohort" in answer.text


def test_other_roles_cannot_see_the_cache(client):
    sign_in(client, "agent")
    token = csrf(client.get("/staff/sign-out").text)
    assert client.get("/console/cache").status_code == 403
    assert client.get("/console/cache.json").status_code == 403
    refused = client.post("/console/cache/refresh", data={"csrf_token": token, "cohort": "x"})
    assert refused.status_code == 403


def test_a_refresh_needs_the_sessions_token(client, web_db):
    cached(web_db, "gp-registered", age=timedelta(hours=5), sequence=1)
    sign_in(client, "analyst")
    forged = client.post("/console/cache/refresh", data={"cohort": "gp-registered"})
    assert forged.status_code == 403
    with web_db.read() as conn:
        actions = conn.execute(select(audit_entry.c.action)).scalars().all()
    assert "check.send" not in actions
    with web_db.read() as conn:
        assert len(conn.execute(select(check_request.c.id)).all()) == 1
