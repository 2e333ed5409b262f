"""``ndoo pos``: the national Check for National Data Opt-outs service."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from ndoo.cli.common import database, emit_json, get_settings, handle_errors, json_option
from ndoo.mesh.transport import Mailbox, MailboxConfig
from ndoo.pos import state
from ndoo.pos.service import CheckService, serve


@click.group("pos")
def pos_group() -> None:
    """The checking service: answer check requests arriving over MESH from the register.

    Example:

        ndoo pos serve
    """


@pos_group.command("serve")
@click.option(
    "--interval",
    type=float,
    help="Seconds between polls (default NDOO_POS_POLL_INTERVAL, 300).",
)
@click.option("--once", is_flag=True, help="Poll once, answer what is waiting, and stop.")
@click.pass_context
@handle_errors
def serve_command(ctx: click.Context, interval: float | None, once: bool) -> None:
    """Poll NDOO_CHECK_MAILBOX and answer every request until stopped (Ctrl-C or SIGTERM).

    Each request is checked against the register as it is when processed; the cleaned
    list and a JSON receipt go back to the sender, and only then is the request
    acknowledged. A restart resumes where the last run stopped.

    Example:

        NDOO_POS_POLL_INTERVAL=300 ndoo pos serve
    """
    settings = get_settings(ctx)
    config = MailboxConfig.from_settings(
        settings, mailbox=settings.check_mailbox, password=settings.pos_password
    )
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    every = interval if interval is not None else float(settings.pos_poll_interval)
    with Mailbox(config) as mailbox:
        service = CheckService(database(ctx), mailbox, page_size=settings.pos_page_size)
        click.echo(
            f"Checking service on mailbox {config.mailbox} at {config.url}, "
            f"polling every {every:g} s" + (" (once)" if once else ""),
            err=True,
        )
        polls = serve(
            service,
            interval=every,
            stop=stopping.is_set,
            sleep=lambda seconds: _wait(stopping, seconds),
            max_polls=1 if once else None,
        )
    click.echo(f"Stopped after {polls} poll(s).", err=True)


@pos_group.command("status")
@click.option("--limit", default=20, show_default=True, help="How many requests, newest first.")
@json_option
@click.pass_context
@handle_errors
def status_command(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List the requests the service has handled, with their state and counts.

    Example:

        ndoo pos status --limit 5
    """
    rows = state.recent(database(ctx), limit=limit)
    if as_json:
        emit_json([row.as_dict() for row in rows])
        return
    if not rows:
        click.echo("No requests handled yet.")
        return
    click.echo(
        f"{'first seen (UTC)':<17} {'sender':<10} {'type':<6} {'state':<16} "
        f"{'outcome':<15} {'received':>10} {'returned':>10}"
    )
    for row in rows:
        click.echo(
            f"{row.first_seen_at:%Y-%m-%d %H:%M} {row.sender or '-':<10} {row.message_type:<6} "
            f"{row.state:<16} {row.outcome or '-':<15} {_count(row.received_count):>10} "
            f"{_count(row.returned_count):>10}"
        )


def _count(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"


def _wait(stopping: threading.Event, seconds: float) -> None:
    """Sleep, waking at once when asked to stop."""
    stopping.wait(seconds)
