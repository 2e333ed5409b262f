"""The cache of cleaned lists in the console: what is cached, how old it is, and a refresh.

Analysts and information governance leads see each cached list's metadata
(:func:`ndoo.uphold.cache.entries`): the cohort, whether it was a one-off check of a
disclosure or a cohort kept up to date, when it was checked, its age, how many numbers
were checked and how many may be used, and whether it is current.  The lists themselves
are never shown: the Check service's licence allows them to be used only to apply
opt-outs.

Refreshing a cohort sends its numbers to the Check for National Data Opt-outs service
again over MESH (:func:`ndoo.uphold.checking.refresh`).  A page waits at most
:data:`WEB_WAIT` seconds for the answer; one that comes later is collected with
``ndoo check receive``.  When MESH cannot be reached, the page says so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from ndoo.db import Database
from ndoo.errors import CheckPending, NdooError
from ndoo.mesh.transport import Mailbox, MailboxConfig
from ndoo.settings import Settings
from ndoo.staff.accounts import Staff
from ndoo.timeutil import iso
from ndoo.uphold import cache, checking
from ndoo.uphold.cacheentry import CacheEntry
from ndoo.web import deps
from ndoo.web.errors import error_responses, status_of
from ndoo.web.forms import Problems
from ndoo.web.templating import render

router = APIRouter(tags=["cache"])

Reader = Annotated[Staff, Depends(deps.require("analyst", "ig_lead"))]

Everything = Annotated[bool, Query(alias="all", description="Include superseded entries.")]

#: The longest a page waits, in seconds, for the service to answer a refresh.
WEB_WAIT = 20.0


class CacheEntryOut(BaseModel):
    """One cached cleaned list's metadata; never its numbers."""

    id: int
    cohort: str
    mode: str
    message_id: str
    checked_at: str
    stored_at: str
    age_hours: float
    covered_count: int
    kept_count: int
    removed_count: int
    superseded_at: str | None
    holds_lists: bool
    usable: bool
    state: str


class CacheList(BaseModel):
    """The cached cleaned lists, by cohort, newest first within a cohort."""

    max_age_days: float
    include_superseded: bool
    entries: list[CacheEntryOut]


def _state(entry: CacheEntry, max_age: timedelta) -> str:
    if not entry.holds_lists:
        return "erased" if entry.superseded_at is None else "superseded, erased"
    if entry.superseded_at is not None:
        return "superseded"
    if entry.age() > max_age:
        return "too old: refresh"
    return "current"


def list_data(db: Database, settings: Settings, include_superseded: bool) -> CacheList:
    days = float(settings.cache_max_age_days)
    max_age = timedelta(days=days)
    return CacheList(
        max_age_days=days,
        include_superseded=include_superseded,
        entries=[
            CacheEntryOut(
                id=e.id,
                cohort=e.cohort,
                mode=e.mode,
                message_id=e.message_id,
                checked_at=iso(e.checked_at),
                stored_at=iso(e.stored_at),
                age_hours=round(e.age().total_seconds() / 3600, 1),
                covered_count=e.covered_count,
                kept_count=e.kept_count,
                removed_count=e.removed_count,
                superseded_at=iso(e.superseded_at) if e.superseded_at else None,
                holds_lists=e.holds_lists,
                usable=e.holds_lists and e.superseded_at is None and e.age() <= max_age,
                state=_state(e, max_age),
            )
            for e in cache.entries(db, include_superseded=include_superseded)
        ],
    )


def _page(
    request: Request,
    *,
    include_superseded: bool = False,
    problems: Problems | None = None,
    notice: str | None = None,
    refreshed: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    data = list_data(deps.database(request), deps.settings(request), include_superseded)
    if refreshed and any(e.cohort == refreshed and e.usable for e in data.entries):
        notice = f"Cohort {refreshed} was checked again."
    return render(
        request,
        "org/cache.html",
        {
            "data": data,
            "notice": notice,
            "back": "/console",
            **(problems.context() if problems else {}),
        },
        status_code=status_code,
    )


@router.get(
    "/console/cache.json", response_model=CacheList, responses=error_responses(401, 403, 422)
)
def cache_json(request: Request, staff: Reader, everything: Everything = False) -> CacheList:
    """The cached cleaned lists with their age and counts, never their contents
    (``?all=true``: superseded ones too)."""
    return list_data(deps.database(request), deps.settings(request), everything)


@router.get("/console/cache", response_class=HTMLResponse, include_in_schema=False)
def cache_page(
    request: Request, staff: Reader, everything: Everything = False, refreshed: str = ""
) -> HTMLResponse:
    return _page(request, include_superseded=everything, refreshed=refreshed)


def _refresh(settings: Settings, db: Database, cohort: str, actor: str) -> checking.Answer:
    with Mailbox(MailboxConfig.from_settings(settings)) as mailbox:
        return checking.refresh(
            db,
            mailbox,
            cohort,
            service=str(settings.check_mailbox),
            actor=actor,
            wait=min(float(settings.check_wait), WEB_WAIT),
            poll_max=float(settings.check_poll_max),
        )


@router.post("/console/cache/refresh", include_in_schema=False)
async def refresh(request: Request, staff: Reader) -> Response:
    values = await deps.form(request)
    cohort = values.get("cohort", "")
    settings = deps.settings(request)
    try:
        await run_in_threadpool(_refresh, settings, deps.database(request), cohort, staff.username)
    except CheckPending:
        return _page(
            request,
            notice=f"The numbers of cohort {cohort} were sent to the Check service. Its "
            "answer has not come yet; it is collected when it does (ndoo check receive).",
            status_code=202,
        )
    except NdooError as exc:
        problems = Problems()
        problems.add(None, f"cohort {cohort} was not refreshed: {exc.message}")
        return _page(request, problems=problems, status_code=status_of(exc))
    return RedirectResponse("/console/cache?" + urlencode({"refreshed": cohort}), status_code=303)
