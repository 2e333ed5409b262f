"""``ndoo apply``: remove the records of people with an opt-out from a dataset."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from ndoo.apply.engine import ENGINES, Progress, Step, no_progress, open_engine
from ndoo.apply.locations import FORMATS, CsvDialect, locate
from ndoo.apply.release import ApplyRequest, apply
from ndoo.apply.rows import UNMATCHED_DECISIONS
from ndoo.apply.sources import SOURCES, SourceChoice
from ndoo.apply.verify import verify
from ndoo.cli.common import (
    actor,
    database,
    emit_json,
    get_settings,
    handle_errors,
    json_option,
    org_mailbox,
)


class _ApplyGroup(click.Group):
    """``ndoo apply INPUT ...`` runs ``apply run``; ``ndoo apply verify`` verifies."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("apply", cls=_ApplyGroup)
def apply_group() -> None:
    """Apply national data opt-outs to a dataset before it is disclosed.

    `ndoo apply INPUT ...` is `ndoo apply run INPUT ...`: whole records of people
    with an opt-out are removed, the source is never changed, and a release manifest
    and a notice for the recipient are written beside the output.

    Example:

        ndoo apply episodes.csv -c nhs_no --out release.csv --disclosure DSA-042 --source cache
    """


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    if not enabled:
        yield no_progress
        return
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    labels = {"scan": "Judging rows", "write": "Writing the release"}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} rows"),
        TimeElapsedColumn(),
        transient=False,
    ) as bars:
        tasks: dict[str, TaskID] = {}

        def report(step: Step) -> None:
            if step.name not in tasks:
                tasks[step.name] = bars.add_task(
                    labels.get(step.name, step.name), total=step.total or None
                )
            bars.update(tasks[step.name], completed=step.done, total=step.total or None)

        yield report


def _summary(manifest: dict[str, Any], dry_run: bool) -> str:
    counts = manifest["counts"]
    unmatched = manifest["unmatched"]
    lines = [
        f"{'Dry run: would release' if dry_run else 'Released'} {counts['rows_out']:,} of "
        f"{counts['rows_in']:,} rows for disclosure {manifest['disclosure']}; "
        f"{counts['rows_removed']:,} removed ({counts['rows_withheld']:,} with an opt-out).",
        f"Distinct patients: {counts['distinct_patients_in']:,} in, "
        f"{counts['distinct_patients_out']:,} out.",
    ]
    if unmatched["rows"]:
        lines.append(
            f"Rows without a valid NHS number: {unmatched['rows']:,} ({unmatched['decision']})."
        )
    source = manifest["source"]
    if manifest.get("opt_outs") == "not applied":
        lines.append("Opt-outs do not apply to this disclosure; none were applied:")
        lines += [f"  {reason}" for reason in source.get("justification", [])]
    else:
        lines.append(f"Opt-outs from: {source.get('kind')}.")
    return "\n".join(lines)


@apply_group.command("run")
@click.argument("input_", metavar="INPUT")
@click.option("--nhs-number-column", "-c", "column", required=True, help="Column of NHS numbers.")
@click.option("--out", "output", required=True, help="Output file, folder or database URL.")
@click.option(
    "--disclosure",
    required=True,
    help="Reference of the disclosure being released, as in the disclosure register; its "
    "current scope assessment decides whether opt-outs apply.",
)
@click.option(
    "--source",
    type=click.Choice(SOURCES),
    required=True,
    help="Opt-outs from the local register, a cached cleaned list, or a fresh check over MESH.",
)
@click.option(
    "--cohort", help="Cached cohort to use with --source cache (default: the disclosure)."
)
@click.option(
    "--unmatched",
    type=click.Choice(UNMATCHED_DECISIONS),
    default="stop",
    show_default=True,
    help="Rows with a missing or invalid NHS number: stop with a report, keep or drop them.",
)
@click.option("--table", help="Input table, when INPUT is a database URL.")
@click.option("--out-table", help="Output table, when --out is a database URL.")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="Input format (else from the name)."
)
@click.option(
    "--out-format", type=click.Choice(FORMATS), help="Output format (else from the name)."
)
@click.option("--delimiter", help="Input CSV delimiter (detected if not given).")
@click.option("--quote", help="Input CSV quote character (detected if not given).")
@click.option("--encoding", help="Input CSV encoding (detected if not given).")
@click.option("--engine", type=click.Choice(ENGINES), help="Engine (default NDOO_APPLY_ENGINE).")
@click.option(
    "--keep-order",
    is_flag=True,
    help="Keep the input's row order exactly (DuckDB: sorts the output; slower).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output and manifest.")
