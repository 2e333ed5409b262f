"""Pages: Jinja2 with the NHS.UK design system's macros (``nhsuk-frontend-jinja``).

Templates live in ``ndoo/web/templates``; the design system's components are imported
from the ``nhsuk_frontend_jinja`` package (``nhsuk/components/<name>/macro.jinja``).
Values are escaped (autoescape); the layout puts the request's CSP nonce on its inline
script and the session's CSRF token in every form (:func:`render`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader

from ndoo.register.vocabulary import QUESTION

#: The one question, in the exact words of the national service.
THE_QUESTION = QUESTION

SERVICE_NAME = "Your NHS data matters"


@cache
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [PackageLoader("ndoo.web", "templates"), PackageLoader("nhsuk_frontend_jinja")]
        ),
        undefined=ChainableUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(the_question=THE_QUESTION, service_name=SERVICE_NAME)
    return env


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """``name`` rendered for ``request``: nonce, CSRF token and signed-in staff included."""
    values: dict[str, Any] = {
        "request": request,
        "cspNonce": getattr(request.state, "csp_nonce", ""),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "staff": getattr(request.state, "staff", None),
        "show_outbox": str(request.app.state.settings.notify_backend) == "outbox",
    }
    values.update(context or {})
    html = environment().get_template(name).render(values)
    return HTMLResponse(html, status_code=status_code)
