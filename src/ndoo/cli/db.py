"""``ndoo db``: create and migrate the register database."""

from __future__ import annotations

import click

from ndoo.cli.common import database, emit_json, handle_errors, json_option
from ndoo.db import migrate


@click.group("db")
def db_group() -> None:
    """The register database (SQLite by default, PostgreSQL in production).

    Example:

        ndoo db upgrade
    """


@db_group.command("upgrade")
@json_option
@click.pass_context
@handle_errors
def upgrade_command(ctx: click.Context, as_json: bool) -> None:
    """Create the schema or bring it to the newest migration, each in a transaction.

    Example:

        NDOO_DATABASE_URL=postgresql://ndoo@127.0.0.1/ndoo ndoo db upgrade
    """
    db = database(ctx)
    before, after = migrate.upgrade(db)
    if as_json:
        emit_json({"database": db.display_url, "before": before, "after": after})
        return
    if before == after:
        click.echo(f"{db.display_url}: already at {after}")
    else:
        click.echo(f"{db.display_url}: upgraded from {before or 'empty'} to {after}")


@db_group.command("status")
@json_option
@click.pass_context
@handle_errors
def status_command(ctx: click.Context, as_json: bool) -> None:
    """Show the database's schema revision and the newest one.

    Example:

        ndoo db status
    """
    db = database(ctx)
    current = migrate.current_revision(db)
    head = migrate.head_revision()
    if as_json:
        emit_json({"database": db.display_url, "current": current, "head": head})
        return
    state = "up to date" if current == head else "needs `ndoo db upgrade`"
    click.echo(f"{db.display_url}: at {current or 'empty'}, newest {head} ({state})")
