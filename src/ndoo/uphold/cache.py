"""The organisation's cache of cleaned lists: service data under the Check service's licence.

The Check for National Data Opt-outs service answers a list of NHS numbers with the
*cleaned list*: the numbers sent minus those of people with an opt-out — an
allow-list.  Its licence makes the cleaned list service data that may be accessed
only to apply opt-outs, must not be added to patient records, and must not become a
per-patient "is this person opted out" lookup.  The Operational Policy Guidance
allows two ways of using it, kept here as an entry's ``mode``:

- ``disclosure``: a one-off check of one disclosure's numbers; ``cohort`` is the
  disclosure's reference;
- ``cohort``: a temporary cache of everyone the organisation has a legitimate
  relationship with, checked again on a schedule (:func:`due`).

How the licence shapes this module:

- **Only the current list is kept.**  :func:`store` makes the new entry current and
  erases the lists of the one it supersedes, keeping its metadata (when it was
  checked, which message, how many numbers) as evidence.  A response that arrives
  after a newer check of the same cohort is recorded already superseded, its lists
  not kept: the newest check wins.  :func:`erase` erases a cohort's lists on demand.
- **Access is only to apply opt-outs, and every access is audited.**  :func:`use`
  hands out an :class:`AllowList` after checking the list's age and writing an audit
  entry (``cache.use``, refused or allowed, with the stated purpose), and
  :func:`apply_table` removes the rows of people not in the cleaned list from a whole
  table.  Neither offers a lookup of one person: the lists are never returned, only
  masks over a caller's own numbers.  :func:`entries`, :func:`current` and
  :func:`due` give metadata only.
- **The list is temporary.**  :func:`use` refuses a list older than ``max_age``
  (the organisation's ``NDOO_CACHE_MAX_AGE_DAYS``), measured from ``checked_at``.
  Store the time the request was *sent* as ``checked_at`` when the service gives no
  better one: the service cannot have checked earlier, so ages are never understated.
- The *covered* list — the numbers that were checked, the organisation's own data —
  is kept beside the cleaned list, because a table can be filtered safely only if
  every row's number was checked (:func:`apply_table` refuses rows that were not),
  and because refreshing a cohort means sending it again (:func:`covered_numbers`).

Audit entries never hold NHS numbers (:mod:`ndoo.audit` refuses them), so cohort
names and purposes that look like one are refused up front (:func:`check_cohort`).

The lists are stored as :mod:`ndoo.numberstore` blobs (:func:`encode_numbers`);
an entry's metadata is a :class:`~ndoo.uphold.cacheentry.CacheEntry`, and
:class:`AllowList` (:mod:`ndoo.uphold.allowlist`) applies a cleaned list.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sqlalchemy import Connection, or_, select, update

from ndoo import audit
from ndoo.db import Database
from ndoo.db.models import CACHE_MODES, cache_entry
from ndoo.errors import (
    CacheEntryExpired,
    CacheEntryNotFound,
    CheckResponseMismatch,
    InputError,
    NdooError,
)
from ndoo.nhs_number import validate_array
from ndoo.numberstore import FORMAT_VERSION, decode_numbers, distinct, encode_numbers
from ndoo.timeutil import aware, iso, to_db, utcnow
from ndoo.uphold.allowlist import AllowList, in_sorted
from ndoo.uphold.cacheentry import (
    HOLDS,
    MAX_COHORT_LENGTH,
    META,
    CacheEntry,
    check_cohort,
    current_query,
    entry_from_row,
    no_nhs_number,
    not_found,
)
from ndoo.uphold.values import parse_column

__all__ = [
    "FORMAT_VERSION",
    "MAX_COHORT_LENGTH",
    "MAX_REPORTED",
    "AllowList",
    "ApplyCounts",
    "CacheEntry",
    "apply_table",
    "check_cohort",
    "covered_numbers",
    "current",
    "decode_numbers",
    "due",
    "encode_numbers",
    "entries",
    "erase",
    "store",
    "use",
]

Int64Array = npt.NDArray[np.int64]

#: Row numbers named in an error before "and N more".
MAX_REPORTED = 20


# ---------------------------------------------------------------------------
# Entries


def entries(db: Database, *, include_superseded: bool = False) -> list[CacheEntry]:
    """Metadata of the cached lists, by cohort, newest first within a cohort."""
    query = select(*META, HOLDS).order_by(cache_entry.c.cohort, cache_entry.c.id.desc())
    if not include_superseded:
        query = query.where(cache_entry.c.superseded_at.is_(None))
    with db.read() as conn:
        return [entry_from_row(row) for row in conn.execute(query).mappings()]


def current(db: Database, cohort: str) -> CacheEntry:
    """The cohort's current entry, or :class:`~ndoo.errors.CacheEntryNotFound`."""
    check_cohort(cohort)
    with db.read() as conn:
        row = conn.execute(current_query(cohort, *META, HOLDS)).mappings().first()
    if row is None:
        raise not_found(cohort)
    return entry_from_row(row)


