"""A real MESH server on loopback: NHS England's ``mesh-sandbox``, run as a subprocess.

The sandbox serves the MESH API with full token authentication (HMAC with a shared
key) and a file store in which every upper-case folder is a mailbox (password
``password``).  ndoo starts it for the demo (``ndoo mesh sandbox``, ``ndoo demo``)
and for its tests; it is never a stand-in for live MESH, which is stricter (see the
operator guide).  It needs the ``sandbox`` extra: ``pip install 'ndoo[sandbox]'``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import requests

from ndoo.errors import ConfigurationError, MeshUnavailable

#: Mailboxes a local sandbox always has: the checking service and two organisations.
DEFAULT_MAILBOXES = ("X26HC065", "X26ORG01", "X26ORG02")
SANDBOX_PASSWORD = "password"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sandbox:
    """A running mesh-sandbox.  ``url`` is its base URL; stop it with :meth:`stop`."""

    store: Path
    port: int
    shared_key: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        store: Path,
        *,
        shared_key: str,
        port: int | None = None,
        mailboxes: Iterable[str] = DEFAULT_MAILBOXES,
        timeout: float = 30.0,
    ) -> Sandbox:
        """Start a sandbox serving ``mailboxes`` from ``store`` and wait until it answers."""
        try:
            import mesh_sandbox  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError as exc:
            raise ConfigurationError(
                "the MESH sandbox is not installed; install the extra: pip install 'ndoo[sandbox]'"
            ) from exc
        store.mkdir(parents=True, exist_ok=True)
        for mailbox in mailboxes:
            (store / mailbox.upper()).mkdir(exist_ok=True)
        sandbox = cls(store=store, port=port or free_port(), shared_key=shared_key)
        sandbox.log_path = store.parent / f"{store.name}.log"
        env = {
            **os.environ,
            "AUTH_MODE": "full",
            "STORE_MODE": "file",
            "MAILBOXES_DATA_DIR": str(store),
            "SHARED_KEY": shared_key,
            "ENV": "local",
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "mesh_sandbox.api:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(sandbox.port),
            "--workers",
            "1",
            "--log-level",
            "warning",
        ]
        with open(sandbox.log_path, "ab") as log:
            sandbox.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        sandbox.wait_ready(timeout)
        return sandbox

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise MeshUnavailable(
                    f"the MESH sandbox exited at start (code {self.process.returncode}); "
                    f"see {self.log_path}"
                )
            try:
                if requests.get(f"{self.url}/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise MeshUnavailable(f"the MESH sandbox did not answer within {timeout:g} s")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def reset(self) -> None:
        """Empty every mailbox: remove stored messages, then reload the (empty) store."""
        for mailbox in self.store.iterdir():
            inbox = mailbox / "in"
            if mailbox.is_dir() and inbox.exists():
                shutil.rmtree(inbox)
        response = requests.delete(f"{self.url}/messageexchange/admin/reset", timeout=10)
        response.raise_for_status()

    def inject_report(
        self,
        mailbox: str,
        *,
        code: str,
        description: str,
        workflow_id: str,
        local_id: str | None = None,
        linked_message_id: str | None = None,
    ) -> str:
        """Put a MESH error REPORT (as MESH sends for an undelivered message) in an inbox."""
        response = requests.post(
            f"{self.url}/messageexchange/admin/report",
            json={
                "mailbox_id": mailbox,
                "code": code,
                "description": description,
                "workflow_id": workflow_id,
                "local_id": local_id,
                "linked_message_id": linked_message_id,
            },
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["message_id"])

    def expire(self, message_id: str) -> None:
        """Mark a message expired, as MESH does after five days uncollected (then 410)."""
        response = requests.post(
            f"{self.url}/messageexchange/admin/message/{message_id}/event",
            json={"status": "expired", "code": "14", "description": "expired"},
            timeout=10,
        )
        response.raise_for_status()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
