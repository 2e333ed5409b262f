"""Run the checking service once and kill the process at a named point.

``python -m tests.pos.killed_worker DB_URL MESH_URL SHARED_KEY POINT`` — used by the
tests to show that a worker killed by SIGKILL leaves nothing lost or doubled.
"""

from __future__ import annotations

import os
import signal
import sys

from ndoo.db import Database
from ndoo.mesh.transport import Mailbox, MailboxConfig
from ndoo.pos.service import CheckService
from ndoo.settings import Secret


def main() -> None:
    db_url, mesh_url, shared_key, point = sys.argv[1:5]
    config = MailboxConfig(mesh_url, "X26HC065", Secret("password"), Secret(shared_key))

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    with Mailbox(config) as mailbox:
        CheckService(Database(db_url), mailbox, faults={point: die}).poll()


if __name__ == "__main__":
    main()
