"""``ndoo register``: set, show and trace choices; import Type 2 objections; snapshots."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from ndoo import register as reg
from ndoo.cli.common import actor, database, emit_json, handle_errors, json_option
from ndoo.errors import InputError
from ndoo.nhs_number import format_display, to_text_array
from ndoo.register.load import load_population
from ndoo.register.vocabulary import actor_label
from ndoo.timeutil import iso, parse_when

CHANNELS = sorted(c.value for c in reg.Channel if c is not reg.Channel.T2)
ROLES = [r.value for r in reg.ProxyRole]


@click.group("register")
def register_group() -> None:
    """The national register of choices: one question, opted out or opted in.

    Example:

        ndoo register show "943 476 5919"
    """


def _describe(choice: reg.Choice) -> str:
    since = f" since {iso(choice.since)}" if choice.since else " (the default; nothing recorded)"
    died = "; deceased, so the choice can no longer change" if choice.deceased else ""
    return f"{format_display(choice.nhs_number)}: {choice.state.label}{since}{died}"


@register_group.command("set")
@click.argument("nhs_number")
@click.option("--opt-out/--opt-in", "opt_out", required=True, help="The choice to record.")
@click.option("--channel", type=click.Choice(CHANNELS), required=True, help="How it reached us.")
@click.option("--self", "by_self", is_flag=True, help="The person acted for themselves.")
@click.option("--proxy-role", type=click.Choice(ROLES), help="A proxy acted, in this role.")
@click.option("--proxy-name", help="The proxy's name.")
@click.option(
    "--evidence", "proxy_evidence", help="Reference of the proxy's evidence of authority."
)
@click.option("--case-ref", "case_reference", help="Contact-centre or paper case reference.")
@click.option("--effective", help="When the choice takes effect (ISO date or time; default now).")
@json_option
@click.pass_context
@handle_errors
def set_command(
    ctx: click.Context,
    nhs_number: str,
    opt_out: bool,
    channel: str,
    by_self: bool,
    proxy_role: str | None,
    proxy_name: str | None,
    proxy_evidence: str | None,
    case_reference: str | None,
    effective: str | None,
    as_json: bool,
) -> None:
    """Record a person's choice, after checking every rule of the register.

    Exactly one of --self or --proxy-role says who acted. A child under 13, or a
    person recorded as lacking capacity, needs a proxy with an evidence reference.

    Example:

        ndoo register set 9434765919 --opt-out --channel CC --self --case-ref 12345-C
    """
    change = reg.ChoiceChange(
        nhs_number=nhs_number,
        state=reg.State.OUT if opt_out else reg.State.IN,
        channel=reg.Channel(channel),
        by_self=by_self,
        proxy_role=reg.ProxyRole(proxy_role) if proxy_role else None,
        proxy_name=proxy_name,
        proxy_evidence=proxy_evidence,
        case_reference=case_reference,
        effective_at=parse_when(effective, what="--effective") if effective else None,
    )
    choice = reg.set_choice(database(ctx), change, actor=actor(ctx))
    if as_json:
        emit_json(choice.as_dict())
        return
    verb = "recorded" if choice.changed else "unchanged, already"
    click.echo(f"{verb}: {_describe(choice)}")


@register_group.command("show")
@click.argument("nhs_number")
@json_option
@click.pass_context
@handle_errors
def show_command(ctx: click.Context, nhs_number: str, as_json: bool) -> None:
    """Show a person's choice now.

    Example:

        ndoo register show "943 476 5919"
    """
    choice = reg.current_choice(database(ctx), nhs_number)
    if as_json:
        emit_json(choice.as_dict())
        return
    click.echo(_describe(choice))
    answer = "No" if choice.state is reg.State.OUT else "Yes"
    click.echo(f'"{reg.QUESTION}": {answer}')


@register_group.command("history")
@click.argument("nhs_number")
@json_option
@click.pass_context
@handle_errors
def history_command(ctx: click.Context, nhs_number: str, as_json: bool) -> None:
    """List every change to a person's choice and the records derived from them.

    Example:

        ndoo register history 9434765919 --json
    """
    found = reg.history(database(ctx), nhs_number)
    if as_json:
        emit_json(found.as_dict())
        return
    click.echo(f"{format_display(found.nhs_number)}: {len(found.events)} change(s)")
    for event in found.events:
        by = actor_label(event.actor)
        if event.proxy_name:
            by += f" ({event.proxy_name}, evidence {event.proxy_evidence})"
        case = f", case {event.case_reference}" if event.case_reference else ""
        click.echo(
            f"  {iso(event.effective_at)}  {event.state.label:<10} via {event.channel.label}, "
            f"by {by}{case} [event {event.id}, recorded {iso(event.recorded_at)}]"
        )
    click.echo("Records:")
    for record in found.records:
        end = iso(record.record_end) if record.record_end else "open"
        click.echo(f"  {record.state.label:<10} {iso(record.record_start)} to {end}")


@register_group.command("import-type2")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
@click.pass_context
@handle_errors
def import_type2_command(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Convert legacy Type 2 objections (9Nu4) recorded on or before 11 October 2018.

    FILE is CSV with columns nhs_number, code, date_recorded. The whole file is
    checked first; a bad row stops the import and nothing is written. Re-importing
    the same file changes nothing.

    Example:

        ndoo register import-type2 practice-type2.csv
    """
    report = reg.import_type2(database(ctx), file, actor=actor(ctx))
    if as_json:
        emit_json(report.as_dict())
        return
    click.echo(f"{report.file}: {report.rows} rows, {report.people} people")
    click.echo(f"  converted to national data opt-outs: {report.converted}")
    for label, lines in (
        ("already converted (unchanged)", report.already_converted),
        ("recorded after 11 October 2018, not converted", report.after_cutoff),
        ("withdrawn by 11 October 2018, not converted", report.withdrawn),
        ("not known to the register, not converted", report.not_known),
        ("deceased, not converted", report.deceased),
    ):
        if lines:
            shown = ", ".join(str(n) for n in lines[:20]) + (" …" if len(lines) > 20 else "")
            click.echo(f"  {label}: {len(lines)} (lines {shown})")


