"""``ndoo stats``: the national publication, "[MI] National Data Opt-Out"."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import click

from ndoo.cli.common import database, emit_json, get_settings, handle_errors, json_option
from ndoo.cli.stats_impact import impact_command
from ndoo.errors import InputError
from ndoo.stats import publication


@click.group("stats")
def stats_group() -> None:
    """Official statistics of the register, as NHS England publishes them.

    Example:

        ndoo stats publish --period-end 2025-06-01 --out publication/
    """


def _month(text: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"--period-end {text!r} is not a date; give the first of a month, YYYY-MM-01",
            field="period_end",
        ) from None
    if day.day != 1:
        raise InputError(
            f"--period-end {text!r} is not the first day of a month (YYYY-MM-01)",
            field="period_end",
        )
    return day


@stats_group.command("publish")
@click.option(
    "--period-end",
    required=True,
    metavar="YYYY-MM-01",
    help="The reporting month: the first day of the newest month counted.",
)
@click.option(
    "--months",
    type=click.IntRange(1, publication.MAX_MONTHS),
    default=12,
    show_default=True,
    help="How many monthly snapshots, ending at --period-end.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the CSV files, the Excel summary and the charts (PNG and SVG).",
)
@click.option("--overwrite", is_flag=True, help="Replace files of the same names.")
@click.option(
    "--drop-test-numbers/--keep-test-numbers",
    "drop_test_numbers",
    default=None,
    help="Leave 9xx and repeated-digit NHS numbers out of the opt-out counts "
    "[default: NDOO_STATS_DROP_TEST_NUMBERS].",
)
@json_option
@click.pass_context
@handle_errors
def publish_command(
    ctx: click.Context,
    period_end: str,
    months: int,
    out_dir: Path,
    overwrite: bool,
    drop_test_numbers: bool | None,
    as_json: bool,
) -> None:
    """Write the publication's three CSV files, its Excel summary and its charts.

    One snapshot is taken on the first day of each month, counted with the rules of
    NHS England's "[MI] National Data Opt-Out" publication: opt-outs of living people
    by age and gender, by GP practice and by LSOA of residence, with list sizes, and
    the deceased counted apart. Files are named NDOP_age_gen_<Mon>_<YYYY>.csv,
    NDOP_reg_geog_…, NDOP_res_geog_… and NDOP_sum_<Mon>_<YYYY>.xlsx; the charts
    (national rate over time, by age and gender, by ICB, by region) are
    NDOP_chart_<name>_<Mon>_<YYYY>.png and .svg.

    Example:

        ndoo stats publish --period-end 2025-06-01 --months 12 --out publication/
    """
    day = _month(period_end)
    drop = (
        bool(get_settings(ctx).stats_drop_test_numbers)
        if drop_test_numbers is None
        else drop_test_numbers
    )
    started = time.monotonic()
    found = publication.compute(
        database(ctx), period_end=day, months=months, drop_test_numbers=drop
    )
    written = publication.write(found, out_dir, overwrite=overwrite)
    seconds = time.monotonic() - started
    latest = found.national.to_pylist()[0]
    if as_json:
        emit_json(
            {
                "period_end": day.isoformat(),
                "months": months,
                "drop_test_numbers": drop,
                "opt_out": latest["OPT_OUT"],
                "list_size": latest["LIST_SIZE"],
                "deceased": latest["DECEASED"],
                "files": [str(p) for p in written],
                "seconds": round(seconds, 1),
            }
        )
        return
    rate = 100.0 * latest["OPT_OUT"] / latest["LIST_SIZE"] if latest["LIST_SIZE"] else 0.0
    click.echo(
        f"{day:%d %B %Y}: {latest['OPT_OUT']:,} opt-outs, list size {latest['LIST_SIZE']:,} "
        f"({rate:.2f}%), {latest['DECEASED']:,} deceased"
    )
    for path in written:
        click.echo(f"wrote {path}")


stats_group.add_command(impact_command)
