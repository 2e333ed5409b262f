"""Staff training compliance in the console: the dashboard and its JSON twin, the evidence
downloads, the roster and its CSV upload, one person's record, and who may see them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from ndoo.db.models import training_completion
from ndoo.identity.notify import notifier_from_settings
from ndoo.timeutil import start_of_day, to_db, utcnow
from ndoo.training import assessment, content, renewals, roster
from ndoo.training.assessment import expiry
from ndoo.training.evidence import COLUMNS
from ndoo.web.app import create_app
from tests.web.conftest import csrf, settings_for, sign_in

ORGANISATION = "Anytown Surgery"
REQUIRED = "GP,Practice nurse,Receptionist"


@pytest.fixture
def app(tmp_path, web_db):
    """The web service with three job roles that require the training."""
    settings = settings_for(
        tmp_path, training_required_roles=REQUIRED, organisation_name=ORGANISATION
    )
    return create_app(settings, db=web_db)


# ---------------------------------------------------------------------------
# Building a roster and its completions


def add(db, name: str, team: str, role: str, *, days_ago: int = 0) -> int:
    """Add someone who joined ``days_ago`` days ago; their roster id."""
    email = f"{name.split()[0].lower()}@example.nhs.uk"
    start = utcnow().date() - timedelta(days=days_ago)
    roster.add(db, name=name, email=email, team=team, role=role, actor="test", start_date=start)
    return roster.get(db, email).id


def complete(db, trainee_id: int, *, days_ago: int = 0) -> int:
    """Take the module, answering every question right; the pass, dated ``days_ago``."""
    module = content.load()
    attempt = assessment.start(db, trainee_id)
    for _ in range(200):
        now = assessment.step(db, attempt.id, trainee_id)
        if now.stage == "done":
            break
        if now.stage == "ask":
            assert now.question is not None
            answer = module.questions[now.question.id].answer
            assessment.answer(
                db, attempt.id, trainee_id, question_id=now.question.id, option_id=answer
            )
        else:
            assessment.proceed(db, attempt.id, trainee_id)
    assert now.stage == "done" and now.completion_id is not None
    if days_ago:
        day = utcnow().date() - timedelta(days=days_ago)
        with db.write() as conn:
            conn.execute(
                update(training_completion)
                .where(training_completion.c.id == now.completion_id)
                .values(
                    completed_on=day,
                    completed_at=to_db(start_of_day(day)),
                    expires_on=expiry(day),
                )
            )
    return now.completion_id


def staff(db) -> dict[str, int]:
    """Six people: in date, due to renew, expired, a new starter, a starter out of time,
    and a volunteer whose role does not require the training."""
    ids = {
        "alice": add(db, "Alice Adams", "Blue team", "GP", days_ago=500),
        "bob": add(db, "Bob Brown", "Blue team", "Practice nurse", days_ago=500),
        "cara": add(db, "Cara Clark", "Red team", "Receptionist", days_ago=500),
        "dan": add(db, "Dan Davies", "Red team", "Receptionist"),
        "eve": add(db, "Eve Evans", "Red team", "GP", days_ago=100),
        "finn": add(db, "Finn Foster", "Red team", "Volunteer", days_ago=500),
    }
    complete(db, ids["alice"])
    complete(db, ids["bob"], days_ago=300)
    complete(db, ids["cara"], days_ago=400)
    complete(db, ids["finn"], days_ago=10)
    return ids


# ---------------------------------------------------------------------------
# Reading pages


class _Tables(HTMLParser):
    """Every table on a page: its caption and its rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            self.tables[-1]["rows"][-1].append(text)
            self._cell = None

    def handle_data(self, data):
        if self._in_caption:
            self.tables[-1]["caption"] += data
        elif self._cell is not None:
            self._cell.append(data)


