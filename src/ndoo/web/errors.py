"""Errors as the web shows them: the one JSON error shape, or an NHS.UK error page.

A request for JSON (a path under ``/api/``, a ``.json`` twin, or ``Accept:
application/json``) gets :func:`ndoo.errors.error_body` with a status that fits the
error; a page request gets the same message on a page.  A member of staff who is not
signed in is sent to the sign-in page.  No error is logged with the request's values.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ndoo.errors import (
    AccessDenied,
    AccessError,
    ClientAssignedId,
    CsrfFailed,
    InputError,
    LoginRequired,
    MeshError,
    NdooError,
    NotFound,
    NotificationFailed,
    RateLimited,
    RuleViolation,
    StorageError,
    error_body,
)
from ndoo.web.templating import render

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(description="Short machine-readable name of the error.")
    message: str = Field(description="What went wrong, for a person to read.")
    details: dict[str, Any] = Field(description="Data about the error (fields, problems…).")


class ErrorResponse(BaseModel):
    """The one JSON shape every error takes."""

    error: ErrorDetail


#: What each status means, for the OpenAPI document's responses.
_ERROR_TEXT = {
    400: "The request body cannot be parsed.",
    401: "Not signed in as a member of staff.",
    403: "The member of staff's role does not allow this.",
    404: "Not found.",
    405: "The method is not allowed here.",
    409: "A register rule refuses the change.",
    415: "The request body is not JSON.",
    422: "The request is not valid.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring the one error shape for these statuses."""
    return {code: {"model": ErrorResponse, "description": _ERROR_TEXT[code]} for code in codes}


def json_error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The same, for routes whose own media type is not ``application/json`` (FastAPI
    would give a ``model`` the route's media type; errors are always JSON)."""
    schema = {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}
    return {
        code: {
            "description": _ERROR_TEXT[code],
            "content": {"application/json": {"schema": schema}},
        }
        for code in codes
    }


#: The errors any operation may answer with, in the one shape, documented on every one.
COMMON_ERRORS = {
    "401": "Not signed in (staff), or not verified (citizen).",
    "403": "The role does not allow it, or a form came without its CSRF token.",
    "404": "Not found.",
    "422": "The request is not valid.",
    "429": "Too many requests from this address; wait and try again.",
}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the one error shape as every error's schema: FastAPI's
    own validation-error schema replaced (a 422 carries the one shape), and the errors
    any operation may give declared on each."""
    ours = {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, text in COMMON_ERRORS.items():
                responses.setdefault(
                    status,
                    {"description": text, "content": {"application/json": {"schema": ours}}},
                )
            for response in responses.values():
                for media in response.get("content", {}).values():
                    if media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                        media["schema"] = ours
    components = schema.get("components", {}).get("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    return schema


STATUS: list[tuple[type[NdooError], int]] = [
    (ClientAssignedId, 405),
    (LoginRequired, 401),
    (AccessDenied, 403),
    (CsrfFailed, 403),
    (RateLimited, 429),
    (AccessError, 403),
    (NotFound, 404),
    (InputError, 422),
    (RuleViolation, 409),
    (StorageError, 503),
    (NotificationFailed, 503),
    (MeshError, 502),
]

HTTP_CODES = {
    400: "bad_request",
    401: "login_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
}


def status_of(exc: NdooError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def wants_json(request: Request) -> bool:
    path = request.url.path
    accept = request.headers.get("accept", "")
    return (
        path.startswith("/api/")
        or path.startswith("/fhir/")
        or path == "/fhir"
        or path.endswith(".json")
        or ("application/json" in accept and "text/html" not in accept)
        or "application/fhir+json" in accept
    )


def _respond(request: Request, status: int, body: dict[str, Any], title: str) -> Response:
    if wants_json(request):
        headers = {}
        if status == 429:
            headers["Retry-After"] = str(body["error"]["details"].get("retry_after", 60))
        return JSONResponse(body, status_code=status, headers=headers)
    return render(
        request,
        "error.html",
        {"title": title, "message": body["error"]["message"], "status": status},
        status_code=status,
    )


async def ndoo_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NdooError)
    if isinstance(exc, LoginRequired) and not wants_json(request) and request.method == "GET":
        return RedirectResponse(f"/staff/sign-in?next={request.url.path}", status_code=303)
    status = status_of(exc)
    log.info("request refused: %s (%s)", exc.code, status)
    titles = {401: "Sign in", 403: "Not allowed", 404: "Not found", 429: "Too many requests"}
    return _respond(request, status, error_body(exc), titles.get(status, "There is a problem"))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    message = str(exc.detail) if exc.detail else "the request cannot be answered"
    if exc.status_code == 404:
        message = "there is no page at this address"
    body = {"error": {"code": code, "message": message, "details": {}}}
    title = "Page not found" if exc.status_code == 404 else "There is a problem"
    return _respond(request, exc.status_code, body, title)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ())[1:]) or None,
            "message": err.get("msg"),
        }
        for err in exc.errors()
    ]
    body = {
        "error": {
            "code": "invalid_input",
            "message": "; ".join(
                f"{p['field']}: {p['message']}" if p["field"] else str(p["message"])
                for p in problems
            )
            or "the request is not valid",
            "details": {"problems": problems},
        }
    }
    return _respond(request, 422, body, "There is a problem")


async def unexpected(request: Request, exc: Exception) -> Response:
    log.error(
        "unexpected %s on %s %s", type(exc).__name__, request.method, request.scope.get("route", "")
    )
    body = {
        "error": {
            "code": "error",
            "message": "something went wrong; try again later",
            "details": {},
        }
    }
    return _respond(request, 500, body, "Sorry, there is a problem with the service")


def install(app: FastAPI) -> None:
    app.add_exception_handler(NdooError, ndoo_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
