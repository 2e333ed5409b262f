"""Staff administration: list, add, set a password, switch an account off and on."""

from __future__ import annotations

import pytest

from ndoo import audit
from ndoo.staff import accounts
from tests.web.conftest import PASSWORD, STAFF, csrf, sign_in

NEW_PASSWORD = "a much longer passphrase"


def staff_id(db, role: str) -> int:
    return accounts.get_by_username(db, STAFF[role]).id


def can_sign_in(client, username: str, password: str) -> bool:
    page = client.get("/staff/sign-in")
    answer = client.post(
        "/staff/sign-in",
        data={"username": username, "password": password, "csrf_token": csrf(page.text)},
    )
    return answer.status_code == 303


def test_the_list_shows_every_member_of_staff_and_its_json_twin(client, web_db):
    sign_in(client, "administrator")
    page = client.get("/console/staff")
    assert page.status_code == 200
    for username in STAFF.values():
        assert username in page.text
    assert "Contact-centre agent" in page.text
    data = client.get("/console/staff.json").json()
    assert {s["username"] for s in data["staff"]} == set(STAFF.values())
    assert all("password" not in str(s) for s in data["staff"])
    one = client.get(f"/console/staff/{staff_id(web_db, 'agent')}.json").json()
    assert one["username"] == STAFF["agent"] and one["role"] == "agent" and one["active"]
    assert client.get("/console/staff/999.json").status_code == 404
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/console/staff.json" in paths and "/console/staff/{staff_id}.json" in paths


def test_an_administrator_adds_a_member_of_staff_who_can_then_sign_in(client, web_db):
    sign_in(client, "administrator")
    form = client.get("/console/staff/new")
    added = client.post(
        "/console/staff/new",
        data={
            "username": "new.nia",
            "display_name": "Nia New",
            "role": "proxy_reviewer",
            "password": NEW_PASSWORD,
            "csrf_token": csrf(form.text),
        },
    )
    assert added.status_code == 303
    listing = client.get("/console/staff")
    assert "Nia New (new.nia) can now sign in as Proxy reviewer." in listing.text
    created = accounts.get_by_username(web_db, "new.nia")
    assert created.role == "proxy_reviewer" and created.active
    [entry] = audit.entries(web_db, action="staff.create", limit=1)
    assert entry.actor == STAFF["administrator"] and entry.detail["username"] == "new.nia"
    assert can_sign_in(client, "new.nia", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"password": "short"}, "password", "A password needs at least 12 characters"),
        ({"username": ""}, "username", "A username of 1 to 100 characters"),
        ({"username": STAFF["agent"]}, "username", "is taken"),
        ({"role": ""}, "role", "Unknown role"),
        ({"display_name": " "}, "display_name", "A display name of 1 to 200"),
    ],
)
def test_a_new_member_with_a_problem_is_refused_with_the_error_at_its_field(
    client, web_db, fields, field, message
):
    sign_in(client, "administrator")
    form = client.get("/console/staff/new")
    data = {
        "username": "new.nia",
        "display_name": "Nia New",
        "role": "agent",
        "password": NEW_PASSWORD,
        "csrf_token": csrf(form.text),
        **fields,
    }
    refused = client.post("/console/staff/new", data=data)
    assert refused.status_code == 422
    summary = refused.text.split('class="nhsuk-error-summary"')[1].split("</ul>")[0]
    assert f'href="#{field}"' in summary and message in summary
    assert f'id="{field}-error"' in refused.text
    assert NEW_PASSWORD not in refused.text  # a password is never sent back
    assert len(accounts.everyone(web_db)) == len(STAFF)


