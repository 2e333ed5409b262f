"""The citizen journey in a real browser, with JavaScript on and off: the start page,
your details, the security code read from the demo outbox, the one question and the
confirmation; opting out, then back in."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page, expect

from ndoo.register import QUESTION, State, current_choice
from tests.browser.conftest import axe_check
from tests.browser.helpers import (
    assert_error_linked,
    fill_date,
    heading,
    outbox,
    security_code,
)
from tests.identity.helpers import add

NUMBER = "9434765919"
TYPED = "943 476 5919"
BORN = date(1984, 3, 15)
MOBILE = "07700900123"

START = "Make your choice about sharing data from your health records"
CHOICE = "Choose if data from your health records is shared for research and planning"


@pytest.fixture
def person(site_db) -> str:
    """An adult with a mobile phone number and an email address on record."""
    return add(site_db, NUMBER, born=BORN, mobile=MOBILE, email="ada.lovelace.7@example.com")


def give_details(page: Page, site: str) -> None:
    """From the start page to the security code: the NHS number route, code by text."""
    page.wait_for_url(f"{site}/your-choice")
    assert heading(page) == START
    axe_check(page)
    page.get_by_role("link", name="Start now").click()

    page.wait_for_url(f"{site}/your-choice/details")
    assert heading(page) == "Do you know your NHS number?"
    axe_check(page)
    page.get_by_role("radio", name="Yes").check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/your-choice/details?*know_number=yes*")
    assert heading(page) == "Your details"
    axe_check(page)
    page.get_by_label("NHS number").fill(TYPED)
    fill_date(page, "Date of birth", BORN)
    page.get_by_role("radio", name="Mobile phone (text message)").check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{site}/your-choice/code")
    assert heading(page) == "Enter your security code"
    axe_check(page)


def enter_code(page: Page, site: str) -> None:
    """Read the code sent to the mobile on record from the demo outbox and enter it."""
    (newest, *_) = outbox(page, site)
    assert newest.to == f"Text message to {MOBILE}"
    page.get_by_label("Security code").fill(security_code(newest))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{site}/your-choice/choice")


def answer(page: Page, site: str, *, now: str, to: str) -> None:
    """On the choice page: see the current answer ``now``, then answer ``to``."""
    assert heading(page) == CHOICE
    question = page.get_by_role("group", name=QUESTION)
    expect(question.locator("legend")).to_have_text(QUESTION)
    expect(page.locator(".nhsuk-inset-text")).to_contain_text(f"Your current choice: {now}")
    axe_check(page)
    question.get_by_role("radio", name=to).check()
    page.get_by_role("button", name="Save my choice").click()
    page.wait_for_url(f"{site}/your-choice/done")
    assert heading(page) == "Your choice has been saved"
    expect(page.get_by_text("We have sent a confirmation")).to_be_visible()
    axe_check(page)


def test_a_person_opts_out_and_back_in(page: Page, site, site_db, person, javascript):
    page.goto(f"{site}/your-choice")
    give_details(page, site)

    # A wrong code first: the error summary names the problem and links to the field.
    real = security_code(outbox(page, site)[0])
    page.get_by_label("Security code").fill("000000" if real != "000000" else "111111")
    page.get_by_role("button", name="Continue").click()
    assert heading(page) == "Enter your security code"
    assert_error_linked(page, "code", "The security code is not right; check it and try again")
    axe_check(page)

    enter_code(page, site)
    answer(page, site, now="yes", to="No")
    expect(page.locator(".nhsuk-panel")).to_contain_text(
        "You chose: I do not allow my confidential patient information to be used for "
        "research and planning."
    )
    assert current_choice(site_db, NUMBER).state is State.OUT
    confirmation = outbox(page, site)[0]
    assert confirmation.to == f"Text message to {MOBILE}"
    assert "your choice has been saved" in confirmation.text
    assert "You chose: I do not allow my confidential patient information" in confirmation.text

    page.get_by_role("button", name="Finish").click()
    assert heading(page) == "You have finished"
    axe_check(page)

    # Back again, the whole way, to opt back in.
    page.get_by_role("link", name="Make or change a choice again").click()
    give_details(page, site)
    enter_code(page, site)
    answer(page, site, now="no", to="Yes")
    expect(page.locator(".nhsuk-panel")).to_contain_text(
        "You chose: I allow my confidential patient information to be used for research "
        "and planning."
    )
    assert current_choice(site_db, NUMBER).state is State.IN
    confirmation = outbox(page, site)[0]
    assert confirmation.to == f"Text message to {MOBILE}"
    assert "You chose: I allow my confidential patient information" in confirmation.text


def test_the_details_page_can_be_used_with_the_keyboard_alone(page: Page, site):
    page.goto(f"{site}/your-choice/details?know_number=yes")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_text("Skip to main content")
    expect(skip).to_have_attribute("href", "#maincontent")

    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        if focused.evaluate("e => e.matches('input, button')"):
            reached.append(focused.get_attribute("id") or focused.inner_text().strip())
        if reached and reached[-1] == "Continue":
            break
    assert reached == [
        "nhs_number",
        "date_of_birth-day",
        "date_of_birth-month",
        "date_of_birth-year",
        "channel",
        "Continue",
    ]
    boxes = [page.locator(f"#{i}").bounding_box() for i in reached[:-1]]
    assert all(b is not None for b in boxes)
    # Top to bottom, and the day, month and year boxes left to right on one line.
    tops = [b["y"] for b in boxes if b]
    assert tops == sorted(tops)
    day, month, year = boxes[1:4]
    assert day and month and year and day["x"] < month["x"] < year["x"]