def due(db: Database, *, older_than: timedelta, now: datetime | None = None) -> list[CacheEntry]:
    """Current cohort-mode entries checked at least ``older_than`` ago, oldest first.

    Disclosure-mode entries are one-off checks and never due; erased cohorts have no
    current entry and are not due either (check them again deliberately).
    """
    moment = aware(now) if now is not None else utcnow()
    query = (
        select(*META, HOLDS)
        .where(
            cache_entry.c.mode == "cohort",
            cache_entry.c.superseded_at.is_(None),
            cache_entry.c.covered.is_not(None),
            cache_entry.c.checked_at <= to_db(moment - older_than),
        )
        .order_by(cache_entry.c.checked_at, cache_entry.c.id)
    )
    with db.read() as conn:
        return [entry_from_row(row) for row in conn.execute(query).mappings()]


def covered_numbers(db: Database, cohort: str) -> Int64Array:
    """The numbers the cohort's current check covered — the list sent, not the cleaned list.

    This is the organisation's own cohort, needed to check it again.
    """
    check_cohort(cohort)
    with db.read() as conn:
        blob = conn.execute(current_query(cohort, cache_entry.c.covered)).scalar()
    if blob is None:
        raise not_found(cohort)
    return decode_numbers(blob)


# ---------------------------------------------------------------------------
# Storing and erasing


def store(
    conn: Connection,
    *,
    cohort: str,
    mode: str,
    check_request_id: int,
    message_id: str,
    checked_at: datetime,
    covered: npt.ArrayLike,
    kept: npt.ArrayLike,
    actor: str,
) -> CacheEntry:
    """Store a cleaned list inside the caller's transaction; it becomes the cohort's current.

    ``covered`` is the list that was checked, ``kept`` the service's cleaned list;
    both are stored as distinct sorted numbers.  ``kept`` must be a subset of
    ``covered`` (:class:`~ndoo.errors.CheckResponseMismatch` otherwise).  The entry
    it supersedes keeps its metadata but loses its lists.  If the cohort's current
    entry was checked later than this one, this one is recorded already superseded
    and without its lists, and the current entry stays.
    """
    check_cohort(cohort)
    if mode not in CACHE_MODES:
        raise InputError(f"mode must be one of {', '.join(CACHE_MODES)}, not {mode!r}")
    try:
        audit.canonical_detail({"message_id": message_id})
    except ValueError:
        raise InputError("message_id must be a MESH message id") from None
    checked = distinct(covered)
    cleaned = distinct(kept)
    if checked.size == 0:
        raise InputError(f"cohort {cohort!r}: an empty checked list cannot be cached")
    invalid = int(np.count_nonzero(~validate_array(checked)))
    if invalid:
        raise InputError(
            f"cohort {cohort!r}: the checked list holds {invalid} invalid NHS numbers; "
            "it was not stored"
        )
    strangers = int(np.count_nonzero(~in_sorted(checked, cleaned)))
    if strangers:
        raise CheckResponseMismatch(
            f"the response for cohort {cohort!r} (message {message_id}) holds {strangers} "
            "numbers that were not sent; it was not stored",
            cohort=cohort,
            message_id=message_id,
            count=strangers,
        )
    now = to_db(utcnow())
    checked_at_db = to_db(checked_at)
    previous = conn.execute(
        current_query(cohort, cache_entry.c.id, cache_entry.c.checked_at).with_for_update()
    ).all()
    stale = any(row.checked_at > checked_at_db for row in previous)
    superseded = [] if stale else [int(row.id) for row in previous]
    if superseded:
        # Before the insert: at most one current entry per cohort (a unique index).
        conn.execute(
            update(cache_entry)
            .where(cache_entry.c.id.in_(superseded))
            .values(superseded_at=now, covered=None, kept=None)
        )
    inserted = conn.execute(
        cache_entry.insert().values(
            cohort=cohort,
            mode=mode,
            check_request_id=check_request_id,
            message_id=message_id,
            checked_at=checked_at_db,
            stored_at=now,
            covered_count=int(checked.size),
            kept_count=int(cleaned.size),
            covered=None if stale else encode_numbers(checked),
            kept=None if stale else encode_numbers(cleaned),
            superseded_at=now if stale else None,
        )
    )
    assert inserted.inserted_primary_key is not None
    entry_id = int(inserted.inserted_primary_key[0])
    audit.record(
        conn,
        actor=actor,
        action="cache.store",
        outcome="stale" if stale else "ok",
        cohort=cohort,
        mode=mode,
        entry=entry_id,
        request_id=int(check_request_id),
        message_id=message_id,
        covered=int(checked.size),
        kept=int(cleaned.size),
        superseded=superseded,
    )
    row = conn.execute(select(*META, HOLDS).where(cache_entry.c.id == entry_id)).mappings().one()
    return entry_from_row(row)


