"""The cache of cleaned lists: storing, superseding, age limits, applying, and its audit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache as cache_result
from itertools import count

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sqlalchemy import select

from ndoo import audit
from ndoo.db import Database
from ndoo.db.models import audit_entry, cache_entry, check_request
from ndoo.errors import (
    CacheEntryExpired,
    CacheEntryNotFound,
    CheckResponseMismatch,
    InputError,
    StorageError,
)
from ndoo.nhs_number import MAX_NUMBER, generate_synthetic
from ndoo.timeutil import to_db
from ndoo.uphold import cache
from tests.conftest import ADULT, CHILD, ELDER, OTHER

BAD_CHECK = "9434765918"  # ADULT with a wrong check digit
CHECKED = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
WEEK = timedelta(days=7)
_sequence = count(1)


@cache_result
def _pool() -> np.ndarray:
    return generate_synthetic(250_000, np.random.default_rng(0))


def numbers(n: int, seed: int = 1) -> np.ndarray:
    """``n`` distinct valid synthetic numbers, ascending; the same for the same seed."""
    return np.sort(np.random.default_rng(seed).choice(_pool(), n, replace=False))


def add_request(db: Database, cohort: str, mode: str = "cohort") -> int:
    """A sent check request, which a cache entry must point at."""
    sequence = next(_sequence)
    with db.write() as conn:
        result = conn.execute(
            check_request.insert().values(
                mailbox="X26ORG01",
                recipient="X26HC065",
                month="2026-01",
                sequence=sequence,
                filename=f"X26ORG01-01012026-{sequence:04d}.dat",
                subject=f"X26ORG01-01012026-{sequence:04d}",
                local_id=f"X26ORG01-01012026-{sequence:04d}",
                cohort=cohort,
                mode=mode,
                numbers_sent=0,
                numbers=b"",
                state="sent",
                created_at=to_db(CHECKED),
            )
        )
        return int(result.inserted_primary_key[0])


def store(
    db: Database,
    cohort: str,
    covered: np.ndarray,
    kept: np.ndarray,
    *,
    mode: str = "cohort",
    checked_at: datetime = CHECKED,
    message_id: str = "20260101093000123456_ABCDEF",
) -> cache.CacheEntry:
    request_id = add_request(db, cohort, mode)
    with db.write() as conn:
        return cache.store(
            conn,
            cohort=cohort,
            mode=mode,
            check_request_id=request_id,
            message_id=message_id,
            checked_at=checked_at,
            covered=covered,
            kept=kept,
            actor="tester",
        )


def stored_blobs(db: Database, entry_id: int) -> tuple[bytes | None, bytes | None]:
    with db.read() as conn:
        row = conn.execute(
            select(cache_entry.c.covered, cache_entry.c.kept).where(cache_entry.c.id == entry_id)
        ).one()
    return row.covered, row.kept


@pytest.fixture
def cohort(db):
    """A cohort of 1,000 numbers whose cleaned list drops every tenth."""
    covered = numbers(1000)
    kept = np.delete(covered, np.arange(0, 1000, 10))
    entry = store(db, "gp-registered", covered, kept)
    return entry, covered, kept


# ---------------------------------------------------------------------------
# Storing


def test_store_records_metadata_and_current_finds_it(db, cohort):
    entry, covered, _kept = cohort
    found = cache.current(db, "gp-registered")
    assert found == entry
    assert (found.mode, found.covered_count, found.kept_count) == ("cohort", 1000, 900)
    assert found.removed_count == 100
    assert found.message_id == "20260101093000123456_ABCDEF"
    assert found.checked_at == CHECKED and found.stored_at.tzinfo is UTC
    assert found.superseded_at is None and found.holds_lists
    assert found.age(CHECKED + timedelta(hours=5)) == timedelta(hours=5)
    assert cache.entries(db) == [entry]
    assert np.array_equal(cache.covered_numbers(db, "gp-registered"), covered)
    (record,) = audit.entries(db, action="cache.store")
    assert record.detail["entry"] == entry.id
    assert (record.detail["covered"], record.detail["kept"]) == (1000, 900)


def test_store_happens_in_the_callers_transaction(db):
    request_id = add_request(db, "gp-registered")
    with pytest.raises(RuntimeError), db.write() as conn:
        cache.store(
            conn,
            cohort="gp-registered",
            mode="cohort",
            check_request_id=request_id,
            message_id="MSG1",
            checked_at=CHECKED,
            covered=numbers(10),
            kept=numbers(10),
            actor="tester",
        )
        raise RuntimeError("the caller failed after storing")
    assert cache.entries(db, include_superseded=True) == []
    assert audit.entries(db, action="cache.store") == []


def test_a_response_holding_numbers_never_sent_is_refused(db):
    covered = numbers(100)
    stranger = numbers(1, seed=99)
    with pytest.raises(CheckResponseMismatch, match="1 numbers that were not sent"):
        store(db, "gp-registered", covered, np.concatenate([covered[:50], stranger]))
    assert cache.entries(db, include_superseded=True) == []


def test_a_new_check_supersedes_the_old_one_and_erases_its_lists(db, cohort):
    old, covered, _kept = cohort
    newer = store(db, "gp-registered", covered, covered[5:], checked_at=CHECKED + timedelta(days=1))
    assert cache.current(db, "gp-registered") == newer
    everything = {e.id: e for e in cache.entries(db, include_superseded=True)}
    assert set(everything) == {old.id, newer.id}
    kept_as_evidence = everything[old.id]
    assert kept_as_evidence.superseded_at is not None and not kept_as_evidence.holds_lists
    assert (kept_as_evidence.covered_count, kept_as_evidence.kept_count) == (1000, 900)
    assert stored_blobs(db, old.id) == (None, None)
    assert cache.entries(db) == [newer]
    (latest, _first) = audit.entries(db, action="cache.store")
    assert latest.detail["superseded"] == [old.id]


def test_a_late_answer_to_an_older_check_does_not_replace_a_newer_one(db, cohort):
    current, covered, _ = cohort
    late = store(db, "gp-registered", covered, covered, checked_at=CHECKED - timedelta(days=1))
    assert late.superseded_at is not None and not late.holds_lists
    assert cache.current(db, "gp-registered") == current
    assert stored_blobs(db, late.id) == (None, None)
    assert audit.entries(db, action="cache.store")[0].outcome == "stale"


@pytest.mark.parametrize("name", [ADULT, f"disclosure {ADULT[:3]} {ADULT[3:6]} {ADULT[6:]}"])
def test_a_cohort_named_like_an_nhs_number_is_refused_before_anything_is_written(db, name):
    with pytest.raises(InputError, match="NHS number"):
        store(db, name, numbers(10), numbers(10))
    assert cache.entries(db, include_superseded=True) == []


# ---------------------------------------------------------------------------
# Using


def test_use_within_the_age_limit_gives_masks_and_is_audited(db, cohort):
    entry, covered, kept = cohort
    allow = cache.use(
        db,
        "gp-registered",
        purpose="SUS extract",
        actor="analyst",
        max_age=WEEK,
        now=CHECKED + timedelta(days=2),
    )
    assert allow.entry == entry
    probe = np.concatenate([covered, numbers(5, seed=42), [int(BAD_CHECK), 0, -1]])
    assert np.array_equal(allow.apply(probe), np.isin(probe, kept))
    assert np.array_equal(allow.covers(probe), np.isin(probe, covered))
    assert str(covered[0]) not in repr(allow)
    (record,) = audit.entries(db, action="cache.use")
    assert (record.actor, record.outcome) == ("analyst", "ok")
    assert record.detail["purpose"] == "SUS extract" and record.detail["entry"] == entry.id
    assert record.detail["age_hours"] == 48.0


def test_a_list_older_than_the_limit_is_refused_and_the_refusal_audited(db, cohort):
    with pytest.raises(CacheEntryExpired) as caught:
        cache.use(
            db,
            "gp-registered",
            purpose="SUS extract",
            actor="analyst",
            max_age=WEEK,
            now=CHECKED + timedelta(days=9, hours=2),
        )
    message = caught.value.message
    assert "2026-01-01 at 09:30 UTC" in message
    assert "9 days 2 hours ago" in message and "7 days" in message
    assert "NDOO_CACHE_MAX_AGE_DAYS" in message
    assert "`ndoo cache refresh gp-registered`" in message
    (record,) = audit.entries(db, action="cache.use")
    assert (record.outcome, record.detail["reason"]) == ("refused", "too old")


def test_using_a_cohort_with_no_list_is_refused_with_a_hint(db):
    with pytest.raises(CacheEntryNotFound) as caught:
        cache.use(db, "nobody", purpose="test", actor="analyst", max_age=WEEK)
    assert "ndoo check run" in caught.value.message and "--cohort nobody" in caught.value.message
    assert "ndoo cache list" in caught.value.message
    with pytest.raises(CacheEntryNotFound):
        cache.current(db, "nobody")
    (record,) = audit.entries(db, action="cache.use")
    assert record.outcome == "refused"


def test_allow_lists_only_take_integers(db, cohort):
    allow = cache.use(db, "gp-registered", purpose="t", actor="a", max_age=WEEK, now=CHECKED)
    with pytest.raises(InputError, match="integers"):
        allow.apply(np.array([ADULT]))


# ---------------------------------------------------------------------------
# Applying to a table


@pytest.fixture
def small_cohort(db):
    covered = np.array([int(ADULT), int(CHILD), int(ELDER), int(OTHER)])
    store(db, "clinic", covered, np.array([int(ADULT), int(ELDER)]))  # CHILD, OTHER opted out
    return db


def apply(db, table, column="nhs"):
    return cache.apply_table(
        db,
        "clinic",
        table,
        column,
        purpose="audit extract",
        actor="analyst",
        max_age=WEEK,
        now=CHECKED,
    )


def test_apply_table_removes_whole_rows_and_keeps_order_and_values(small_cohort):
    table = pa.table(
        {
            "nhs": ["943 476 5919", CHILD, ELDER, OTHER, "943-476-5919"],
            "visit": [1, 2, 3, 4, 5],
            "note": ["a", "b", "c", "d", "e"],
        }
    )
    result, counts = apply(small_cohort, table)
    assert result.column_names == ["nhs", "visit", "note"]
    assert result.to_pydict() == {
        "nhs": ["943 476 5919", ELDER, "943-476-5919"],
        "visit": [1, 3, 5],
        "note": ["a", "c", "e"],
    }
    assert counts == cache.ApplyCounts(rows_in=5, rows_out=3, rows_removed=2)
    (record,) = audit.entries(small_cohort, action="cache.apply")
    assert (record.detail["rows_removed"], record.detail["purpose"]) == (2, "audit extract")
    assert audit.entries(small_cohort, action="cache.use")[0].outcome == "ok"


def test_apply_table_refuses_numbers_the_check_did_not_cover(small_cohort):
    outsider = f"{numbers(1, seed=5)[0]:010d}"
    table = pa.table({"nhs": [ADULT, outsider, CHILD], "visit": [1, 2, 3]})
    with pytest.raises(InputError, match="did not cover") as caught:
        apply(small_cohort, table)
    assert "row 2" in caught.value.message and outsider not in caught.value.message
    (record,) = audit.entries(small_cohort, action="cache.apply")
    assert (record.outcome, record.detail["uncovered"]) == ("refused", 1)


def test_apply_table_refuses_rows_without_a_valid_number(small_cohort):
    table = pa.table({"nhs": [ADULT, None, BAD_CHECK, ELDER]})
    with pytest.raises(InputError, match="no valid NHS number") as caught:
        apply(small_cohort, table)
    assert "rows 2, 3" in caught.value.message and BAD_CHECK not in caught.value.message
    assert audit.entries(small_cohort, action="cache.use") == []
    with pytest.raises(InputError, match="no column 'nhs_number'"):
        apply(small_cohort, table, column="nhs_number")


def test_apply_table_reads_integer_columns(small_cohort):
    table = pa.table({"nhs": pa.array([int(CHILD), int(ADULT)], pa.int64())})
    result, counts = apply(small_cohort, table)
    assert result.column("nhs").to_pylist() == [int(ADULT)]
    assert counts.rows_removed == 1


# ---------------------------------------------------------------------------
# Refreshing and erasing


def test_due_lists_only_current_cohort_entries_older_than_the_interval(db):
    now = CHECKED + timedelta(days=3)
    stale = store(db, "stale", numbers(10), numbers(10), checked_at=CHECKED)
    store(db, "fresh", numbers(10), numbers(10), checked_at=now - timedelta(hours=2))
    store(db, "one-off", numbers(10), numbers(10), mode="disclosure", checked_at=CHECKED)
    store(db, "renewed", numbers(10), numbers(10), checked_at=CHECKED)
    renewed = store(db, "renewed", numbers(10), numbers(10), checked_at=now)
    assert cache.due(db, older_than=timedelta(days=1), now=now) == [stale]
    assert renewed not in cache.due(db, older_than=timedelta(days=1), now=now)
    assert cache.due(db, older_than=timedelta(days=4), now=now) == []


def test_erase_clears_every_list_of_a_cohort_and_is_audited(db, cohort):
    first, covered, kept = cohort
    second = store(db, "gp-registered", covered, kept, checked_at=CHECKED + timedelta(days=1))
    assert cache.erase(db, "gp-registered", actor="dpo") == 1
    for entry_id in (first.id, second.id):
        assert stored_blobs(db, entry_id) == (None, None)
    assert cache.entries(db) == []
    with pytest.raises(CacheEntryNotFound):
        cache.use(db, "gp-registered", purpose="x", actor="a", max_age=WEEK, now=CHECKED)
    with pytest.raises(CacheEntryNotFound):
        cache.covered_numbers(db, "gp-registered")
    (record,) = audit.entries(db, action="cache.erase")
    assert (record.actor, record.detail["entries"]) == ("dpo", [second.id])
    assert cache.due(db, older_than=timedelta(0), now=CHECKED + timedelta(days=30)) == []
    with pytest.raises(CacheEntryNotFound):
        cache.erase(db, "never-cached", actor="dpo")


# ---------------------------------------------------------------------------
# The audit trail never holds an NHS number


def test_no_audit_entry_holds_a_checked_number(small_cohort):
    db = small_cohort
    apply(db, pa.table({"nhs": [ADULT, ELDER]}))
    with pytest.raises(InputError):
        apply(db, pa.table({"nhs": [ADULT, CHILD, BAD_CHECK]}))
    cache.erase(db, "clinic", actor="dpo")
    with db.read() as conn:
        details = conn.execute(select(audit_entry.c.detail)).scalars().all()
    assert len(details) >= 4
    for detail in details:
        assert not re.search(r"(?<!\d)\d{10}(?!\d)", detail)
    assert audit.verify(db).ok


# ---------------------------------------------------------------------------
# The stored form


@given(
    hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(0, MAX_NUMBER)),
)
def test_numbers_survive_encoding(values):
    assert np.array_equal(cache.decode_numbers(cache.encode_numbers(values)), np.unique(values))


def test_a_large_list_is_stored_compactly_and_round_trips_on_each_backend(db):
    covered = numbers(200_000, seed=3)
    entry = store(db, "large", covered, covered[::2])
    blob, _ = stored_blobs(db, entry.id)
    assert blob is not None and len(blob) < 3 * covered.size
    assert np.array_equal(cache.covered_numbers(db, "large"), covered)


def test_a_damaged_or_unknown_blob_is_refused():
    blob = bytearray(cache.encode_numbers(numbers(100)))
    damaged = bytes(blob[:-1]) + bytes([blob[-1] ^ 0xFF])
    with pytest.raises(StorageError, match="damaged"):
        cache.decode_numbers(damaged)
    with pytest.raises(StorageError, match="format 2"):
        cache.decode_numbers(bytes([2]) + bytes(blob[1:]))