def test_an_administrator_sets_a_password(client, web_db):
    sign_in(client, "administrator")
    target = staff_id(web_db, "analyst")
    page = client.get(f"/console/staff/{target}")
    short = client.post(
        f"/console/staff/{target}/password",
        data={"password": "short", "csrf_token": csrf(page.text)},
    )
    assert short.status_code == 422 and 'href="#password"' in short.text
    done = client.post(
        f"/console/staff/{target}/password",
        data={"password": NEW_PASSWORD, "csrf_token": csrf(page.text)},
    )
    assert done.status_code == 303
    assert "has been set" in client.get(done.headers["location"]).text
    [entry] = audit.entries(web_db, action="staff.password")
    assert entry.actor == STAFF["administrator"]
    assert NEW_PASSWORD not in str(entry.detail)
    assert not can_sign_in(client, STAFF["analyst"], PASSWORD)
    assert can_sign_in(client, STAFF["analyst"], NEW_PASSWORD)


def test_a_switched_off_account_cannot_sign_in_until_switched_on(client, web_db):
    sign_in(client, "administrator")
    target = staff_id(web_db, "agent")
    page = client.get(f"/console/staff/{target}")
    off = client.post(
        f"/console/staff/{target}/active", data={"active": "off", "csrf_token": csrf(page.text)}
    )
    assert off.status_code == 303
    assert not accounts.get_by_username(web_db, STAFF["agent"]).active
    assert "Switch on agent.amy" in client.get(f"/console/staff/{target}").text
    other = client.__class__(client.app, base_url="http://testserver", follow_redirects=False)
    assert not can_sign_in(other, STAFF["agent"], PASSWORD)
    on = client.post(
        f"/console/staff/{target}/active", data={"active": "on", "csrf_token": csrf(page.text)}
    )
    assert on.status_code == 303
    assert can_sign_in(other, STAFF["agent"], PASSWORD)
    assert [e.detail["active"] for e in audit.entries(web_db, action="staff.active")] == [
        True,
        False,
    ]


def test_an_administrator_cannot_switch_off_their_own_account(client, web_db):
    sign_in(client, "administrator")
    mine = staff_id(web_db, "administrator")
    page = client.get(f"/console/staff/{mine}")
    refused = client.post(
        f"/console/staff/{mine}/active", data={"active": "off", "csrf_token": csrf(page.text)}
    )
    assert refused.status_code == 409
    assert "You cannot switch off your own account" in refused.text
    assert accounts.get_by_username(web_db, STAFF["administrator"]).active


@pytest.mark.parametrize("role", ["agent", "proxy_reviewer", "ig_lead", "analyst"])
def test_other_roles_are_refused(client, web_db, role):
    sign_in(client, role)
    target = staff_id(web_db, "analyst")
    for path in (
        "/console/staff",
        "/console/staff.json",
        "/console/staff/new",
        f"/console/staff/{target}",
        f"/console/staff/{target}.json",
    ):
        assert client.get(path).status_code == 403, path
    token = csrf(client.get("/staff/sign-out").text)
    posts = {
        "/console/staff/new": {
            "username": "x.y",
            "display_name": "X",
            "role": "administrator",
            "password": NEW_PASSWORD,
        },
        f"/console/staff/{target}/password": {"password": NEW_PASSWORD},
        f"/console/staff/{target}/active": {"active": "off"},
    }
    for path, data in posts.items():
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert len(accounts.everyone(web_db)) == len(STAFF)
    assert accounts.get_by_username(web_db, STAFF["analyst"]).active


def test_every_post_needs_the_csrf_token(client, web_db):
    sign_in(client, "administrator")
    target = staff_id(web_db, "analyst")
    new = {"username": "x.y", "display_name": "X", "role": "agent", "password": NEW_PASSWORD}
    assert client.post("/console/staff/new", data=new).status_code == 403
    assert (
        client.post(
            f"/console/staff/{target}/password", data={"password": NEW_PASSWORD}
        ).status_code
        == 403
    )
    assert client.post(f"/console/staff/{target}/active", data={"active": "off"}).status_code == 403
    assert len(accounts.everyone(web_db)) == len(STAFF)
    assert accounts.get_by_username(web_db, STAFF["analyst"]).active
