"""The service's front door and its health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ndoo import __version__
from ndoo.web.deps import optional_staff
from ndoo.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request) -> HTMLResponse:
    optional_staff(request)
    return render(request, "home.html")


@router.get("/healthz", tags=["service"])
def health() -> JSONResponse:
    """Whether the service is up, and its version."""
    return JSONResponse({"status": "ok", "version": __version__})
