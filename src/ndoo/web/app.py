"""The web application: :func:`create_app` builds it from the settings.

Every module in :mod:`ndoo.web.routes` that has a ``router`` is included, in name
order: the citizen journey, the staff console and the JSON API each live in their own
modules.  The middlewares give every response its security headers and save the
sessions a request used; errors take the one JSON shape or an error page
(:mod:`ndoo.web.errors`).
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ndoo import __version__
from ndoo.db import Database
from ndoo.errors import ConfigurationError
from ndoo.settings import Settings, load_settings
from ndoo.web import errors, routes
from ndoo.web.deps import save_sessions
from ndoo.web.security import RateLimiter, security_headers
from ndoo.web.sessions import SessionStore

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """The web service for ``settings`` (default: the environment's), on ``db``."""
    settings = settings or load_settings()
    if not (STATIC / "nhsuk" / "nhsuk-frontend.min.css").exists():
        raise ConfigurationError(
            "the NHS.UK design system's files are missing from ndoo/web/static/nhsuk; "
            "run `make` (it installs them from the npm registry)"
        )
    app = FastAPI(
        title="ndoo",
        version=__version__,
        summary="The National Data Opt-out: citizen service, staff console and JSON API.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        separate_input_output_schemas=False,
    )
    app.state.settings = settings
    app.state.db = db or Database.from_settings(settings)
    app.state.limiter = RateLimiter(int(settings.web_rate_limit))
    app.state.sessions = SessionStore(
        app.state.db,
        minutes={
            "citizen": int(settings.citizen_session_minutes),
            "staff": int(settings.staff_session_minutes),
            "learner": int(settings.staff_session_minutes),
        },
        secure=bool(settings.web_secure_cookies),
    )
    app.middleware("http")(save_sessions)
    app.middleware("http")(security_headers)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
    _document_errors(app)
    return app


def _document_errors(app: FastAPI) -> None:
    """Serve the OpenAPI document with the one error shape as every error's schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = errors.document_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
