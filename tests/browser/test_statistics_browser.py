"""The statistics page in a real browser: four charts with text alternatives, accessible."""

from __future__ import annotations

from sqlalchemy import update

from ndoo.db.models import gp_practice, person
from tests.browser.conftest import axe_check, sign_in
from tests.pos.helpers import NOT_OPTED_OUT, OPTED_OUT, register_with_optouts


def test_an_ig_lead_reads_the_charts(page, site, site_db):
    register_with_optouts(site_db)
    with site_db.write() as conn:
        conn.execute(
            gp_practice.insert().values(
                code="A81001", name="The Demo Practice", sub_icb_code="00L", postcode="TS18 1HU"
            )
        )
        conn.execute(
            update(person)
            .where(person.c.nhs_number.in_([*OPTED_OUT, *NOT_OPTED_OUT]))
            .values(gp_practice_code="A81001")
        )
    sign_in(page, site, "ig_lead")
    page.get_by_role("link", name="Statistics").click()
    page.get_by_label("Reporting month (YYYY-MM-01)").fill("2025-06-01")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("load")  # the charts are images: loaded with the page
    images = page.locator("main figure").get_by_role("img")
    assert images.count() == 4
    for index in range(4):
        image = images.nth(index)
        assert image.get_attribute("alt")
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "National rate each month" in page.content()
    axe_check(page)
