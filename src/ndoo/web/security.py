"""Response headers every page carries, and a rate limit per client address.

Every response gets a Content-Security-Policy whose only inline script is the layout's,
by nonce; frames are refused; pages are never cached (they may show personal data);
no referrer leaves the service.  :class:`RateLimiter` counts requests per client
address and purpose in a sliding window, in this process's memory.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from ndoo.errors import RateLimited


def csp(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


async def security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """HTTP middleware: a fresh nonce for the page, then the headers on its response."""
    nonce = secrets.token_urlsafe(16)
    request.state.csp_nonce = nonce
    response = await call_next(request)
    headers = response.headers
    headers["Content-Security-Policy"] = csp(nonce)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if not request.url.path.startswith("/static/"):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


class RateLimiter:
    """At most ``limit`` requests per ``window`` seconds per client address and purpose."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, request: Request, purpose: str, *, limit: int | None = None) -> None:
        """Count one request; :class:`RateLimited` once the client has had its share."""
        client = request.client.host if request.client else "unknown"
        now = time.monotonic()
        allowed = limit if limit is not None else self.limit
        with self._lock:
            hits = self._hits[(client, purpose)]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= allowed:
                raise RateLimited(
                    "too many requests from this address; wait a minute and try again",
                    retry_after=int(self.window),
                )
            hits.append(now)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
