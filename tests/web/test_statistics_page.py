"""The publication's charts on the console: the same figures as the publication."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from ndoo.db.models import gp_practice, person
from ndoo.stats.publication import compute
from tests.pos.helpers import NOT_OPTED_OUT, OPTED_OUT, register_with_optouts
from tests.web.conftest import settings_for, sign_in

MONTH = "2025-06-01"


@pytest.fixture
def app(tmp_path, web_db):
    """The service over a register of five people at one practice, two opted out; the
    synthetic numbers are 9xx, so test numbers are kept in the counts."""
    from ndoo.web.app import create_app

    register_with_optouts(web_db)
    with web_db.write() as conn:
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
    settings = settings_for(tmp_path, stats_drop_test_numbers="false")
    return create_app(settings, db=web_db)


def test_the_page_shows_four_charts_and_the_national_series(client):
    sign_in(client, "ig_lead")
    page = client.get(f"/console/statistics?period_end={MONTH}")
    assert page.status_code == 200
    assert page.text.count('<img src="/console/statistics/charts/') == 4
    assert "National rate each month" in page.text
    assert "2025-06-01" in page.text and "40.0" in page.text  # 2 of 5 people


def test_the_json_twin_has_the_publications_own_figures(client, web_db):
    sign_in(client, "analyst")
    body = client.get(f"/console/statistics.json?period_end={MONTH}&months=3").json()
    national = next(c for c in body["charts"] if c["name"] == "national-rate")["data"]["series"]
    published = compute(web_db, period_end=date(2025, 6, 1), months=3, drop_test_numbers=False)
    expected = sorted(
        (row["ACH_DATE"].isoformat(), row["OPT_OUT"], row["LIST_SIZE"])
        for row in published.national.to_pylist()
    )
    assert [(p["date"], p["opt_out"], p["list_size"]) for p in national] == expected
    assert national[-1] == {"date": MONTH, "opt_out": 2, "list_size": 5, "rate": 40.0}


def test_a_chart_is_served_as_accessible_svg(client):
    sign_in(client, "ig_lead")
    svg = client.get(f"/console/statistics/charts/rate-by-region.svg?period_end={MONTH}")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert 'role="img"' in svg.text and '<desc id="chart-desc">' in svg.text
    assert client.get("/console/statistics/charts/nothing.svg").status_code == 404


def test_only_ig_leads_and_analysts_see_the_statistics(client):
    sign_in(client, "agent")
    assert client.get("/console/statistics").status_code == 403
    assert client.get("/console/statistics.json?period_end=2025-06-02").status_code in (403, 422)
