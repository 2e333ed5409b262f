"""What the browser journeys share: the demo outbox read as a visitor reads it, a second
person at another browser, dates typed into the design system's date input, and the
error summary checked the way a person uses it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from playwright.sync_api import Browser, Page, expect


@dataclass(frozen=True)
class Message:
    """One row of the demo outbox page, as shown."""

    to: str
    text: str


def outbox(page: Page, site: str) -> list[Message]:
    """The messages on the demo outbox page, newest first, read in a new tab of the same
    browser (the tab a visitor would open beside the journey)."""
    tab = page.context.new_page()
    try:
        tab.goto(f"{site}/outbox")
        expect(tab.get_by_role("heading", level=1)).to_have_text("Messages sent (demo outbox)")
        rows = tab.locator("tbody tr")
        found = []
        for i in range(rows.count()):
            cells = rows.nth(i).locator("td")
            found.append(
                Message(
                    to=_cell(cells.nth(1).inner_text(), "To"),
                    text=_cell(cells.nth(2).inner_text(), "Message"),
                )
            )
        return found
    finally:
        tab.close()


def _cell(text: str, heading: str) -> str:
    """A cell's text, without the heading the responsive table repeats on small screens."""
    shown = " ".join(text.split())
    return shown.removeprefix(f"{heading} ")


def security_code(message: Message) -> str:
    found = re.search(r"\b(\d{6})\b", message.text)
    assert found, message.text
    return found.group(1)


@contextmanager
def another_browser(browser: Browser, *, javascript: bool = True) -> Iterator[Page]:
    """A page in a browser context of its own: another person at another computer."""
    context = browser.new_context(java_script_enabled=javascript)
    context._ndoo_javascript = javascript  # type: ignore[attr-defined]  # read by axe_check
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def fill_date(page: Page, legend: str, day: date) -> None:
    """Type ``day`` into the day, month and year boxes of the date input ``legend``."""
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def heading(page: Page) -> str:
    """The page's one level-1 heading."""
    found = page.get_by_role("heading", level=1)
    expect(found).to_have_count(1)
    return " ".join(found.inner_text().split())


def assert_error_linked(page: Page, field_id: str, message: str) -> None:
    """The error summary lists ``message`` with a link to the field, and the field
    itself carries the message (as its accessible description, next to it)."""
    summary = page.locator(".nhsuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    link = summary.get_by_role("link", name=message)
    expect(link).to_have_attribute("href", f"#{field_id}")
    field = page.locator(f"#{field_id}")
    expect(field).to_have_count(1)
    expect(field).to_have_accessible_description(re.compile(re.escape(message)))
    assert page.title().startswith("Error: ")
    if getattr(page.context, "_ndoo_javascript", True):
        link.click()
        expect(field).to_be_focused()
