"""The demo outbox: the messages the service would have sent, newest first.

With ``notify_backend=outbox`` nothing leaves the machine: security codes,
confirmations and acknowledgements are kept in the database, and this page shows
them so that someone trying the demo can read their code.  With any other backend
the page does not exist (404): real messages are never shown on a web page.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from ndoo.errors import NotFound
from ndoo.identity.notify import OutboxMessage, outbox
from ndoo.web import deps
from ndoo.web.templating import render

router = APIRouter()

SHOWN = 50


class OutboxItem(BaseModel):
    """One message kept in the demo outbox."""

    id: int
    created_at: str
    channel: Literal["sms", "email"]
    recipient: str
    subject: str | None
    body: str
    reference: str | None


class Outbox(BaseModel):
    """The newest messages of the demo outbox, newest first."""

    messages: list[OutboxItem]


def _messages(request: Request) -> list[OutboxMessage]:
    if deps.settings(request).notify_backend != "outbox":
        raise NotFound("there is no page at this address")
    return outbox(deps.database(request), limit=SHOWN)


@router.get("/outbox", response_class=HTMLResponse, include_in_schema=False)
def outbox_page(request: Request) -> HTMLResponse:
    messages = _messages(request)
    deps.optional_staff(request)
    return render(request, "outbox.html", {"messages": messages, "shown": SHOWN})


@router.get("/outbox.json", response_model=Outbox, tags=["demo"])
def outbox_json(request: Request) -> Outbox:
    """The demo outbox (only when ``NDOO_NOTIFY_BACKEND=outbox``; otherwise 404)."""
    return Outbox(messages=[OutboxItem(**m.as_dict()) for m in _messages(request)])
