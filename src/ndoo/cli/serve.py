"""``ndoo serve``: the web service (citizen journey, staff console, JSON API) with uvicorn."""

from __future__ import annotations

import click

from ndoo.cli.common import get_settings, handle_errors


@click.command("serve")
@click.option("--host", help="Address to listen on (default: NDOO_WEB_HOST).")
@click.option("--port", type=int, help="Port to listen on (default: NDOO_WEB_PORT).")
@click.pass_context
@handle_errors
def serve_command(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web service until stopped (Ctrl-C).

    The database must be migrated (ndoo db upgrade). `ndoo demo` starts it together
    with the MESH sandbox and the checking service, with a demo staff account.

    Example:

        ndoo serve --port 8000
    """
    import uvicorn

    from ndoo.web.app import create_app

    settings = get_settings(ctx)
    app = create_app(settings)
    click.echo(f"Serving on http://{host or settings.web_host}:{port or settings.web_port}/")
    uvicorn.run(
        app,
        host=host or str(settings.web_host),
        port=port or int(settings.web_port),
        log_level=str(settings.log_level).lower(),
        access_log=False,
    )