def erase(db: Database, cohort: str, *, actor: str) -> int:
    """Erase the lists of every entry of a cohort; returns how many entries held lists.

    The metadata stays as evidence and the current entry becomes superseded, so the
    cohort has no usable list until it is checked again.
    """
    check_cohort(cohort)
    with db.write() as conn:
        rows = conn.execute(
            select(
                cache_entry.c.id,
                or_(cache_entry.c.covered.is_not(None), cache_entry.c.kept.is_not(None)),
            ).where(cache_entry.c.cohort == cohort)
        ).all()
        if not rows:
            raise CacheEntryNotFound(
                f"nothing is cached for cohort {cohort!r}; `ndoo cache list` shows the cohorts",
                cohort=cohort,
            )
        held = [int(entry_id) for entry_id, holds in rows if holds]
        if held:
            conn.execute(
                update(cache_entry)
                .where(cache_entry.c.id.in_(held))
                .values(covered=None, kept=None)
            )
        conn.execute(
            update(cache_entry)
            .where(cache_entry.c.cohort == cohort, cache_entry.c.superseded_at.is_(None))
            .values(superseded_at=to_db(utcnow()))
        )
        audit.record(conn, actor=actor, action="cache.erase", cohort=cohort, entries=held)
    return len(held)


# ---------------------------------------------------------------------------
# Using


