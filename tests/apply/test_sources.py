"""Where the opt-outs come from: the register, a cached cleaned list, a fresh check over MESH."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndoo import audit
from ndoo.apply.sources import SourceChoice
from ndoo.db import Database
from ndoo.errors import CacheEntryExpired, CacheEntryNotFound, InputError
from ndoo.mesh.sandbox import Sandbox
from ndoo.mesh.transport import Mailbox
from ndoo.pos.service import CheckService
from ndoo.register import Channel, ChoiceChange, State, set_choice
from ndoo.timeutil import iso, utcnow
from ndoo.uphold import cache, checking
from tests.apply.helpers import (
    KEPT_EPISODES,
    NHS_LIKE,
    NOT_OPTED_OUT,
    OPTED_OUT,
    audit_details,
    episodes,
    register_with_optouts,
    releases,
    run,
    tree,
    write_parquet,
)
from tests.conftest import ORG_MAILBOX, SERVICE_MAILBOX, mailbox_config
from tests.uphold.test_cache import store

UNREGISTERED = "9000000041"  # valid, and unknown to the register
EVERYONE = np.array(sorted(int(n) for n in (*OPTED_OUT, *NOT_OPTED_OUT)), dtype=np.int64)
KEPT = np.array(sorted(int(n) for n in NOT_OPTED_OUT), dtype=np.int64)


@pytest.fixture
def source(data: Path) -> Path:
    return write_parquet(episodes(), data / "episodes.parquet")


def kept(path: Path) -> list[str]:
    return pq.read_table(path).column("episode").to_pylist()


# ---------------------------------------------------------------------------
# The register


def test_the_register_removes_the_opt_outs_in_force_now(db: Database, source, data):
    register_with_optouts(db)
    result = run(db, str(source), str(data / "out.parquet"))
    assert kept(data / "out.parquet") == KEPT_EPISODES
    provenance = result.manifest["source"]
    assert (provenance["kind"], provenance["opted_out"]) == ("register", 2)


def test_an_opt_out_withdrawn_since_is_kept(db: Database, source, data):
    register_with_optouts(db)
    change = ChoiceChange(OPTED_OUT[0], State.IN, Channel.OP, by_self=True)
    set_choice(db, change, actor="test")
    result = run(db, str(source), str(data / "out.parquet"))
    assert kept(data / "out.parquet") == ["E01", "E02", "E04", "E05", "E06"]
    assert result.manifest["source"]["opted_out"] == 1
    assert result.manifest["counts"]["distinct_patients_out"] == 4


def test_a_number_the_register_does_not_hold_has_no_opt_out(db: Database, data):
    register_with_optouts(db)
    table = pa.table({"nhs_number": [UNREGISTERED, OPTED_OUT[0]]})
    source = write_parquet(table, data / "in.parquet")
    run(db, str(source), str(data / "out.parquet"))
    assert pq.read_table(data / "out.parquet").column(0).to_pylist() == [UNREGISTERED]


# ---------------------------------------------------------------------------
# A cached cleaned list


def test_a_fresh_cached_list_is_used_and_recorded(db: Database, source, data):
    checked = utcnow() - timedelta(hours=5)
    entry = store(db, "DSA-001", EVERYONE, KEPT, mode="disclosure", checked_at=checked)
    result = run(db, str(source), str(data / "out.parquet"), kind="cache")
    assert kept(data / "out.parquet") == KEPT_EPISODES
    provenance = result.manifest["source"]
    assert provenance["kind"] == "cache" and provenance["cache_entry"] == entry.id
    assert (provenance["cohort"], provenance["mode"]) == ("DSA-001", "disclosure")
    assert provenance["message_id"] == entry.message_id
    assert provenance["checked_at"] == iso(entry.checked_at)
    assert 4.9 <= provenance["age_hours"] <= 5.5
    assert (provenance["covered"], provenance["kept"]) == (5, 3)
    (use,) = audit.entries(db, action="cache.use")
    assert use.outcome == "ok" and "DSA-001" in use.detail["purpose"]
    assert releases(db)[0].source == "cache"


def test_a_cohort_list_can_be_named_for_a_disclosure(db: Database, source, data):
    store(db, "gp-registered", EVERYONE, KEPT, checked_at=utcnow() - timedelta(days=1))
    result = run(db, str(source), str(data / "out.parquet"), kind="cache", cohort="gp-registered")
    assert result.manifest["source"]["cohort"] == "gp-registered"
    assert result.manifest["disclosure"] == "DSA-001"


def test_an_expired_list_is_refused_and_nothing_written(db: Database, source, data):
    store(db, "DSA-001", EVERYONE, KEPT, checked_at=utcnow() - timedelta(days=8))
    before = tree(data)
    with pytest.raises(CacheEntryExpired, match="7 days"):
        run(db, str(source), str(data / "out.parquet"), kind="cache")
    assert tree(data) == before
    assert releases(db) == []
    assert audit.entries(db, action="cache.use")[0].outcome == "refused"


def test_a_longer_allowed_age_is_honoured(db: Database, source, data):
    store(db, "DSA-001", EVERYONE, KEPT, checked_at=utcnow() - timedelta(days=8))
    choice = SourceChoice(kind="cache", max_age=timedelta(days=30))
    run(db, str(source), str(data / "out.parquet"), choice=choice)
    assert kept(data / "out.parquet") == KEPT_EPISODES


def test_no_cached_list_is_refused_with_a_hint(db: Database, source, data):
    with pytest.raises(CacheEntryNotFound, match="ndoo check run"):
        run(db, str(source), str(data / "out.parquet"), kind="cache")
    assert not (data / "out.parquet").exists()


def test_numbers_the_check_did_not_cover_are_refused_by_row(db: Database, data):
    covered = np.array([int(OPTED_OUT[0]), int(NOT_OPTED_OUT[0])])
    store(db, "DSA-001", covered, covered[1:], checked_at=utcnow())
    table = pa.table(
        {"nhs_number": [NOT_OPTED_OUT[0], NOT_OPTED_OUT[1], OPTED_OUT[0], "943 476 5919"]}
    )
    source = write_parquet(table, data / "in.parquet")
    before = tree(data)
    with pytest.raises(InputError) as caught:
        run(db, str(source), str(data / "out.parquet"), kind="cache")
    message = caught.value.message
    assert message.startswith(
        "2 rows hold NHS numbers that the cleaned list does not cover (column 'nhs_number'; "
        "rows 2, 4), so their opt-outs are unknown"
    )
    assert caught.value.details["uncovered"] == 2 and caught.value.details["rows"] == [2, 4]
    assert not NHS_LIKE.search(message)
    assert tree(data) == before
    (refused,) = audit.entries(db, action="apply.release")
    assert refused.outcome == "refused" and refused.detail["uncovered"] == 2


def test_uncovered_rows_are_refused_whatever_the_unmatched_decision(db: Database, data):
    store(db, "DSA-001", EVERYONE[:1], EVERYONE[:0], checked_at=utcnow())
    source = write_parquet(pa.table({"nhs_number": [NOT_OPTED_OUT[0], None]}), data / "in.parquet")
    for decision in ("keep", "drop"):
        with pytest.raises(InputError, match="does not cover"):
            run(db, str(source), str(data / "out.parquet"), kind="cache", unmatched=decision)
    assert not (data / "out.parquet").exists()


# ---------------------------------------------------------------------------
# A fresh check over MESH, answered by the real checking service


@pytest.fixture
def checking_service(db: Database, open_mailbox: Callable[..., Mailbox]) -> Iterator[None]:
    """The national service polling the sandbox in a thread, as `ndoo pos serve` would."""
    register_with_optouts(db)
    service = CheckService(db, open_mailbox(SERVICE_MAILBOX))
    stop = threading.Event()
    failures: list[BaseException] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                service.poll()
            except BaseException as exc:  # reported by the test, not lost in the thread
                failures.append(exc)
                return
            stop.wait(0.1)

    worker = threading.Thread(target=serve, name="check-service", daemon=True)
    worker.start()
    yield
    stop.set()
    worker.join(30)
    assert not failures


def mesh_choice(mesh: Sandbox) -> SourceChoice:
    return SourceChoice(
        kind="mesh",
        mailbox=lambda: Mailbox(mailbox_config(mesh, ORG_MAILBOX)),
        service=SERVICE_MAILBOX,
        wait=30,
        poll_max=0.5,
    )


def test_a_fresh_check_over_mesh_sends_the_datasets_numbers_and_uses_the_answer(
    db: Database, mesh: Sandbox, checking_service, data
):
    table = episodes().append_column("extra", pa.array(["a"] * 6))
    table = pa.concat_tables(
        [table, pa.table({"episode": ["E07"], "nhs_number": [UNREGISTERED], "code": ["F06"],
                          "cost": [7.0], "extra": ["b"]})]
    )  # fmt: skip
    source = write_parquet(table, data / "in.parquet")
    result = run(db, str(source), str(data / "out.parquet"), choice=mesh_choice(mesh))

    assert kept(data / "out.parquet") == [*KEPT_EPISODES, "E07"]
    provenance = result.manifest["source"]
    assert provenance["kind"] == "mesh" and provenance["sent"] == 6
    assert provenance["cohort"] == "DSA-001" and provenance["mode"] == "disclosure"
    (request,) = checking.requests(db)
    assert provenance["request_message_id"] == request.message_id
    assert (request.numbers_sent, request.returned_count, request.state) == (6, 4, "received")
    entry = cache.current(db, "DSA-001")
    assert provenance["cache_entry"] == entry.id
    assert (entry.covered_count, entry.kept_count) == (6, 4)
    actions = {e.action for e in audit.entries(db, limit=100)}
    assert {"check.send", "check.receive", "cache.store", "cache.use", "apply.release"} <= actions
    assert audit.verify(db).ok
    for detail in audit_details(db):
        assert not NHS_LIKE.search(detail), detail
    assert releases(db)[0].source == "mesh"


def test_a_dataset_without_valid_numbers_is_not_sent(db: Database, mesh: Sandbox, data):
    source = write_parquet(pa.table({"nhs_number": ["bad", None]}), data / "in.parquet")
    with pytest.raises(InputError, match="no valid NHS numbers"):
        run(db, str(source), str(data / "out.parquet"), choice=mesh_choice(mesh), unmatched="keep")
    assert checking.requests(db) == []
    assert not (data / "out.parquet").exists()


def test_mesh_needs_a_mailbox(db: Database, source, data):
    with pytest.raises(InputError, match="MESH mailbox is needed"):
        run(db, str(source), str(data / "out.parquet"), kind="mesh")


def test_an_unknown_source_is_refused():
    with pytest.raises(InputError, match="unknown source 'spreadsheet'"):
        SourceChoice(kind="spreadsheet")
