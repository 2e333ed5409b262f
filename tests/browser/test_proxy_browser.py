"""A parent applies to make a choice for their child, and a proxy reviewer approves it,
each at their own browser."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from ndoo.register import QUESTION, State, current_choice, history
from tests.browser.conftest import axe_check, sign_in
from tests.browser.helpers import (
    another_browser,
    assert_error_linked,
    fill_date,
    heading,
    outbox,
)
from tests.identity.helpers import add

CHILD = "9000000009"
CHILD_BORN = date(date.today().year - 7, 4, 2)
PARENT_EMAIL = "pat.thumb@example.org"


@pytest.fixture
def child(site_db) -> str:
    """A child of six or seven, with a demographic record and no contact of their own."""
    return add(
        site_db,
        CHILD,
        born=CHILD_BORN,
        given="Tom",
        family="Thumb",
        postcode="LS1 4AP",
        mobile=None,
        email=None,
    )


def test_a_parent_applies_for_a_child_and_a_reviewer_approves(
    page: Page, browser, site, site_db, child, javascript
):
    page.goto(f"{site}/proxy")
    assert heading(page) == "Make a choice for someone else"
    axe_check(page)
    page.get_by_role("link", name="Start your application").click()
    page.wait_for_url(f"{site}/proxy/apply")
    assert heading(page) == "Apply to make a choice for someone else"
    axe_check(page)

    # Sent empty: the problems are listed, each linked to its field.
    page.get_by_role("button", name="Send application").click()
    assert_error_linked(page, "given_name", "Enter their first name")
    assert_error_linked(page, "proxy_email", "Give an email address or a phone number")
    axe_check(page)

    page.get_by_label("Their NHS number").fill("900 000 0009")
    page.get_by_label("Their first name").fill("Tom")
    page.get_by_label("Their last name").fill("Thumb")
    fill_date(page, "Their date of birth", CHILD_BORN)
    page.get_by_label("Their postcode").fill("ls1 4ap")
    page.get_by_label("Your full name").fill("Pat Thumb")
    page.get_by_role("radio", name="Parent or guardian with parental responsibility").check()
    page.get_by_label("Your email address").fill(PARENT_EMAIL)
    page.get_by_label("Reference of your evidence").fill("Birth certificate QBX 123456")
    page.get_by_role("radio", name="No, do not allow it to be used").check()
    page.get_by_role("button", name="Send application").click()

    page.wait_for_url(f"{site}/proxy/done")
    assert heading(page) == "Application received"
    panel = page.locator(".nhsuk-panel").inner_text()
    found = re.search(r"Your reference\s+(PA-[A-Z]{8})", panel)
    assert found, panel
    reference = found.group(1)
    expect(page.get_by_text("Nothing changes until our staff have checked")).to_be_visible()
    axe_check(page)
    assert current_choice(site_db, CHILD).state is State.IN  # nothing yet
    (acknowledgement,) = outbox(page, site)
    assert acknowledgement.to == f"Email to {PARENT_EMAIL}"
    assert f"Your reference is {reference}" in acknowledgement.text

    with another_browser(browser, javascript=javascript) as reviewer:
        sign_in(reviewer, site, "proxy_reviewer")
        reviewer.get_by_role("link", name="Proxy applications").click()
        assert heading(reviewer) == "Proxy applications Waiting for review"
        axe_check(reviewer)
        reviewer.get_by_role("link", name=reference).click()
        assert heading(reviewer) == f"Proxy application {reference}"
        details = reviewer.locator("main")
        expect(details).to_contain_text("Pat Thumb")
        expect(details).to_contain_text("Birth certificate QBX 123456")
        expect(details.locator(".nhsuk-summary-list__row", has_text=QUESTION)).to_contain_text(
            "No (opted out)"
        )
        axe_check(reviewer)
        reviewer.get_by_role("button", name="Approve and record the choice").click()
        expect(reviewer.locator(".nhsuk-notification-banner")).to_contain_text(
            f"Application {reference} approved. The proxy has been told by email."
        )
        status = reviewer.locator(".nhsuk-summary-list__row", has_text="Status")
        expect(status).to_contain_text("Approved")
        axe_check(reviewer)

    assert current_choice(site_db, CHILD).state is State.OUT
    last = history(site_db, CHILD).events[-1]
    assert (last.state, last.actor, last.proxy_name) == (State.OUT, "GUARDIAN", "Pat Thumb")
    decision, ack = outbox(page, site)
    assert ack == acknowledgement
    assert decision.to == f"Email to {PARENT_EMAIL}"
    assert f"your application {reference}" in decision.text
    assert "has been approved and the choice you asked for has been recorded" in decision.text
