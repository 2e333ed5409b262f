"""One MESH mailbox against a real MESH server (mesh-sandbox), and every failure named."""

from __future__ import annotations

import gc
import gzip
import warnings
from collections.abc import Callable

import pytest

from ndoo.errors import (
    MeshAuthenticationFailed,
    MeshMessageGone,
    MeshRecipientRejected,
    MeshUnavailable,
)
from ndoo.mesh.sandbox import Sandbox
from ndoo.mesh.transport import CHECK_WORKFLOW, Mailbox, MailboxConfig
from ndoo.settings import Secret
from tests.conftest import ORG_MAILBOX, SERVICE_MAILBOX, mailbox_config
from tests.mesh import faulty

Open = Callable[..., Mailbox]


def test_send_list_download_acknowledge(open_mailbox: Open):
    org, service = open_mailbox(ORG_MAILBOX), open_mailbox(SERVICE_MAILBOX)
    org.handshake()
    sent = org.send(
        SERVICE_MAILBOX,
        b"9000000009,\n",
        workflow_id=CHECK_WORKFLOW,
        filename="X26ORG01-21112026-0001.dat",
        subject="X26ORG01-21112026-0001",
        local_id="X26ORG01-21112026-0001",
    )
    assert list(service.message_ids(workflow_id=CHECK_WORKFLOW)) == [sent]
    got = service.download(sent)
    assert (got.sender, got.workflow_id, got.filename, got.subject, got.local_id) == (
        ORG_MAILBOX,
        CHECK_WORKFLOW,
        "X26ORG01-21112026-0001.dat",
        "X26ORG01-21112026-0001",
        "X26ORG01-21112026-0001",
    )
    assert got.data == b"9000000009,\n" and not got.is_report
    service.acknowledge(sent)
    assert list(service.message_ids()) == []


def test_a_chunked_message_arrives_whole(open_mailbox: Open):
    org = open_mailbox(ORG_MAILBOX, chunk_size=100_000)
    service = open_mailbox(SERVICE_MAILBOX)
    data = b"".join(b"%010d,\n" % n for n in range(9_000_000_000, 9_000_050_000))
    sent = org.send(SERVICE_MAILBOX, data, workflow_id=CHECK_WORKFLOW, filename="big.dat")
    assert service.download(sent).data == data


def test_workflow_filter_leaves_other_workflows_alone(open_mailbox: Open):
    org, service = open_mailbox(ORG_MAILBOX), open_mailbox(SERVICE_MAILBOX)
    ours = org.send(SERVICE_MAILBOX, b"9000000009,\n", workflow_id=CHECK_WORKFLOW)
    org.send(SERVICE_MAILBOX, b"other", workflow_id="SOME_OTHER_WORKFLOW")
    assert list(service.message_ids(workflow_id=CHECK_WORKFLOW)) == [ours]
    assert len(list(service.message_ids())) == 2


def test_listing_follows_pages(open_mailbox: Open):
    org, service = open_mailbox(ORG_MAILBOX), open_mailbox(SERVICE_MAILBOX)
    sent = [org.send(SERVICE_MAILBOX, b"x\n", workflow_id=CHECK_WORKFLOW) for _ in range(23)]
    assert sorted(service.message_ids(workflow_id=CHECK_WORKFLOW, page_size=10)) == sorted(sent)


def test_tracking_by_local_id_counts_what_was_sent(open_mailbox: Open):
    service = open_mailbox(SERVICE_MAILBOX)
    assert service.track_local_id("L-1") == "none"
    first = service.send(ORG_MAILBOX, b"a\n", workflow_id=CHECK_WORKFLOW, local_id="L-1")
    tracked = service.track_local_id("L-1")
    assert not isinstance(tracked, str) and tracked.message_id == first
    assert tracked.recipient == ORG_MAILBOX
    service.send(ORG_MAILBOX, b"b\n", workflow_id=CHECK_WORKFLOW, local_id="L-1")
    assert service.track_local_id("L-1") == "several"


def test_a_report_is_recognised(mesh: Sandbox, open_mailbox: Open):
    org = open_mailbox(ORG_MAILBOX)
    report_id = mesh.inject_report(
        ORG_MAILBOX, code="14", description="not collected", workflow_id=CHECK_WORKFLOW
    )
    report = org.download(report_id)
    assert report.is_report and report.data == b""
    assert report.headers["statuscode"] == "14"