@register_group.command("snapshot")
@click.option("--as-of", help="The moment (ISO date or time); default now.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Write the numbers: .npy (int64) or any other name for ten-digit text lines.",
)
@json_option
@click.pass_context
@handle_errors
def snapshot_command(
    ctx: click.Context, as_of: str | None, out: Path | None, as_json: bool
) -> None:
    """Count (and optionally write) the NHS numbers with an opt-out in force.

    Example:

        ndoo register snapshot --as-of 2021-07-01 --out opted-out.txt
    """
    moment = parse_when(as_of, what="--as-of") if as_of else None
    numbers = reg.snapshot(database(ctx), moment)
    if out is not None:
        try:
            if out.suffix == ".npy":
                np.save(out, numbers)
            else:
                out.write_text("\n".join(to_text_array(numbers)) + ("\n" if numbers.size else ""))
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror}") from exc
    if as_json:
        emit_json({"opted_out": int(numbers.size), "out": str(out) if out else None})
        return
    click.echo(f"{numbers.size} opt-outs in force" + (f"; written to {out}" if out else ""))


@register_group.command("load")
@click.argument("directory", type=click.Path(path_type=Path))
@json_option
@click.pass_context
@handle_errors
def load_command(ctx: click.Context, directory: Path, as_json: bool) -> None:
    """Load practices, people and events (Parquet from `ndoo synth population`).

    Everything is checked first and loaded in one transaction into an empty register.

    Example:

        ndoo register load ndoo-data/synth
    """
    summary = load_population(database(ctx), directory, actor=actor(ctx))
    if as_json:
        emit_json(summary.as_dict())
        return
    click.echo(
        f"loaded {summary.practices} practices, {summary.people} people, "
        f"{summary.events} events; {summary.opted_out} opt-outs in force"
    )
