"""``ndoo stats impact``: how the people a release removed differ from those it kept."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from ndoo.cli.common import database, emit_json, get_settings, handle_errors, json_option
from ndoo.stats.impact import impact
from ndoo.stats.report import AREA_LEVELS, write_csv


@click.command("impact")
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--age-column", help="Column of ages in years (banded 0-9 … 90+).")
@click.option(
    "--date-of-birth-column",
    "--dob-column",
    "date_of_birth_column",
    help="Column of dates of birth, for ages at --as-of (instead of --age-column).",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Date at which ages are worked out from dates of birth (default: the release's date).",
)
@click.option(
    "--sex-column", help="Column of sex (1/2/0/9, M/F/U, Male/Female; others as written)."
)
@click.option("--area-column", help="Column of 2011 LSOA codes.")
@click.option(
    "--area-level",
    type=click.Choice(AREA_LEVELS),
    default="lsoa",
    show_default=True,
    help="Report areas as LSOAs, or mapped up to Sub-ICB locations, local authorities, "
    "ICBs or NHS England regions.",
)
@click.option(
    "--url", help="Database URL of a table input or output (manifests hold no passwords)."
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the report as CSV to this file.",
)
@json_option
@click.pass_context
@handle_errors
def impact_command(
    ctx: click.Context,
    manifest: Path,
    age_column: str | None,
    date_of_birth_column: str | None,
    as_of: datetime | None,
    sex_column: str | None,
    area_column: str | None,
    area_level: str,
    url: str | None,
    csv_path: Path | None,
    as_json: bool,
) -> None:
    """Compare the people a release removed with those it kept, by age, sex and area.

    MANIFEST is the manifest `ndoo apply` wrote. The release's input and output are
    read again (the output must still match the manifest's SHA-256), and for each
    category the distinct people kept and removed, the removal rate and the
    category's representation in the release are shown, most under-represented
    first. Counts of fewer than 10 people are suppressed, with one more cell where
    needed so that they cannot be worked out from the totals.

    Example:

        ndoo stats impact release.parquet.manifest.json --age-column age --area-column lsoa
    """
    settings = get_settings(ctx)
    report = impact(
        manifest,
        age_column=age_column,
        date_of_birth_column=date_of_birth_column,
        as_of=as_of.date() if as_of else None,
        sex_column=sex_column,
        area_column=area_column,
        area_level=area_level,
        db=database(ctx),
        url=url,
        memory_limit=str(settings.apply_memory_limit),
    )
    if csv_path is not None:
        write_csv(report, csv_path)
    if as_json:
        emit_json(report.as_dict())
        return
    click.echo(report.text(), nl=False)
    if csv_path is not None:
        click.echo(f"CSV: {csv_path}")
