"""The learner's pages of the staff training module, through the web service: signing in
with a code from the outbox (the same page whether or not the address is on the staff
list), taking the module with a wrong answer and its follow-up lesson, passing, the
certificate and who may see it, forms sent twice, and the module in Welsh."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from ndoo.training import assessment, content, roster
from ndoo.training.assessment import expiry
from ndoo.training.translations import translator
from ndoo.web.routes.training import long_date, safe_next
from tests.web.conftest import csrf, sign_in

ADA = "ada.lovelace@example.nhs.uk"
GRACE = "grace.hopper@example.nhs.uk"
UNKNOWN = "nobody.here@example.nhs.uk"


@pytest.fixture
def trainees(web_db) -> None:
    roster.add(web_db, name="Ada Lovelace", email=ADA, team="Ward 7", role="Nurse", actor="test")
    roster.add(web_db, name="Grace Hopper", email=GRACE, team="Records", role="Clerk", actor="test")


@pytest.fixture
def other(app) -> TestClient:
    """A second learner, at another browser."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as second:
        yield second


def text_of(page) -> str:
    """A page's words, as a person reads them (entities decoded, spaces collapsed)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def newest_code(client: TestClient) -> tuple[str, str]:
    message = client.get("/outbox.json").json()["messages"][0]
    found = re.search(r"\b(\d{6})\b", message["body"])
    assert found, message["body"]
    return found.group(1), message["recipient"]


def ask_for_code(client: TestClient, email: str):
    page = client.get("/training")
    assert page.status_code == 200
    answer = client.post("/training/sign-in", data={"csrf_token": csrf(page.text), "email": email})
    assert (answer.status_code, answer.headers["location"]) == (303, "/training/code")
    return client.get("/training/code")


def enter_code(client: TestClient, code: str):
    page = client.get("/training/code")
    return client.post("/training/code", data={"csrf_token": csrf(page.text), "code": code})


def learner_signs_in(client: TestClient, email: str) -> None:
    ask_for_code(client, email)
    code, to = newest_code(client)
    assert to == email.lower()
    answer = enter_code(client, code)
    assert (answer.status_code, answer.headers["location"]) == (303, "/training")


def start_module(client: TestClient) -> None:
    page = client.get("/training")
    answer = client.post("/training/start", data={"csrf_token": csrf(page.text)})
    assert (answer.status_code, answer.headers["location"]) == (303, "/training/module")


def hidden(page, name: str) -> str | None:
    found = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    return found.group(1) if found else None


@dataclass
class Journey:
    """What a learner saw on the way through the module."""

    asked: list[str] = field(default_factory=list)
    lessons: list[str] = field(default_factory=list)
    sections: int = 0
    corrects: int = 0
    certificate: str = ""


def take_module(client: TestClient, *, wrong_first: int = 0) -> Journey:
    """Answer every question through the pages: the first ``wrong_first`` questions
    wrongly, the rest rightly (the right option looked up in the question bank)."""
    module = content.load()
    seen = Journey()
    for _ in range(200):
        page = client.get("/training/module")
        if page.status_code == 303:
            seen.certificate = page.headers["location"]
            return seen
        assert page.status_code == 200, page.text
        seen.corrects += "Your answer was right." in page.text
        question_id = hidden(page, "question")
        if question_id is not None:
            question = module.questions[question_id]
            seen.asked.append(question_id)
            if len(seen.asked) <= wrong_first:
                option = next(o.id for o in question.options if not o.correct)
            else:
                option = question.answer
            answer = client.post(
                "/training/module/answer",
                data={"csrf_token": csrf(page.text), "question": question_id, "answer": option},
            )
            assert (answer.status_code, answer.headers["location"]) == (303, "/training/module")
            continue
        place = hidden(page, "place")
        assert place, page.text
        if place.startswith("lesson:"):
            seen.lessons.append(place)
        if place.startswith("teach:"):
            seen.sections += 1
        answer = client.post(
            "/training/module/continue", data={"csrf_token": csrf(page.text), "place": place}
        )
        assert answer.status_code == 303
        if answer.headers["location"] != "/training/module":
            seen.certificate = answer.headers["location"]
            return seen
    raise AssertionError("the module did not end")


# ---------------------------------------------------------------------------
# Signing in


def test_the_start_page_describes_the_module_and_offers_sign_in(client):
    module = content.load()
    page = client.get("/training")
    assert page.status_code == 200
    words = text_of(page)
    assert module.title in words
    assert module.summary in words
    assert f"It takes about {module.minutes} minutes." in words
    for name in ("English", "Cymraeg", "Polski"):
        assert name in words
    assert "Sign in with your work email" in words
    assert 'action="/training/sign-in"' in page.text
    assert '<html lang="en"' in page.text


def test_a_learner_signs_in_with_the_code_from_the_outbox(client, trainees):
    learner_signs_in(client, ADA.upper())
    page = client.get("/training")
    words = text_of(page)
    assert "Signed in as Ada Lovelace." in words
    assert "You have not completed the module yet." in words
    assert "Start the module" in words
    assert 'action="/training/sign-in"' not in page.text


def test_the_code_page_is_the_same_whether_or_not_the_email_is_on_the_list(client, other, trainees):
    known = ask_for_code(client, ADA)
    unknown = ask_for_code(other, UNKNOWN)
    assert known.status_code == unknown.status_code == 200

    def tidy(page, email: str) -> str:
        text = re.sub(r'value="[^"]+"', 'value=""', page.text.replace(email, "EMAIL"))
        return re.sub(r'nonce="[^"]+"', 'nonce=""', text)  # a new CSRF token and nonce each

    assert tidy(known, ADA) == tidy(unknown, UNKNOWN)
    assert (
        f"If {UNKNOWN} is on your organisation's staff list, we have sent a 6-digit code to it."
        in text_of(unknown)
    )
    assert [m["recipient"] for m in other.get("/outbox.json").json()["messages"]] == [ADA]

    # A guess at a code fails the same way for both.
    wrong_known = enter_code(client, "000000")
    wrong_unknown = enter_code(other, "000000")
    assert wrong_known.status_code == wrong_unknown.status_code == 422
    assert tidy(wrong_known, ADA) == tidy(wrong_unknown, UNKNOWN)


def test_a_wrong_code_is_shown_in_the_error_summary_linked_to_the_field(client, trainees):
    ask_for_code(client, ADA)
    code, _to = newest_code(client)
    wrong = "111111" if code != "111111" else "222222"
    page = enter_code(client, wrong)
    assert page.status_code == 422
    message = "The code is not right. Check it and try again"
    assert re.search(rf'<a href="#code">\s*{re.escape(message)}\s*</a>', page.text)
    assert "nhsuk-error-summary" in page.text
    assert page.text.count(message) == 2  # in the summary and beside the field
    assert "<title>Error: " in page.text

    malformed = enter_code(client, "12")
    assert malformed.status_code == 422
    assert "Enter the 6-digit code from the email" in malformed.text

    # The right code still works after a wrong try.
    answer = enter_code(client, code)
    assert (answer.status_code, answer.headers["location"]) == (303, "/training")


def test_a_code_entered_wrongly_three_times_can_no_longer_be_used(client, trainees):
    ask_for_code(client, ADA)
    code, _to = newest_code(client)
    wrong = "111111" if code != "111111" else "222222"
    enter_code(client, wrong)
    enter_code(client, wrong)
    third = enter_code(client, wrong)
    assert "This code can no longer be used" in text_of(third)
    assert enter_code(client, code).status_code == 422


def test_an_email_address_that_is_not_one_is_refused(client):
    page = client.get("/training")
    answer = client.post(
        "/training/sign-in", data={"csrf_token": csrf(page.text), "email": "not an email"}
    )
    assert answer.status_code == 422
    assert re.search(r'<a href="#email">\s*Enter your work email address', answer.text)


def test_signing_out_ends_the_learner_session(client, trainees):
    learner_signs_in(client, ADA)
    page = client.get("/training")
    answer = client.post("/training/sign-out", data={"csrf_token": csrf(page.text)})
    assert (answer.status_code, answer.headers["location"]) == (303, "/training")
    assert "Sign in with your work email" in text_of(client.get("/training"))
    assert client.get("/training/module").headers["location"] == "/training"


def test_a_form_without_its_csrf_token_is_refused(client, trainees):
    client.get("/training")
    answer = client.post("/training/sign-in", data={"email": ADA})
    assert answer.status_code == 403


# ---------------------------------------------------------------------------
# Taking the module


def test_signed_out_learners_are_sent_to_the_start_page(client):
    for path in ("/training/module", "/training/code"):
        answer = client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/training")


def test_a_learner_takes_the_whole_module_with_one_wrong_answer(client, web_db, trainees):
    module = content.load()
    learner_signs_in(client, ADA)
    start_module(client)

    # The first section is taught, with its care scenario.
    page = client.get("/training/module")
    words = text_of(page)
    first = module.sections[0]
    assert f"Section 1 of {len(module.sections)}" in words
    assert first.title in words
    assert first.scenario_title in words
    assert str(translator("en").markdown(first.scenario)) in page.text
    assert "Learning points completed: 0 of 12" in words
    answer = client.post(
        "/training/module/continue",
        data={"csrf_token": csrf(page.text), "place": hidden(page, "place")},
    )
    assert answer.headers["location"] == "/training/module"

    # A question: the stem is the legend, the options in the order the attempt keeps.
    page = client.get("/training/module")
    question_id = hidden(page, "question")
    assert question_id is not None
    question = module.questions[question_id]
    assert question.point == first.points[0]
    legend = re.search(r"<legend.*?</legend>", page.text, re.S)
    assert legend and question.stem in html.unescape(legend.group(0))
    shown = re.findall(r'name="answer" type="radio" value="([^"]+)"', page.text)
    attempt = assessment.open_attempt(web_db, roster.get(web_db, ADA).id)
    assert attempt is not None
    assert tuple(shown) == attempt.option_order

    # No option chosen: the error summary links to the first radio.
    answer = client.post(
        "/training/module/answer", data={"csrf_token": csrf(page.text), "question": question_id}
    )
    assert answer.status_code == 422
    assert re.search(r'<a href="#answer">\s*Select an answer\s*</a>', answer.text)
    assert 'id="answer" name="answer"' in answer.text

    # A wrong answer: the lesson, with nothing saying which option was right.
    wrong = next(o for o in question.options if not o.correct)
    right = next(o for o in question.options if o.correct)
    client.post(
        "/training/module/answer",
        data={"csrf_token": csrf(page.text), "question": question_id, "answer": wrong.id},
    )
    lesson = client.get("/training/module")
    words = text_of(lesson)
    assert "That answer was not right" in words
    assert str(translator("en").markdown(module.points[question.point].lesson)) in lesson.text
    assert right.text not in words
    assert "Your answer was right." not in words
    answer = client.post(
        "/training/module/continue",
        data={"csrf_token": csrf(lesson.text), "place": hidden(lesson, "place")},
    )

    # A fresh question on the same point.
    again = client.get("/training/module")
    fresh = hidden(again, "question")
    assert fresh is not None and fresh != question_id
    assert module.questions[fresh].point == question.point
    assert "Learning points completed: 0 of 12" in text_of(again)

    # Right answers from here on: "Correct" after each, then the key points and a pass.
    client.post(
        "/training/module/answer",
        data={
            "csrf_token": csrf(again.text),
            "question": fresh,
            "answer": module.questions[fresh].answer,
        },
    )
    after = client.get("/training/module")
    assert "Correct" in text_of(after) and "Your answer was right." in after.text
    assert "Learning points completed: 1 of 12" in text_of(after)
    assert "Your answer was right." not in client.get("/training/module").text  # shown once

    seen = take_module(client)
    assert seen.lessons == []
    assert seen.sections == len(module.sections) - 1
    certificate = seen.certificate
    assert re.fullmatch(r"/training/certificate/\d+", certificate)

    # The certificate: name, module and version, date, score, expiry a year on.
    page = client.get(certificate)
    assert page.status_code == 200
    words = text_of(page)
    (passed,) = assessment.completions(web_db, roster.get(web_db, ADA).id)
    assert passed.score == round(100 * 11 / 12) == 92
    assert passed.expires_on == expiry(passed.completed_on)
    assert passed.expires_on.year == passed.completed_on.year + 1
    for expected in (
        "Ada Lovelace",
        module.title,
        f"version {module.version}",
        long_date(passed.completed_on, "en"),
        "92% of learning points answered right first time (11 of 12)",
        f"Expires on {long_date(passed.expires_on, 'en')}",
        "Demonstration Health and Care Trust",
    ):
        assert expected in words, expected

    twin = client.get(f"{certificate}.json")
    assert twin.status_code == 200
    body = twin.json()
    assert body["name"] == "Ada Lovelace"
    assert body["score"] == 92
    assert (body["points"], body["first_time_correct"]) == (12, 11)
    assert body["expires_on"] == passed.expires_on.isoformat()
    assert body["organisation"] == "Demonstration Health and Care Trust"

    # The module page now leads to the start page, which shows the pass.
    assert client.get("/training/module").headers["location"] == "/training"
    start = client.get("/training")
    words = text_of(start)
    assert f"You last completed the module on {long_date(passed.completed_on, 'en')}." in words
    assert f"It expires on {long_date(passed.expires_on, 'en')}." in words
    assert f'href="{certificate}"' in start.text
    assert "Take the module again" in words


def test_only_the_owner_sees_a_certificate(client, other, trainees):
    learner_signs_in(client, ADA)
    start_module(client)
    certificate = take_module(client).certificate

    # Signed out: not found.
    assert other.get(certificate).status_code == 404
    refused = other.get(f"{certificate}.json")
    assert refused.status_code == 404
    assert set(refused.json()["error"]) == {"code", "message", "details"}

    # Another learner, signed in: not found either.
    learner_signs_in(other, GRACE)
    assert other.get(certificate).status_code == 404
    assert other.get(f"{certificate}.json").status_code == 404
    assert "Ada Lovelace" not in other.get(certificate).text
    assert client.get(certificate).status_code == 200


def test_an_answer_sent_twice_is_harmless(client, web_db, trainees):
    module = content.load()
    learner_signs_in(client, ADA)
    start_module(client)
    page = client.get("/training/module")
    place = {"csrf_token": csrf(page.text), "place": hidden(page, "place")}
    client.post("/training/module/continue", data=place)
    # Continue sent twice: the question is not skipped.
    answer = client.post("/training/module/continue", data=place)
    assert answer.headers["location"] == "/training/module"

    page = client.get("/training/module")
    question_id = hidden(page, "question")
    assert question_id is not None
    sent = {
        "csrf_token": csrf(page.text),
        "question": question_id,
        "answer": module.questions[question_id].answer,
    }
    first = client.post("/training/module/answer", data=sent)
    second = client.post("/training/module/answer", data=sent)
    assert first.headers["location"] == second.headers["location"] == "/training/module"
    attempt = assessment.open_attempt(web_db, roster.get(web_db, ADA).id)
    assert attempt is not None
    recorded = assessment.answers(web_db, attempt.id)
    assert [(a["question"], a["correct"]) for a in recorded] == [(question_id, True)]
    page = client.get("/training/module")
    assert page.status_code == 200
    assert hidden(page, "question") != question_id


def test_learner_pages_never_show_the_staff_console(client, trainees):
    sign_in(client, "ig_lead")
    learner_signs_in(client, ADA)
    start_module(client)
    for path in ("/training", "/training/module"):
        page = client.get(path)
        assert page.status_code == 200
        assert 'href="/console' not in page.text
        assert "staff console" not in page.text.lower()
        assert "Imogen" not in page.text


# ---------------------------------------------------------------------------
# Languages


def test_the_module_in_welsh(client, web_db, trainees):
    module = content.load()
    cy = translator("cy")
    learner_signs_in(client, ADA)
    start_module(client)

    answer = client.get("/training/language/cy?next=/training")
    assert (answer.status_code, answer.headers["location"]) == (303, "/training")
    page = client.get("/training")
    assert '<html lang="cy"' in page.text
    assert cy.gettext(module.title) != module.title  # the catalogue translates it
    assert str(escape(cy.gettext(module.title))) in page.text
    assert str(cy.markdown(module.summary)) in page.text
    assert str(escape(cy.gettext("Continue the module"))) in page.text
    # Each language is named in its own language, with hreflang.
    for code, name in (("en", "English"), ("cy", "Cymraeg"), ("pl", "Polski")):
        assert re.search(
            rf'<a href="/training/language/{code}\?next=/training" lang="{code}" '
            rf'hreflang="{code}"[^>]*>(<strong>)?{name}',
            page.text,
        )

    # The open attempt is now in Welsh, and its pages too.
    attempt = assessment.open_attempt(web_db, roster.get(web_db, ADA).id)
    assert attempt is not None and attempt.language == "cy"
    teach = client.get("/training/module")
    assert '<html lang="cy"' in teach.text
    first = module.sections[0]
    assert str(escape(cy.gettext(first.title))) in teach.text
    assert str(cy.markdown(first.body)) in teach.text
    assert str(cy.markdown(first.scenario)) in teach.text

    # Back to English from the module page.
    answer = client.get("/training/language/en?next=/training/module")
    assert answer.headers["location"] == "/training/module"
    page = client.get("/training/module")
    assert '<html lang="en"' in page.text
    assert str(escape(first.title)) in page.text


def test_the_language_switch_only_goes_back_to_learner_pages(client):
    assert client.get("/training/language/xx").status_code == 404
    for target in ("https://example.com/", "//example.com/training", "/console", "/training/../x"):
        answer = client.get("/training/language/pl", params={"next": target})
        assert answer.headers["location"] == "/training", target
    assert safe_next("/training/certificate/3") == "/training/certificate/3"
    assert safe_next("/training/language/cy") == "/training"
    assert '<html lang="pl"' in client.get("/training").text


def test_the_certificate_json_is_documented(client):
    document = client.get("/api/openapi.json").json()
    operation = document["paths"]["/training/certificate/{completion_id}.json"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CertificateOut"
    }
    assert "404" in operation["responses"]
    assert "/training" not in document["paths"]