def table(html: str, caption: str) -> list[list[str]]:
    """The rows (without the heading row) of the table whose caption starts so."""
    parser = _Tables()
    parser.feed(html)
    for found in parser.tables:
        if found["caption"].strip().startswith(caption):
            return found["rows"][1:]
    raise AssertionError(f"no table captioned {caption!r}")


def percent_in_date(html: str) -> str:
    found = re.search(r'id="percent-in-date">([^<]+)<', html)
    assert found, "the page has no headline percentage"
    return found.group(1)


# ---------------------------------------------------------------------------
# The dashboard


def test_the_dashboard_shows_who_is_in_date_due_and_overdue(client, web_db):
    ids = staff(web_db)
    sign_in(client, "ig_lead")
    page = client.get("/console/training")
    assert page.status_code == 200
    html = page.text
    assert percent_in_date(html) == "40.0%"
    assert "2 of 5 staff whose role requires the training are in date" in html
    assert re.search(r"Due within 90 days.*?2 \(1 to renew, 1 new starter\)", html, re.S)
    assert re.search(
        r"Not started \(new starters still within their time\).*?>\s*1\s*<", html, re.S
    )
    assert re.search(r"On the roster but not required.*?>\s*1\s*<", html, re.S)
    assert 'id="required-roles">GP, Practice nurse, Receptionist<' in html
    assert table(html, "Required staff by team") == [
        ["Blue team", "2", "2", "1", "0", "0", "100.0%"],
        ["Red team", "3", "0", "0", "1", "2", "0.0%"],
    ]
    assert table(html, "Required staff by job role") == [
        ["GP", "2", "1", "0", "0", "1", "50.0%"],
        ["Practice nurse", "1", "1", "1", "0", "0", "100.0%"],
        ["Receptionist", "2", "0", "0", "1", "1", "0.0%"],
    ]
    today = utcnow().date()
    bob_due = expiry(today - timedelta(days=300))
    due = table(html, "2 people, soonest first")
    assert [row[:4] for row in due] == [
        [
            "Dan Davies new starter, not started",
            "Red team",
            "Receptionist",
            (today + timedelta(days=30)).isoformat(),
        ],
        ["Bob Brown", "Blue team", "Practice nurse", bob_due.isoformat()],
    ]
    assert [row[4] for row in due] == ["30", str((bob_due - today).days)]
    overdue = table(html, "2 people, longest overdue first")
    assert [row[0] for row in overdue] == ["Eve Evans", "Cara Clark"]
    assert overdue[0][3].startswith((today - timedelta(days=70)).isoformat())
    assert "never completed; due 70 days ago" in overdue[0][3]
    assert "training expired" in overdue[1][3]
    assert f'href="/console/training/people/{ids["eve"]}"' in html
    for link in ("evidence.csv", "evidence.pdf", "roster"):
        assert f'href="/console/training/{link}"' in html
    assert "Finn Foster" not in html  # a volunteer is not required


def test_the_json_twin_gives_the_same_figures(client, web_db):
    staff(web_db)
    sign_in(client, "ig_lead")
    html = client.get("/console/training").text
    twin = client.get("/console/training.json")
    assert twin.status_code == 200
    data = twin.json()
    assert data["organisation_name"] == ORGANISATION
    assert data["today"] == utcnow().date().isoformat()
    assert data["required_roles"] == ["gp", "practice nurse", "receptionist"]
    assert data["every_role"] is False
    assert f"{data['overall']['percent']:.1f}%" == percent_in_date(html)
    assert data["overall"] == {
        "name": "All required staff",
        "required": 5,
        "in_date": 2,
        "due": 1,
        "not_started": 1,
        "overdue": 2,
        "percent": 40.0,
    }
    assert data["not_required"] == 1
    for caption, groups in (
        ("Required staff by team", "teams"),
        ("Required staff by job role", "roles"),
    ):
        assert table(html, caption) == [
            [
                g["name"],
                *(str(g[k]) for k in ("required", "in_date", "due", "not_started", "overdue")),
                f"{g['percent']:.1f}%",
            ]
            for g in data[groups]
        ]
    assert [s["name"] for s in data["due"]] == ["Dan Davies", "Bob Brown"]
    assert [s["status"] for s in data["due"]] == ["not started", "due"]
    assert [s["name"] for s in data["overdue"]] == ["Eve Evans", "Cara Clark"]
    assert data["overdue"][1]["score"] == 100 and data["overdue"][1]["expires_on"]
    assert data["overdue"][0]["completed_on"] is None


