"""Sending messages to citizens: one interface, three backends.

:class:`Notifier` is what the rest of ndoo uses: ``send_sms`` and ``send_email``,
each with a ``reference`` that names the message without naming the person.  The
backends:

- :class:`OutboxNotifier` keeps each message in the ``outbox_message`` table; the
  demo shows them at ``/outbox`` so a new user can read their security code.
- :class:`NotifyNotifier` sends through GOV.UK Notify with one text-message
  template (personalisation ``body``) and one email template (``subject``, ``body``).
- :class:`SmtpNotifier` sends email over SMTP; it cannot send text messages.

:func:`notifier_from_settings` picks one by the setting ``notify_backend``.  Errors
of the services are translated at this boundary: a key, template or server that
cannot be used is :class:`ConfigurationError`, an address the service refuses is
:class:`InputError`.  Nothing here logs an address or a message body.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol, cast

from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient
from sqlalchemy import select

from ndoo.db import Database
from ndoo.db.models import outbox_message
from ndoo.errors import ConfigurationError, InputError, NotificationFailed
from ndoo.settings import Settings
from ndoo.timeutil import from_db, iso, to_db, utcnow

SMS, EMAIL = "sms", "email"

NOTIFY_URL = "https://api.notifications.service.gov.uk"

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_NOTIFY_KEY = re.compile(rf".+-{_UUID}-{_UUID}", re.IGNORECASE)


class Notifier(Protocol):
    """Sends text messages and emails.  ``channels`` says which of ``sms`` and
    ``email`` it can send."""

    channels: frozenset[str]

    def send_sms(self, to: str, body: str, *, reference: str) -> None: ...

    def send_email(self, to: str, subject: str, body: str, *, reference: str) -> None: ...

    def sent(self, reference: str) -> bool | None:
        """Whether a message with ``reference`` was accepted; ``None`` when the backend
        cannot tell (SMTP keeps no record).  Used to finish a run that stopped midway
        without sending a message twice."""
        ...


# ---------------------------------------------------------------------------
# The local outbox


@dataclass(frozen=True)
class OutboxMessage:
    """One message kept in the local outbox."""

    id: int
    created_at: datetime
    channel: str
    recipient: str
    subject: str | None
    body: str
    reference: str | None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": iso(self.created_at)}


class OutboxNotifier:
    """Keeps messages in the database instead of sending them (the demo's backend)."""

    channels = frozenset({SMS, EMAIL})

    def __init__(self, db: Database) -> None:
        self.db = db

    def _keep(self, channel: str, to: str, subject: str | None, body: str, reference: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                outbox_message.insert().values(
                    created_at=to_db(utcnow()),
                    channel=channel,
                    recipient=to,
                    subject=subject,
                    body=body,
                    reference=reference,
                )
            )

    def send_sms(self, to: str, body: str, *, reference: str) -> None:
        self._keep(SMS, to, None, body, reference)

    def send_email(self, to: str, subject: str, body: str, *, reference: str) -> None:
        self._keep(EMAIL, to, subject, body, reference)

    def sent(self, reference: str) -> bool | None:
        with self.db.read() as conn:
            found = conn.execute(
                select(outbox_message.c.id).where(outbox_message.c.reference == reference).limit(1)
            ).first()
        return found is not None


def outbox(db: Database, limit: int = 50) -> list[OutboxMessage]:
    """The newest ``limit`` messages of the local outbox, newest first."""
    with db.read() as conn:
        rows = conn.execute(
            select(outbox_message)
            .order_by(outbox_message.c.created_at.desc(), outbox_message.c.id.desc())
            .limit(limit)
        ).mappings()
        return [
            OutboxMessage(
                id=int(row["id"]),
                created_at=from_db(row["created_at"]),
                channel=row["channel"],
                recipient=row["recipient"],
                subject=row["subject"],
                body=row["body"],
                reference=row["reference"],
            )
            for row in rows
        ]


# ---------------------------------------------------------------------------
# GOV.UK Notify


class NotifyNotifier:
    """Sends through GOV.UK Notify.

    The text-message template must contain ``((body))``; the email template
    ``((subject))`` and ``((body))``.  ``base_url`` is Notify's unless given (the tests
    point it at a stand-in server on loopback).
    """

    channels = frozenset({SMS, EMAIL})

    def __init__(
        self,
        api_key: str,
        sms_template: str,
        email_template: str,
        *,
        base_url: str = NOTIFY_URL,
        timeout: float = 30.0,
    ) -> None:
        if not _NOTIFY_KEY.fullmatch(api_key.strip()):
            raise ConfigurationError(
                "NDOO_NOTIFY_API_KEY is not a GOV.UK Notify API key (it ends with two "
                "UUIDs: the service id and the secret); create one under API integration "
                "in Notify"
            )
        self.sms_template = sms_template.strip()
        self.email_template = email_template.strip()
        # The client has no type hints; it is used through Any.
        client: Any = cast(Any, NotificationsAPIClient)
        self.client: Any = client(api_key.strip(), base_url=base_url, timeout=timeout)

    def send_sms(self, to: str, body: str, *, reference: str) -> None:
        if not self.sms_template:
            raise ConfigurationError(
                "NDOO_NOTIFY_SMS_TEMPLATE is empty: give the id of a Notify text-message "
                "template containing ((body))"
            )
        self._send(
            lambda: self.client.send_sms_notification(
                phone_number=to,
                template_id=self.sms_template,
                personalisation={"body": body},
                reference=reference,
            )
        )

    def send_email(self, to: str, subject: str, body: str, *, reference: str) -> None:
        if not self.email_template:
            raise ConfigurationError(
                "NDOO_NOTIFY_EMAIL_TEMPLATE is empty: give the id of a Notify email "
                "template containing ((subject)) and ((body))"
            )
        self._send(
            lambda: self.client.send_email_notification(
                email_address=to,
                template_id=self.email_template,
                personalisation={"subject": subject, "body": body},
                reference=reference,
            )
        )

    def sent(self, reference: str) -> bool | None:
        try:
            answer = self.client.get_all_notifications(reference=reference)
        except APIError as exc:
            raise _notify_error(exc) from exc
        return bool(answer.get("notifications"))

    @staticmethod
    def _send(call: Any) -> None:
        try:
            call()
        except APIError as exc:
            raise _notify_error(exc) from exc


def _notify_error(exc: APIError) -> ConfigurationError | InputError | NotificationFailed:
    """The ndoo error for a Notify error: the reasons Notify gives, never the address."""
    status = exc.status_code
    reasons = exc.message
    if isinstance(reasons, list):
        text = "; ".join(str(r.get("message", r.get("error", ""))) for r in reasons)
        kinds = {str(r.get("error", "")) for r in reasons}
    else:
        text, kinds = str(reasons), set()
    if (
        status == 400
        and "ValidationError" in kinds
        and re.search(r"phone|email|number|address", text, re.IGNORECASE)
    ):
        return InputError(f"GOV.UK Notify refused the address: {text}")
    if status in (401, 403):
        return ConfigurationError(
            f"GOV.UK Notify refused the API key ({status}: {text}); check NDOO_NOTIFY_API_KEY"
        )
    if status == 400:
        return ConfigurationError(
            f"GOV.UK Notify refused the message ({text}); check the template ids and that "
            "the key may send to this recipient (a team or trial key cannot send to everyone)"
        )
    if status == 429:
        return NotificationFailed(f"GOV.UK Notify's rate limit was reached ({text}); try later")
    return NotificationFailed(f"GOV.UK Notify could not be used ({status}: {text}); try later")


# ---------------------------------------------------------------------------
# SMTP


class SmtpNotifier:
    """Sends email over SMTP (with STARTTLS and a login when configured)."""

    channels = frozenset({EMAIL})

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        sender: str,
        starttls: bool,
        *,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.sender = sender
        self.starttls = starttls
        self.timeout = timeout

    def send_sms(self, to: str, body: str, *, reference: str) -> None:
        raise ConfigurationError(
            "the smtp notify backend sends email only and cannot send text messages; "
            "set NDOO_NOTIFY_BACKEND=notify to send text messages through GOV.UK Notify"
        )

    def sent(self, reference: str) -> bool | None:
        return None  # an SMTP server keeps no record that can be asked

    def send_email(self, to: str, subject: str, body: str, *, reference: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["X-Reference"] = reference
        message.set_content(body)
        where = f"{self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise ConfigurationError(
                f"the SMTP server {where} refused the login; check NDOO_SMTP_USERNAME and "
                "NDOO_SMTP_PASSWORD"
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise InputError("the SMTP server refused the recipient's address") from exc
        except smtplib.SMTPSenderRefused as exc:
            raise ConfigurationError(
                f"the SMTP server {where} refused the sender; check NDOO_SMTP_SENDER"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise ConfigurationError(
                f"the SMTP server {where} does not support STARTTLS or login; "
                "check NDOO_SMTP_STARTTLS and NDOO_SMTP_USERNAME"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise NotificationFailed(
                f"could not send email through the SMTP server {where} "
                f"({type(exc).__name__}); check NDOO_SMTP_HOST and NDOO_SMTP_PORT"
            ) from exc


def notifier_from_settings(settings: Settings, db: Database) -> Notifier:
    """The notifier the settings ask for (``notify_backend``: outbox, notify or smtp)."""
    backend = settings.notify_backend
    if backend == "notify":
        return NotifyNotifier(
            settings.notify_api_key.reveal(),
            settings.notify_sms_template,
            settings.notify_email_template,
        )
    if backend == "smtp":
        return SmtpNotifier(
            settings.smtp_host,
            int(settings.smtp_port),
            settings.smtp_username,
            settings.smtp_password.reveal(),
            settings.smtp_sender,
            bool(settings.smtp_starttls),
        )
    return OutboxNotifier(db)
