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

**Storage format** of the ``covered`` and ``kept`` columns (:func:`encode_numbers`)::

    byte 0       format version, 1
    bytes 1-8    count of numbers, unsigned 64-bit little-endian
    bytes 9-12   CRC-32 of the uncompressed payload, unsigned 32-bit little-endian
    bytes 13-    the payload, compressed with zstd (level 3)

The version-1 payload holds the distinct numbers in ascending order as deltas (the
first number, then each difference from the one before) in 64-bit little-endian
integers, byte-shuffled: all first bytes, then all second bytes, and so on.  Deltas
of a sorted list are small, so the high byte planes are runs of zeros that compress
to almost nothing — about 1 to 2 bytes a number, 3.5 million numbers in 4 to 7 MB —
and 10 million numbers encode or decode in a few tenths of a second.  The layout is
fixed-endian and zstd comes with pyarrow, which ndoo requires, so a blob moves
between machines and databases unchanged.  A new layout takes a new version byte;
a version this code does not know is refused, never guessed at.
"""

from __future__ import annotations

import shlex
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
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
    StorageError,
)
from ndoo.nhs_number import validate_array
from ndoo.timeutil import aware, from_db, iso, to_db, utcnow
from ndoo.uphold.lists import distinct, parse_column

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FORMAT_VERSION = 1
_HEADER = struct.Struct("<BQI")
_CODEC = "zstd"
_LEVEL = 3
#: Row numbers named in an error before "and N more".
MAX_REPORTED = 20
MAX_COHORT_LENGTH = 200


# ---------------------------------------------------------------------------
# Encoding


def encode_numbers(numbers: npt.ArrayLike) -> bytes:
    """The stored form of a list of numbers: its distinct values, ascending (format v1)."""
    values = distinct(numbers)
    if values.size and values[0] < 0:
        raise ValueError("only non-negative numbers can be stored")
    deltas = np.empty_like(values)
    if values.size:
        deltas[0] = values[0]
        np.subtract(values[1:], values[:-1], out=deltas[1:])
    payload = deltas.astype("<i8", copy=False).view(np.uint8).reshape(-1, 8).T.tobytes()
    compressed = pa.Codec(_CODEC, compression_level=_LEVEL).compress(payload, asbytes=True)
    header = _HEADER.pack(FORMAT_VERSION, values.size, zlib.crc32(payload))
    return header + bytes(compressed)


def decode_numbers(blob: bytes) -> Int64Array:
    """The numbers a blob from :func:`encode_numbers` holds, ascending."""
    data = bytes(blob)
    if len(data) < _HEADER.size:
        raise StorageError("a stored list of numbers is truncated")
    version, count, crc = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise StorageError(
            f"a stored list of numbers is in format {version}, which this version of ndoo "
            "cannot read; upgrade ndoo"
        )
    size = count * 8
    try:
        payload = pa.Codec(_CODEC).decompress(
            data[_HEADER.size :], decompressed_size=size, asbytes=True
        )
    except (pa.ArrowException, OSError) as exc:
        raise StorageError("a stored list of numbers is damaged (it does not decompress)") from exc
    if len(payload) != size or zlib.crc32(payload) != crc:
        raise StorageError("a stored list of numbers is damaged (its checksum does not match)")
    planes = np.frombuffer(payload, dtype=np.uint8).reshape(8, count)
    deltas = np.ascontiguousarray(planes.T).view("<i8").reshape(count)
    return np.cumsum(deltas, dtype=np.int64)


# ---------------------------------------------------------------------------
# Entries


@dataclass(frozen=True)
class CacheEntry:
    """One cleaned list's metadata; never its numbers.

    ``holds_lists`` is false once the lists were erased (superseded or
    :func:`erase`); the metadata stays as evidence of what was checked and when.
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


_META = [c for c in cache_entry.c if c.name not in ("covered", "kept")]
_HOLDS = cache_entry.c.covered.is_not(None).label("holds_lists")


