"""What every page of the web service shares: headers, errors, sessions, sign-in."""

from __future__ import annotations

from ndoo.errors import NotFound, error_body
from tests.web.conftest import PASSWORD, STAFF, csrf, sign_in


def test_every_response_carries_the_security_headers(client):
    response = client.get("/")
    assert response.status_code == 200
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    nonce = headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.text  # the layout's only inline script
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"


def test_the_design_system_is_served_from_the_build(client):
    css = client.get("/static/nhsuk/nhsuk-frontend.min.css")
    assert css.status_code == 200 and ".nhsuk-header" in css.text
    assert "no-store" not in css.headers.get("cache-control", "")


def test_errors_take_the_one_json_shape(client):
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert set(missing.json()) == {"error"}
    assert set(missing.json()["error"]) == {"code", "message", "details"}
    assert missing.json()["error"]["code"] == "not_found"
    page = client.get("/nothing-here")
    assert page.status_code == 404 and "Page not found" in page.text
    assert set(error_body(NotFound("x"))) == set(missing.json())


def test_the_console_needs_a_signed_in_member_of_staff(client):
    answer = client.get("/console")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/sign-in?next=/console"
    assert client.get("/console", headers={"accept": "application/json"}).status_code == 401


def test_signing_in_shows_only_the_sections_of_the_role(client):
    sign_in(client, "agent")
    page = client.get("/console")
    assert page.status_code == 200
    assert "Find a person" in page.text
    assert "Staff accounts" not in page.text and "Compliance" not in page.text


def test_a_wrong_password_is_refused_without_saying_whether_the_user_exists(client):
    page = client.get("/staff/sign-in")
    token = csrf(page.text)
    wrong = client.post(
        "/staff/sign-in",
        data={"username": STAFF["agent"], "password": "nope" * 4, "csrf_token": token},
    )
    nobody = client.post(
        "/staff/sign-in", data={"username": "no.one", "password": "nope" * 4, "csrf_token": token}
    )
    assert wrong.status_code == nobody.status_code == 401
    assert "The username or password is not right" in wrong.text
    assert "The username or password is not right" in nobody.text


def test_a_form_without_the_sessions_token_is_refused(client):
    client.get("/staff/sign-in")
    forged = client.post("/staff/sign-in", data={"username": STAFF["agent"], "password": PASSWORD})
    assert forged.status_code == 403
    assert client.get("/console").status_code == 303  # not signed in


def test_signing_in_replaces_the_session_and_signing_out_ends_it(client):
    sign_in(client, "analyst")
    token = client.cookies.get("ndoo_staff")
    assert token
    out = client.get("/staff/sign-out")
    done = client.post("/staff/sign-out", data={"csrf_token": csrf(out.text)})
    assert done.status_code == 303
    client.cookies.set("ndoo_staff", token)
    assert client.get("/console").status_code == 303


def test_sign_in_is_rate_limited_per_address(client):
    token = csrf(client.get("/staff/sign-in").text)
    codes = [
        client.post(
            "/staff/sign-in", data={"username": "x", "password": "y", "csrf_token": token}
        ).status_code
        for _ in range(12)
    ]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]


def test_expired_sessions_are_removed_as_new_ones_start(app, web_db):
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from ndoo.db.models import web_session
    from ndoo.timeutil import to_db, utcnow
    from ndoo.web.sessions import SessionStore

    store: SessionStore = app.state.sessions
    old = store.new("citizen")
    from fastapi import Response

    store.save(old, Response())
    with web_db.write() as conn:
        conn.execute(update(web_session).values(expires_at=to_db(utcnow() - timedelta(minutes=1))))
    store._created = 0  # the next new session is a purge point
    store.new("citizen")
    with web_db.read() as conn:
        assert conn.execute(select(func.count()).select_from(web_session)).scalar_one() == 0