def test_every_role_is_named_so_when_the_setting_is_a_star(tmp_path, web_db):
    app = create_app(settings_for(tmp_path), db=web_db)
    add(web_db, "Gail Green", "Front desk", "Receptionist")
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        sign_in(client, "ig_lead")
        page = client.get("/console/training")
        assert re.search(r'id="required-roles">every role<', page.text)
        assert percent_in_date(page.text) == "0.0%"
        data = client.get("/console/training.json").json()
        assert data["every_role"] is True and data["required_roles"] == ["*"]
        assert data["overall"]["not_started"] == 1


def test_an_empty_roster_gives_an_empty_dashboard(client):
    sign_in(client, "ig_lead")
    page = client.get("/console/training")
    assert page.status_code == 200
    assert percent_in_date(page.text) == "100.0%"
    assert "Nobody is due within 90 days." in page.text
    assert "Nobody is overdue." in page.text
    assert client.get("/console/training.json").json()["overall"]["required"] == 0


# ---------------------------------------------------------------------------
# Evidence


def test_the_evidence_csv_has_a_row_per_pass_and_per_required_person_never_trained(client, web_db):
    staff(web_db)
    sign_in(client, "ig_lead")
    answer = client.get("/console/training/evidence.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    today = utcnow().date().isoformat()
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="ndoo-training-evidence-{today}.csv"'
    )
    assert answer.content.startswith(b"\xef\xbb\xbf")
    reader = csv.reader(io.StringIO(answer.content.decode("utf-8-sig")))
    assert next(reader) == list(COLUMNS)
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in reader]
    by_name = {r["Name"]: r for r in rows}
    assert sorted(by_name) == [
        "Alice Adams",
        "Bob Brown",
        "Cara Clark",
        "Dan Davies",
        "Eve Evans",
        "Finn Foster",
    ]
    assert len(rows) == 6  # four passes, and two required people never trained
    assert by_name["Alice Adams"]["Standing today"] == "in date"
    assert by_name["Alice Adams"]["Completed on"] == today
    assert by_name["Alice Adams"]["Score (%)"] == "100"
    assert by_name["Bob Brown"]["Standing today"] == "due"
    assert by_name["Cara Clark"]["Standing today"] == "overdue"
    assert by_name["Finn Foster"]["Standing today"] == "not required"
    assert by_name["Finn Foster"]["Required"] == "no"
    for never in ("Dan Davies", "Eve Evans"):
        assert by_name[never]["Completed on"] == "" and by_name[never]["Required"] == "yes"
    assert by_name["Dan Davies"]["Standing today"] == "not started"
    assert by_name["Eve Evans"]["Standing today"] == "overdue"
    assert by_name["Eve Evans"]["Email"] == "eve@example.nhs.uk"


def test_the_evidence_pdf_is_a_dated_pdf_for_the_organisation(client, web_db):
    staff(web_db)
    sign_in(client, "ig_lead")
    answer = client.get("/console/training/evidence.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    today = utcnow().date().isoformat()
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="ndoo-training-evidence-{today}.pdf"'
    )
    assert answer.content.startswith(b"%PDF-")
    assert answer.content.rstrip().endswith(b"%%EOF")
    assert len(answer.content) > 1000
    assert f"/Author ({ORGANISATION})".encode() in answer.content


