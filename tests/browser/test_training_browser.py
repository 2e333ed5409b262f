"""The staff training module in a real browser, with JavaScript on and off: a member of
staff signs in with the code from the demo outbox, takes the module (one wrong answer,
its follow-up lesson and a fresh question, then right answers), passes and sees the
certificate, also in Welsh; then the IG lead sees them in date on the training
dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ndoo.training import content, roster
from ndoo.training.assessment import completions
from ndoo.web.routes.training import long_date
from tests.browser.conftest import axe_check, sign_in
from tests.browser.helpers import heading, outbox, security_code

EMAIL = "ada.lovelace@example.nhs.uk"
NAME = "Ada Lovelace"
TEAM = "Ward 7"


@pytest.fixture
def learner(site_db) -> None:
    roster.add(site_db, name=NAME, email=EMAIL, team=TEAM, role="Nurse", actor="test")


def sign_in_to_the_training(page: Page, site: str) -> None:
    module = content.load()
    page.goto(f"{site}/training")
    assert heading(page) == module.title
    expect(page.locator("html")).to_have_attribute("lang", "en")
    axe_check(page)
    page.get_by_label("Work email address").fill(EMAIL)
    page.get_by_role("button", name="Send me a code").click()

    page.wait_for_url(f"{site}/training/code")
    assert heading(page) == "Check your email"
    expect(page.get_by_text(f"If {EMAIL} is on your organisation's staff list")).to_be_visible()
    axe_check(page)
    (newest, *_) = outbox(page, site)
    assert newest.to == f"Email to {EMAIL}"
    page.get_by_label("Sign-in code").fill(security_code(newest))
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"{site}/training")
    expect(page.get_by_text(f"Signed in as {NAME}.")).to_be_visible()
    axe_check(page)


def submit(page: Page, button: str) -> None:
    """Press a button and wait for the page it leads to (often at the same address)."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def take_the_module(page: Page, site: str) -> None:
    """Through every page of the module: the first question answered wrongly, every
    other one rightly, as the question bank says."""
    module = content.load()
    submit(page, "Start the module")
    wrong: str | None = None
    lesson_seen = False
    for _ in range(60):
        if "/training/certificate/" in page.url:
            break
        assert page.url == f"{site}/training/module"
        axe_check(page)
        question = page.locator('input[name="question"]')
        if question.count():
            asked = module.questions[question.get_attribute("value") or ""]
            expect(
                page.get_by_role("group", name=re.compile(re.escape(asked.stem)))
            ).to_be_visible()
            if wrong is None:
                wrong = asked.id
                choice = next(o for o in asked.options if not o.correct)
            else:
                if lesson_seen and wrong and module.questions[wrong].point == asked.point:
                    assert asked.id != wrong  # a fresh question on the same point
                choice = next(o for o in asked.options if o.correct)
            page.get_by_label(choice.text, exact=True).check()
            submit(page, "Submit")
            continue
        if heading(page) == "That answer was not right":
            lesson_seen = True
            expect(page.locator("#lesson")).to_be_visible()
            assert wrong is not None
            right = next(o for o in module.questions[wrong].options if o.correct)
            expect(page.get_by_text(right.text, exact=True)).to_have_count(0)
            submit(page, "Continue")
        elif heading(page) == "Key points":
            submit(page, "Finish the module")
        else:
            expect(page.locator("#scenario")).to_be_visible()
            submit(page, "Continue")
    assert lesson_seen
    assert re.fullmatch(rf"{re.escape(site)}/training/certificate/\d+", page.url)


def test_a_member_of_staff_takes_the_module_and_the_ig_lead_sees_it(
    page: Page, site: str, site_db, learner, javascript
):
    sign_in_to_the_training(page, site)
    take_the_module(page, site)

    # The certificate.
    assert heading(page) == "Certificate of completion"
    (passed,) = completions(site_db)
    certificate = page.locator("#certificate")
    expect(certificate).to_contain_text(NAME)
    expect(certificate).to_contain_text(long_date(passed.completed_on, "en"))
    expect(certificate).to_contain_text(
        "92% of learning points answered right first time (11 of 12)"
    )
    expect(certificate).to_contain_text(long_date(passed.expires_on, "en"))
    assert passed.expires_on.year == passed.completed_on.year + 1
    axe_check(page)

    # The same certificate in Welsh.
    address = page.url
    page.get_by_role("link", name="Cymraeg").click()
    page.wait_for_url(address)
    expect(page.locator("html")).to_have_attribute("lang", "cy")
    expect(page.locator("#certificate")).to_contain_text(NAME)
    expect(page.locator("#certificate")).to_contain_text(long_date(passed.expires_on, "cy"))
    axe_check(page)

    # The IG lead sees the learner in date on the training dashboard.
    sign_in(page, site, "ig_lead")
    page.goto(f"{site}/console/training")
    assert heading(page) == "Staff training"
    expect(page.locator("#percent-in-date")).to_have_text(re.compile(r"^\s*100(\.0)?\s*%\s*$"))
    team = page.get_by_role("table", name="Required staff by team").get_by_role("row", name=TEAM)
    expect(team.get_by_role("cell").nth(1)).to_have_text("1")  # in date
    expect(page.get_by_role("link", name=NAME)).to_have_count(0)  # neither due nor overdue
    axe_check(page)

    page.goto(f"{site}/console/training/roster")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=NAME))
    expect(row).to_contain_text("in date")
    axe_check(page)
