"""Times: aware UTC inside the library, naive UTC in the database, ISO 8601 outside."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from ndoo.errors import InputError


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_db(value: datetime) -> datetime:
    """The naive UTC form the database stores."""
    return aware(value).replace(tzinfo=None)


def from_db(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of ``day``: the effective time of a date-only choice."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def parse_when(text: str, *, what: str = "time") -> datetime:
    """Parse ``2021-06-15`` or ``2021-06-15T09:30:00[Z|+01:00]`` to aware UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            return start_of_day(date.fromisoformat(value))
        return aware(datetime.fromisoformat(value))
    except ValueError:
        raise InputError(
            f"{what} {text!r} is not an ISO date or time (2021-06-15 or 2021-06-15T09:30:00Z)"
        ) from None


def iso(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: ``2021-06-15T09:30:00.000000Z``."""
    return aware(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def age_on(date_of_birth: date, day: date) -> int:
    """Age in whole years on ``day``."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - int(before_birthday)