def _entry(row: Any) -> CacheEntry:
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
    _no_nhs_number(cohort, "a cohort or disclosure reference")
    return cohort


def _no_nhs_number(text: str, what: str) -> None:
    try:
        audit.canonical_detail({"text": text})
    except ValueError:
        raise InputError(
            f"{what} cannot hold ten digits in a row (it would look like an NHS number in "
            "the audit trail); choose another"
        ) from None


def _not_found(cohort: str) -> CacheEntryNotFound:
    name = shlex.quote(cohort)
    return CacheEntryNotFound(
        f"no cleaned list is cached for cohort {cohort!r}; check it first with "
        f"`ndoo check run FILE --cohort {name}`, or see the cached cohorts with "
        "`ndoo cache list`",
        cohort=cohort,
    )


def _current_query(cohort: str, *columns: Any) -> Any:
    return (
        select(*columns)
        .where(cache_entry.c.cohort == cohort, cache_entry.c.superseded_at.is_(None))
        .order_by(cache_entry.c.id.desc())
    )


def entries(db: Database, *, include_superseded: bool = False) -> list[CacheEntry]:
    """Metadata of the cached lists, by cohort, newest first within a cohort."""
    query = select(*_META, _HOLDS).order_by(cache_entry.c.cohort, cache_entry.c.id.desc())
    if not include_superseded:
        query = query.where(cache_entry.c.superseded_at.is_(None))
    with db.read() as conn:
        return [_entry(row) for row in conn.execute(query).mappings()]


def current(db: Database, cohort: str) -> CacheEntry:
    """The cohort's current entry, or :class:`~ndoo.errors.CacheEntryNotFound`."""
    check_cohort(cohort)
    with db.read() as conn:
        row = conn.execute(_current_query(cohort, *_META, _HOLDS)).mappings().first()
    if row is None:
        raise _not_found(cohort)
    return _entry(row)


def due(db: Database, *, older_than: timedelta, now: datetime | None = None) -> list[CacheEntry]:
    """Current cohort-mode entries checked at least ``older_than`` ago, oldest first.

    Disclosure-mode entries are one-off checks and never due; erased cohorts have no
    current entry and are not due either (check them again deliberately).
    """
    moment = aware(now) if now is not None else utcnow()
    query = (
        select(*_META, _HOLDS)
        .where(
            cache_entry.c.mode == "cohort",
            cache_entry.c.superseded_at.is_(None),
            cache_entry.c.covered.is_not(None),
            cache_entry.c.checked_at <= to_db(moment - older_than),
        )
        .order_by(cache_entry.c.checked_at, cache_entry.c.id)
    )
    with db.read() as conn:
        return [_entry(row) for row in conn.execute(query).mappings()]


def covered_numbers(db: Database, cohort: str) -> Int64Array:
    """The numbers the cohort's current check covered — the list sent, not the cleaned list.

    This is the organisation's own cohort, needed to check it again.
    """
    check_cohort(cohort)
    with db.read() as conn:
        blob = conn.execute(_current_query(cohort, cache_entry.c.covered)).scalar()
    if blob is None:
        raise _not_found(cohort)
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
    strangers = int(np.count_nonzero(~_member(checked, cleaned)))
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
        _current_query(cohort, cache_entry.c.id, cache_entry.c.checked_at).with_for_update()
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
    row = conn.execute(select(*_META, _HOLDS).where(cache_entry.c.id == entry_id)).mappings().one()
    return _entry(row)


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


def _member(sorted_values: Int64Array, probes: Int64Array) -> BoolArray:
    """Membership of ``probes`` in an ascending array (binary search; quick when sorted)."""
    if sorted_values.size == 0:
        return np.zeros(probes.shape, dtype=bool)
    index = np.searchsorted(sorted_values, probes)
    np.minimum(index, sorted_values.size - 1, out=index)
    found: BoolArray = sorted_values[index] == probes
    return found


