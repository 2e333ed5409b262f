"""``ndoo cache``: the organisation's cache of cleaned lists (service data under licence)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ndoo.checkfile import write_atomically
from ndoo.cli.common import (
    actor,
    database,
    emit_json,
    get_settings,
    handle_errors,
    json_option,
    org_mailbox,
)
from ndoo.errors import FileFormatError, InputError, NdooError
from ndoo.uphold import cache, checking
from ndoo.uphold.lists import format_of


@click.group("cache")
def cache_group() -> None:
    """Cleaned lists from the Check service: list, refresh, apply, erase. Never a lookup.

    Example:

        ndoo cache list
    """


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


@cache_group.command("list")
@click.option("--all", "include_superseded", is_flag=True, help="Include superseded entries.")
@json_option
@click.pass_context
@handle_errors
def list_command(ctx: click.Context, include_superseded: bool, as_json: bool) -> None:
    """Show the cached cleaned lists with their age and counts, never their contents.

    Example:

        ndoo cache list --all
    """
    settings = get_settings(ctx)
    found = cache.entries(database(ctx), include_superseded=include_superseded)
    max_age = timedelta(days=float(settings.cache_max_age_days))
    if as_json:
        emit_json(
            [
                {
                    **e.as_dict(),
                    "age_hours": e.age().total_seconds() / 3600,
                    "usable": e.age() <= max_age,
                }
                for e in found
            ]
        )
        return
    if not found:
        click.echo("No cleaned lists cached. `ndoo check run LIST --cohort NAME` makes one.")
        return
    click.echo(
        f"{'cohort or disclosure':<28} {'mode':<10} {'checked (UTC)':<17} {'age':>10} "
        f"{'checked':>10} {'usable':>10}  state"
    )
    for e in found:
        if not e.holds_lists:
            status = "erased" if e.superseded_at is None else "superseded, erased"
        elif e.superseded_at is not None:
            status = "superseded"
        elif e.age() > max_age:
            status = f"too old (max {settings.cache_max_age_days:g} days): refresh"
        else:
            status = "current"
        click.echo(
            f"{e.cohort:<28} {e.mode:<10} {e.checked_at:%Y-%m-%d %H:%M} {_age(e.age()):>10} "
            f"{e.covered_count:>10,} {e.kept_count:>10,}  {status}"
        )


@cache_group.command("refresh")
@click.argument("cohort", required=False)
@click.option(
    "--due", is_flag=True, help="Refresh every cohort older than NDOO_CACHE_REFRESH_DAYS."
)
@click.option(
    "--wait", type=float, help="Seconds to wait for each answer (default NDOO_CHECK_WAIT)."
)
@click.pass_context
@handle_errors
def refresh_command(ctx: click.Context, cohort: str | None, due: bool, wait: float | None) -> None:
    """Check a cached cohort again over MESH and replace its cleaned list.

    With --due, refresh every cohort cache older than NDOO_CACHE_REFRESH_DAYS — run it
    on a schedule (for example nightly from cron).

    Example:

        ndoo cache refresh --due
    """
    settings = get_settings(ctx)
    db = database(ctx)
    if bool(cohort) == due:
        raise InputError("give a COHORT to refresh, or --due for every stale cohort cache")
    if due:
        older = timedelta(days=float(settings.cache_refresh_days))
        cohorts = [e.cohort for e in cache.due(db, older_than=older)]
    else:
        cohorts = [str(cohort)]
    if not cohorts:
        click.echo("Every cohort cache is fresh; nothing to refresh.")
        return
    failures = 0
    with org_mailbox(ctx) as mailbox:
        for name in cohorts:
            try:
                answer = checking.refresh(
                    db,
                    mailbox,
                    name,
                    service=settings.check_mailbox,
                    actor=actor(ctx),
                    wait=wait if wait is not None else float(settings.check_wait),
                    poll_max=float(settings.check_poll_max),
                )
            except NdooError as exc:
                if not due:
                    raise
                failures += 1
                click.echo(f"ndoo: error: {name}: {exc.message}", err=True)
                continue
            entry = answer.cache_entry
            assert entry is not None
            click.echo(
                f"{name}: re-checked {entry.covered_count:,} numbers; {entry.kept_count:,} may "
                "be used"
            )
    if failures:
        ctx.exit(1)


def _read_table(path: Path, kind: str) -> pa.Table:
    try:
        if kind == "parquet":
            return pq.read_table(path)
        options = pa_csv.ConvertOptions(strings_can_be_null=False, auto_dict_encode=False)
        table = pa_csv.read_csv(path, convert_options=options)
        return table.cast(pa.schema([(name, pa.string()) for name in table.column_names]))
    except (OSError, pa.ArrowInvalid) as exc:
        # pyarrow's message can quote a row, and a row can hold an NHS number.
        raise FileFormatError(
            f"cannot be read as {kind} (is it a well-formed {kind} file with a header row?)",
            file=str(path),
        ) from exc


@cache_group.command("apply")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option("--cohort", required=True, help="Cohort or disclosure whose cleaned list to apply.")
@click.option("--column", required=True, help="Column of INPUT holding the NHS numbers.")
@click.option(
    "--purpose", required=True, help="Why opt-outs are applied (kept in the audit trail)."
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the rows that may be used (same format as INPUT).",
)
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@json_option
@click.pass_context
@handle_errors
def apply_command(
    ctx: click.Context,
    input_path: Path,
    cohort: str,
    column: str,
    purpose: str,
    out_path: Path,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Remove from a CSV or Parquet file the whole rows of people with an opt-out.

    Keeps the rows whose NHS number is in the cohort's cleaned list; refuses rows whose
    number is missing, invalid or was not checked. Every use is audited.

    Example:

        ndoo cache apply extract.csv --cohort all-registered --column nhs_number \\
            --purpose "DARS-2026-017 extract" --out extract-cleaned.csv
    """
    settings = get_settings(ctx)
    if out_path.exists() and not overwrite:
        raise InputError(f"{out_path} exists; give --overwrite to replace it")
    kind = format_of(input_path)
    if kind == "text":
        raise InputError(f"{input_path}: apply works on CSV or Parquet files")
    table = _read_table(input_path, kind)
    kept, counts = cache.apply_table(
        database(ctx),
        cohort,
        table,
        column,
        purpose=purpose,
        actor=actor(ctx),
        max_age=timedelta(days=float(settings.cache_max_age_days)),
    )
    sink = pa.BufferOutputStream()
    if kind == "parquet":
        pq.write_table(kept, sink)
    else:
        pa_csv.write_csv(kept, sink)
    write_atomically(out_path, sink.getvalue().to_pybytes())
    if as_json:
        emit_json(counts.__dict__ | {"out": str(out_path)})
        return
    click.echo(
        f"{counts.rows_in:,} rows in, {counts.rows_removed:,} removed for opt-outs, "
        f"{counts.rows_out:,} written to {out_path}"
    )


@cache_group.command("erase")
@click.argument("cohort")
@click.pass_context
@handle_errors
def erase_command(ctx: click.Context, cohort: str) -> None:
    """Erase a cohort's cached lists (their metadata stays as evidence).

    Example:

        ndoo cache erase DARS-2026-017
    """
    erased = cache.erase(database(ctx), cohort, actor=actor(ctx))
    click.echo(f"Erased the lists of {erased} entr{'y' if erased == 1 else 'ies'} for {cohort!r}.")
