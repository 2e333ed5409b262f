"""A cache entry: one cleaned list's metadata, and the cohort name it is filed under.

:class:`CacheEntry` is what :mod:`ndoo.uphold.cache` hands out about a cleaned list —
when it was checked, by which message, how many numbers — and never its numbers.
:func:`check_cohort` checks the name of a cohort or disclosure, which goes into audit
entries and so must never look like an NHS number (:func:`no_nhs_number`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ndoo import audit
from ndoo.db.models import cache_entry
from ndoo.errors import CacheEntryNotFound, InputError
from ndoo.timeutil import aware, from_db, iso, utcnow

MAX_COHORT_LENGTH = 200


@dataclass(frozen=True)
class CacheEntry:
    """One cleaned list's metadata; never its numbers.

    ``holds_lists`` is false once the lists were erased (superseded or
    :func:`~ndoo.uphold.cache.erase`); the metadata stays as evidence of what was
    checked and when.
    """

    id: int
    cohort: str
    mode: str
    message_id: str
    checked_at: datetime
    stored_at: datetime
    covered_count: int
    kept_count: int
    superseded_at: datetime | None
    check_request_id: int
    holds_lists: bool

    def age(self, now: datetime | None = None) -> timedelta:
        """How long ago the list was checked."""
        return (aware(now) if now is not None else utcnow()) - self.checked_at

    @property
    def removed_count(self) -> int:
        """How many checked numbers the service removed (an aggregate, not who)."""
        return self.covered_count - self.kept_count

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("checked_at", "stored_at", "superseded_at"):
            value = out[key]
            out[key] = iso(value) if value is not None else None
        return out


#: The columns of an entry's metadata: all but its lists.
META = [c for c in cache_entry.c if c.name not in ("covered", "kept")]
#: Whether the entry still holds its lists, as the ``holds_lists`` column.
HOLDS = cache_entry.c.covered.is_not(None).label("holds_lists")


def entry_from_row(row: Any) -> CacheEntry:
    """The entry of a row selected with :data:`META` and :data:`HOLDS`."""
    superseded = row["superseded_at"]
    return CacheEntry(
        id=int(row["id"]),
        cohort=row["cohort"],
        mode=row["mode"],
        message_id=row["message_id"],
        checked_at=from_db(row["checked_at"]),
        stored_at=from_db(row["stored_at"]),
        covered_count=int(row["covered_count"]),
        kept_count=int(row["kept_count"]),
        superseded_at=from_db(superseded) if superseded is not None else None,
        check_request_id=int(row["check_request_id"]),
        holds_lists=bool(row["holds_lists"]),
    )


def check_cohort(cohort: str) -> str:
    """``cohort`` if it can name a cohort or disclosure: 1-200 characters, no NHS number.

    The name goes into audit entries, which must never hold an NHS number.
    """
    if not isinstance(cohort, str) or not cohort.strip() or len(cohort) > MAX_COHORT_LENGTH:
        raise InputError(
            f"a cohort or disclosure reference of 1 to {MAX_COHORT_LENGTH} characters is needed"
        )
    if not cohort.isprintable():
        raise InputError("a cohort or disclosure reference cannot hold control characters")
    no_nhs_number(cohort, "a cohort or disclosure reference")
    return cohort


def no_nhs_number(text: str, what: str) -> None:
    """Refuse ``text``, described as ``what``, if it looks like an NHS number to the audit trail."""
    try:
        audit.canonical_detail({"text": text})
    except ValueError:
        raise InputError(
            f"{what} cannot hold ten digits in a row (it would look like an NHS number in "
            "the audit trail); choose another"
        ) from None


def not_found(cohort: str) -> CacheEntryNotFound:
    """The error for a cohort without a cleaned list, saying how to check it."""
    name = shlex.quote(cohort)
    return CacheEntryNotFound(
        f"no cleaned list is cached for cohort {cohort!r}; check it first with "
        f"`ndoo check run FILE --cohort {name}`, or see the cached cohorts with "
        "`ndoo cache list`",
        cohort=cohort,
    )


def current_query(cohort: str, *columns: Any) -> Any:
    """A query of ``columns`` of the cohort's current entry (at most one row)."""
    return (
        select(*columns)
        .where(cache_entry.c.cohort == cohort, cache_entry.c.superseded_at.is_(None))
        .order_by(cache_entry.c.id.desc())
    )
