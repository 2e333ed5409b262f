"""One MESH mailbox, through NHS England's ``mesh-client``, with errors made plain.

:class:`Mailbox` wraps :class:`mesh_client.MeshClient` for the few operations ndoo
needs and translates every failure into :class:`ndoo.errors.MeshError` subclasses
whose messages say what went wrong and what to check, without secrets:

* 403 → :class:`MeshAuthenticationFailed` (mailbox, password, shared key or certificate);
* 404, 410 → :class:`MeshMessageGone` (unknown, expired or already acknowledged);
* 417 → :class:`MeshRecipientRejected` (unknown recipient, empty message, ...);
* 5xx, refused connections, timeouts → :class:`MeshUnavailable`.

Retries: ``mesh-client`` retries GET/PUT and chunk uploads with back-off, and never
retries the first POST to the outbox (a retry could send the message twice); ndoo
keeps both behaviours.  Callers that loop (the checking service) back off on
:class:`MeshUnavailable` themselves.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import requests
from mesh_client import MeshClient
from mesh_client import MeshError as ClientMeshError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ResponseError

from ndoo import __version__
from ndoo.errors import (
    ConfigurationError,
    MeshAuthenticationFailed,
    MeshError,
    MeshMessageGone,
    MeshRecipientRejected,
    MeshUnavailable,
)
from ndoo.settings import Secret, Settings

log = logging.getLogger(__name__)

#: The Check for National Data Opt-outs service's workflow, for requests and responses.
CHECK_WORKFLOW = "SPINE_NTT_UPHOLDING"


@dataclass(frozen=True)
class MailboxConfig:
    """How to reach one MESH mailbox.  ``password`` and ``shared_key`` stay masked."""

    url: str
    mailbox: str
    password: Secret
    shared_key: Secret
    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None
    timeout: float = 120.0
    chunk_size: int = 20 * 1024 * 1024

    @classmethod
    def from_settings(
        cls, settings: Settings, *, mailbox: str | None = None, password: Secret | None = None
    ) -> MailboxConfig:
        """The organisation's mailbox, or another (the service's) with its password."""
        cert, key = settings.mesh_cert, settings.mesh_key
        if (cert is None) != (key is None):
            raise ConfigurationError("NDOO_MESH_CERT and NDOO_MESH_KEY must be set together")
        for name, path in (("NDOO_MESH_CERT", cert), ("NDOO_MESH_KEY", key)):
            if path is not None and not Path(path).is_file():
                raise ConfigurationError(f"{name}: no such file: {path}")
        return cls(
            url=settings.mesh_url,
            mailbox=mailbox or settings.mesh_mailbox,
            password=password if password is not None else settings.mesh_password,
            shared_key=settings.mesh_shared_key,
            cert=cert,
            key=key,
            ca=settings.mesh_ca,
            timeout=settings.mesh_timeout,
            chunk_size=settings.mesh_chunk_size,
        )


@dataclass(frozen=True)
class Received:
    """A downloaded message: its MESH headers and its whole (decompressed) body."""

    message_id: str
    message_type: str
    sender: str | None
    recipient: str | None
    workflow_id: str | None
    filename: str | None
    subject: str | None
    local_id: str | None
    content_type: str | None
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_report(self) -> bool:
        return self.message_type.upper() == "REPORT"


@dataclass(frozen=True)
class Tracked:
    """What MESH's outbox tracking says of a message this mailbox sent."""

    message_id: str
    recipient: str | None
    filename: str | None
    status: str | None


TrackingAnswer = Tracked | Literal["none", "several"]


