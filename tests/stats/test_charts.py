"""The publication's charts show the publication's own figures, readable by everyone."""

from __future__ import annotations

import pyarrow as pa

from ndoo.stats import charts


def age_gen() -> pa.Table:
    rows = []
    for month, opted in ((1, 400), (2, 450), (3, 540)):
        day = f"01/{month:02d}/2026"
        rows.append(
            {"ACH_DATE": day, "AGE_BAND": "All", "GENDER": "All", "OPT_OUT": opted,
             "LIST_SIZE": 10_000, "OPT_OUT_RATE": opted / 100}
        )  # fmt: skip
        for gender, extra in (("Female", 5), ("Male", 0)):
            for index, band in enumerate(charts.AGE_BANDS):
                rows.append(
                    {"ACH_DATE": day, "AGE_BAND": band, "GENDER": gender,
                     "OPT_OUT": 10 + index + extra, "LIST_SIZE": 100, "OPT_OUT_RATE": 0.0}
                )  # fmt: skip
        rows.append(
            {"ACH_DATE": day, "AGE_BAND": "All deceased", "GENDER": "All", "OPT_OUT": 7,
             "LIST_SIZE": 0, "OPT_OUT_RATE": 0.0}
        )  # fmt: skip
    return pa.Table.from_pylist(rows)


def reg_geog() -> pa.Table:
    rows = [
        {"ACH_DATE": "01/03/2026", "ICB_NAME": "NHS North ICB", "COMM_REGION_NAME": "North",
         "OPT_OUT": 30, "LIST_SIZE": 1_000},
        {"ACH_DATE": "01/03/2026", "ICB_NAME": "NHS North ICB", "COMM_REGION_NAME": "North",
         "OPT_OUT": 10, "LIST_SIZE": 1_000},
        {"ACH_DATE": "01/03/2026", "ICB_NAME": "NHS South ICB", "COMM_REGION_NAME": "South",
         "OPT_OUT": 90, "LIST_SIZE": 1_000},
        {"ACH_DATE": "01/03/2026", "ICB_NAME": "Unallocated", "COMM_REGION_NAME": "Unallocated",
         "OPT_OUT": 4, "LIST_SIZE": 0},
        {"ACH_DATE": "01/02/2026", "ICB_NAME": "NHS South ICB", "COMM_REGION_NAME": "South",
         "OPT_OUT": 1, "LIST_SIZE": 1_000},
    ]  # fmt: skip
    return pa.Table.from_pylist(rows)


def test_the_national_chart_is_the_all_ages_all_genders_row_of_each_month():
    chart = charts.national(age_gen())
    assert [(p["date"], p["rate"]) for p in chart.data["series"]] == [
        ("2026-01-01", 4.0),
        ("2026-02-01", 4.5),
        ("2026-03-01", 5.4),
    ]
    assert "4.0% to 5.4%" in chart.description


def test_age_and_gender_use_the_newest_month_and_name_the_highest_rate():
    chart = charts.by_age_and_gender(age_gen())
    assert chart.data["month"] == "2026-03-01"
    assert chart.data["rates"]["Female"]["90+"] == 24.0
    assert chart.data["rates"]["Male"]["0-9"] == 10.0
    assert "The highest is women aged 90+ at 24.0%." in chart.description


def test_areas_are_summed_over_practices_highest_rate_first_without_unallocated():
    icbs = charts.by_icb(reg_geog())
    assert [(a["icb"], a["rate"]) for a in icbs.data["areas"]] == [
        ("NHS South ICB", 9.0),
        ("NHS North ICB", 2.0),
    ]
    regions = charts.by_region(reg_geog())
    assert [a["region"] for a in regions.data["areas"]] == ["South", "North"]


def test_svg_and_png_carry_what_a_screen_reader_and_a_viewer_need():
    found = {c.name: c for c in charts.charts(age_gen(), reg_geog())}
    assert tuple(found) == charts.NAMES
    svg = charts.svg(found["national-rate"]).decode("utf-8")
    assert '<svg role="img" aria-labelledby="chart-title chart-desc"' in svg
    assert '<title id="chart-title">National data opt-out rate, England</title>' in svg
    assert "4.0% to 5.4%" in svg
    assert charts.png(found["rate-by-icb"]).startswith(b"\x89PNG")
