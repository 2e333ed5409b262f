"""``ndoo check``: send lists to the Check for National Data Opt-outs service."""

from __future__ import annotations

from pathlib import Path

import click

from ndoo.cli.common import (
    actor,
    database,
    emit_json,
    get_settings,
    handle_errors,
    json_option,
    org_mailbox,
)
from ndoo.errors import InputError
from ndoo.settings import Settings
from ndoo.uphold import checking
from ndoo.uphold.lists import NumberList, read_number_list


def _list_options(func: click.decorators.FC) -> click.decorators.FC:
    func = click.option(
        "--cohort",
        help="Name of a cohort cache (everyone the organisation has a legitimate "
        "relationship with), refreshed on a schedule.",
    )(func)
    func = click.option(
        "--disclosure", help="Reference of the one disclosure this list is checked for."
    )(func)
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "csv", "parquet"]),
        help="Format of LIST (default: from its suffix; .csv/.tsv CSV, .parquet Parquet).",
    )(func)
    func = click.option(
        "--column", help="Column holding the NHS numbers (CSV or Parquet with several columns)."
    )(func)
    func = click.argument("list_path", metavar="LIST", type=click.Path(path_type=Path))(func)
    return func


def _cohort_and_mode(cohort: str | None, disclosure: str | None) -> tuple[str, str]:
    if bool(cohort) == bool(disclosure):
        raise InputError(
            "give exactly one of --disclosure REF (a one-off check for one disclosure) or "
            "--cohort NAME (a cohort cache refreshed on a schedule)"
        )
    return (disclosure, "disclosure") if disclosure else (str(cohort), "cohort")


def _prepared(
    ctx: click.Context,
    list_path: Path,
    column: str | None,
    fmt: str | None,
    disclosure: str | None,
    cohort: str | None,
) -> tuple[Settings, str, str, NumberList]:
    """The settings, cohort, mode and validated list a send needs."""
    name, mode = _cohort_and_mode(cohort, disclosure)
    return get_settings(ctx), name, mode, read_number_list(list_path, column=column, fmt=fmt)


def _describe(request: checking.CheckRequest) -> str:
    return (
        f"{request.filename}: {request.numbers_sent:,} numbers sent to {request.recipient} "
        f"for {request.mode} {request.cohort!r} (MESH message {request.message_id})"
    )


@click.group("check")
def check_group() -> None:
    """Check lists of NHS numbers with the Check for National Data Opt-outs service.

    Example:

        ndoo check run patients.csv --column nhs_number --disclosure DARS-2026-017
    """


@check_group.command("send")
@_list_options
@json_option
@click.pass_context
@handle_errors
def send_command(
    ctx: click.Context,
    list_path: Path,
    column: str | None,
    fmt: str | None,
    disclosure: str | None,
    cohort: str | None,
    as_json: bool,
) -> None:
    """Validate and de-duplicate LIST and send it over MESH; collect with `receive`.

    Any invalid number stops the send with the lines named, so the service never
    rejects the whole file.

    Example:

        ndoo check send registered.parquet --column nhs_number --cohort all-registered
    """
    settings, name, mode, numbers = _prepared(ctx, list_path, column, fmt, disclosure, cohort)
    with org_mailbox(ctx) as mailbox:
        request = checking.send(
            database(ctx),
            mailbox,
            numbers,
            recipient=settings.check_mailbox,
            cohort=name,
            mode=mode,
            actor=actor(ctx),
        )
    if as_json:
        emit_json({**request.as_dict(), "duplicates_removed": numbers.duplicates})
        return
    click.echo(_describe(request))
    if numbers.duplicates:
        click.echo(f"{numbers.duplicates:,} repeated numbers were sent once.")


