"""``ndoo audit``: verify and read the hash-chained audit trail."""

from __future__ import annotations

import sys

import click

from ndoo import audit as trail
from ndoo.cli.common import database, emit_json, handle_errors, json_option


@click.group("audit")
def audit_group() -> None:
    """The append-only, hash-chained audit trail of every write.

    Example:

        ndoo audit verify
    """


@audit_group.command("verify")
@json_option
@click.pass_context
@handle_errors
def verify_command(ctx: click.Context, as_json: bool) -> None:
    """Recompute the chain; name the first entry altered, removed or inserted.

    Exits 1 when the trail is broken.

    Example:

        ndoo audit verify
    """
    result = trail.verify(database(ctx))
    if as_json:
        emit_json(result.__dict__)
    else:
        click.echo(result.describe(), err=not result.ok)
    if not result.ok:
        sys.exit(1)


@audit_group.command("log")
@click.option("--limit", default=20, show_default=True, help="How many entries, newest first.")
@click.option("--action", help="Only entries of this action, e.g. register.set.")
@json_option
@click.pass_context
@handle_errors
def log_command(ctx: click.Context, limit: int, action: str | None, as_json: bool) -> None:
    """Show the newest audit entries.

    Example:

        ndoo audit log --limit 5 --action register.set
    """
    found = trail.entries(database(ctx), limit=limit, action=action)
    if as_json:
        emit_json([entry.__dict__ for entry in found])
        return
    for entry in found:
        detail = " ".join(f"{k}={v}" for k, v in sorted(entry.detail.items()))
        click.echo(
            f"{entry.seq:>6} {entry.at} {entry.actor} {entry.action} {entry.outcome} {detail}"
        )
