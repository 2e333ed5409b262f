"""``ndoo settings``: the settings table as resolved now, secrets masked."""

from __future__ import annotations

import click

from ndoo.cli.common import emit_json, get_settings, handle_errors, json_option
from ndoo.settings import SETTINGS


@click.command("settings")
@json_option
@click.pass_context
@handle_errors
def settings_command(ctx: click.Context, as_json: bool) -> None:
    """Show every NDOO_* setting, its value (secrets masked) and where it came from.

    Example:

        NDOO_LOG_LEVEL=INFO ndoo settings
    """
    rows = get_settings(ctx).display()
    if as_json:
        emit_json([{"name": n, "value": v, "source": s} for n, v, s in rows])
        return
    for (name, value, source), setting in zip(rows, SETTINGS, strict=True):
        click.echo(f"{name:<20} {value}  [{source}]")
        click.echo(f"{'':<20} {setting.help}")