def _report(answer: checking.Answer) -> str:
    request = answer.request
    if answer.problem is not None:
        return f"{request.filename}: failed: {answer.problem.message}"
    assert answer.cache_entry is not None
    entry = answer.cache_entry
    checked = f"{entry.checked_at:%Y-%m-%d %H:%M}"
    return (
        f"{request.filename}: {entry.covered_count:,} checked, {entry.kept_count:,} may be "
        f"used, {entry.covered_count - entry.kept_count:,} removed for opt-outs; cleaned "
        f"list cached for {request.mode} {request.cohort!r} (checked {checked} UTC)"
    )


@check_group.command("receive")
@json_option
@click.pass_context
@handle_errors
def receive_command(ctx: click.Context, as_json: bool) -> None:
    """Collect every answer waiting in the mailbox and cache the cleaned lists.

    Example:

        ndoo check receive
    """
    settings = get_settings(ctx)
    with org_mailbox(ctx) as mailbox:
        answers = checking.receive(
            database(ctx), mailbox, service=settings.check_mailbox, actor=actor(ctx)
        )
    if as_json:
        emit_json(
            [
                {
                    "request": a.request.as_dict(),
                    "cache_entry": a.cache_entry.as_dict() if a.cache_entry else None,
                    "problem": a.problem.message if a.problem else None,
                }
                for a in answers
            ]
        )
        return
    if not answers:
        pending = checking.requests(database(ctx), pending_only=True)
        click.echo(f"No answers yet; {len(pending)} request(s) waiting.")
    for answer in answers:
        click.echo(_report(answer))
    if any(a.problem for a in answers):
        ctx.exit(1)


@check_group.command("run")
@_list_options
@click.option(
    "--wait",
    type=float,
    help="Seconds to wait for the answer (default NDOO_CHECK_WAIT, one hour).",
)
@json_option
@click.pass_context
@handle_errors
def run_command(
    ctx: click.Context,
    list_path: Path,
    column: str | None,
    fmt: str | None,
    disclosure: str | None,
    cohort: str | None,
    wait: float | None,
    as_json: bool,
) -> None:
    """Send LIST, wait for the answer with back-off, check it and cache the cleaned list.

    The answer must hold only numbers that were sent. If it does not come in time
    the request stays pending for `ndoo check receive`.

    Example:

        ndoo check run cohort.txt --disclosure DARS-2026-017 --wait 600
    """
    settings, name, mode, numbers = _prepared(ctx, list_path, column, fmt, disclosure, cohort)
    with org_mailbox(ctx) as mailbox:
        answer = checking.run(
            database(ctx),
            mailbox,
            numbers,
            service=settings.check_mailbox,
            cohort=name,
            mode=mode,
            actor=actor(ctx),
            wait=wait if wait is not None else float(settings.check_wait),
            poll_max=float(settings.check_poll_max),
        )
    if as_json:
        assert answer.cache_entry is not None
        entry = answer.cache_entry.as_dict()
        emit_json({"request": answer.request.as_dict(), "cache_entry": entry})
        return
    click.echo(_report(answer))


@check_group.command("status")
@click.option("--limit", default=20, show_default=True, help="How many requests, newest first.")
@json_option
@click.pass_context
@handle_errors
def status_command(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List the requests sent, their state and counts (never the numbers).

    Example:

        ndoo check status --limit 5
    """
    found = checking.requests(database(ctx), limit=limit)
    if as_json:
        emit_json([r.as_dict() for r in found])
        return
    if not found:
        click.echo("No requests sent yet.")
        return
    click.echo(
        f"{'file':<28} {'state':<9} {'sent (UTC)':<17} {'numbers':>10} {'returned':>10}  for"
    )
    for r in found:
        sent = f"{r.sent_at:%Y-%m-%d %H:%M}" if r.sent_at else "-"
        returned = f"{r.returned_count:,}" if r.returned_count is not None else "-"
        click.echo(
            f"{r.filename:<28} {r.state:<9} {sent:<17} {r.numbers_sent:>10,} {returned:>10}  "
            f"{r.mode} {r.cohort}"
        )
        if r.error:
            click.echo(f"    {r.error}")
