"""``ndoo mesh``: the MESH connection, and a local MESH sandbox."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import click

from ndoo.cli.common import get_settings, handle_errors, org_mailbox
from ndoo.errors import ConfigurationError
from ndoo.mesh.sandbox import DEFAULT_MAILBOXES, Sandbox


@click.group("mesh")
def mesh_group() -> None:
    """MESH, the NHS messaging system: check the connection, or run a local sandbox.

    Example:

        ndoo mesh handshake
    """


@mesh_group.command("handshake")
@click.pass_context
@handle_errors
def handshake_command(ctx: click.Context) -> None:
    """Validate this organisation's mailbox with MESH (NDOO_MESH_URL, NDOO_MESH_MAILBOX).

    Example:

        ndoo mesh handshake
    """
    with org_mailbox(ctx) as mailbox:
        mailbox.handshake()
        click.echo(f"MESH accepted mailbox {mailbox.mailbox} at {mailbox.config.url}.")


@mesh_group.command("sandbox")
@click.option("--port", type=int, help="Port on 127.0.0.1 (default: the port of NDOO_MESH_URL).")
@click.option(
    "--store",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the sandbox's mailboxes (default NDOO_HOME/mesh-sandbox).",
)
@click.option(
    "--mailbox",
    "mailboxes",
    multiple=True,
    help="A mailbox to create (repeatable); X26HC065, X26ORG01 and X26ORG02 always exist.",
)
@click.pass_context
@handle_errors
def sandbox_command(
    ctx: click.Context, port: int | None, store: Path | None, mailboxes: tuple[str, ...]
) -> None:
    """Run NHS England's MESH sandbox on loopback until Ctrl-C, for trying ndoo locally.

    Full token authentication with NDOO_MESH_SHARED_KEY; every mailbox's password is
    "password". Never a substitute for INT assurance: live MESH is stricter.

    Example:

        ndoo mesh sandbox --port 8700 --mailbox X26ORG03
    """
    settings = get_settings(ctx)
    if port is None:
        url = urlsplit(settings.mesh_url)
        if url.hostname not in ("127.0.0.1", "localhost") or url.port is None:
            raise ConfigurationError("NDOO_MESH_URL is not a loopback URL with a port; give --port")
        port = url.port
    folder = store or Path(settings.home) / "mesh-sandbox"
    sandbox = Sandbox.start(
        folder,
        shared_key=settings.mesh_shared_key.reveal(),
        port=port,
        mailboxes=(*DEFAULT_MAILBOXES, *(m.upper() for m in mailboxes)),
    )
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"MESH sandbox at {sandbox.url}, mailboxes in {folder}; Ctrl-C stops it.")
    try:
        while not stopping.wait(1.0):
            if not sandbox.running():
                raise ConfigurationError(f"the sandbox stopped; see {sandbox.log_path}")
    finally:
        sandbox.stop()