def _as_numbers(numbers: npt.ArrayLike) -> Int64Array:
    array = np.asarray(numbers)
    if array.size and array.dtype.kind not in "iu":
        raise InputError(
            "the numbers must be integers; normalise text with ndoo.uphold.lists.parse_column"
        )
    return array.astype(np.int64, copy=False)


#: Largest bitmap built for a set, in nine-digit stems (64 MiB); a wider set is hashed.
_BITMAP_STEMS = 1 << 29


class _NumberSet:
    """Fast membership in a set of valid NHS numbers.

    A valid number is fixed by its first nine digits (the tenth is their check
    digit), so one bit per nine-digit stem from the smallest to the largest decides
    membership of any valid number, and an invalid number is never a member.  A
    probe is then a few vectorised operations on a bitmap of at most 64 MiB (50 MiB
    for England's ranges, one tenth of that for a typical cohort), several times
    faster than a binary search of millions of random numbers.  A set spread wider
    uses Arrow's hash-based ``is_in``.  The bitmap is built on first use.
    """

    def __init__(self, numbers: Int64Array) -> None:
        self._numbers = numbers
        self._bitmap: tuple[int, int, npt.NDArray[np.uint8]] | None = None

    def _build(self) -> tuple[int, int, npt.NDArray[np.uint8]]:
        if self._bitmap is None:
            stems = self._numbers // 10
            low = int(stems[0])
            span = int(stems[-1]) - low + 1
            offsets = stems - low
            byte = offsets >> 3
            bits = np.left_shift(1, offsets & 7).astype(np.uint8)
            firsts = np.flatnonzero(np.diff(byte, prepend=-1))
            bitmap = np.zeros((span + 7) // 8, dtype=np.uint8)
            bitmap[byte[firsts]] = np.bitwise_or.reduceat(bits, firsts)
            self._bitmap = (low, span, bitmap)
        return self._bitmap

    def contains(self, probes: Int64Array) -> BoolArray:
        numbers = self._numbers
        if numbers.size == 0 or probes.size == 0:
            return np.zeros(probes.shape, dtype=bool)
        if (numbers[-1] - numbers[0]) // 10 >= _BITMAP_STEMS:
            found = pc.is_in(pa.array(probes.ravel()), value_set=pa.array(numbers))
            return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool).reshape(
                probes.shape
            )
        low, span, bitmap = self._build()
        offsets = probes // 10 - low
        inside = (offsets >= 0) & (offsets < span)
        offsets = np.where(inside, offsets, 0)
        hit = (bitmap[offsets >> 3] >> (offsets & 7).astype(np.uint8)) & 1
        member: BoolArray = inside & hit.astype(bool) & validate_array(probes)
        return member


class AllowList:
    """A cleaned list handed out by :func:`use`, to apply to whole lists of numbers.

    Only masks over the caller's own numbers come out; the lists themselves do not.
    """

    __slots__ = ("_covered", "_kept", "entry")

    def __init__(self, entry: CacheEntry, kept: Int64Array, covered: Int64Array) -> None:
        self.entry = entry
        self._kept = _NumberSet(kept)
        self._covered = _NumberSet(covered)

    def apply(self, numbers: npt.ArrayLike) -> BoolArray:
        """Keep-mask: ``True`` where the number is in the cleaned list.

        A number the check did not cover is ``False`` — its opt-out is unknown, so it
        is not kept; :meth:`covers` tells those apart.
        """
        return self._kept.contains(_as_numbers(numbers))

    def covers(self, numbers: npt.ArrayLike) -> BoolArray:
        """``True`` where the number was in the list that was checked."""
        return self._covered.contains(_as_numbers(numbers))

    def __repr__(self) -> str:
        return f"AllowList(cohort={self.entry.cohort!r}, entry={self.entry.id})"


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
    _no_nhs_number(purpose, "a purpose")


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
                _current_query(cohort, *_META, _HOLDS, cache_entry.c.kept, cache_entry.c.covered)
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
            refusal = _not_found(cohort)
        else:
            entry = _entry(row)
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
