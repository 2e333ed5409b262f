"""The organisation's end: send a list, wait for the answer, check it, cache it.

The national end is the real checking service (:class:`CheckService`) polling the
same MESH sandbox; the client's back-off pause is where the service gets to run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest

from ndoo import audit
from ndoo.db import Database
from ndoo.errors import (
    CheckPending,
    CheckRejected,
    CheckResponseMismatch,
    InvalidNumbersInFile,
    MeshAuthenticationFailed,
)
from ndoo.mesh.sandbox import Sandbox
from ndoo.mesh.transport import CHECK_WORKFLOW, Mailbox
from ndoo.pos.service import CheckService
from ndoo.settings import Secret
from ndoo.uphold import cache, checking
from ndoo.uphold.lists import NumberList, from_numbers, read_number_list
from tests.conftest import ORG_MAILBOX, SERVICE_MAILBOX
from tests.pos.helpers import NOT_OPTED_OUT, OPTED_OUT, dat, register_with_optouts

Open = Callable[..., Mailbox]
EVERYONE = from_numbers([*OPTED_OUT, *NOT_OPTED_OUT], source="test list")


@pytest.fixture
def org(open_mailbox: Open) -> Mailbox:
    return open_mailbox(ORG_MAILBOX)


@pytest.fixture
def service_box(open_mailbox: Open) -> Mailbox:
    return open_mailbox(SERVICE_MAILBOX)


def run(db: Database, org: Mailbox, service: CheckService | None, numbers=EVERYONE, **kw):
    return checking.run(
        db,
        org,
        numbers,
        service=SERVICE_MAILBOX,
        cohort=kw.pop("cohort", "DARS-2026-017"),
        mode=kw.pop("mode", "disclosure"),
        actor="analyst",
        wait=kw.pop("wait", 30),
        poll_max=1,
        sleep=(lambda _s: service.poll()) if service else (lambda _s: None),
    )


def test_a_round_trip_caches_the_cleaned_list(db: Database, org: Mailbox, service_box: Mailbox):
    register_with_optouts(db)
    answer = run(db, org, CheckService(db, service_box))

    request = answer.request
    today = datetime.now(UTC).strftime("%d%m%Y")
    assert request.filename == f"X26ORG01-{today}-0001.dat"
    assert request.subject == request.local_id == f"X26ORG01-{today}-0001"
    assert (request.state, request.numbers_sent, request.returned_count) == ("received", 5, 3)
    assert request.receipt is not None and request.receipt["status"] == "success"
    entry = answer.cache_entry
    assert entry is not None and (entry.covered_count, entry.kept_count) == (5, 3)
    assert entry.checked_at.isoformat().startswith(request.receipt["snapshot_at"][:16])
    # The cleaned list is usable only to apply opt-outs to the organisation's own numbers.
    allow = cache.use(db, "DARS-2026-017", purpose="test", actor="analyst", max_age=cache_age())
    probe = np.array([int(n) for n in (*OPTED_OUT, *NOT_OPTED_OUT)], dtype=np.int64)
    assert allow.apply(probe).tolist() == [False, False, True, True, True]
    actions = [e.action for e in audit.entries(db)]
    assert {"check.send", "check.receive", "cache.store", "pos.check"} <= set(actions)


def cache_age():
    from datetime import timedelta

    return timedelta(days=7)


def test_the_sequence_counts_requests_in_the_month(db: Database, org: Mailbox):
    first = checking.send(
        db, org, EVERYONE, recipient=SERVICE_MAILBOX, cohort="a", mode="disclosure", actor="t"
    )
    second = checking.send(
        db, org, EVERYONE, recipient=SERVICE_MAILBOX, cohort="b", mode="disclosure", actor="t"
    )
    assert first.filename.endswith("-0001.dat") and second.filename.endswith("-0002.dat")
    assert first.message_id != second.message_id


def test_the_request_file_is_the_real_format(
    db: Database, org: Mailbox, service_box: Mailbox, tmp_path
):
    path = tmp_path / "list.csv"
    path.write_text("nhs_number,name\n943 476 5919,A\n9000000009,B\n943-476-5919,C\n")
    numbers = read_number_list(path, column="nhs_number")
    checking.send(db, org, numbers, recipient=SERVICE_MAILBOX, cohort="c", mode="cohort", actor="t")
    (message_id,) = list(service_box.message_ids())
    got = service_box.download(message_id)
    assert got.data == b"9000000009,\n9434765919,\n"  # normalised, distinct, one per line
    assert got.workflow_id == CHECK_WORKFLOW and got.subject == got.local_id


def test_no_answer_in_time_leaves_the_request_pending(db: Database, org: Mailbox):
    with pytest.raises(CheckPending, match="ndoo check receive"):
        run(db, org, None, wait=0.2)
    (request,) = checking.requests(db, pending_only=True)
    assert request.state == "sent"


def test_an_answer_collected_later_with_receive(db: Database, org: Mailbox, service_box: Mailbox):
    register_with_optouts(db)
    with pytest.raises(CheckPending):
        run(db, org, None, wait=0.1)
    CheckService(db, service_box).poll()
    (answer,) = checking.receive(db, org, service=SERVICE_MAILBOX, actor="t")
    assert answer.problem is None and answer.cache_entry is not None
    assert checking.receive(db, org, service=SERVICE_MAILBOX, actor="t") == []
    assert list(org.message_ids()) == []


def _reply(
    service_box: Mailbox, request: checking.CheckRequest, body: bytes, **headers: str
) -> None:
    service_box.send(
        ORG_MAILBOX,
        body,
        workflow_id=CHECK_WORKFLOW,
        filename=headers.pop("filename", request.filename),
        subject=headers.pop("subject", request.subject),
        local_id=request.local_id,
        **headers,
    )


def test_a_response_with_numbers_never_sent_is_refused(
    db: Database, org: Mailbox, service_box: Mailbox
):
    request = checking.send(
        db, org, EVERYONE, recipient=SERVICE_MAILBOX, cohort="x", mode="disclosure", actor="t"
    )
    _reply(service_box, request, dat(NOT_OPTED_OUT[0], "9000000041"))
    (answer,) = checking.receive(db, org, service=SERVICE_MAILBOX, actor="t")
    with pytest.raises(CheckResponseMismatch, match="not sent"):
        answer.raise_for_problem()
    assert answer.cache_entry is None and cache.entries(db) == []
    assert checking.get_request(db, request.id).state == "failed"


def test_the_services_invalid_file_line_is_a_clear_rejection(
    db: Database, org: Mailbox, service_box: Mailbox
):
    request = checking.send(
        db, org, EVERYONE, recipient=SERVICE_MAILBOX, cohort="x", mode="disclosure", actor="t"
    )
    receipt = {"status": "error", "invalid_lines": [2, 5]}
    _reply(
        service_box,
        request,
        json.dumps(receipt).encode(),
        subject="ERROR",
        content_type="application/json",
    )
    _reply(service_box, request, b"The file contains one or more invalid NHS Numbers.\n")
    (answer,) = checking.receive(db, org, service=SERVICE_MAILBOX, actor="t")
    with pytest.raises(CheckRejected, match=r"invalid NHS Numbers.*first invalid lines: 2, 5"):
        answer.raise_for_problem()
    assert cache.entries(db) == []


def test_the_live_services_receipt_is_understood(db: Database, org: Mailbox, service_box: Mailbox):
    """The live SUCCESS receipt has no counts or snapshot time: the send time is used."""
    request = checking.send(
        db, org, EVERYONE, recipient=SERVICE_MAILBOX, cohort="x", mode="disclosure", actor="t"
    )
    live = {
        "dataset_id": "mesh_to_pos",
        "status": "pending",
        "stages": [{"name": "validate_non_empty_file", "passed": True}],
        "metadata": {"file_type": "csv", "request": {"extra": {"local_id": request.local_id}}},
    }
    _reply(service_box, request, json.dumps(live).encode(), subject="SUCCESS", filename="receipt")
    _reply(service_box, request, dat(*NOT_OPTED_OUT))
    (answer,) = checking.receive(db, org, service=SERVICE_MAILBOX, actor="t")
    assert answer.cache_entry is not None and answer.cache_entry.kept_count == 3
    assert answer.cache_entry.checked_at == request.sent_at
    assert checking.get_request(db, request.id).receipt["status"] == "pending"  # type: ignore[index]


def test_a_mesh_report_fails_the_request_with_its_reason(db: Database, mesh: Sandbox, org: Mailbox):
    request = checking.send(
        db, org, EVERYONE, recipient=SERVICE_MAILBOX, cohort="x", mode="disclosure", actor="t"
    )
    mesh.inject_report(
        ORG_MAILBOX,
        code="14",
        description="Message not collected by recipient after 5 days",
        workflow_id=CHECK_WORKFLOW,
        local_id=request.local_id,
        linked_message_id=request.message_id,
    )
    (answer,) = checking.receive(db, org, service=SERVICE_MAILBOX, actor="t")
    assert answer.problem is not None and "not collected" in answer.problem.message
    assert checking.get_request(db, request.id).state == "failed"


def test_messages_for_other_purposes_stay_in_the_inbox(
    db: Database, org: Mailbox, open_mailbox: Open
):
    checking.send(
        db, org, EVERYONE, recipient=SERVICE_MAILBOX, cohort="x", mode="disclosure", actor="t"
    )
    other = open_mailbox("X26ORG02")
    unrelated = other.send(ORG_MAILBOX, b"hello\n", workflow_id=CHECK_WORKFLOW, local_id="theirs")
    assert checking.receive(db, org, service=SERVICE_MAILBOX, actor="t") == []
    assert list(org.message_ids()) == [unrelated]


def test_refresh_checks_the_cohort_again(db: Database, org: Mailbox, service_box: Mailbox):
    from ndoo.register import Channel, ChoiceChange, State, set_choice

    register_with_optouts(db)
    service = CheckService(db, service_box)
    first = run(db, org, service, cohort="all-registered", mode="cohort").cache_entry
    set_choice(db, ChoiceChange(NOT_OPTED_OUT[0], State.OUT, Channel.OP, by_self=True), actor="t")
    second = checking.refresh(
        db,
        org,
        "all-registered",
        service=SERVICE_MAILBOX,
        actor="t",
        wait=30,
        poll_max=1,
        sleep=lambda _s: service.poll(),
    ).cache_entry
    assert first is not None and second is not None
    assert (second.covered_count, second.kept_count, second.mode) == (5, 2, "cohort")
    assert [e.id for e in cache.entries(db)] == [second.id]


def test_a_refused_mailbox_marks_the_request_failed(db: Database, open_mailbox: Open):
    wrong = open_mailbox(ORG_MAILBOX, password=Secret("wrong"))
    with pytest.raises(MeshAuthenticationFailed, match="NDOO_MESH_MAILBOX"):
        checking.send(
            db, wrong, EVERYONE, recipient=SERVICE_MAILBOX, cohort="x", mode="disclosure", actor="t"
        )
    (request,) = checking.requests(db)
    assert request.state == "failed" and "not sent" in (request.error or "")


def test_an_invalid_list_is_refused_before_anything_is_sent(
    tmp_path, db: Database, service_box: Mailbox
):
    path = tmp_path / "list.txt"
    path.write_text("9434765919\n9434765918\n\n12345\n")
    with pytest.raises(InvalidNumbersInFile, match="on lines 2, 4") as caught:
        read_number_list(path)
    assert "9434765918" not in str(caught.value)
    assert list(service_box.message_ids()) == [] and checking.requests(db) == []


def test_end_to_end_a_chunked_list_of_more_than_100000_numbers(
    db: Database, open_mailbox: Open, service_box: Mailbox
):
    from ndoo.nhs_number import generate_synthetic

    register_with_optouts(db)
    numbers = generate_synthetic(130_000, np.random.default_rng(11))
    everyone = from_numbers(
        np.concatenate([numbers, [int(n) for n in OPTED_OUT]]), source="big list"
    )
    org = open_mailbox(ORG_MAILBOX, chunk_size=500_000)  # about 1.6 MB: four chunks
    answer = run(db, org, CheckService(db, service_box), numbers=everyone, cohort="big")
    entry = answer.cache_entry
    assert entry is not None
    assert entry.covered_count == len(everyone.numbers)
    assert entry.kept_count == len(everyone.numbers) - len(OPTED_OUT)


def test_end_to_end_a_file_the_service_finds_invalid(
    db: Database, org: Mailbox, service_box: Mailbox
):
    """A list that slipped past the client's checks (say, from an older tool): the
    service's rejection comes back as one clear error naming the lines."""
    register_with_optouts(db)
    slipped = NumberList(
        numbers=np.array([9000000009, 9434765918, 9434765919], dtype=np.int64),
        rows=3,
        duplicates=0,
        source="slipped",
    )
    with pytest.raises(CheckRejected, match=r"invalid NHS Numbers.*first invalid lines: 2\b"):
        run(db, org, CheckService(db, service_box), numbers=slipped)
    assert cache.entries(db) == []