class Mailbox:
    """An open session on one mailbox.  Use as a context manager."""

    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        verify: str | bool | None = str(config.ca) if config.ca else None
        cert = (str(config.cert), str(config.key)) if config.cert and config.key else None
        try:
            self._client = MeshClient(
                config.url,
                config.mailbox,
                config.password.reveal(),
                shared_key=config.shared_key.reveal().encode("utf-8"),
                cert=cert,
                verify=verify,
                max_chunk_size=config.chunk_size,
                timeout=config.timeout,
                application_name=f"ndoo {__version__}",
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot load the MESH certificate files: {exc}") from exc

    def __enter__(self) -> Mailbox:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]

    @property
    def mailbox(self) -> str:
        return self.config.mailbox

    # -- operations -----------------------------------------------------------------

    def handshake(self) -> None:
        """Validate the mailbox (MESH asks for this once a day)."""
        with self._translated("handshake"):
            self._client.handshake()  # type: ignore[no-untyped-call]

    def message_ids(self, *, workflow_id: str | None = None, page_size: int = 500) -> Iterator[str]:
        """Every message id waiting in the inbox, following MESH's pages."""
        with self._translated("inbox listing"):
            yield from self._client.iterate_message_ids(
                workflow_filter=workflow_id, batch_size=page_size
            )

    def download(self, message_id: str) -> Received:
        """Download a whole message (all chunks, decompressed) without acknowledging it."""
        with self._translated("download", message_id=message_id):
            message = self._client.retrieve_message(message_id)
            try:
                data = message.read()
            finally:
                message.close()  # type: ignore[no-untyped-call]
            headers = dict(message.mex_headers())  # type: ignore[no-untyped-call]
            return Received(
                message_id=message_id,
                message_type=str(message.message_type or "DATA"),
                sender=message.sender,
                recipient=message.recipient,
                workflow_id=message.workflow_id,
                filename=message.filename,
                subject=message.subject,
                local_id=message.local_id,
                content_type=message.content_type,
                data=data,
                headers={str(k): str(v) for k, v in headers.items()},
            )

    def acknowledge(self, message_id: str) -> None:
        """Acknowledge a downloaded message, removing it from the inbox."""
        with self._translated("acknowledge", message_id=message_id):
            self._client.acknowledge_message(message_id)

    def send(
        self,
        recipient: str,
        data: bytes,
        *,
        workflow_id: str,
        filename: str | None = None,
        subject: str | None = None,
        local_id: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """Send a message (gzip, chunked above the configured size); its MESH id."""
        headers: dict[str, Any] = {"workflow_id": workflow_id}
        for name, value in (
            ("filename", filename),
            ("subject", subject),
            ("local_id", local_id),
            ("content_type", content_type),
        ):
            if value:
                headers[name] = value
        with self._translated("send", recipient=recipient):
            return str(self._client.send_message(recipient, data, compress=True, **headers))

    def track_local_id(self, local_id: str) -> TrackingAnswer:
        """What the outbox holds under a local id: one message, none, or several.

        Uses MESH's tracking by local id (deprecated by MESH in favour of tracking by
        message id, which needs the id a lost response would have carried).
        """
        url = f"{self._client.mailbox_url}/outbox/tracking/{quote(local_id, safe='')}"
        with self._translated("tracking"):
            session: requests.Session = self._client._session
            response = session.get(
                url, headers={"Accept": "application/json"}, timeout=self.config.timeout
            )
            if response.status_code == 404:
                return "none"
            if response.status_code == 300:
                return "several"
            response.raise_for_status()
            body = response.json()
            return Tracked(
                message_id=str(body.get("messageId") or body.get("message_id")),
                recipient=body.get("recipient"),
                filename=body.get("fileName") or body.get("filename"),
                status=body.get("status"),
            )

    # -- error translation ----------------------------------------------------------

    def _translated(self, operation: str, **context: str) -> _Translate:
        return _Translate(self.config, operation, context)


class _Translate:
    """Context manager turning transport failures into ndoo's MESH errors."""

    def __init__(self, config: MailboxConfig, operation: str, context: dict[str, str]) -> None:
        self.config = config
        self.operation = operation
        self.context = context

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None or isinstance(exc, MeshError | GeneratorExit):
            return
        translated = translate(exc, self.config, self.operation, self.context)
        if translated is not None:
            raise translated from exc


def translate(
    exc: BaseException, config: MailboxConfig, operation: str, context: dict[str, str]
) -> MeshError | None:
    """The ndoo error for a failure of ``operation`` on ``config``'s mailbox, or None."""
    where = f"MESH {operation} on mailbox {config.mailbox} at {config.url}"
    details = {"mailbox": config.mailbox, "operation": operation, **context}
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        exc.response.close()  # a streamed download leaves its connection open otherwise
        return _for_status(exc.response.status_code, where, details)
    if isinstance(exc, ClientMeshError):
        status, text = _send_error(exc)
        if "authentication" in text.lower():
            return _for_status(403, where, details)
        if status == 417 or text:
            recipient = context.get("recipient", "the recipient")
            return MeshRecipientRejected(
                f"{where} refused the message for {recipient}: {text or 'rejected'}; check the "
                "recipient mailbox id and that the message is not empty",
                **details,
            )
        return MeshError(f"{where} failed: {exc}", **details)
    status_text = re.search(r"too many (\d{3}) error responses", str(exc))
    if status_text and isinstance(exc, requests.exceptions.RetryError | ResponseError):
        return _for_status(int(status_text.group(1)), where, details)
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc):
        return MeshUnavailable(
            f"{where} timed out after {config.timeout:g} s (NDOO_MESH_TIMEOUT); MESH may be slow "
            "or unreachable — try again later",
            **details,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return MeshAuthenticationFailed(
            f"{where}: the TLS connection failed ({_reason(exc)}); check NDOO_MESH_CERT, "
            "NDOO_MESH_KEY and NDOO_MESH_CA",
            **details,
        )
    if isinstance(exc, requests.ConnectionError | ResponseError | Urllib3Error):
        # urllib3's own errors reach here when mesh-client refuses to retry a first send.
        return MeshUnavailable(
            f"{where}: cannot connect ({_reason(exc)}); check NDOO_MESH_URL and that MESH "
            "(or the local sandbox: `ndoo mesh sandbox`) is running",
            **details,
        )
    return None


def _for_status(status: int, where: str, details: dict[str, str]) -> MeshError:
    if status in (401, 403):
        return MeshAuthenticationFailed(
            f"{where} was refused (HTTP {status}): check NDOO_MESH_MAILBOX, its password, "
            "NDOO_MESH_SHARED_KEY and the client certificate",
            status=status,
            **details,
        )
    if status in (404, 410):
        what = "does not exist" if status == 404 else "has expired or was already acknowledged"
        return MeshMessageGone(
            f"{where}: the message {what} (HTTP {status})", status=status, **details
        )
    if status == 417:
        return MeshRecipientRejected(
            f"{where}: MESH refused the message (HTTP 417); check the recipient mailbox id",
            status=status,
            **details,
        )
    if status >= 500 or status in (425, 429):
        return MeshUnavailable(
            f"{where}: MESH is unavailable (HTTP {status}); try again later",
            status=status,
            **details,
        )
    return MeshError(f"{where} failed with HTTP {status}", status=status, **details)


def _send_error(exc: ClientMeshError) -> tuple[int | None, str]:
    """mesh-client raises MeshError(message, response_dict) for a refused send."""
    args = exc.args
    text = str(args[0]) if args else ""
    body = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
    code = body.get("errorCode") or body.get("error_code")
    status = 417 if code or body.get("errorEvent") else None
    return status, text


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