def test_wrong_password_is_an_authentication_error(open_mailbox: Open):
    box = open_mailbox(ORG_MAILBOX, password=Secret("not-the-password"))
    with pytest.raises(MeshAuthenticationFailed, match="HTTP 403") as caught:
        box.handshake()
    assert "not-the-password" not in str(caught.value)


def test_wrong_shared_key_is_an_authentication_error(open_mailbox: Open):
    with pytest.raises(MeshAuthenticationFailed, match="NDOO_MESH_SHARED_KEY"):
        open_mailbox(ORG_MAILBOX, shared_key=Secret("BackBone")).handshake()


def test_unknown_message_is_gone_404(open_mailbox: Open):
    with pytest.raises(MeshMessageGone, match="does not exist"):
        open_mailbox(SERVICE_MAILBOX).download("0123456789ABCDEF0123456789ABCDEF")


def test_expired_message_is_gone_410(mesh: Sandbox, open_mailbox: Open):
    org, service = open_mailbox(ORG_MAILBOX), open_mailbox(SERVICE_MAILBOX)
    sent = org.send(SERVICE_MAILBOX, b"x\n", workflow_id=CHECK_WORKFLOW)
    mesh.expire(sent)
    with pytest.raises(MeshMessageGone, match="HTTP 410"):
        service.download(sent)


def test_unknown_recipient_is_rejected_417(open_mailbox: Open):
    with pytest.raises(MeshRecipientRejected, match="NOSUCHBOX"):
        open_mailbox(ORG_MAILBOX).send("NOSUCHBOX", b"x\n", workflow_id=CHECK_WORKFLOW)


def _config(url: str, timeout: float = 5) -> MailboxConfig:
    return MailboxConfig(url, ORG_MAILBOX, Secret("p"), Secret("k"), timeout=timeout)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_say_mesh_is_unavailable(status: int):
    with (
        faulty.answering(status) as url,
        Mailbox(_config(url)) as box,
        pytest.raises(MeshUnavailable, match=f"HTTP {status}|cannot connect"),
    ):
        box.handshake()


def test_the_first_send_is_never_retried():
    seen: list[str] = []
    with warnings.catch_warnings():
        # urllib3 drops the connection of a refused, unretried POST without closing it.
        warnings.simplefilter("ignore", ResourceWarning)
        with (
            faulty.answering(503, seen) as url,
            Mailbox(_config(url)) as box,
            pytest.raises(MeshUnavailable, match="HTTP 503"),
        ):
            box.send(SERVICE_MAILBOX, b"x\n", workflow_id=CHECK_WORKFLOW)
        gc.collect()
    assert seen == [f"POST /messageexchange/{ORG_MAILBOX}/outbox"]


def test_reads_are_retried_before_giving_up():
    seen: list[str] = []
    with (
        faulty.answering(503, seen) as url,
        Mailbox(_config(url)) as box,
        pytest.raises(MeshUnavailable, match="HTTP 503"),
    ):
        list(box.message_ids())
    assert len(seen) == 4  # the first try and mesh-client's three retries


def test_a_hung_server_times_out_with_the_setting_named():
    with (
        faulty.silent() as url,
        Mailbox(_config(url, timeout=0.5)) as box,
        pytest.raises(MeshUnavailable, match="NDOO_MESH_TIMEOUT"),
    ):
        box.handshake()


def test_nothing_listening_says_so_and_names_the_url():
    url = faulty.refused_url()
    with Mailbox(_config(url)) as box, pytest.raises(MeshUnavailable) as caught:
        box.handshake()
    assert url in str(caught.value) and "connection refused" in str(caught.value)


def test_the_sandbox_is_reachable_with_gzip(open_mailbox: Open, mesh: Sandbox):
    """A gzip body sent by another client arrives decompressed."""
    import requests
    from mesh_client import AuthTokenGenerator

    auth = AuthTokenGenerator(b"ndoo-tests-shared-key", ORG_MAILBOX, "password")
    body = gzip.compress(b"9000000009,\n")
    response = requests.post(
        f"{mesh.url}/messageexchange/{ORG_MAILBOX}/outbox",
        data=body,
        headers={
            "Authorization": auth(),
            "Content-Encoding": "gzip",
            "Content-Type": "application/octet-stream",
            "mex-to": SERVICE_MAILBOX,
            "mex-workflowid": CHECK_WORKFLOW,
            "Accept": "application/vnd.mesh.v2+json",
        },
        timeout=10,
    )
    response.raise_for_status()
    got = open_mailbox(SERVICE_MAILBOX).download(response.json()["message_id"])
    assert got.data == b"9000000009,\n"
    assert mailbox_config(mesh, ORG_MAILBOX).url == mesh.url
