"""Small SQL helpers shared by every module that writes SQL text."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """Quote a table or column name for SQLite and PostgreSQL, escaping embedded quotes.

    Values are never pasted into SQL: they are always bound parameters.
    """
    if not name or "\x00" in name:
        raise ValueError("an SQL identifier must be non-empty and contain no NUL")
    return '"' + name.replace('"', '""') + '"'
