"""``ndoo person``: the demographic facts the register's rules depend on."""

from __future__ import annotations

from datetime import datetime

import click

from ndoo import people
from ndoo.cli.common import actor, database, emit_json, handle_errors, json_option
from ndoo.nhs_number import format_display


@click.group("person")
def person_group() -> None:
    """People known to the register: date of birth, death, capacity, detention.

    Example:

        ndoo person show 9434765919
    """


def _echo(found: people.Person, as_json: bool) -> None:
    if as_json:
        emit_json(found.as_dict())
        return
    click.echo(f"{format_display(found.nhs_number)}")
    click.echo(f"  date of birth   {found.date_of_birth.isoformat()}")
    click.echo(f"  gender          {people.GENDERS[found.gender]}")
    click.echo(f"  GP practice     {found.gp_practice_code or 'none'}")
    click.echo(f"  LSOA            {found.lsoa_code or 'none'}")
    died = found.date_of_death.isoformat() if found.date_of_death else "not recorded"
    click.echo(f"  date of death   {died}")
    click.echo(f"  lacks capacity  {'yes' if found.lacks_capacity else 'no'}")
    click.echo(f"  detained        {'yes' if found.detained else 'no'}")


@person_group.command("show")
@click.argument("nhs_number")
@json_option
@click.pass_context
@handle_errors
def show_command(ctx: click.Context, nhs_number: str, as_json: bool) -> None:
    """Show what the register knows of a person.

    Example:

        ndoo person show "943 476 5919" --json
    """
    _echo(people.find(database(ctx), nhs_number), as_json)


@person_group.command("add")
@click.argument("nhs_number")
@click.option("--born", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Date of birth.")
@click.option(
    "--gender",
    type=click.Choice(sorted(people.GENDERS)),
    required=True,
    help="1 male, 2 female, 0 not known, 9 not specified.",
)
@click.option("--practice", help="GP practice code (must be known to the register).")
@click.option("--lsoa", help="LSOA of residence (2011 code).")
@json_option
@click.pass_context
@handle_errors
def add_command(
    ctx: click.Context,
    nhs_number: str,
    born: datetime,
    gender: str,
    practice: str | None,
    lsoa: str | None,
    as_json: bool,
) -> None:
    """Add a person the register does not know yet.

    Example:

        ndoo person add 9434765919 --born 1980-04-01 --gender 2
    """
    new = people.Person(nhs_number, born.date(), gender, practice, lsoa)
    _echo(people.add(database(ctx), new, actor=actor(ctx)), as_json)


@person_group.command("update")
@click.argument("nhs_number")
@click.option("--lacks-capacity/--has-capacity", default=None, help="Record capacity.")
@click.option("--detained/--not-detained", default=None, help="In a detained or secure estate.")
@click.option("--died", type=click.DateTime(["%Y-%m-%d"]), help="Record the date of death.")
@json_option
@click.pass_context
@handle_errors
def update_command(
    ctx: click.Context,
    nhs_number: str,
    lacks_capacity: bool | None,
    detained: bool | None,
    died: datetime | None,
    as_json: bool,
) -> None:
    """Record capacity, detention or death. A recorded death cannot be changed.

    Example:

        ndoo person update 9434765919 --lacks-capacity
    """
    found = people.update_facts(
        database(ctx),
        nhs_number,
        actor=actor(ctx),
        lacks_capacity=lacks_capacity,
        detained=detained,
        date_of_death=died.date() if died else None,
    )
    _echo(found, as_json)
