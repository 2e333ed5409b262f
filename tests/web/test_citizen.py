"""The citizen journey through the web service: details, security code, the one
question, confirmation; and that nothing on screen or in the logs gives a person away."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from ndoo.db.models import one_time_code, web_session
from ndoo.identity import codes
from ndoo.identity.notify import outbox
from ndoo.register import Channel, State, current_choice, history
from ndoo.timeutil import iso, to_db, utcnow
from ndoo.web.app import create_app
from tests.identity.helpers import add
from tests.web.conftest import csrf, settings_for

ADULT = "9434765919"
CHILD = "9000000009"
NO_CONTACT = "9000000017"
UNKNOWN = "9000000025"
INCAPABLE = "9000000033"

TODAY = date.today()
ADULT_BORN = date(1984, 3, 15)
CHILD_BORN = date(TODAY.year - 8, 6, 1)

MOBILE = "07700900123"
EMAIL = "ada.lovelace.7@example.com"


@pytest.fixture
def adult(web_db) -> str:
    return add(web_db, ADULT, born=ADULT_BORN, mobile=MOBILE, email=EMAIL)


def born_fields(born: date) -> dict[str, str]:
    return {
        "date_of_birth[day]": str(born.day),
        "date_of_birth[month]": str(born.month),
        "date_of_birth[year]": str(born.year),
    }


def give_details(client: TestClient, **fields: str):
    page = client.get("/your-choice/details?know_number=yes")
    assert page.status_code == 200
    return client.post("/your-choice/details", data={"csrf_token": csrf(page.text), **fields})


def by_number(client: TestClient, number: str, born: date, channel: str = "sms", **extra: str):
    return give_details(
        client, know_number="yes", nhs_number=number, channel=channel, **born_fields(born), **extra
    )


def newest_code(client: TestClient) -> tuple[str, str]:
    """The code in the newest outbox message, read as a demo user would, and its recipient."""
    message = client.get("/outbox.json").json()["messages"][0]
    found = re.search(r"\b(\d{6})\b", message["body"])
    assert found, message["body"]
    return found.group(1), message["recipient"]


def enter_code(client: TestClient, code: str):
    page = client.get("/your-choice/code")
    assert page.status_code == 200
    return client.post("/your-choice/code", data={"csrf_token": csrf(page.text), "code": code})


def answer(client: TestClient, value: str):
    page = client.get("/your-choice/choice")
    assert page.status_code == 200
    return client.post("/your-choice/choice", data={"csrf_token": csrf(page.text), "answer": value})


def main(html: str) -> str:
    found = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert found
    return found.group(1)


def flat(html: str) -> str:
    """The page without the white space between tags."""
    return re.sub(r"\s+<", "<", re.sub(r">\s+", ">", html))


def verify(client: TestClient, number: str = ADULT, born: date = ADULT_BORN) -> None:
    assert by_number(client, number, born).status_code == 303
    code, _ = newest_code(client)
    assert enter_code(client, code).headers["location"] == "/your-choice/choice"


# ---------------------------------------------------------------------------
# The whole journey


def test_a_citizen_opts_out_and_back_in(client, web_db, adult):
    start = client.get("/your-choice")
    assert start.status_code == 200
    assert "individual care" in start.text and "explicit consent" in start.text
    assert "anonymised" in start.text and "the law requires" in start.text

    details = by_number(client, "943 476 5919", ADULT_BORN, channel="sms")
    assert details.status_code == 303 and details.headers["location"] == "/your-choice/code"
    code, recipient = newest_code(client)
    assert recipient == MOBILE
    before = client.cookies.get("ndoo_citizen")
    verified = enter_code(client, code)
    assert verified.status_code == 303 and verified.headers["location"] == "/your-choice/choice"
    assert client.cookies.get("ndoo_citizen") != before  # a new session after verifying

    page = client.get("/your-choice/choice")
    assert (
        "I allow my confidential patient information to be used for research and planning"
        in page.text
    )
    assert "Your current choice: <strong>yes</strong>" in page.text
    assert client.get("/your-choice/choice.json").json()["state"] == "IN"

    saved = answer(client, "no")
    assert saved.status_code == 303 and saved.headers["location"] == "/your-choice/done"
    done = client.get("/your-choice/done")
    assert "Your choice has been saved" in done.text
    assert "I do not allow" in done.text
    confirmation = outbox(web_db, limit=1)[0]
    assert confirmation.recipient == MOBILE and "do not allow" in confirmation.body
    assert ADULT not in confirmation.body and "Ada" not in confirmation.body
    assert current_choice(web_db, ADULT).state is State.OUT
    last = history(web_db, ADULT).events[-1]
    assert (last.channel, last.actor) == (Channel.OP, "SELF")
    assert client.get("/your-choice/choice.json").json()["state"] == "OUT"

    assert answer(client, "yes").status_code == 303
    assert "Your choice has been saved" in client.get("/your-choice/done").text
    assert current_choice(web_db, ADULT).state is State.IN
    assert "I allow" in outbox(web_db, limit=1)[0].body

    again = answer(client, "yes")  # the same answer changes nothing and sends nothing
    assert again.status_code == 303
    assert "Your choice has not changed" in client.get("/your-choice/done").text
    assert len(outbox(web_db)) == 3

    finish = client.post("/your-choice/finish", data={"csrf_token": csrf(done.text)})
    assert finish.status_code == 200 and "You have finished" in finish.text
    assert client.get("/your-choice/choice").status_code == 401


def test_a_citizen_without_their_nhs_number_gives_name_and_postcode(client, web_db):
    add(
        web_db,
        ADULT,
        born=ADULT_BORN,
        given="Mary-Ann",
        family="Smith",
        postcode="LS1 4AP",
        mobile=MOBILE,
        email=EMAIL,
    )
    details = give_details(
        client,
        know_number="no",
        given_name="mary ann",
        family_name="SMITH",
        postcode="ls1 4ap",
        channel="email",
        **born_fields(ADULT_BORN),
    )
    assert details.headers["location"] == "/your-choice/code"
    code, recipient = newest_code(client)
    assert recipient == EMAIL
    assert enter_code(client, code).headers["location"] == "/your-choice/choice"


def test_the_chosen_channel_falls_back_to_the_contact_on_record(client, web_db):
    add(web_db, ADULT, born=ADULT_BORN, mobile=None, email=EMAIL)
    by_number(client, ADULT, ADULT_BORN, channel="sms")
    assert newest_code(client)[1] == EMAIL


# ---------------------------------------------------------------------------
# Nothing on screen says whether a person exists


def test_the_page_after_the_details_is_the_same_for_anyone(client, web_db, adult):
    add(web_db, CHILD, born=CHILD_BORN)
    add(web_db, NO_CONTACT, born=ADULT_BORN, mobile=None, email=None)
    pages = {}
    for who, number, born in (
        ("found", ADULT, ADULT_BORN),
        ("unknown", UNKNOWN, ADULT_BORN),
        ("child", CHILD, CHILD_BORN),
        ("no contact", NO_CONTACT, ADULT_BORN),
        ("wrong date of birth", ADULT, date(1984, 3, 16)),
    ):
        answered = by_number(client, number, born)
        assert (answered.status_code, answered.headers["location"]) == (303, "/your-choice/code")
        pages[who] = main(client.get("/your-choice/code").text)
    assert len(set(pages.values())) == 1, "the code page differs between people"
    assert "If the details you gave match our records" in pages["found"]
    assert "0300 303 5678" in pages["found"]
    recipients = [m.recipient for m in outbox(web_db)]
    assert recipients == [MOBILE]  # only the adult with a contact was sent a code


def test_wrong_codes_look_the_same_whether_or_not_a_code_was_sent(client, web_db, adult):
    def three_wrong(number: str) -> list[tuple[int, str]]:
        by_number(client, number, ADULT_BORN)
        token = csrf(client.get("/your-choice/code").text)
        seen = []
        for _ in range(codes.MAX_TRIES):
            wrong = client.post("/your-choice/code", data={"csrf_token": token, "code": "000000"})
            seen.append((wrong.status_code, main(wrong.text)))
        return seen

    real = three_wrong(ADULT)
    nobody = three_wrong(UNKNOWN)
    assert real == nobody
    assert [status for status, _ in real] == [422, 422, 409]
    assert "The security code is not right" in real[0][1]
    assert "can no longer be used" in real[2][1]


def test_three_wrong_codes_kill_the_code(client, web_db, adult):
    by_number(client, ADULT, ADULT_BORN)
    code, _ = newest_code(client)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    first = enter_code(client, wrong)
    assert first.status_code == 422
    assert '<a href="#code">The security code is not right' in flat(first.text)  # error summary
    assert 'id="code-error"' in first.text  # and next to the field
    assert enter_code(client, wrong).status_code == 422
    third = enter_code(client, wrong)
    assert third.status_code == 409 and "can no longer be used" in third.text
    with web_db.read() as conn:
        assert conn.execute(select(one_time_code.c.status)).scalar_one() == "dead"
    # The right code no longer helps: the journey has to start again.
    assert client.get("/your-choice/code").headers["location"] == "/your-choice/details"
    late = client.post(
        "/your-choice/code",
        data={
            "csrf_token": csrf(client.get("/your-choice/details?know_number=yes").text),
            "code": code,
        },
    )
    assert late.status_code == 409 and "Start again" in late.text
    assert client.get("/your-choice/choice").status_code == 401


def test_an_expired_code_is_refused(client, web_db, adult):
    by_number(client, ADULT, ADULT_BORN)
    code, _ = newest_code(client)
    with web_db.write() as conn:
        conn.execute(
            update(one_time_code).values(expires_at=to_db(utcnow() - timedelta(seconds=1)))
        )
    expired = enter_code(client, code)
    assert expired.status_code == 409 and "Your security code has expired" in expired.text
    assert client.get("/your-choice/choice").status_code == 401


def test_a_new_code_replaces_the_old_one(client, web_db, adult):
    by_number(client, ADULT, ADULT_BORN)
    first, _ = newest_code(client)
    resend = client.get("/your-choice/resend")
    assert resend.status_code == 200
    sent = client.post("/your-choice/resend", data={"csrf_token": csrf(resend.text)})
    assert sent.headers["location"] == "/your-choice/code"
    assert "we have sent a new security code" in client.get("/your-choice/code").text
    second, _ = newest_code(client)
    assert len(outbox(web_db)) == 2
    if first != second:
        assert enter_code(client, first).status_code == 422
    assert enter_code(client, second).headers["location"] == "/your-choice/choice"


def test_at_most_five_codes_a_day_and_the_page_does_not_say_so(client, web_db, adult):
    pages = set()
    for _ in range(codes.CODES_PER_DAY + 1):
        assert by_number(client, ADULT, ADULT_BORN).status_code == 303
        pages.add(main(client.get("/your-choice/code").text))
    resend = client.get("/your-choice/resend")
    client.post("/your-choice/resend", data={"csrf_token": csrf(resend.text)})
    assert len(outbox(web_db)) == codes.CODES_PER_DAY  # the sixth and the resend were not sent
    assert len(pages) == 1
    assert "at most 5 codes a day" in pages.pop()


def test_no_code_is_ever_sent_to_an_address_the_user_typed(client, web_db, adult):
    typed = {
        "mobile": "07700900999",
        "email": "someone.else@example.org",
        "phone": "07700900998",
        "to": "someone.else@example.org",
        "recipient": "07700900997",
        "channel_address": "someone.else@example.org",
    }
    for channel in ("sms", "email"):
        by_number(client, ADULT, ADULT_BORN, channel=channel, **typed)
        resend = client.get("/your-choice/resend")
        client.post("/your-choice/resend", data={"csrf_token": csrf(resend.text), **typed})
    sent = {m.recipient for m in outbox(web_db)}
    assert sent == {MOBILE, EMAIL}


# ---------------------------------------------------------------------------
# The register's rules, sessions, forms and limits


def test_a_person_recorded_as_lacking_capacity_is_told_who_can_act(client, web_db):
    add(web_db, INCAPABLE, born=ADULT_BORN, lacks_capacity=True)
    verify(client, INCAPABLE)
    refused = answer(client, "no")
    assert refused.status_code == 409
    assert "Your choice was not saved" in refused.text
    assert "someone else must make this choice for you" in refused.text
    assert 'href="/proxy"' in refused.text
    assert current_choice(web_db, INCAPABLE).state is State.IN
    assert len(outbox(web_db)) == 1  # the code; no confirmation


def test_the_choice_needs_an_answer(client, adult):
    verify(client)
    missing = answer(client, "")
    assert missing.status_code == 422
    assert '<a href="#answer">Select yes or no</a>' in flat(missing.text)


def test_the_choice_pages_need_a_verified_session(client, adult):
    assert client.get("/your-choice/choice").status_code == 401
    assert client.get("/your-choice/done").status_code == 401
    refused = client.get("/your-choice/choice.json")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "login_required"
    page = client.get("/your-choice/details?know_number=yes")
    forged = client.post(
        "/your-choice/choice", data={"csrf_token": csrf(page.text), "answer": "no"}
    )
    assert forged.status_code == 401
    by_number(client, ADULT, ADULT_BORN)  # details alone are not enough
    assert client.get("/your-choice/choice").status_code == 401


def test_verification_lasts_the_citizen_session_minutes(client, web_db, adult):
    verify(client)
    assert client.get("/your-choice/choice").status_code == 200
    token = client.cookies.get("ndoo_citizen")
    assert token
    digest = hashlib.sha256(token.encode("ascii")).hexdigest()
    with web_db.write() as conn:
        data = json.loads(
            conn.execute(select(web_session.c.data).where(web_session.c.id == digest)).scalar_one()
        )
        data["verified"]["at"] = iso(utcnow() - timedelta(minutes=21))  # the default is 20
        conn.execute(
            update(web_session).where(web_session.c.id == digest).values(data=json.dumps(data))
        )
    ended = client.get("/your-choice/choice")
    assert ended.status_code == 401 and "your session has ended" in ended.text


def test_the_details_start_by_asking_whether_the_nhs_number_is_known(client):
    question = client.get("/your-choice/details")
    assert question.status_code == 200
    assert 'method="get"' in question.text and 'name="nhs_number"' not in question.text
    unanswered = client.get("/your-choice/details?asked=1")
    assert unanswered.status_code == 422
    assert '<a href="#know_number">Select yes if you know your NHS number</a>' in flat(
        unanswered.text
    )
    by_number_page = client.get("/your-choice/details?know_number=yes&asked=1")
    assert (
        'name="nhs_number"' in by_number_page.text and 'name="postcode"' not in by_number_page.text
    )
    by_name_page = client.get("/your-choice/details?know_number=no&asked=1")
    assert 'name="given_name"' in by_name_page.text and 'name="postcode"' in by_name_page.text
    assert 'name="nhs_number"' not in by_name_page.text


def test_the_details_form_says_what_is_wrong_next_to_each_field(client):
    assert give_details(client).status_code == 422  # no answer to the first question
    empty = give_details(client, know_number="yes")
    assert empty.status_code == 422
    for anchor, message in (
        ("#nhs_number", "Enter a valid 10-digit NHS number"),
        ("#date_of_birth-day", "Enter your date of birth, including a day, month and year"),
        ("#channel", "Select where we should send your security code"),
    ):
        assert f'<a href="{anchor}">{message}' in flat(empty.text)
    assert 'id="nhs_number-error"' in empty.text and 'id="date_of_birth-error"' in empty.text
    assert empty.text.count("<h1") == 1

    bad = give_details(
        client,
        know_number="yes",
        nhs_number="943 476 5918",
        channel="sms",
        **born_fields(ADULT_BORN),
    )
    assert '<a href="#nhs_number">Enter a valid 10-digit NHS number' in flat(bad.text)
    assert 'value="943 476 5918"' in bad.text  # what was typed is kept
    names = give_details(
        client,
        know_number="no",
        given_name="",
        family_name="Lee",
        postcode="nowhere",
        channel="sms",
        **born_fields(ADULT_BORN),
    )
    assert '<a href="#given_name">Enter your first name</a>' in flat(names.text)
    assert '<a href="#postcode">Enter a real postcode' in flat(names.text)
    future = give_details(
        client,
        know_number="yes",
        nhs_number=ADULT,
        channel="sms",
        **born_fields(TODAY + timedelta(days=2)),
    )
    assert "Your date of birth must be in the past" in future.text
    impossible = give_details(
        client,
        know_number="yes",
        nhs_number=ADULT,
        channel="sms",
        **{"date_of_birth[day]": "31", "date_of_birth[month]": "2", "date_of_birth[year]": "1990"},
    )
    assert "Your date of birth must be a real date" in impossible.text


def test_a_code_that_is_not_six_digits_counts_no_try(client, adult):
    by_number(client, ADULT, ADULT_BORN)
    for typed in ("12345", "abcdef", "12345", "12345"):
        short = enter_code(client, typed)
        assert short.status_code == 422 and "Enter the 6-digit security code" in short.text
    code, _ = newest_code(client)
    assert enter_code(client, code).headers["location"] == "/your-choice/choice"


def test_each_step_is_rate_limited_per_client_address(tmp_path, web_db, adult):
    app = create_app(settings_for(tmp_path, web_rate_limit="3"), db=web_db)
    with TestClient(app, follow_redirects=False) as client:
        statuses = [by_number(client, UNKNOWN, ADULT_BORN).status_code for _ in range(4)]
        assert statuses == [303, 303, 303, 429]
        assert enter_code(client, "123456").status_code == 422  # another step, its own limit


def test_with_email_only_the_form_asks_no_channel(tmp_path, web_db, adult):
    app = create_app(settings_for(tmp_path), db=web_db)

    class EmailOnly:
        channels = frozenset({"email"})

        def __init__(self) -> None:
            self.sent: list[str] = []

        def send_sms(self, to: str, body: str, *, reference: str) -> None:
            raise AssertionError("no text messages")

        def send_email(self, to: str, subject: str, body: str, *, reference: str) -> None:
            self.sent.append(to)

    notifier = EmailOnly()
    app.state.notifier = notifier
    with TestClient(app, follow_redirects=False) as client:
        page = client.get("/your-choice/details?know_number=yes")
        assert 'name="channel"' not in page.text
        assert "to the email address on your NHS record" in page.text
        answered = client.post(
            "/your-choice/details",
            data={
                "csrf_token": csrf(page.text),
                "know_number": "yes",
                "nhs_number": ADULT,
                **born_fields(ADULT_BORN),
            },
        )
        assert answered.status_code == 303
    assert notifier.sent == [EMAIL]


def test_the_demo_code_page_points_to_the_outbox(client, adult):
    by_number(client, ADULT, ADULT_BORN)
    assert 'href="/outbox"' in client.get("/your-choice/code").text


# ---------------------------------------------------------------------------
# Nothing personal reaches the logs


def test_no_personal_detail_or_code_reaches_any_log(client, web_db, caplog):
    add(
        web_db,
        ADULT,
        born=ADULT_BORN,
        given="Zebedee",
        family="Quixote",
        postcode="YO1 7HH",
        mobile=MOBILE,
        email=EMAIL,
    )
    add(
        web_db,
        CHILD,
        born=CHILD_BORN,
        given="Xanthe",
        family="Quixote",
        postcode="YO1 7HH",
        mobile="07700900456",
        email="xanthe@example.com",
    )
    # Every logger at DEBUG, except SQLAlchemy's, which the service sets itself: at most
    # INFO (sql_echo), where statement parameters are hidden.
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        level = logging.INFO if name.startswith("sqlalchemy") else logging.DEBUG
        caplog.set_level(level, logger=name)

    by_number(client, CHILD, CHILD_BORN)
    by_number(client, UNKNOWN, ADULT_BORN)
    give_details(
        client,
        know_number="no",
        given_name="Zebedee",
        family_name="Quixote",
        postcode="YO1 7HH",
        channel="email",
        **born_fields(ADULT_BORN),
    )
    code, _ = newest_code(client)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    enter_code(client, wrong)
    assert enter_code(client, code).status_code == 303
    answer(client, "no")
    client.get("/your-choice/done")
    client.get("/your-choice/choice.json")
    answer(client, "yes")
    assert current_choice(web_db, ADULT).state is State.IN

    logged = "\n".join(
        f"{record.name} {record.getMessage()} {record.args!r}" for record in caplog.records
    )
    assert caplog.records, "nothing was logged: the test would prove nothing"
    secrets_ = {
        ADULT,
        "943 476 5919",
        CHILD,
        UNKNOWN,
        "Zebedee",
        "Quixote",
        "Xanthe",
        "YO1 7HH",
        "YO17HH",
        MOBILE,
        "07700900456",
        EMAIL,
        "xanthe@example.com",
        code,
        wrong,
    }
    for secret in secrets_:
        assert secret.lower() not in logged.lower(), f"{secret!r} reached a log record"


# ---------------------------------------------------------------------------
# The demo outbox


def test_the_demo_outbox_shows_messages_newest_first(client, web_db, adult):
    assert "No messages have been sent yet" in client.get("/outbox").text
    by_number(client, ADULT, ADULT_BORN, channel="sms")
    by_number(client, ADULT, ADULT_BORN, channel="email")
    page = client.get("/outbox")
    assert page.status_code == 200
    assert "does not send text messages or emails" in page.text
    assert page.text.index(f"Email to {EMAIL}") < page.text.index(f"Text message to {MOBILE}")
    listed = client.get("/outbox.json").json()["messages"]
    assert [m["channel"] for m in listed] == ["email", "sms"]
    assert listed[0]["subject"] == "Your NHS data matters: your security code"


def test_the_outbox_does_not_exist_when_messages_are_really_sent(tmp_path, web_db):
    settings = settings_for(tmp_path, notify_backend="smtp")
    with TestClient(create_app(settings, db=web_db), follow_redirects=False) as client:
        assert client.get("/outbox").status_code == 404
        assert client.get("/outbox.json").status_code == 404
        assert client.get("/outbox.json").json()["error"]["code"] == "not_found"


def test_the_json_twins_are_described_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/outbox.json", "/your-choice/choice.json", "/proxy/done.json"} <= set(paths)
    assert "/your-choice/details" not in paths and "/outbox" not in paths
