"""Charts of the publication: the national rate over time, by age and gender, by ICB and
by NHS England region.

Each chart is drawn from the publication's own tables (the ``age_gen`` and
``reg_geog`` columns of :mod:`ndoo.stats.publication`), so a chart and the CSV beside it
never disagree.  Charts are written as PNG and SVG; the SVG carries a title and a
description for screen readers, and the colours are the NHS palette's blues, which stay
apart in greyscale.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

NHS_BLUE = "#005eb8"
NHS_DARK_BLUE = "#003087"
NHS_LIGHT_BLUE = "#41b6e6"
NHS_GREY = "#425563"

PEOPLE = {"Female": "women", "Male": "men"}
AGE_BANDS = ("0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+")


#: The charts, in the order :func:`charts` draws them.
NAMES = ("national-rate", "rate-by-age-gender", "rate-by-icb", "rate-by-region")


@dataclass(frozen=True)
class Chart:
    """One chart: its file name (without suffix), title, description and the data drawn."""

    name: str
    title: str
    description: str
    data: dict[str, Any]


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if "/" in text:
        day, month, year = (int(part) for part in text.split("/"))
        return date(year, month, day)
    return date.fromisoformat(text[:10])


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _rate(opt_out: float, list_size: float) -> float:
    return 100.0 * opt_out / list_size if list_size else 0.0


def national(age_gen: pa.Table) -> Chart:
    """The national rate each month (living people, all ages, all genders)."""
    points = sorted(
        (_day(r["ACH_DATE"]), int(r["OPT_OUT"]), int(r["LIST_SIZE"]))
        for r in _rows(age_gen)
        if r["AGE_BAND"] == "All" and r["GENDER"] == "All"
    )
    series = [
        {"date": d.isoformat(), "opt_out": o, "list_size": n, "rate": round(_rate(o, n), 2)}
        for d, o, n in points
    ]
    first, last = (series[0], series[-1]) if series else ({}, {})
    description = (
        f"The national data opt-out rate in England each month from {first.get('date')} "
        f"to {last.get('date')}: {first.get('rate')}% to {last.get('rate')}%."
        if series
        else "No months to show."
    )
    return Chart(
        "national-rate", "National data opt-out rate, England", description, {"series": series}
    )


def by_age_and_gender(age_gen: pa.Table, month: date | None = None) -> Chart:
    """The rate by age band for women and for men in one month (default: the newest)."""
    rows = _rows(age_gen)
    months = sorted({_day(r["ACH_DATE"]) for r in rows})
    month = month or (months[-1] if months else None)
    rates: dict[str, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if month is None or _day(r["ACH_DATE"]) != month or r["AGE_BAND"] not in AGE_BANDS:
            continue
        if r["GENDER"] in ("Female", "Male"):
            rates[r["GENDER"]][r["AGE_BAND"]] = round(_rate(r["OPT_OUT"], r["LIST_SIZE"]), 2)
    highest = max(
        ((gender, band, rate) for gender, bands in rates.items() for band, rate in bands.items()),
        key=lambda item: item[2],
        default=None,
    )
    description = (
        f"Opt-out rate by age band for women and men on {month}. The highest is "
        f"{PEOPLE[highest[0]]} aged {highest[1]} at {highest[2]}%."
        if highest and month
        else "No rates to show."
    )
    return Chart(
        "rate-by-age-gender",
        f"Opt-out rate by age and gender, {month:%B %Y}"
        if month
        else "Opt-out rate by age and gender",
        description,
        {
            "month": month.isoformat() if month else None,
            "rates": {g: dict(b) for g, b in rates.items()},
        },
    )


def _by(
    reg_geog: pa.Table, month: date | None, key: str, label: str
) -> tuple[date | None, list[dict[str, Any]]]:
    rows = _rows(reg_geog)
    months = sorted({_day(r["ACH_DATE"]) for r in rows})
    month = month or (months[-1] if months else None)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if month is None or _day(r["ACH_DATE"]) != month or r[key] in (None, "Unallocated"):
            continue
        sums[str(r[key])][0] += int(r["OPT_OUT"])
        sums[str(r[key])][1] += int(r["LIST_SIZE"])
    areas: list[dict[str, Any]] = [
        {label: name, "opt_out": o, "list_size": n, "rate": round(_rate(o, n), 2)}
        for name, (o, n) in sums.items()
        if n
    ]
    areas.sort(key=lambda a: a["rate"], reverse=True)
    return month, areas


def by_icb(reg_geog: pa.Table, month: date | None = None) -> Chart:
    """The rate by integrated care board of the GP practice, highest first."""
    month, areas = _by(reg_geog, month, "ICB_NAME", "icb")
    description = (
        f"Opt-out rate by integrated care board on {month}: from {areas[0]['rate']}% "
        f"({areas[0]['icb']}) to {areas[-1]['rate']}% ({areas[-1]['icb']})."
        if areas
        else "No rates to show."
    )
    title = f"Opt-out rate by ICB, {month:%B %Y}" if month else "Opt-out rate by ICB"
    return Chart("rate-by-icb", title, description, {"month": str(month), "areas": areas})


def by_region(reg_geog: pa.Table, month: date | None = None) -> Chart:
    """The rate by NHS England commissioning region, highest first."""
    month, areas = _by(reg_geog, month, "COMM_REGION_NAME", "region")
    description = (
        "Opt-out rate by NHS England region on "
        f"{month}: " + "; ".join(f"{a['region']} {a['rate']}%" for a in areas) + "."
        if areas
        else "No rates to show."
    )
    title = f"Opt-out rate by region, {month:%B %Y}" if month else "Opt-out rate by region"
    return Chart("rate-by-region", title, description, {"month": str(month), "areas": areas})


def charts(age_gen: pa.Table, reg_geog: pa.Table) -> list[Chart]:
    """Every chart of the publication."""
    return [national(age_gen), by_age_and_gender(age_gen), by_icb(reg_geog), by_region(reg_geog)]


def _figure(chart: Chart) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    plt.rcParams.update({"font.size": 10, "svg.hashsalt": "ndoo", "svg.fonttype": "none"})
    data = chart.data
    if chart.name == "national-rate":
        fig, ax = plt.subplots(figsize=(8, 4.5))
        series = data["series"]
        months: Any = [date.fromisoformat(p["date"]) for p in series]
        ax.plot(
            months,
            [p["rate"] for p in series],
            color=NHS_BLUE,
            marker="o",
            linewidth=2,
        )
        ax.set_ylabel("Opt-out rate (%)")
        ax.set_xlabel("Month")
        ax.set_ylim(bottom=0)
        fig.autofmt_xdate()
    elif chart.name == "rate-by-age-gender":
        fig, ax = plt.subplots(figsize=(8, 4.5))
        width = 0.4
        positions = range(len(AGE_BANDS))
        for offset, (gender, colour) in zip(
            (-width / 2, width / 2),
            (("Female", NHS_DARK_BLUE), ("Male", NHS_LIGHT_BLUE)),
            strict=True,
        ):
            rates = data["rates"].get(gender, {})
            ax.bar(
                [p + offset for p in positions],
                [rates.get(b, 0.0) for b in AGE_BANDS],
                width,
                label=gender,
                color=colour,
            )
        ax.set_xticks(list(positions), list(AGE_BANDS))
        ax.set_xlabel("Age band")
        ax.set_ylabel("Opt-out rate (%)")
        ax.legend(frameon=False)
    else:
        key = "icb" if chart.name == "rate-by-icb" else "region"
        areas = list(reversed(data["areas"]))
        height = max(3.0, 0.28 * len(areas) + 1)
        fig, ax = plt.subplots(figsize=(8, height))
        ax.barh([a[key] for a in areas], [a["rate"] for a in areas], color=NHS_BLUE)
        ax.set_xlabel("Opt-out rate (%)")
        ax.tick_params(axis="y", labelsize=8 if key == "icb" else 10)
    ax.set_title(chart.title)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(
        axis="y" if chart.name in ("national-rate", "rate-by-age-gender") else "x", color="#d8dde0"
    )
    ax.set_axisbelow(True)
    fig.tight_layout()
    return fig


def svg(chart: Chart) -> bytes:
    """The chart as SVG, with a title and a description for screen readers."""
    import io

    from matplotlib import pyplot as plt

    fig = _figure(chart)
    buffer = io.StringIO()
    fig.savefig(
        buffer,
        format="svg",
        metadata={"Title": chart.title, "Description": chart.description, "Date": None},
    )
    plt.close(fig)
    text = buffer.getvalue()
    start = text.index("<svg")
    end = text.index(">", start) + 1
    head = text[:end].replace("<svg", '<svg role="img" aria-labelledby="chart-title chart-desc"', 1)
    return (
        head
        + f'<title id="chart-title">{_escape(chart.title)}</title>'
        + f'<desc id="chart-desc">{_escape(chart.description)}</desc>'
        + text[end:]
    ).encode("utf-8")


def png(chart: Chart) -> bytes:
    import io

    from matplotlib import pyplot as plt

    fig = _figure(chart)
    buffer = io.BytesIO()
    fig.savefig(
        buffer,
        format="png",
        dpi=150,
        metadata={"Title": chart.title, "Description": chart.description},
    )
    plt.close(fig)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
