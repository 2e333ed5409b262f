"""The audit trail: whether its hash chain is intact (:func:`ndoo.audit.verify`) and its
newest entries, optionally of one action.  For administrators and the information
governance lead.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from ndoo import audit
from ndoo.errors import InputError
from ndoo.staff.accounts import Staff
from ndoo.web import deps
from ndoo.web.errors import error_responses
from ndoo.web.templating import render

router = APIRouter(tags=["audit trail"])

Auditor = Annotated[Staff, Depends(deps.require("administrator", "ig_lead"))]

NEWEST = 50


class VerificationOut(BaseModel):
    """Whether the chain is intact; if not, the first entry at fault and why."""

    ok: bool
    checked: int = Field(description="Entries checked before the first fault, or all")
    first_bad: int | None
    problem: str
    description: str


class EntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditOut(BaseModel):
    verification: VerificationOut
    action: str | None = Field(description="The action the entries were filtered by")
    entries: list[EntryOut] = Field(description=f"The newest {NEWEST} entries, newest first")


def _action(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > 100 or not text.isprintable():
        raise InputError("an action is at most 100 characters, such as contact.search")
    return text or None


def audit_view(request: Request, action: str | None) -> AuditOut:
    db = deps.database(request)
    result = audit.verify(db)
    chosen = _action(action)
    return AuditOut(
        verification=VerificationOut(
            ok=result.ok,
            checked=result.checked,
            first_bad=result.first_bad,
            problem=result.problem,
            description=result.describe(),
        ),
        action=chosen,
        entries=[
            EntryOut(
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                outcome=e.outcome,
                detail=e.detail,
                prev_hash=e.prev_hash,
                hash=e.hash,
            )
            for e in audit.entries(db, limit=NEWEST, action=chosen)
        ],
    )


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@router.get("/console/audit.json", responses=error_responses(401, 403, 422))
def audit_json(request: Request, staff: Auditor, action: str | None = None) -> AuditOut:
    """The chain's verification and the newest entries (of ``action`` when given)."""
    return audit_view(request, action)


@router.get("/console/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, staff: Auditor, action: str | None = None) -> HTMLResponse:
    view = audit_view(request, action)
    details = {
        e.seq: ", ".join(f"{k}: {_shown(v)}" for k, v in e.detail.items()) for e in view.entries
    }
    return render(
        request,
        "audit/index.html",
        {"view": view, "details": details, "newest": NEWEST, "back": "/console"},
    )
