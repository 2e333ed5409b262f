"""Problems with a form, as the NHS.UK error summary shows them.

Each problem names the field it is about (its element id), or none; the layout shows
every problem in the error summary, linked to its field, and each field's own message
beside it (``errors`` and ``errors_list`` in the template context).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def sentence(text: str) -> str:
    """A library message as the start of a sentence (a capital letter first)."""
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


class Problems:
    """Problems for the error summary: each names the field it is about, if any.

    ``context()`` gives the layout's ``errors`` (field id to message, shown beside the
    field) and ``errors_list`` (the summary's links).
    """

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.items: list[dict[str, str]] = []

    def add(self, field: str | None, message: str, *, href: str | None = None) -> None:
        text = sentence(message)
        key = field or "_page"
        self.errors.setdefault(key, text)
        self.items.append(
            {"text": text, "href": href or (f"#{field}" if field else "#maincontent")}
        )

    def __bool__(self) -> bool:
        return bool(self.items)

    def context(self) -> dict[str, Any]:
        return {"errors": self.errors, "errors_list": self.items} if self.items else {}


def error_context(problems: Iterable[tuple[str | None, str]]) -> dict[str, Any]:
    """The template context for ``(field, message)`` pairs (see :class:`Problems`)."""
    found = Problems()
    for field, message in problems:
        found.add(field, message)
    return found.context()
