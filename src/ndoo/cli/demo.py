"""``ndoo demo``: the main job on the embedded default."""

from __future__ import annotations

import click

from ndoo.cli.common import emit_json, get_settings, handle_errors, json_option
from ndoo.demo import run_demo


@click.command("demo")
@click.option("--people", default=200_000, show_default=True, help="Synthetic people to create.")
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic population.")
@click.option("--reset", is_flag=True, help="Remove the SQLite register first and start again.")
@json_option
@click.pass_context
@handle_errors
def demo_command(ctx: click.Context, people: int, seed: int, reset: bool, as_json: bool) -> None:
    """Create a SQLite register, load synthetic England into it and summarise it.

    Uses NDOO_DATABASE_URL (default: SQLite in NDOO_HOME). If the register already
    holds people it is only summarised; --reset starts again.

    Example:

        ndoo demo --people 1000000 --reset
    """
    result = run_demo(get_settings(ctx), people=people, seed=seed, reset=reset)
    if as_json:
        emit_json(result.as_dict())
        return
    s = result.summary
    click.echo(f"Register: {result.database}")
    if result.loaded:
        ld = result.loaded
        click.echo(
            f"Loaded synthetic England: {ld.people:,} people at {ld.practices:,} GP practices, "
            f"{ld.events:,} choice events"
        )
    else:
        click.echo("The register already holds a population (use --reset to start again).")
    click.echo(f"As of {s.as_of:%d %B %Y}:")
    click.echo(f"  living people registered   {s.people:>12,}")
    click.echo(f"  with a national opt-out    {s.opted_out:>12,}  ({s.rate:.2f}%)")
    click.echo(f"  deceased, opt-out kept     {s.deceased_opted_out:>12,}")
    click.echo("")
    click.echo(f"  {'NHS England region':<28} {'people':>10} {'opted out':>10} {'rate':>7}")
    for region in s.regions:
        click.echo(
            f"  {region.name:<28} {region.people:>10,} {region.opted_out:>10,} {region.rate:>6.2f}%"
        )
    click.echo("")
    click.echo(result.audit.describe())
