"""The web service running in this process, on a thread, for the demo and the browser tests.

``ndoo serve`` runs uvicorn in the foreground; :func:`running` starts the same server
on a background thread, waits until it answers, and stops it on exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from ndoo.errors import ConfigurationError


@contextmanager
def running(app: FastAPI, *, host: str = "127.0.0.1", port: int = 8000) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` until the block ends; yields the base URL."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="ndoo-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigurationError(
                f"the web service could not start on {host}:{port} (is the port in use?)"
            )
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
