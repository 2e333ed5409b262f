"""Where the opt-out information for a release comes from (``--source``).

- ``register``: the organisation runs the register itself; the opt-outs in force now
  (a snapshot, its time recorded).  Every valid number is covered: a number the
  register holds no opt-out for has none.
- ``cache``: a cached cleaned list from the Check for National Data Opt-outs service
  (:func:`ndoo.uphold.cache.use`, which refuses a list older than the allowed age
  and audits the use).  Only the numbers that were checked are covered.
- ``mesh``: a fresh check of exactly this dataset's numbers over MESH
  (:func:`ndoo.uphold.checking.run`); the answer is cached under the disclosure's
  reference and used as above.

Each gives a :class:`~ndoo.apply.rows.Lookup` and the provenance recorded in the
manifest.  The semantics are the real service's: keep the rows whose number is in
the cleaned list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from ndoo.apply.rows import Int64Array, Lookup
from ndoo.db import Database
from ndoo.errors import InputError
from ndoo.mesh.transport import Mailbox
from ndoo.register.records import current_snapshot
from ndoo.timeutil import iso
from ndoo.uphold import cache, checking
from ndoo.uphold.lists import from_numbers

SOURCES = ("register", "cache", "mesh")
#: The provenance kind of a release made when opt-outs do not apply to the disclosure.
NOT_APPLIED = "not_applied"


@dataclass(frozen=True)
class SourceChoice:
    """What the user asked for: ``kind`` and, for a cache, the cohort (default: the disclosure)."""

    kind: str = "register"
    cohort: str | None = None
    max_age: timedelta = timedelta(days=7)
    # For ``mesh``: a session on the organisation's mailbox and how to wait for the answer.
    mailbox: Callable[[], Mailbox] | None = None
    service: str = "X26HC065"
    wait: float = 3600.0
    poll_max: float = 300.0

    def __post_init__(self) -> None:
        if self.kind not in SOURCES:
            raise InputError(f"unknown source {self.kind!r}; use one of {', '.join(SOURCES)}")


@dataclass
class Resolved:
    """A source made ready: the lookup and what the manifest says about it."""

    lookup: Lookup
    provenance: dict[str, Any] = field(default_factory=dict)


def from_register(db: Database) -> Resolved:
    withheld, moment = current_snapshot(db)
    return Resolved(
        Lookup(withheld),
        {"kind": "register", "snapshot_at": iso(moment), "opted_out": int(withheld.size)},
    )


def from_cache(
    db: Database, cohort: str, *, disclosure: str, actor: str, max_age: timedelta
) -> Resolved:
    allow = cache.use(
        db,
        cohort,
        purpose=f"apply national data opt-outs to disclosure {disclosure}",
        actor=actor,
        max_age=max_age,
    )
    entry = allow.entry
    return Resolved(
        Lookup(allow.withheld(), allow.covered()),
        {
            "kind": "cache",
            "cohort": entry.cohort,
            "cache_entry": entry.id,
            "mode": entry.mode,
            "message_id": entry.message_id,
            "checked_at": iso(entry.checked_at),
            "age_hours": round(entry.age().total_seconds() / 3600, 2),
            "covered": entry.covered_count,
            "kept": entry.kept_count,
        },
    )


def from_check(
    db: Database,
    numbers: Int64Array,
    choice: SourceChoice,
    *,
    disclosure: str,
    actor: str,
) -> Resolved:
    """Check ``numbers`` now over MESH, cache the answer under the disclosure, use it."""
    if choice.mailbox is None:
        raise InputError("a MESH mailbox is needed to check the numbers (--source mesh)")
    if numbers.size == 0:
        raise InputError("the dataset holds no valid NHS numbers, so there is nothing to check")
    listed = from_numbers(np.asarray(numbers, dtype=np.int64), source=f"disclosure {disclosure}")
    with choice.mailbox() as mailbox:
        answer = checking.run(
            db,
            mailbox,
            listed,
            service=choice.service,
            cohort=disclosure,
            mode="disclosure",
            actor=actor,
            wait=choice.wait,
            poll_max=choice.poll_max,
        )
    resolved = from_cache(
        db, disclosure, disclosure=disclosure, actor=actor, max_age=choice.max_age
    )
    resolved.provenance.update(
        kind="mesh",
        request_message_id=answer.request.message_id,
        sent=int(numbers.size),
    )
    return resolved
