"""The checking service end to end over a real MESH server (mesh-sandbox).

An organisation's mailbox sends requests to X26HC065; the service polls, answers and
acknowledges; the organisation's inbox must then hold exactly one receipt and one
response per request, whatever happened to the worker in between.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from ndoo import audit, checkfile
from ndoo.db import Database
from ndoo.errors import MeshUnavailable
from ndoo.mesh.sandbox import Sandbox
from ndoo.mesh.transport import CHECK_WORKFLOW, Mailbox, Received
from ndoo.pos import service as service_module
from ndoo.pos import state
from ndoo.pos.service import FAULT_POINTS, CheckService, serve
from tests.conftest import ORG_MAILBOX, OTHER_ORG_MAILBOX, SERVICE_MAILBOX, SHARED_KEY
from tests.mesh import faulty
from tests.pos.helpers import NOT_OPTED_OUT, OPTED_OUT, Crash, crash, dat, register_with_optouts

Open = Callable[..., Mailbox]


def send_request(
    org: Mailbox, data: bytes, name: str = "X26ORG01-21112026-0001", **changes: str
) -> str:
    headers = {"filename": f"{name}.dat", "subject": name, "local_id": name, **changes}
    return org.send(SERVICE_MAILBOX, data, workflow_id=CHECK_WORKFLOW, **headers)


def inbox(box: Mailbox) -> list[Received]:
    return [box.download(message_id) for message_id in box.message_ids()]


def split(messages: list[Received]) -> tuple[list[Received], list[Received]]:
    receipts = [m for m in messages if m.subject in ("SUCCESS", "ERROR")]
    return receipts, [m for m in messages if m not in receipts]


@pytest.fixture
def service(db: Database, open_mailbox: Open) -> CheckService:
    register_with_optouts(db)
    return CheckService(db, open_mailbox(SERVICE_MAILBOX), page_size=10)


def test_a_request_is_answered_with_the_numbers_without_an_opt_out(
    db: Database, service: CheckService, open_mailbox: Open
):
    org = open_mailbox(ORG_MAILBOX)
    request_id = send_request(org, dat(*OPTED_OUT, *NOT_OPTED_OUT))

    result = service.poll()

    assert (result.listed, result.answered) == (1, 1)
    receipts, responses = split(inbox(org))
    assert len(receipts) == 1 and len(responses) == 1
    response = responses[0]
    assert response.sender == SERVICE_MAILBOX
    assert (response.workflow_id, response.filename, response.subject, response.local_id) == (
        CHECK_WORKFLOW,
        "X26ORG01-21112026-0001.dat",
        "X26ORG01-21112026-0001",
        "X26ORG01-21112026-0001",
    )
    assert response.data == dat(*NOT_OPTED_OUT)
    body = json.loads(receipts[0].data)
    assert receipts[0].subject == "SUCCESS" and receipts[0].local_id == response.local_id
    assert body["status"] == "success" and body["dataset_id"] == "mesh_to_pos"
    assert body["counts"] == {"received": 5, "returned": 3, "invalid": 0}
    assert body["metadata"]["request"]["extra"]["message_id"] == request_id
    assert datetime.fromisoformat(body["snapshot_at"]) <= datetime.now(UTC)
    # The request has left the service's inbox, and the trail says what was done.
    assert list(service.mailbox.message_ids()) == []
    with db.read() as conn:
        row = state.get(conn, request_id)
    assert row is not None and row.state == state.ACKNOWLEDGED and row.outcome == "success"
    assert [e.action for e in audit.entries(db, action="pos.check")] == ["pos.check"]
    assert audit.verify(db).ok


def test_the_register_as_it_is_when_processed_is_used(
    db: Database, service: CheckService, open_mailbox: Open
):
    from ndoo.register import Channel, ChoiceChange, State, set_choice

    org = open_mailbox(ORG_MAILBOX)
    send_request(org, dat(*OPTED_OUT, *NOT_OPTED_OUT), "X26ORG01-21112026-0001")
    service.poll()
    set_choice(db, ChoiceChange(NOT_OPTED_OUT[0], State.OUT, Channel.OP, by_self=True), actor="t")
    send_request(org, dat(*OPTED_OUT, *NOT_OPTED_OUT), "X26ORG01-21112026-0002")
    service.poll()
    answers = {m.local_id: m.data for m in split(inbox(org))[1]}
    assert answers["X26ORG01-21112026-0001"] == dat(*NOT_OPTED_OUT)
    assert answers["X26ORG01-21112026-0002"] == dat(*NOT_OPTED_OUT[1:])


def test_crlf_bom_and_duplicates_are_answered_in_order(service: CheckService, open_mailbox: Open):
    org = open_mailbox(ORG_MAILBOX)
    data = b"\xef\xbb\xbf" + dat(
        "9434765919", OPTED_OUT[0], "9000000025", "9434765919", ending="\r\n"
    )
    send_request(org, data.rstrip(b"\r\n"))  # and no newline after the last line
    service.poll()
    _, responses = split(inbox(org))
    assert responses[0].data == dat("9434765919", "9000000025", "9434765919", ending="\r\n")


def test_an_invalid_file_gets_the_services_line_and_an_error_receipt(
    db: Database, service: CheckService, open_mailbox: Open
):
    org = open_mailbox(ORG_MAILBOX)
    request_id = send_request(org, dat("9434765919", "9434765918", "12345") + b"9000000025,\n")
    service.poll()
    receipts, responses = split(inbox(org))
    assert responses[0].data == b"The file contains one or more invalid NHS Numbers.\n"
    assert responses[0].filename == "X26ORG01-21112026-0001.dat"
    body = json.loads(receipts[0].data)
    assert receipts[0].subject == "ERROR" and body["status"] == "error"
    assert body["error"]["code"] == "invalid_nhs_numbers"
    assert body["invalid_lines"] == [2, 3]
    assert body["counts"]["received"] == 4 and body["counts"]["returned"] == 0
    with db.read() as conn:
        assert state.get(conn, request_id).outcome == "invalid"  # type: ignore[union-attr]


@pytest.mark.parametrize("missing", ["subject", "local_id"])
def test_a_request_without_subject_or_local_id_gets_an_error_receipt(
    service: CheckService, open_mailbox: Open, missing: str
):
    org = open_mailbox(ORG_MAILBOX)
    request_id = send_request(org, dat(*NOT_OPTED_OUT), **{missing: ""})
    service.poll()
    messages = inbox(org)
    assert len(messages) == 1  # the receipt alone: no cleaned list without both headers
    body = json.loads(messages[0].data)
    assert messages[0].subject == "ERROR"
    assert body["error"]["code"] == "missing_subject_or_local_id"
    assert messages[0].local_id == (
        request_id if missing == "local_id" else "X26ORG01-21112026-0001"
    )
    assert list(service.mailbox.message_ids()) == []


def test_requests_from_two_organisations_go_back_to_each(service: CheckService, open_mailbox: Open):
    first, second = open_mailbox(ORG_MAILBOX), open_mailbox(OTHER_ORG_MAILBOX)
    send_request(first, dat(OPTED_OUT[0], "9434765919"), "X26ORG01-21112026-0001")
    send_request(second, dat("9000000025", OPTED_OUT[1]), "X26ORG02-21112026-0001")
    service.poll()
    assert [m.data for m in split(inbox(first))[1]] == [dat("9434765919")]
    assert [m.data for m in split(inbox(second))[1]] == [dat("9000000025")]


def test_an_all_opted_out_request_gets_an_empty_list(service: CheckService, open_mailbox: Open):
    org = open_mailbox(ORG_MAILBOX)
    send_request(org, dat(*OPTED_OUT))
    service.poll()
    receipts, responses = split(inbox(org))
    assert checkfile.parse(responses[0].data).numbers.size == 0
    assert json.loads(receipts[0].data)["counts"]["returned"] == 0


def test_a_chunked_request_of_more_than_100000_numbers(service: CheckService, open_mailbox: Open):
    import numpy as np

    from ndoo.nhs_number import generate_synthetic

    numbers = generate_synthetic(120_000, np.random.default_rng(3))
    numbers = numbers[~np.isin(numbers, np.array([int(n) for n in OPTED_OUT]))]
    request = checkfile.format_numbers(np.concatenate([numbers, [int(OPTED_OUT[0])]]))
    org = open_mailbox(ORG_MAILBOX, chunk_size=400_000)  # four chunks, gzip each
    send_request(org, request)
    service.poll()
    receipts, responses = split(inbox(org))
    assert responses[0].data == checkfile.format_numbers(numbers)
    assert json.loads(receipts[0].data)["counts"]["received"] == numbers.size + 1


def test_reports_are_logged_and_acknowledged_never_answered(
    db: Database, mesh: Sandbox, service: CheckService, open_mailbox: Open, caplog
):
    mesh.inject_report(
        SERVICE_MAILBOX, code="14", description="not collected", workflow_id=CHECK_WORKFLOW
    )
    result = service.poll()
    assert result.reports == 1 and result.answered == 0
    assert list(service.mailbox.message_ids()) == []
    assert inbox(open_mailbox(ORG_MAILBOX)) == []
    assert "status 14" in caplog.text
    assert [e.outcome for e in audit.entries(db, action="pos.report")] == ["logged"]


def test_inboxes_beyond_a_page_are_drained(service: CheckService, open_mailbox: Open):
    org = open_mailbox(ORG_MAILBOX)
    for n in range(1, 26):  # the service lists 10 a page
        send_request(org, dat("9434765919"), f"X26ORG01-21112026-{n:04d}")
    result = service.poll()
    assert (result.listed, result.answered) == (25, 25)
    assert len(inbox(org)) == 50


def test_handshake_once_a_day(service: CheckService, monkeypatch):
    clock = [datetime(2026, 11, 21, 9, tzinfo=UTC)]
    monkeypatch.setattr(service_module, "utcnow", lambda: clock[0])
    service.poll()
    clock[0] += timedelta(hours=23)
    service.poll()
    assert service.handshakes == 1
    clock[0] += timedelta(hours=1)
    service.poll()
    assert service.handshakes == 2


# ---------------------------------------------------------------------------
# Exactly once: the worker dies at each point and a new one takes over.


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_crash_at_any_point_loses_nothing_and_answers_once(
    db: Database, open_mailbox: Open, point: str
):
    register_with_optouts(db)
    org = open_mailbox(ORG_MAILBOX)
    request_id = send_request(org, dat(*OPTED_OUT, *NOT_OPTED_OUT))
    doomed = CheckService(db, open_mailbox(SERVICE_MAILBOX), faults={point: crash})
    with pytest.raises(Crash):
        doomed.poll()

    CheckService(db, open_mailbox(SERVICE_MAILBOX)).poll()
    CheckService(db, open_mailbox(SERVICE_MAILBOX)).poll()  # and once more: nothing new

    receipts, responses = split(inbox(org))
    assert len(receipts) == 1 and len(responses) == 1
    assert responses[0].data == dat(*NOT_OPTED_OUT)
    assert json.loads(receipts[0].data)["counts"]["returned"] == 3
    assert list(open_mailbox(SERVICE_MAILBOX).message_ids()) == []
    with db.read() as conn:
        assert state.get(conn, request_id).state == state.ACKNOWLEDGED  # type: ignore[union-attr]


def test_a_crash_after_sending_with_a_reused_local_id_still_answers_once(
    db: Database, open_mailbox: Open
):
    """Tracking by local id must not mistake an earlier reply for the one in doubt."""
    register_with_optouts(db)
    org = open_mailbox(ORG_MAILBOX)
    send_request(org, dat(*NOT_OPTED_OUT), "X26ORG01-21112026-0001")
    CheckService(db, open_mailbox(SERVICE_MAILBOX)).poll()
    send_request(org, dat(*OPTED_OUT), "X26ORG01-21112026-0002", local_id="X26ORG01-21112026-0001")
    doomed = CheckService(db, open_mailbox(SERVICE_MAILBOX), faults={"after_receipt_send": crash})
    with pytest.raises(Crash):
        doomed.poll()
    CheckService(db, open_mailbox(SERVICE_MAILBOX)).poll()
    receipts, responses = split(inbox(org))
    assert len(responses) == 2
    # With three replies under one local id, tracking cannot tell; the receipt may be
    # sent again, but the second request is answered and nothing is lost.
    assert 2 <= len(receipts) <= 3


@pytest.fixture
def sqlite_db(tmp_path) -> Database:
    """For tests whose point is MESH's behaviour, not the database's."""
    from ndoo.db.migrate import upgrade

    database = Database(f"sqlite:///{tmp_path / 'pos.db'}")
    upgrade(database)
    return database


def test_mesh_failures_back_off_and_lose_nothing(
    sqlite_db: Database, open_mailbox: Open, mesh: Sandbox
):
    db = sqlite_db
    register_with_optouts(db)
    org = open_mailbox(ORG_MAILBOX)
    send_request(org, dat(*NOT_OPTED_OUT))
    waits: list[float] = []
    with faulty.answering(503) as url:
        broken = CheckService(db, open_mailbox(SERVICE_MAILBOX, url=url, timeout=2))
        polls = serve(broken, interval=60, sleep=waits.append, max_polls=4)
    assert polls == 4 and waits == [1, 2, 4, 8]
    CheckService(db, open_mailbox(SERVICE_MAILBOX)).poll()
    assert len(inbox(org)) == 2


def test_a_refused_connection_is_retried_by_serve(sqlite_db: Database, open_mailbox: Open):
    waits: list[float] = []
    dead = CheckService(
        sqlite_db, open_mailbox(SERVICE_MAILBOX, url=faulty.refused_url(), timeout=1)
    )
    serve(dead, interval=1.5, sleep=waits.append, max_polls=2)
    assert waits == [1, 1.5]  # doubling, never longer than the poll interval
    with pytest.raises(MeshUnavailable, match="connection refused"):
        dead.poll()


def test_serve_polls_no_more_often_than_the_interval(service: CheckService):
    waits: list[float] = []
    serve(service, interval=30, sleep=waits.append, max_polls=3)
    assert len(waits) == 3 and all(25 < w <= 30 for w in waits)


@pytest.mark.parametrize("point", ["after_receipt_send", "after_response_send"])
def test_a_worker_killed_with_sigkill_is_taken_over(
    db: Database, open_mailbox: Open, mesh: Sandbox, point: str
):
    import signal
    import subprocess
    import sys

    register_with_optouts(db)
    org = open_mailbox(ORG_MAILBOX)
    send_request(org, dat(*OPTED_OUT, *NOT_OPTED_OUT))
    killed = subprocess.run(
        [sys.executable, "-m", "tests.pos.killed_worker", db.url, mesh.url, SHARED_KEY, point],
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()

    CheckService(db, open_mailbox(SERVICE_MAILBOX)).poll()
    receipts, responses = split(inbox(org))
    assert (len(receipts), len(responses)) == (1, 1)
    assert responses[0].data == dat(*NOT_OPTED_OUT)


def test_a_client_speaking_raw_mesh_http_is_answered(
    service: CheckService, mesh: Sandbox, open_mailbox: Open
):
    """Another MESH client: the HTTP API by hand, a gzip body, a CRLF file with a BOM."""
    import gzip

    import requests
    from mesh_client import AuthTokenGenerator

    auth = AuthTokenGenerator(SHARED_KEY.encode(), ORG_MAILBOX, "password")
    base = f"{mesh.url}/messageexchange/{ORG_MAILBOX}"
    v2 = {"Accept": "application/vnd.mesh.v2+json"}
    body = b"\xef\xbb\xbf" + dat(OPTED_OUT[0], "9434765919", ending="\r\n")
    sent = requests.post(
        f"{base}/outbox",
        data=gzip.compress(body),
        headers={
            **v2,
            "Authorization": auth(),
            "Content-Type": "application/octet-stream",
            "Content-Encoding": "gzip",
            "mex-to": SERVICE_MAILBOX,
            "mex-workflowid": CHECK_WORKFLOW,
            "mex-filename": "0ARHC002-27022025-0050.dat",
            "mex-subject": "0ARHC002-27022025-0050",
            "mex-localid": "0ARHC002-27022025-0050-TEST",
            "mex-content-compressed": "Y",
        },
        timeout=10,
    )
    assert sent.status_code == 202, sent.text

    service.poll()

    listed = requests.get(f"{base}/inbox", headers={**v2, "Authorization": auth()}, timeout=10)
    ids = listed.json()["messages"]
    got = {}
    for message_id in ids:
        response = requests.get(
            f"{base}/inbox/{message_id}", headers={**v2, "Authorization": auth()}, timeout=10
        )
        got[response.headers["mex-subject"]] = response
        assert response.headers["mex-localid"] == "0ARHC002-27022025-0050-TEST"
    assert set(got) == {"SUCCESS", "0ARHC002-27022025-0050"}
    answer = got["0ARHC002-27022025-0050"]
    assert answer.headers["mex-filename"] == "0ARHC002-27022025-0050.dat"
    assert answer.headers["mex-from"] == SERVICE_MAILBOX
    assert answer.content == b"9434765919,\r\n"
    assert json.loads(got["SUCCESS"].content)["counts"]["returned"] == 1
