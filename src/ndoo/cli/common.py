"""What every command shares: settings, the error boundary, JSON output."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from ndoo.db import Database
from ndoo.errors import InputError, NdooError, error_body
from ndoo.mesh.transport import Mailbox, MailboxConfig
from ndoo.settings import SETTINGS_BY_NAME, Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def get_settings(ctx: click.Context) -> Settings:
    """The settings for this invocation, loaded once and kept on the root context."""
    root = ctx.find_root()
    root.ensure_object(dict)
    settings = root.obj.get("settings")
    if settings is None:
        settings = load_settings()
        logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
        root.obj["settings"] = settings
    return cast(Settings, settings)


def json_option(func: F) -> F:
    """Adds ``--json``: print the result (or the error) as JSON instead of text."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, default=str, sort_keys=False))


def handle_errors(func: F) -> F:
    """Turns an ndoo error into one line on stderr (or the JSON error shape) and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NdooError as exc:
            if kwargs.get("as_json"):
                click.echo(json.dumps(error_body(exc), indent=2, default=str))
            else:
                click.echo(f"ndoo: error: {exc.message}", err=True)
            sys.exit(1)

    return cast(F, wrapper)


def organisation_option(func: F) -> F:
    """Adds ``--organisation``: the ODS code to work on instead of NDOO_ORGANISATION_CODE."""
    return click.option(
        "--organisation",
        metavar="ODS",
        help="ODS code of the organisation (default: NDOO_ORGANISATION_CODE).",
    )(func)


def organisation(ctx: click.Context, given: str | None) -> str:
    """The organisation a command works on: ``--organisation``, else the setting."""
    if given is None:
        return str(get_settings(ctx).organisation_code)
    try:
        return str(SETTINGS_BY_NAME["organisation_code"].cast(given))
    except ValueError as exc:
        raise InputError(f"--organisation: {exc}", field="organisation") from None


def database(ctx: click.Context) -> Database:
    """The register database named by the settings; its connections close when the
    command ends."""
    db = Database.from_settings(get_settings(ctx))
    ctx.call_on_close(db.dispose)
    return db


def org_mailbox(ctx: click.Context) -> Mailbox:
    """A session on this organisation's MESH mailbox (NDOO_MESH_*)."""
    return Mailbox(MailboxConfig.from_settings(get_settings(ctx)))


def actor(ctx: click.Context) -> str:
    """Who is acting, for the audit trail (NDOO_ACTOR)."""
    return str(get_settings(ctx).actor)
