"""A small register and request files for the checking-service tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from ndoo import people
from ndoo.db import Database
from ndoo.register import Channel, ChoiceChange, State, set_choice

#: Synthetic numbers (the 9xx range is never issued).
OPTED_OUT = ("9000000009", "9000000017")
NOT_OPTED_OUT = ("9000000025", "9000000033", "9434765919")


def register_with_optouts(db: Database) -> None:
    """Five people; the first two have an opt-out in force."""
    for number in (*OPTED_OUT, *NOT_OPTED_OUT):
        people.add(db, people.Person(number, date(1970, 1, 1), "2"), actor="test")
    for number in OPTED_OUT:
        change = ChoiceChange(
            number,
            State.OUT,
            Channel.OP,
            by_self=True,
            effective_at=datetime(2020, 1, 1, tzinfo=UTC),
        )
        set_choice(db, change, actor="test")


def dat(*numbers: str, ending: str = "\n") -> bytes:
    return "".join(f"{n},{ending}" for n in numbers).encode()


Hook = Callable[[], None]


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


def crash() -> None:
    raise Crash