def _span(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [
        f"{value} {unit}{'' if value == 1 else 's'}"
        for value, unit in ((days, "day"), (hours, "hour"), (mins, "minute"))
        if value
    ]
    return " ".join(parts) or "less than a minute"


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def _expired(entry: CacheEntry, age: timedelta, max_age: timedelta) -> CacheEntryExpired:
    return CacheEntryExpired(
        f"the cleaned list of cohort {entry.cohort!r} was checked on "
        f"{entry.checked_at:%Y-%m-%d at %H:%M} UTC, {_span(age)} ago, and the most allowed "
        f"is {_span(max_age)} (NDOO_CACHE_MAX_AGE_DAYS), so it was not used; check the "
        f"cohort again with `ndoo cache refresh {shlex.quote(entry.cohort)}`, then retry",
        cohort=entry.cohort,
        entry=entry.id,
        checked_at=iso(entry.checked_at),
        age_hours=_hours(age),
        max_age_hours=_hours(max_age),
    )


def _check_purpose(purpose: str) -> None:
    if not isinstance(purpose, str) or not purpose.strip():
        raise InputError("say what the cleaned list is used for (the purpose is audited)")
    no_nhs_number(purpose, "a purpose")


def use(
    db: Database,
    cohort: str,
    *,
    purpose: str,
    actor: str,
    max_age: timedelta,
    now: datetime | None = None,
) -> AllowList:
    """The cohort's cleaned list, to apply opt-outs, if it is younger than ``max_age``.

    Every call is audited (``cache.use``): allowed, or refused because there is no
    list (:class:`~ndoo.errors.CacheEntryNotFound`) or it is too old
    (:class:`~ndoo.errors.CacheEntryExpired`).  The refusal is committed before it is
    raised.
    """
    check_cohort(cohort)
    _check_purpose(purpose)
    if max_age <= timedelta(0):
        raise InputError("the maximum age of a cleaned list must be positive")
    moment = aware(now) if now is not None else utcnow()
    refusal: NdooError | None = None
    found: tuple[CacheEntry, bytes, bytes] | None = None
    with db.write() as conn:
        row = (
            conn.execute(
                current_query(cohort, *META, HOLDS, cache_entry.c.kept, cache_entry.c.covered)
            )
            .mappings()
            .first()
        )
        if row is None or row["kept"] is None or row["covered"] is None:
            audit.record(
                conn,
                actor=actor,
                action="cache.use",
                outcome="refused",
                cohort=cohort,
                purpose=purpose,
                reason="no cleaned list",
            )
            refusal = not_found(cohort)
        else:
            entry = entry_from_row(row)
            age = entry.age(moment)
            allowed = age <= max_age
            audit.record(
                conn,
                actor=actor,
                action="cache.use",
                outcome="ok" if allowed else "refused",
                cohort=cohort,
                entry=entry.id,
                purpose=purpose,
                age_hours=_hours(age),
                max_age_hours=_hours(max_age),
                **({} if allowed else {"reason": "too old"}),
            )
            if allowed:
                found = (entry, row["kept"], row["covered"])
            else:
                refusal = _expired(entry, age, max_age)
    if refusal is not None:
        raise refusal
    assert found is not None
    entry, kept, covered = found
    return AllowList(entry, decode_numbers(kept), decode_numbers(covered))


@dataclass(frozen=True)
class ApplyCounts:
    """What :func:`apply_table` did: rows in, rows kept, rows removed."""

    rows_in: int
    rows_out: int
    rows_removed: int


def _rows_named(indices: npt.NDArray[np.intp]) -> str:
    shown = ", ".join(str(int(i) + 1) for i in indices[:MAX_REPORTED])
    more = indices.size - min(indices.size, MAX_REPORTED)
    return f"row{'s' if indices.size > 1 else ''} {shown}" + (f" and {more} more" if more else "")


def apply_table(
    db: Database,
    cohort: str,
    table: pa.Table,
    column: str,
    *,
    purpose: str,
    actor: str,
    max_age: timedelta,
    now: datetime | None = None,
) -> tuple[pa.Table, ApplyCounts]:
    """Remove the rows of ``table`` whose NHS number is not in the cohort's cleaned list.

    Whole rows go, every column, and the rows kept stay in order with their values
    unchanged; ``column``'s values are normalised only to match them (as
    :mod:`ndoo.uphold.lists` does).  A row without a valid number, or with a number
    the cohort's check did not cover, is neither kept nor dropped silently: the
    table is refused (:class:`~ndoo.errors.InputError`, naming the rows from 1).
    The use is audited (``cache.use``), and so is the outcome (``cache.apply``).
    """
    if column not in table.column_names:
        names = ", ".join(repr(n) for n in table.column_names)
        raise InputError(
            f"the table has no column {column!r}; its columns are: {names}", field=column
        )
    numbers, valid = parse_column(table.column(column), field=column)
    invalid = np.flatnonzero(~valid)
    if invalid.size:
        raise InputError(
            f"{invalid.size} {'row has' if invalid.size == 1 else 'rows have'} no valid NHS "
            f"number in column {column!r} ({_rows_named(invalid)}); correct or remove "
            "them and try again (nothing was applied)",
            field=column,
            count=int(invalid.size),
            rows=[int(i) + 1 for i in invalid[:MAX_REPORTED]],
        )
    allow = use(db, cohort, purpose=purpose, actor=actor, max_age=max_age, now=now)
    rows_in = table.num_rows
    uncovered = np.flatnonzero(~allow.covers(numbers))
    if uncovered.size:
        with db.write() as conn:
            audit.record(
                conn,
                actor=actor,
                action="cache.apply",
                outcome="refused",
                cohort=cohort,
                entry=allow.entry.id,
                purpose=purpose,
                rows_in=rows_in,
                uncovered=int(uncovered.size),
            )
        raise InputError(
            f"{uncovered.size} {'row holds' if uncovered.size == 1 else 'rows hold'} NHS "
            f"numbers that the check of cohort {cohort!r} did not cover "
            f"({_rows_named(uncovered)}), so their opt-outs are unknown; check a list that "
            "includes them, or remove those rows (nothing was applied)",
            field=column,
            count=int(uncovered.size),
            rows=[int(i) + 1 for i in uncovered[:MAX_REPORTED]],
        )
    keep = allow.apply(numbers)
    result = table.filter(pa.array(keep, type=pa.bool_()))
    counts = ApplyCounts(rows_in, result.num_rows, rows_in - result.num_rows)
    with db.write() as conn:
        audit.record(
            conn,
            actor=actor,
            action="cache.apply",
            cohort=cohort,
            entry=allow.entry.id,
            purpose=purpose,
            rows_in=counts.rows_in,
            rows_out=counts.rows_out,
            rows_removed=counts.rows_removed,
        )
    return result, counts
