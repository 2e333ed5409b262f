"""Everything the demo starts locally: a MESH sandbox and the checking service.

:func:`local_services` starts NHS England's MESH sandbox on the loopback port of
``NDOO_MESH_URL`` (or uses one already answering there) and ``ndoo pos serve`` as a
separate process polling every second, and stops what it started on exit.  With both
running, ``ndoo check run`` makes a real round trip over MESH on this machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from ndoo.errors import ConfigurationError
from ndoo.mesh.sandbox import Sandbox
from ndoo.settings import Settings

LOOPBACK = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class LocalServices:
    mesh_url: str
    started_sandbox: bool
    worker_log: Path
    worker: subprocess.Popen[bytes]

    def worker_running(self) -> bool:
        return self.worker.poll() is None


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=1).ok
    except requests.RequestException:
        return False


@contextmanager
def local_services(settings: Settings, *, poll_interval: float = 1.0) -> Iterator[LocalServices]:
    url = urlsplit(settings.mesh_url)
    if url.scheme != "http" or url.hostname not in LOOPBACK or url.port is None:
        raise ConfigurationError(
            f"the demo runs its own MESH sandbox, but NDOO_MESH_URL is {settings.mesh_url}; "
            "unset it (the default is http://127.0.0.1:8700) to run the demo"
        )
    home = Path(settings.home)
    home.mkdir(parents=True, exist_ok=True)
    sandbox: Sandbox | None = None
    if not _answers(settings.mesh_url):
        sandbox = Sandbox.start(
            home / "mesh-sandbox", shared_key=settings.mesh_shared_key.reveal(), port=url.port
        )
    log_path = home / "pos-serve.log"
    env = {
        **os.environ,
        "NDOO_HOME": str(home),
        "NDOO_DATABASE_URL": settings.database_url,
        "NDOO_MESH_URL": settings.mesh_url,
        "NDOO_MESH_SHARED_KEY": settings.mesh_shared_key.reveal(),
        "NDOO_POS_POLL_INTERVAL": str(poll_interval),
        "NDOO_LOG_LEVEL": "INFO",
    }
    with open(log_path, "ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "ndoo.cli.main", "pos", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        time.sleep(0.2)
        if worker.poll() is not None:
            raise ConfigurationError(f"the checking service stopped at start; see {log_path}")
        yield LocalServices(settings.mesh_url, sandbox is not None, log_path, worker)
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(15)
        if sandbox is not None:
            sandbox.stop()