def test_the_downloads_are_documented_with_their_media_types(client):
    document = client.get("/api/openapi.json").json()
    paths = document["paths"]
    csv_ok = paths["/console/training/evidence.csv"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in csv_ok
    pdf_ok = paths["/console/training/evidence.pdf"]["get"]["responses"]["200"]["content"]
    assert "application/pdf" in pdf_ok
    for path in ("/console/training/evidence.csv", "/console/training/evidence.pdf"):
        refused = paths[path]["get"]["responses"]["403"]["content"]["application/json"]
        assert refused["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    for path in (
        "/console/training.json",
        "/console/training/roster.json",
        "/console/training/people/{trainee_id}.json",
    ):
        responses = paths[path]["get"]["responses"]
        assert "application/json" in responses["200"]["content"], path
        assert "403" in responses, path
    assert "404" in paths["/console/training/people/{trainee_id}.json"]["get"]["responses"]
    assert "/console/training" not in paths and "/console/training/roster" not in paths


# ---------------------------------------------------------------------------
# The roster


def upload(client, text: str, *, whole: bool = False, name: str = "staff.csv"):
    page = client.get("/console/training/roster")
    data = {"csrf_token": csrf(page.text)}
    if whole:
        data["mark_leavers"] = "yes"
    return client.post(
        "/console/training/roster",
        data=data,
        files={"file": (name, text.encode(), "text/csv")},
    )


@pytest.fixture
def three(web_db) -> Iterator[dict[str, int]]:
    yield {
        "alice": add(web_db, "Alice Adams", "Blue team", "GP"),
        "bob": add(web_db, "Bob Brown", "Blue team", "Practice nurse"),
        "cara": add(web_db, "Cara Clark", "Red team", "Receptionist"),
    }


NEW_LIST = (
    "Name,Email,Team,Role,Start date\r\n"
    "Alice Adams,alice@example.nhs.uk,Blue team,GP,\r\n"
    "Bob Brown,BOB@example.nhs.uk,Blue team,GP,\r\n"
    "Zoe Zhang,zoe@example.nhs.uk,Red team,Receptionist,01/03/2026\r\n"
)


def test_the_roster_lists_current_staff_with_their_standing(client, web_db, three):
    complete(web_db, three["alice"])
    roster.leave(web_db, "cara@example.nhs.uk", actor="test")
    sign_in(client, "ig_lead")
    page = client.get("/console/training/roster")
    assert page.status_code == 200
    rows = table(page.text, "2 current members of staff")
    assert [r[0] for r in rows] == [
        "Alice Adams alice@example.nhs.uk",
        "Bob Brown bob@example.nhs.uk",
    ]
    assert [r[4] for r in rows] == ["in date", "not started"]
    assert 'href="/console/training/roster?include_left=true#roster"' in page.text
    everyone = client.get("/console/training/roster?include_left=true")
    rows = table(everyone.text, "2 current members of staff, 1 left")
    assert rows[2][0] == "Cara Clark cara@example.nhs.uk" and rows[2][4] == "left"
    twin = client.get("/console/training/roster.json").json()
    assert twin["include_left"] is False and twin["current"] == 2
    assert [(m["name"], m["status"], m["required"]) for m in twin["members"]] == [
        ("Alice Adams", "in date", True),
        ("Bob Brown", "not started", True),
    ]
    with_left = client.get("/console/training/roster.json?include_left=true").json()
    assert [m["active"] for m in with_left["members"]] == [True, True, False]
    assert with_left["members"][2]["left_on"] == utcnow().date().isoformat()


def test_a_partial_list_lists_the_people_missing_from_it_and_changes_nobody_else(
    client, web_db, three
):
    sign_in(client, "ig_lead")
    answer = upload(client, NEW_LIST)
    assert answer.status_code == 200, answer.text
    assert "staff.csv: 1 joined, 0 rejoined, 1 changed, 0 left, 1 unchanged." in answer.text
    assert "On the roster but not in this file" in answer.text
    missing = answer.text[answer.text.index('id="missing"') :]
    assert f'href="/console/training/people/{three["cara"]}">Cara Clark</a>' in missing
    assert roster.get(web_db, "cara@example.nhs.uk").active
    assert roster.get(web_db, "bob@example.nhs.uk").role == "GP"
    zoe = roster.get(web_db, "zoe@example.nhs.uk")
    assert (zoe.team, zoe.joined_on.isoformat()) == ("Red team", "2026-03-01")
    changes = roster.history(web_db, "zoe@example.nhs.uk")
    assert [(c.change, c.actor) for c in changes] == [("joined", "ig.imogen")]


def test_the_whole_staff_list_records_the_people_not_in_it_as_leavers(client, web_db, three):
    sign_in(client, "ig_lead")
    answer = upload(client, NEW_LIST, whole=True)
    assert answer.status_code == 200, answer.text
    assert "1 joined, 0 rejoined, 1 changed, 1 left, 1 unchanged" in answer.text
    assert 'id="missing"' not in answer.text
    left = answer.text[answer.text.index("Recorded as having left</h2>") :]
    assert "Cara Clark" in left[: left.index("</ul>")]
    assert not roster.get(web_db, "cara@example.nhs.uk").active
    page = client.get("/console/training/roster")
    assert "Cara Clark" not in page.text
    # Cara is back in the next whole list: she has rejoined.
    again = upload(
        client, NEW_LIST + "Cara Clark,cara@example.nhs.uk,Red team,Receptionist,\r\n", whole=True
    )
    assert "0 joined, 1 rejoined, 0 changed, 0 left, 3 unchanged" in again.text
    assert roster.get(web_db, "cara@example.nhs.uk").active


def test_a_file_with_errors_changes_nothing_and_names_each_line_and_column(client, web_db, three):
    sign_in(client, "ig_lead")
    before = roster.members(web_db, include_left=True)
    rows = (
        "Name,Email,Team,Role,Start date\n"
        "Alice Adams,alice@example.nhs.uk,Green team,GP,\n"
        "Yan Young,not-an-address,Red team,GP,\n"
        "Xavier Xu,xavier@example.nhs.uk,,GP,31/31/2026\n"
    )
    answer = upload(client, rows, whole=True)
    assert answer.status_code == 422
    assert "There is a problem" in answer.text
    assert "2 rows have problems; nothing was changed" in answer.text
    assert "Line 3, column email: enter an email address like name@example.nhs.uk" in answer.text
    assert "Line 4, column team: the team is empty" in answer.text
    assert "Line 4, column start date: enter the date as YYYY-MM-DD" in answer.text
    assert 'href="#file"' in answer.text and 'id="file-error"' in answer.text
    assert re.search(r'id="mark_leavers"[^>]*checked', answer.text)  # the tick is kept
    assert roster.members(web_db, include_left=True) == before


def test_a_file_that_is_not_a_roster_gets_one_message(client, web_db, three):
    sign_in(client, "ig_lead")
    answer = upload(client, "Name,Email,Team\nAlice,alice@example.nhs.uk,Blue\n", name="x.csv")
    assert answer.status_code == 422
    assert "X.csv: line 1: the header has no role column" in answer.text
    assert "nothing was changed" in answer.text
    page = client.get("/console/training/roster")
    nothing = client.post("/console/training/roster", data={"csrf_token": csrf(page.text)})
    assert nothing.status_code == 422
    assert "Choose the staff roster CSV file to upload" in nothing.text
    assert [m.team for m in roster.members(web_db)] == ["Blue team", "Blue team", "Red team"]


def test_an_upload_needs_the_csrf_token(client, web_db, three):
    sign_in(client, "ig_lead")
    answer = client.post(
        "/console/training/roster",
        data={"mark_leavers": "yes"},
        files={"file": ("staff.csv", NEW_LIST.encode(), "text/csv")},
    )
    assert answer.status_code == 403
    assert roster.get(web_db, "cara@example.nhs.uk").active
    assert len(roster.members(web_db)) == 3


# ---------------------------------------------------------------------------
# One person


def test_a_person_shows_their_entry_history_passes_and_reminders(client, web_db):
    ids = staff(web_db)
    roster.change(web_db, "bob@example.nhs.uk", actor="test", team="Green team")
    settings = client.app.state.settings
    run = renewals.remind(web_db, notifier_from_settings(settings, web_db), settings)
    assert run.sent == 2  # Bob's renewal is within 90 days, Cara's pass has expired
    sign_in(client, "ig_lead")
    page = client.get(f"/console/training/people/{ids['bob']}")
    assert page.status_code == 200
    html = page.text
    assert '<h1 class="nhsuk-heading-l">Bob Brown</h1>' in html
    assert "due within 90 days" in html
    assert "bob@example.nhs.uk" in html and "Green team" in html
    passes = table(html, "Passes, newest first")
    assert len(passes) == 1 and passes[0][2] == "Blue team, Practice nurse"  # as it was then
    assert passes[0][1].endswith(", English")
    reminders = table(html, "Reminders about a pass expiring")
    assert [r[0] for r in reminders] == ["90 days before"]
    assert reminders[0][2] == "sent"
    history = table(html, "Changes to the roster entry")
    assert [r[1].split(":")[0] for r in history] == ["joined", "changed"]
    assert history[1][1] == "changed: team: Blue team -> Green team"
    twin = client.get(f"/console/training/people/{ids['bob']}.json").json()
    assert twin["member"]["email"] == "bob@example.nhs.uk"
    assert twin["member"]["status"] == "due"
    assert [c["team"] for c in twin["completions"]] == ["Blue team"]
    assert [(r["kind"], r["status"]) for r in twin["reminders"]] == [("due-90", "sent")]
    assert [h["change"] for h in twin["history"]] == ["joined", "changed"]
    eve = client.get(f"/console/training/people/{ids['eve']}.json").json()
    assert eve["completions"] == [] and eve["member"]["status"] == "overdue"
    assert "No completion recorded." in client.get(f"/console/training/people/{ids['eve']}").text


def test_an_unknown_person_is_not_found(client):
    sign_in(client, "ig_lead")
    assert client.get("/console/training/people/9999").status_code == 404
    missing = client.get("/console/training/people/9999.json")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"code", "message", "details"}


