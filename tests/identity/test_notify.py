"""The one notification interface and its three backends.

SMTP is tested against a real SMTP server (aiosmtpd) on loopback.  GOV.UK Notify
cannot be reached from here, so its tests run the real Notify client against a small
stand-in on loopback that implements the two endpoints the client calls
(``/v2/notifications/sms`` and ``/v2/notifications/email``) and checks what Notify
checks: the JWT is signed with the key's secret and names the service, and the body
has the template id and the personalisation.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ndoo.errors import ConfigurationError, InputError, NotificationFailed
from ndoo.identity.notify import (
    NotifyNotifier,
    OutboxNotifier,
    SmtpNotifier,
    notifier_from_settings,
    outbox,
)
from ndoo.settings import Secret, load_settings

# ---------------------------------------------------------------------------
# The outbox


def test_the_outbox_keeps_messages_newest_first(db):
    notifier = OutboxNotifier(db)
    notifier.send_sms("07700900001", "first", reference="r1")
    notifier.send_email("a@example.com", "Subject", "second", reference="r2")
    notifier.send_sms("07700900002", "third", reference="r3")
    messages = outbox(db)
    assert [m.body for m in messages] == ["third", "second", "first"]
    assert messages[1].channel == "email" and messages[1].subject == "Subject"
    assert messages[0].recipient == "07700900002" and messages[0].reference == "r3"
    assert [m.body for m in outbox(db, limit=2)] == ["third", "second"]
    assert messages[0].as_dict()["created_at"].endswith("Z")


# ---------------------------------------------------------------------------
# SMTP


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"ndoo", b"right")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield controller, inbox
    controller.stop()


def _smtp(controller: Controller, **changes: Any) -> SmtpNotifier:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": controller.port,
        "username": "",
        "password": "",
        "sender": "no-reply@ndoo.invalid",
        "starttls": False,
        **changes,
    }
    return SmtpNotifier(**values, timeout=5)


def test_smtp_delivers_an_email_to_a_real_server(smtp_server):
    controller, inbox = smtp_server
    _smtp(controller).send_email("a@example.com", "Your code", "It is 123456.", reference="c-1")
    ((sender, recipients, content),) = inbox.messages
    assert sender == "no-reply@ndoo.invalid" and recipients == ["a@example.com"]
    message = message_from_bytes(content)
    assert message["Subject"] == "Your code"
    assert message["X-Reference"] == "c-1"
    assert "It is 123456." in message.get_payload()


def test_smtp_logs_in_when_configured_and_says_when_the_login_is_refused(smtp_server):
    controller, inbox = smtp_server
    _smtp(controller, username="ndoo", password="right").send_email(
        "a@example.com", "S", "B", reference="r"
    )
    assert len(inbox.messages) == 1
    with pytest.raises(ConfigurationError, match="refused the login"):
        _smtp(controller, username="ndoo", password="wrong").send_email(
            "a@example.com", "S", "B", reference="r"
        )
    assert len(inbox.messages) == 1


def test_smtp_cannot_send_text_messages_and_says_what_to_use():
    notifier = SmtpNotifier("127.0.0.1", 25, "", "", "x@example.com", False)
    assert notifier.channels == frozenset({"email"})
    with pytest.raises(ConfigurationError, match=r"text messages.*NDOO_NOTIFY_BACKEND=notify"):
        notifier.send_sms("07700900001", "body", reference="r")


def test_an_smtp_server_that_cannot_be_reached_says_the_message_was_not_sent():
    notifier = SmtpNotifier("127.0.0.1", _free_port(), "", "", "x@example.com", False, timeout=2)
    with pytest.raises(NotificationFailed, match="NDOO_SMTP_HOST"):
        notifier.send_email("a@example.com", "S", "B", reference="r")


# ---------------------------------------------------------------------------
# GOV.UK Notify (a stand-in on loopback)

SERVICE_ID = str(uuid.uuid4())
SECRET = str(uuid.uuid4())
API_KEY = f"ndoo_test-{SERVICE_ID}-{SECRET}"
SMS_TEMPLATE = str(uuid.uuid4())
EMAIL_TEMPLATE = str(uuid.uuid4())


class NotifyStandIn(BaseHTTPRequestHandler):
    """``POST /v2/notifications/sms`` and ``/email`` as GOV.UK Notify answers them."""

    received: list[tuple[str, dict[str, Any]]]
    fail_with: tuple[int, dict[str, Any]] | None = None

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
        return

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            claims = {}
        if claims.get("iss") != SERVICE_ID or "iat" not in claims:
            error = {
                "error": "AuthError",
                "message": "Invalid token: signature, api token not found",
            }
            self._answer(403, {"status_code": 403, "errors": [error]})
            return
        if self.fail_with is not None:
            self._answer(*self.fail_with)
            return
        kind = self.path.rsplit("/", 1)[-1]
        template = SMS_TEMPLATE if kind == "sms" else EMAIL_TEMPLATE
        if self.path not in ("/v2/notifications/sms", "/v2/notifications/email") or (
            body.get("template_id") != template
        ):
            error = {"error": "BadRequestError", "message": "Template not found"}
            self._answer(400, {"status_code": 400, "errors": [error]})
            return
        self.received.append((kind, body))
        self._answer(201, {"id": str(uuid.uuid4()), "reference": body.get("reference")})


@dataclass
class StandIn:
    url: str
    handler: type[NotifyStandIn]


@pytest.fixture
def notify() -> Iterator[StandIn]:
    handler = type("Handler", (NotifyStandIn,), {"received": [], "fail_with": None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield StandIn(f"http://127.0.0.1:{server.server_address[1]}", handler)
    server.shutdown()
    server.server_close()


def _notify(url: str, key: str = API_KEY) -> NotifyNotifier:
    return NotifyNotifier(key, SMS_TEMPLATE, EMAIL_TEMPLATE, base_url=url, timeout=5)


def test_notify_sends_with_the_templates_and_a_token_signed_by_the_key(notify):
    notifier = _notify(notify.url)
    notifier.send_sms("07700900123", "Your code is 123456.", reference="code-1")
    notifier.send_email("a@example.com", "Your code", "It is 123456.", reference="code-2")
    assert notify.handler.received == [
        (
            "sms",
            {
                "phone_number": "07700900123",
                "template_id": SMS_TEMPLATE,
                "personalisation": {"body": "Your code is 123456."},
                "reference": "code-1",
            },
        ),
        (
            "email",
            {
                "email_address": "a@example.com",
                "template_id": EMAIL_TEMPLATE,
                "personalisation": {"subject": "Your code", "body": "It is 123456."},
                "reference": "code-2",
            },
        ),
    ]


def test_notify_refusing_the_key_is_a_configuration_error(notify):
    wrong = f"ndoo_test-{SERVICE_ID}-{uuid.uuid4()}"
    with pytest.raises(ConfigurationError, match="NDOO_NOTIFY_API_KEY"):
        _notify(notify.url, wrong).send_sms("07700900123", "body", reference="r")
    assert notify.handler.received == []


def test_notify_refusing_the_address_is_an_input_error(notify):
    notify.handler.fail_with = (
        400,
        {
            "status_code": 400,
            "errors": [
                {"error": "ValidationError", "message": "phone_number Not a UK mobile number"}
            ],
        },
    )
    with pytest.raises(InputError, match="Not a UK mobile number") as refused:
        _notify(notify.url).send_sms("01632960001", "body", reference="r")
    assert "01632960001" not in refused.value.message


@pytest.mark.parametrize("status", [429, 500, 503])
def test_notify_failing_or_busy_says_to_try_later(notify, status):
    error = {"error": "Error", "message": "Internal server error"}
    notify.handler.fail_with = (status, {"status_code": status, "errors": [error]})
    with pytest.raises(NotificationFailed, match="try later"):
        _notify(notify.url).send_email("a@example.com", "S", "B", reference="r")


def test_notify_that_cannot_be_reached_says_to_try_later():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(NotificationFailed, match="try later"):
        _notify(closed).send_sms("07700900123", "body", reference="r")


def test_notify_needs_a_real_key_and_the_templates():
    with pytest.raises(ConfigurationError, match=r"not a GOV\.UK Notify API key"):
        NotifyNotifier("not-a-key", SMS_TEMPLATE, EMAIL_TEMPLATE)
    no_templates = NotifyNotifier(API_KEY, "", "")
    with pytest.raises(ConfigurationError, match="NDOO_NOTIFY_SMS_TEMPLATE"):
        no_templates.send_sms("07700900123", "body", reference="r")
    with pytest.raises(ConfigurationError, match="NDOO_NOTIFY_EMAIL_TEMPLATE"):
        no_templates.send_email("a@example.com", "S", "B", reference="r")


# ---------------------------------------------------------------------------
# Choosing the backend


def _settings(tmp_path, **values: str):
    environ = {
        "NDOO_HOME": str(tmp_path),
        "NDOO_ENV_FILE": str(tmp_path / "absent.env"),
        **{f"NDOO_{k.upper()}": v for k, v in values.items()},
    }
    return load_settings(environ=environ)


def test_the_settings_choose_the_backend(tmp_path, db):
    assert isinstance(notifier_from_settings(_settings(tmp_path), db), OutboxNotifier)
    notify = notifier_from_settings(
        _settings(
            tmp_path,
            notify_backend="notify",
            notify_api_key=API_KEY,
            notify_sms_template=SMS_TEMPLATE,
            notify_email_template=EMAIL_TEMPLATE,
        ),
        db,
    )
    assert isinstance(notify, NotifyNotifier) and notify.sms_template == SMS_TEMPLATE
    smtp = notifier_from_settings(
        _settings(
            tmp_path,
            notify_backend="smtp",
            smtp_host="mail.example.com",
            smtp_port="587",
            smtp_password="pw",
            smtp_starttls="true",
        ),
        db,
    )
    assert isinstance(smtp, SmtpNotifier)
    assert (smtp.host, smtp.port, smtp.password, smtp.starttls) == (
        "mail.example.com",
        587,
        "pw",
        True,
    )
    assert not isinstance(smtp.password, Secret)
    with pytest.raises(ConfigurationError):
        notifier_from_settings(_settings(tmp_path, notify_backend="notify"), db)
