"""The staff console's front page: what the signed-in member of staff's role can use."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ndoo.staff.accounts import Staff
from ndoo.web import deps
from ndoo.web.templating import render

router = APIRouter(include_in_schema=False)

#: The console's sections: (path, title, what it is for, roles that see it).
SECTIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "/console/people",
        "Find a person",
        "Look up a person's choice and record a change made by phone or on a paper form.",
        ("agent",),
    ),
    (
        "/console/proxy-applications",
        "Proxy applications",
        "Review applications from parents, guardians, attorneys and deputies.",
        ("proxy_reviewer",),
    ),
    (
        "/console/disclosures",
        "Disclosures",
        "The disclosure register and whether national data opt-outs apply to each.",
        ("ig_lead", "analyst"),
    ),
    (
        "/console/compliance",
        "Compliance",
        "The compliance programme, the technical solution and the declaration.",
        ("ig_lead",),
    ),
    (
        "/console/training",
        "Staff training",
        "Who has completed the national data opt-out training, who is due and who is "
        "overdue; the staff roster and evidence for inspection.",
        ("ig_lead",),
    ),
    (
        "/console/apply",
        "Apply opt-outs",
        "Remove the records of people with an opt-out from a dataset for a disclosure.",
        ("analyst",),
    ),
    (
        "/console/releases",
        "Releases",
        "Every release made with opt-outs applied, with its manifest.",
        ("analyst", "ig_lead"),
    ),
    (
        "/console/cache",
        "Cleaned-list cache",
        "Cached lists from the Check for National Data Opt-outs service: status and refresh.",
        ("analyst", "ig_lead"),
    ),
    (
        "/console/statistics",
        "Statistics",
        "Opt-out rates over time, by age and gender, by ICB and by region.",
        ("ig_lead", "analyst"),
    ),
    (
        "/console/audit",
        "Audit trail",
        "Verify the hash-chained audit trail and read its newest entries.",
        ("administrator", "ig_lead"),
    ),
    (
        "/console/staff",
        "Staff accounts",
        "Add staff, reset passwords and switch accounts off.",
        ("administrator",),
    ),
)


def sections_for(staff: Staff) -> list[dict[str, str]]:
    return [
        {"href": path, "title": title, "text": text}
        for path, title, text, roles in SECTIONS
        if staff.role in roles or staff.role == "administrator"
    ]


@router.get("/console", response_class=HTMLResponse)
def console(request: Request, staff: Annotated[Staff, Depends(deps.signed_in)]) -> HTMLResponse:
    return render(request, "console/index.html", {"sections": sections_for(staff)})
