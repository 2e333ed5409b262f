"""``ndoo synth``: generate Synthetic England for demonstrations, tests and benchmarks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from ndoo.cli.common import (
    actor,
    database,
    emit_json,
    get_settings,
    handle_errors,
    json_option,
)
from ndoo.register.load import load_population
from ndoo.synth import DEFAULT_REFERENCE_DATE, MAX_PEOPLE, generate_population


@click.group()
def synth() -> None:
    """Synthetic data: a reproducible England of GP-registered people and their opt-outs.

    Every NHS number is from the never-issued 9xx test range; no real person
    is described.

    Example:

        ndoo synth population --people 100000 --seed 1
    """


@synth.command()
@click.option(
    "--people",
    type=click.IntRange(1, MAX_PEOPLE),
    default=100_000,
    show_default=True,
    help="How many people to generate (England has about 64 million).",
)
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True, help="Random seed.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the Parquet files [default: HOME/synth].",
)
@click.option(
    "--reference-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=DEFAULT_REFERENCE_DATE.isoformat(),
    show_default=True,
    help="The day the population is described at (ages, deaths, active opt-outs).",
)
@click.option(
    "--load",
    is_flag=True,
    help="Then load the files into the register (which must hold no people yet).",
)
@json_option
@click.pass_context
@handle_errors
def population(
    ctx: click.Context,
    people: int,
    seed: int,
    out_dir: Path | None,
    reference_date: datetime,
    load: bool,
    as_json: bool,
) -> None:
    """Write practices.parquet, people.parquet and events.parquet.

    People follow England's age pyramid and health geographies (106 Sub-ICB
    locations, 32,844 LSOAs); their opt-out histories follow the published
    rates (about 5.4%, highest for women aged 30-39, lowest for children,
    varying by local authority) and timeline (Type 2 conversions, the June
    2021 GPDPR burst, later withdrawals).  The same people, seed and
    reference date always give the same files.

    Example:

        ndoo synth population --people 1000000 --seed 7 --out /tmp/england

    or, into the register at once:

        ndoo synth population --people 50000 --load
    """
    target = out_dir if out_dir is not None else get_settings(ctx).home / "synth"
    summary = generate_population(people, seed, target, reference_date=reference_date.date())
    loaded = load_population(database(ctx), target, actor=actor(ctx)) if load else None
    if as_json:
        emit_json({**summary.as_dict(), "loaded": loaded.as_dict() if loaded else None})
        return
    click.echo(f"Wrote {summary.out_dir}/{{practices,people,events}}.parquet")
    click.echo(f"  people:           {summary.people:>12,}  ({summary.deceased:,} deceased)")
    click.echo(f"  practices:        {summary.practices:>12,}")
    click.echo(f"  events:           {summary.events:>12,}")
    click.echo(
        f"  active opt-outs:  {summary.active_opt_outs:>12,}  "
        f"({summary.rate:.2%} of the living on {summary.reference_date})"
    )
    if loaded:
        click.echo(
            f"Loaded into the register: {loaded.people:,} people, {loaded.events:,} events, "
            f"{loaded.opted_out:,} opt-outs in force now"
        )