# ---------------------------------------------------------------------------
# Who may see it


PAGES = (
    "/console/training",
    "/console/training.json",
    "/console/training/evidence.csv",
    "/console/training/evidence.pdf",
    "/console/training/roster",
    "/console/training/roster.json",
    "/console/training/people/1",
    "/console/training/people/1.json",
)


@pytest.mark.parametrize("role", ["agent", "analyst", "proxy_reviewer"])
def test_only_information_governance_leads_see_the_training_pages(client, web_db, role):
    add(web_db, "Alice Adams", "Blue team", "GP")
    sign_in(client, role)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    token = csrf(client.get("/staff/sign-out").text)
    refused = client.post(
        "/console/training/roster",
        data={"csrf_token": token, "mark_leavers": "yes"},
        files={"file": ("staff.csv", NEW_LIST.encode(), "text/csv")},
    )
    assert refused.status_code == 403
    assert roster.members(web_db)[0].email == "alice@example.nhs.uk"
    assert "Staff training" not in client.get("/console").text


def test_administrators_and_leads_see_them_and_the_console_links_them(client, web_db):
    add(web_db, "Alice Adams", "Blue team", "GP")
    for role in ("administrator", "ig_lead"):
        sign_in(client, role)
        for path in PAGES:
            assert client.get(path).status_code == 200, (role, path)
        console = client.get("/console").text
        assert "Staff training" in console and 'href="/console/training"' in console


def test_signed_out_the_pages_ask_to_sign_in(client):
    answer = client.get("/console/training")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/sign-in?next=/console/training"
    assert client.get("/console/training.json").status_code == 401
