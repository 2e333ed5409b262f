"""Staff administration: list the staff, add a member of staff, set a password, and
switch an account off or on (:mod:`ndoo.staff.accounts` does each, with an audit
entry).  Only administrators use these pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from ndoo.errors import InputError, NotFound, RuleViolation
from ndoo.staff import accounts
from ndoo.staff.accounts import Staff
from ndoo.web import deps
from ndoo.web.errors import error_responses, status_of
from ndoo.web.forms import error_context
from ndoo.web.templating import render

#: A staff account's id, as the database numbers them.
StaffId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The account's id.")]

router = APIRouter(tags=["staff administration"])

Administrator = Annotated[Staff, Depends(deps.require("administrator"))]

FIELDS = ("username", "display_name", "role", "password")


class StaffOut(BaseModel):
    """A member of staff (never the password)."""

    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class StaffList(BaseModel):
    staff: list[StaffOut]


def staff_out(staff: Staff) -> StaffOut:
    return StaffOut(
        id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        role_label=staff.role_label,
        active=staff.active,
        created_at=staff.created_at,
        last_login_at=staff.last_login_at,
    )


def _member(request: Request, staff_id: int) -> Staff:
    found = accounts.get_by_id(deps.database(request), staff_id)
    if found is None:
        raise NotFound(f"no member of staff with id {staff_id}")
    return found


def _roles() -> list[dict[str, str]]:
    return [{"value": role, "text": accounts.ROLE_LABELS[role]} for role in accounts.ROLES]


@router.get("/console/staff.json", responses=error_responses(401, 403))
def list_json(request: Request, staff: Administrator) -> StaffList:
    """Every member of staff, by username."""
    return StaffList(staff=[staff_out(s) for s in accounts.everyone(deps.database(request))])


@router.get("/console/staff", response_class=HTMLResponse, include_in_schema=False)
def list_page(request: Request, staff: Administrator) -> HTMLResponse:
    listing = [staff_out(s) for s in accounts.everyone(deps.database(request))]
    return render(
        request,
        "staff_admin/list.html",
        {"listing": listing, "flash": deps.take_flash(request), "back": "/console"},
    )


@router.get("/console/staff/new", response_class=HTMLResponse, include_in_schema=False)
def new_page(request: Request, staff: Administrator) -> HTMLResponse:
    return render(
        request,
        "staff_admin/new.html",
        {"form": {}, "roles": _roles(), "minimum": accounts.MIN_PASSWORD, "back": "/console/staff"},
    )


@router.post("/console/staff/new", include_in_schema=False)
async def create(request: Request, staff: Administrator) -> Response:
    values = await deps.form(request)
    username = values.get("username", "").strip()
    try:
        added = accounts.create(
            deps.database(request),
            username,
            values.get("display_name", ""),
            values.get("role", ""),
            values.get("password", ""),
            actor=staff.username,
        )
    except InputError as exc:
        field = exc.details.get("field")
        form = {k: v for k, v in values.items() if k != "password"}
        context: dict[str, Any] = {
            "form": form,
            "roles": _roles(),
            "minimum": accounts.MIN_PASSWORD,
            "back": "/console/staff",
        }
        context.update(error_context([(field if field in FIELDS else None, exc.message)]))
        return render(request, "staff_admin/new.html", context, status_code=422)
    deps.flash(
        request, f"{added.display_name} ({added.username}) can now sign in as {added.role_label}."
    )
    return RedirectResponse("/console/staff", status_code=303)


@router.get("/console/staff/{staff_id}.json", responses=error_responses(401, 403, 404, 422))
def member_json(staff_id: StaffId, request: Request, staff: Administrator) -> StaffOut:
    """One member of staff."""
    return staff_out(_member(request, staff_id))


def _member_page(
    request: Request,
    member: Staff,
    *,
    problems: list[tuple[str | None, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "member": staff_out(member),
        "minimum": accounts.MIN_PASSWORD,
        "back": "/console/staff",
    }
    if problems:
        context.update(error_context(problems))
    else:
        context["flash"] = deps.take_flash(request)
    return render(request, "staff_admin/member.html", context, status_code=status_code)


@router.get("/console/staff/{staff_id}", response_class=HTMLResponse, include_in_schema=False)
def member_page(staff_id: StaffId, request: Request, staff: Administrator) -> HTMLResponse:
    return _member_page(request, _member(request, staff_id))


@router.post("/console/staff/{staff_id}/password", include_in_schema=False)
async def set_password(staff_id: StaffId, request: Request, staff: Administrator) -> Response:
    values = await deps.form(request)
    member = _member(request, staff_id)
    try:
        accounts.set_password(
            deps.database(request),
            member.username,
            values.get("password", ""),
            actor=staff.username,
        )
    except InputError as exc:
        return _member_page(request, member, problems=[("password", exc.message)], status_code=422)
    deps.flash(request, f"The password of {member.username} has been set.")
    return RedirectResponse(f"/console/staff/{staff_id}", status_code=303)


@router.post("/console/staff/{staff_id}/active", include_in_schema=False)
async def set_active(staff_id: StaffId, request: Request, staff: Administrator) -> Response:
    """Switch an account off (its owner can no longer sign in) or on again."""
    values = await deps.form(request)
    member = _member(request, staff_id)
    active = values.get("active") == "on"
    if not active and member.id == staff.id:
        exc = RuleViolation("you cannot switch off your own account")
        return _member_page(
            request, member, problems=[(None, exc.message)], status_code=status_of(exc)
        )
    accounts.set_active(deps.database(request), member.username, active, actor=staff.username)
    deps.flash(
        request,
        f"The account of {member.username} is switched {'on' if active else 'off'}.",
    )
    return RedirectResponse(f"/console/staff/{staff_id}", status_code=303)