@click.option("--dry-run", is_flag=True, help="Report the counts; write nothing.")
@click.option("--manifest", "manifest_path", type=click.Path(path_type=Path), help="Manifest file.")
@click.option("--notice", "notice_path", type=click.Path(path_type=Path), help="Notice file.")
@json_option
@click.pass_context
@handle_errors
def run_command(
    ctx: click.Context,
    input_: str,
    column: str,
    output: str,
    disclosure: str,
    source: str,
    cohort: str | None,
    unmatched: str,
    table: str | None,
    out_table: str | None,
    fmt: str | None,
    out_format: str | None,
    delimiter: str | None,
    quote: str | None,
    encoding: str | None,
    engine: str | None,
    keep_order: bool,
    overwrite: bool,
    dry_run: bool,
    manifest_path: Path | None,
    notice_path: Path | None,
    as_json: bool,
) -> None:
    """Remove the records of people with an opt-out from INPUT, writing OUTPUT.

    INPUT and --out may be CSV, Parquet (a file or a folder), JSON lines, or a
    database table (a SQLAlchemy URL with --table / --out-table). Rows whose NHS
    number is missing or invalid stop the run unless --unmatched decides.

    Example:

        ndoo apply in.parquet -c nhs_number --out out.parquet --disclosure D-1 --source register
    """
    settings = get_settings(ctx)
    given = (
        CsvDialect(delimiter=delimiter or "", quote=quote or "", encoding=encoding or "")
        if (delimiter or quote or encoding)
        else None
    )
    source_location = locate(input_, table=table, fmt=fmt, dialect=given)
    target = locate(output, table=out_table, fmt=out_format, output=True)
    choice = SourceChoice(
        kind=source,
        cohort=cohort,
        max_age=timedelta(days=float(settings.cache_max_age_days)),
        mailbox=(lambda: org_mailbox(ctx)) if source == "mesh" else None,
        service=str(settings.check_mailbox),
        wait=float(settings.check_wait),
        poll_max=float(settings.check_poll_max),
    )
    request = ApplyRequest(
        input=source_location,
        output=target,
        column=column,
        disclosure=disclosure,
        source=choice,
        unmatched=unmatched,
        overwrite=overwrite,
        dry_run=dry_run,
        manifest_path=manifest_path,
        notice_path=notice_path,
        organisation=str(settings.organisation_code),
    )
    db = database(ctx)
    show = not as_json and sys.stderr.isatty()
    with _progress(show) as progress:
        chosen = open_engine(
            engine or str(settings.apply_engine),
            memory_limit=str(settings.apply_memory_limit),
            spark_master=str(settings.spark_master),
            keep_order=keep_order,
            progress=progress,
        )
        try:
            result = apply(db, request, actor=actor(ctx), engine=chosen)
        finally:
            chosen.close()
    if as_json:
        emit_json(
            {
                "manifest": result.manifest,
                "manifest_path": str(result.manifest_path) if result.manifest_path else None,
                "notice_path": str(result.notice_path) if result.notice_path else None,
            }
        )
        return
    click.echo(_summary(result.manifest, dry_run))
    if result.manifest_path is not None:
        click.echo(f"Manifest: {result.manifest_path}")
        click.echo(f"Notice for the recipient: {result.notice_path}")


@apply_group.command("verify")
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--url", help="Database URL of a table output (manifests never hold passwords).")
@json_option
@click.pass_context
@handle_errors
def verify_command(ctx: click.Context, manifest: Path, url: str | None, as_json: bool) -> None:
    """Re-check a released output against its MANIFEST (exit 1 if anything differs).

    Example:

        ndoo apply verify release.parquet.manifest.json
    """
    settings = get_settings(ctx)
    engine = open_engine(
        "duckdb", memory_limit=str(settings.apply_memory_limit), progress=no_progress
    )
    try:
        result = verify(database(ctx), manifest, engine=engine, url=url)
    finally:
        engine.close()
    if as_json:
        emit_json(result.as_dict())
    else:
        for line in result.checks:
            click.echo(f"ok: {line}")
        for line in result.problems:
            click.echo(f"PROBLEM: {line}")
        click.echo("verified: the output matches its manifest" if result.ok else "NOT verified")
    if not result.ok:
        sys.exit(1)
