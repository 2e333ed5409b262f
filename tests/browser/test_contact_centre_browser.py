"""A contact-centre agent finds a caller by NHS number and records the opt-out they
made by phone."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page, expect

from ndoo import people
from ndoo.register import QUESTION, Channel, State, current_choice, history
from tests.browser.conftest import axe_check, sign_in
from tests.browser.helpers import assert_error_linked, heading

NUMBER = "9434765919"


@pytest.fixture
def caller(site_db) -> str:
    people.add(site_db, people.Person(NUMBER, date(1980, 4, 1), "2"), actor="test")
    return NUMBER


def test_an_agent_records_an_opt_out_made_by_phone(page: Page, site, site_db, caller, javascript):
    sign_in(page, site, "agent")
    page.get_by_role("link", name="Find a person").click()
    assert heading(page) == "Find a person"
    axe_check(page)
    page.get_by_label("NHS number").fill("943 476 5919")
    page.get_by_role("button", name="Find").click()

    page.wait_for_url(f"{site}/console/people/{NUMBER}")
    assert heading(page) == "Person NHS number 943 476 5919"
    expect(page.get_by_text("No change has been recorded")).to_be_visible()
    axe_check(page)

    form = page.locator("form", has=page.get_by_role("button", name="Record choice"))
    form.get_by_role("group", name=QUESTION).get_by_role("radio", name="No").check()
    form.get_by_role("radio", name="By phone").check()
    form.get_by_role("radio", name="The person themselves").check()
    form.get_by_role("button", name="Record choice").click()

    # Without a case reference nothing is recorded, and the answers given are kept.
    assert_error_linked(
        page, "case_reference", "Enter the case reference of the call or paper form"
    )
    expect(page.get_by_role("radio", name="By phone")).to_be_checked()
    axe_check(page)
    assert current_choice(site_db, NUMBER).state is State.IN

    page.get_by_label("Case reference").fill("12345-C")
    page.get_by_role("button", name="Record choice").click()

    page.wait_for_url(f"{site}/console/people/{NUMBER}")
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text(
        "Recorded: opted out, by phone, case 12345-C."
    )
    row = page.get_by_role("table").locator("tbody tr")
    expect(row).to_have_count(1)
    for shown in ("Opted out", "(CC)", "The person themselves", "12345-C"):
        expect(row).to_contain_text(shown)
    axe_check(page)

    assert current_choice(site_db, NUMBER).state is State.OUT
    last = history(site_db, NUMBER).events[-1]
    assert (last.channel, last.actor, last.case_reference) == (Channel.CC, "SELF", "12345-C")
