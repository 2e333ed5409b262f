"""A real browser against the running web service: Playwright driving Debian's Chromium.

The service runs in this process on a free loopback port (:func:`ndoo.web.server.running`)
on a fresh SQLite register.  Chromium is ``/usr/bin/chromium`` (``make test`` installs
it), headless, without its sandbox.  A failing test leaves a screenshot of the page in
``.browser-artifacts/`` at the project root.  :func:`axe_check` runs axe-core
(installed from the npm registry with the design system) against the page for WCAG 2.2
A and AA rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from ndoo.db import Database
from ndoo.mesh.sandbox import free_port
from ndoo.web.app import create_app
from ndoo.web.server import running
from tests.web.conftest import PASSWORD, STAFF, settings_for, staffed_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / ".browser-artifacts"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def site_db(tmp_path: Path) -> Iterator[Database]:
    db = staffed_database(tmp_path / "web.db")
    yield db
    db.dispose()


@pytest.fixture
def site(tmp_path: Path, site_db: Database) -> Iterator[str]:
    """The base URL of the web service, running."""
    app = create_app(settings_for(tmp_path), db=site_db)
    with running(app, port=free_port()) as url:
        yield url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
        if page is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def javascript(request: pytest.FixtureRequest) -> bool:
    """Run a journey with JavaScript on, and again with it switched off."""
    return bool(request.param)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    enabled = (
        request.getfixturevalue("javascript") if "javascript" in request.fixturenames else True
    )
    context = browser.new_context(java_script_enabled=enabled)
    context._ndoo_javascript = enabled  # type: ignore[attr-defined]
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    yield new_page
    context.close()


def axe_check(page: Page) -> None:
    """No WCAG 2.2 A/AA violation that axe-core finds on the page as it is now.

    axe-core needs the page's JavaScript; a journey run with JavaScript switched off
    is checked by its twin run with it on, so here nothing is checked.
    """
    if not page.context.pages or not getattr(page.context, "_ndoo_javascript", True):
        return
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results: dict[str, Any] = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"""
    )
    violations = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results["violations"]
    ]
    assert violations == [], f"{page.url}: {json.dumps(violations, indent=1)}"


def sign_in(page: Page, site: str, role: str) -> None:
    page.goto(f"{site}/staff/sign-in")
    page.get_by_label("Username").fill(STAFF[role])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site}/console")
