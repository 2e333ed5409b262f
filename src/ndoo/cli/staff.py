"""``ndoo staff``: staff accounts for the web console."""

from __future__ import annotations

import click

from ndoo.cli.common import actor, database, emit_json, handle_errors, json_option
from ndoo.staff import accounts


@click.group("staff")
def staff_group() -> None:
    """Staff accounts of the web console, each with one role.

    Roles: agent (contact centre), proxy_reviewer, ig_lead, analyst, administrator.

    Example:

        ndoo staff add jo.bloggs --name "Jo Bloggs" --role agent
    """


@staff_group.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Name shown in the console.")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True, help="The one role.")
@click.password_option(help="Password (at least 12 characters); asked for if not given.")
@json_option
@click.pass_context
@handle_errors
def add_command(
    ctx: click.Context, username: str, display_name: str, role: str, password: str, as_json: bool
) -> None:
    """Add a member of staff.

    Example:

        ndoo staff add jo.bloggs --name "Jo Bloggs" --role agent
    """
    staff = accounts.create(database(ctx), username, display_name, role, password, actor=actor(ctx))
    if as_json:
        emit_json(staff.as_dict())
        return
    click.echo(f"Added {staff.username} ({staff.role_label}).")


@staff_group.command("list")
@json_option
@click.pass_context
@handle_errors
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List the staff accounts.

    Example:

        ndoo staff list
    """
    found = accounts.everyone(database(ctx))
    if as_json:
        emit_json([s.as_dict() for s in found])
        return
    for staff in found:
        state = "" if staff.active else "  (switched off)"
        click.echo(f"{staff.username:<24} {staff.role_label:<30} {staff.display_name}{state}")


@staff_group.command("password")
@click.argument("username")
@click.password_option(help="The new password (at least 12 characters).")
@click.pass_context
@handle_errors
def password_command(ctx: click.Context, username: str, password: str) -> None:
    """Set a member of staff's password (and unlock the account).

    Example:

        ndoo staff password jo.bloggs
    """
    accounts.set_password(database(ctx), username, password, actor=actor(ctx))
    click.echo(f"Password of {username} set.")


@staff_group.command("disable")
@click.argument("username")
@click.pass_context
@handle_errors
def disable_command(ctx: click.Context, username: str) -> None:
    """Switch an account off: it can no longer sign in.

    Example:

        ndoo staff disable jo.bloggs
    """
    accounts.set_active(database(ctx), username, False, actor=actor(ctx))
    click.echo(f"{username} can no longer sign in.")
