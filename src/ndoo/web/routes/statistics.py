"""The publication's charts on a page of the console: the national rate over time, by age
and gender, by ICB and by region.

The page computes the publication from the register for the chosen reporting month
(:func:`ndoo.stats.publication.compute`) and keeps the result in memory until the
register changes, so the four charts and the JSON twin come from one computation.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from ndoo.errors import InputError, NotFound
from ndoo.register.records import last_event_id
from ndoo.staff.accounts import Staff
from ndoo.stats import charts
from ndoo.stats.publication import compute
from ndoo.timeutil import utcnow
from ndoo.web import deps
from ndoo.web.errors import error_responses
from ndoo.web.templating import render

router = APIRouter()

Reader = Annotated[Staff, Depends(deps.require("ig_lead", "analyst"))]
PeriodEnd = Annotated[
    str | None,
    Query(
        alias="period_end",
        pattern=r"^\d{4}-\d{2}-01$",
        description="The reporting month (YYYY-MM-01); default: this month.",
    ),
]
Months = Annotated[int, Query(ge=1, le=36, description="How many months, newest last.")]

_LOCK = threading.Lock()


class ChartOut(BaseModel):
    name: str
    title: str
    description: str
    data: dict[str, Any] = Field(description="The figures drawn, as numbers.")


class StatisticsOut(BaseModel):
    period_end: str
    months: int
    charts: list[ChartOut]


def _month(text: str | None) -> date:
    if text is None:
        today = utcnow().date()
        return today.replace(day=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("give the reporting month as YYYY-MM-01", field="period_end") from None


def drawn(request: Request, period_end: date, months: int) -> list[charts.Chart]:
    """The charts for the reporting month, computed once per state of the register."""
    db = deps.database(request)
    with db.read() as conn:
        version = last_event_id(conn)
    key = (period_end, months, version)
    cache: dict[Any, list[charts.Chart]] = request.app.state.__dict__.setdefault(
        "statistics_cache", {}
    )
    with _LOCK:
        if key not in cache:
            publication = compute(
                db,
                period_end=period_end,
                months=months,
                drop_test_numbers=bool(deps.settings(request).stats_drop_test_numbers),
            )
            cache.clear()
            cache[key] = charts.charts(publication.age_gen, publication.reg_geog)
        return cache[key]


@router.get(
    "/console/statistics.json",
    response_model=StatisticsOut,
    responses=error_responses(401, 403, 422),
    tags=["statistics"],
)
def statistics_json(
    request: Request, staff: Reader, period_end: PeriodEnd = None, months: Months = 12
) -> StatisticsOut:
    """The figures behind the publication's charts."""
    month = _month(period_end)
    found = drawn(request, month, months)
    return StatisticsOut(
        period_end=month.isoformat(),
        months=months,
        charts=[ChartOut(**c.__dict__) for c in found],
    )


@router.get("/console/statistics", response_class=HTMLResponse, include_in_schema=False)
def statistics_page(
    request: Request, staff: Reader, period_end: PeriodEnd = None, months: Months = 12
) -> HTMLResponse:
    month = _month(period_end)
    found = drawn(request, month, months)
    national = next(c for c in found if c.name == "national-rate").data["series"]
    return render(
        request,
        "statistics/index.html",
        {
            "charts": found,
            "national": national,
            "period_end": month.isoformat(),
            "months": months,
            "back": "/console",
        },
    )


@router.get("/console/statistics/charts/{name}.svg", include_in_schema=False)
def chart_svg(
    request: Request, name: str, staff: Reader, period_end: PeriodEnd = None, months: Months = 12
) -> Response:
    found = {c.name: c for c in drawn(request, _month(period_end), months)}
    if name not in found:
        raise NotFound(f"there is no chart {name!r}")
    return Response(charts.svg(found[name]), media_type="image/svg+xml")
