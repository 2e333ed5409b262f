"""The register's rules, written once over columns so one change and a million are judged alike.

A batch of proposed events, with the facts about each person, is checked rule by
rule; the first row that breaks any rule is reported with the first rule it breaks.

- A person aged 13 or over, with capacity, sets their own choice.
- A proxy acts only for a child under 13 or a person recorded as lacking capacity,
  with a role and an evidence reference: a parent or guardian (``GUARDIAN``) for
  someone under 18, an attorney (``POA``) for an adult, a court-appointed deputy
  (``COURTDEP``) for either.  A healthcare professional (``HCP``) acts only for a
  person recorded as being in a detained or secure estate.
- Nobody can change the choice of a deceased person: no event may be recorded on or
  after the date of death, nor take effect then.
- Effective times are not in the future, not before the person's birth, and not
  before the service opened on 25 May 2018 — except converted Type 2 objections,
  which keep their original date (on or before 11 October 2018) and were recorded
  by the GP, so the age and proxy rules do not apply to them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from ndoo.errors import (
    DeceasedPerson,
    InputError,
    NdooError,
    ProxyNotPermitted,
    RuleViolation,
    SelfNotPermitted,
)
from ndoo.people import Person
from ndoo.register.vocabulary import SERVICE_LAUNCH, TYPE2_CUTOFF
from ndoo.timeutil import to_db

Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class EventFacts:
    """Columns describing proposed events and the people they are for (one row each).

    Times are ``datetime64[us]`` in UTC; dates ``datetime64[D]`` with ``NaT`` for none.
    """

    actor: npt.NDArray[np.str_]
    channel: npt.NDArray[np.str_]
    effective_at: npt.NDArray[np.datetime64]
    recorded_at: npt.NDArray[np.datetime64]
    date_of_birth: npt.NDArray[np.datetime64]
    date_of_death: npt.NDArray[np.datetime64]
    lacks_capacity: Bools
    detained: Bools
    has_proxy_name: Bools
    has_proxy_evidence: Bools

    def __len__(self) -> int:
        return int(self.actor.shape[0])

    @classmethod
    def for_people(
        cls,
        persons: Sequence[Person],
        *,
        actors: Sequence[str],
        channels: Sequence[str],
        effective_at: Sequence[datetime],
        recorded_at: datetime,
        proxy_names: Sequence[str | None] | None = None,
        proxy_evidence: Sequence[str | None] | None = None,
    ) -> EventFacts:
        """Facts for changes proposed for known people (times aware or naive UTC)."""
        count = len(persons)
        names = proxy_names if proxy_names is not None else [None] * count
        evidence = proxy_evidence if proxy_evidence is not None else [None] * count
        return cls(
            actor=np.array(actors, dtype=str),
            channel=np.array(channels, dtype=str),
            effective_at=np.array([to_db(t) for t in effective_at], dtype="datetime64[us]"),
            recorded_at=np.full(count, np.datetime64(to_db(recorded_at), "us")),
            date_of_birth=np.array([p.date_of_birth for p in persons], dtype="datetime64[D]"),
            date_of_death=np.array(
                [p.date_of_death or "NaT" for p in persons], dtype="datetime64[D]"
            ),
            lacks_capacity=np.array([p.lacks_capacity for p in persons], dtype=bool),
            detained=np.array([p.detained for p in persons], dtype=bool),
            has_proxy_name=np.array([bool(n and n.strip()) for n in names], dtype=bool),
            has_proxy_evidence=np.array([bool(e and e.strip()) for e in evidence], dtype=bool),
        )


def age_in_years(
    born: npt.NDArray[np.datetime64], on: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.int64]:
    """Whole years from ``born`` to ``on`` (both ``datetime64[D]``)."""
    years = (on.astype("datetime64[Y]") - born.astype("datetime64[Y]")).astype(np.int64)
    # Compare month and day, not day of year, so leap years do not shift birthdays.
    born_md = _month_day(born)
    on_md = _month_day(on)
    result: npt.NDArray[np.int64] = years - (on_md < born_md).astype(np.int64)
    return result


def _month_day(days: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
    months = days.astype("datetime64[M]")
    month = (months - days.astype("datetime64[Y]").astype("datetime64[M]")).astype(np.int64)
    day = (days - months.astype("datetime64[D]")).astype(np.int64)
    result: npt.NDArray[np.int64] = month * 100 + day
    return result


Rule = tuple[Bools, Callable[[], NdooError]]


def _rules(facts: EventFacts, now: np.datetime64) -> list[Rule]:
    effective_day = facts.effective_at.astype("datetime64[D]")
    recorded_day = facts.recorded_at.astype("datetime64[D]")
    age = age_in_years(facts.date_of_birth, effective_day)
    conversion = facts.channel == "T2"
    person_event = ~conversion
    dead = ~np.isnat(facts.date_of_death)
    child = age < 13
    incapable = facts.lacks_capacity
    actor = facts.actor
    proxy = actor != "SELF"
    launch = np.datetime64(SERVICE_LAUNCH, "D")
    cutoff = np.datetime64(TYPE2_CUTOFF, "D")
    return [
        (
            facts.effective_at > now,
            lambda: InputError("the effective time is in the future"),
        ),
        (
            effective_day < facts.date_of_birth,
            lambda: RuleViolation("the effective time is before the person was born"),
        ),
        (
            dead & ((facts.date_of_death <= recorded_day) | (facts.date_of_death <= effective_day)),
            lambda: DeceasedPerson(
                "this person has died: their choice stays as it was and cannot be changed"
            ),
        ),
        (
            person_event & (effective_day < launch),
            lambda: RuleViolation(
                "the national data opt-out began on 25 May 2018; "
                "a choice cannot take effect before then"
            ),
        ),
        (
            conversion & ((effective_day > cutoff) | proxy),
            lambda: RuleViolation(
                "only Type 2 objections recorded on or before 11 October 2018, by the "
                "person, are converted"
            ),
        ),
        (
            person_event & proxy & ~(facts.has_proxy_name & facts.has_proxy_evidence),
            lambda: ProxyNotPermitted(
                "a proxy must give their name and an evidence reference for their authority"
            ),
        ),
        (
            person_event & (actor == "SELF") & child,
            lambda: SelfNotPermitted(
                "a child under 13 cannot set their own choice: a parent or guardian with "
                "parental responsibility acts for them"
            ),
        ),
        (
            person_event & (actor == "SELF") & incapable,
            lambda: SelfNotPermitted(
                "this person is recorded as lacking capacity: a proxy (attorney or "
                "court-appointed deputy) acts for them"
            ),
        ),
        (
            person_event & (actor == "GUARDIAN") & ~((child | incapable) & (age < 18)),
            lambda: ProxyNotPermitted(
                "a parent or guardian may act only for a child under 13, or for someone "
                "under 18 recorded as lacking capacity"
            ),
        ),
        (
            person_event & (actor == "POA") & ~(incapable & (age >= 18)),
            lambda: ProxyNotPermitted(
                "an attorney may act only for an adult recorded as lacking capacity"
            ),
        ),
        (
            person_event & (actor == "COURTDEP") & ~(child | incapable),
            lambda: ProxyNotPermitted(
                "a court-appointed deputy may act only for a child under 13 or a person "
                "recorded as lacking capacity"
            ),
        ),
        (
            person_event & (actor == "HCP") & ~facts.detained,
            lambda: ProxyNotPermitted(
                "a healthcare professional may act only for a person recorded as being in "
                "a detained or secure estate"
            ),
        ),
    ]


@dataclass(frozen=True)
class Violation:
    row: int
    error: NdooError


def first_violation(facts: EventFacts, now: np.datetime64) -> Violation | None:
    """The earliest row that breaks a rule, with the first rule it breaks; or ``None``."""
    rules = _rules(facts, now)
    failing = np.zeros(len(facts), dtype=bool)
    for mask, _ in rules:
        failing |= mask
    if not failing.any():
        return None
    row = int(np.flatnonzero(failing)[0])
    for mask, make_error in rules:
        if mask[row]:
            return Violation(row, make_error())
    raise AssertionError("unreachable: a failing row breaks some rule")


def check(facts: EventFacts, now: np.datetime64) -> None:
    """Raise the error of the first violation, if any."""
    violation = first_violation(facts, now)
    if violation is not None:
        raise violation.error
