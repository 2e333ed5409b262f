"""The staff console in a real browser: sign in, see what the role allows, sign out."""

from __future__ import annotations

from tests.browser.conftest import axe_check, sign_in


def test_a_member_of_staff_signs_in_and_out(page, site, javascript):
    page.goto(f"{site}/")
    axe_check(page)
    sign_in(page, site, "agent")
    assert page.get_by_role("heading", level=1).inner_text() == "Staff console"
    assert page.get_by_role("link", name="Find a person").count() == 1
    assert page.get_by_role("link", name="Staff accounts").count() == 0
    axe_check(page)
    page.get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{site}/staff/sign-in")
    page.goto(f"{site}/console")
    assert page.url.startswith(f"{site}/staff/sign-in")


def test_a_wrong_password_shows_the_error_summary_linked_to_the_field(page, site):
    page.goto(f"{site}/staff/sign-in")
    axe_check(page)
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator(".nhsuk-error-summary")
    assert "The username or password is not right" in summary.inner_text()
    assert summary.get_by_role("link").get_attribute("href") == "#username"
    axe_check(page)
