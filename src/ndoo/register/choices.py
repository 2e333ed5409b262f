"""Setting, viewing and tracing one person's choice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, select

from ndoo import audit, people
from ndoo.db import Database
from ndoo.db.models import choice_event, choice_record
from ndoo.errors import DuplicateEvent, InputError, RuleViolation
from ndoo.nhs_number import parse
from ndoo.register import records, rules
from ndoo.register.vocabulary import PERSON_CHANNELS, SELF, Channel, ProxyRole, State
from ndoo.timeutil import aware, from_db, iso, to_db, utcnow


@dataclass(frozen=True)
class ChoiceChange:
    """A request to record a choice.  Exactly one of ``by_self`` or ``proxy_role``."""

    nhs_number: str
    state: State
    channel: Channel
    by_self: bool = False
    proxy_role: ProxyRole | None = None
    proxy_name: str | None = None
    proxy_evidence: str | None = None
    case_reference: str | None = None
    effective_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.by_self == (self.proxy_role is not None):
            raise RuleViolation(
                "say who acted: either the person themselves or a proxy with a role, not both"
                if self.by_self
                else "say who acted: either the person themselves or a proxy with a role"
            )
        if self.channel not in PERSON_CHANNELS:
            raise InputError(
                f"channel {self.channel} is only used when Type 2 objections are converted"
            )
        if self.by_self and (self.proxy_name or self.proxy_evidence):
            raise RuleViolation("a proxy name or evidence reference was given for the person")

    @property
    def actor(self) -> str:
        return SELF if self.proxy_role is None else self.proxy_role.value


@dataclass(frozen=True)
class Event:
    id: int
    state: State
    effective_at: datetime
    recorded_at: datetime
    channel: Channel
    actor: str
    proxy_name: str | None
    proxy_evidence: str | None
    case_reference: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state.value,
            "effective_at": iso(self.effective_at),
            "recorded_at": iso(self.recorded_at),
            "channel": self.channel.value,
            "actor": self.actor,
            "proxy_name": self.proxy_name,
            "proxy_evidence": self.proxy_evidence,
            "case_reference": self.case_reference,
        }


@dataclass(frozen=True)
class Record:
    state: State
    record_start: datetime
    record_end: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "record_start": iso(self.record_start),
            "record_end": iso(self.record_end) if self.record_end else None,
        }


@dataclass(frozen=True)
class Choice:
    """A person's choice now: opted out, or opted in (the default or a withdrawal)."""

    nhs_number: str
    state: State
    since: datetime | None
    deceased: bool
    changed: bool = False
    event_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "nhs_number": self.nhs_number,
            "state": self.state.value,
            "label": self.state.label,
            "since": iso(self.since) if self.since else None,
            "deceased": self.deceased,
            "changed": self.changed,
            "event_id": self.event_id,
        }


@dataclass(frozen=True)
class History:
    nhs_number: str
    events: list[Event] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "nhs_number": self.nhs_number,
            "events": [e.as_dict() for e in self.events],
            "records": [r.as_dict() for r in self.records],
        }


def _state_at(conn: Connection, nhs_number: str, moment: datetime) -> State:
    at = to_db(moment)
    row = conn.execute(
        select(choice_record.c.state).where(
            and_(
                choice_record.c.nhs_number == nhs_number,
                choice_record.c.record_start <= at,
                (choice_record.c.record_end.is_(None)) | (choice_record.c.record_end > at),
            )
        )
    ).first()
    return State(row.state) if row else State.IN


def _current(conn: Connection, nhs_number: str, today: date) -> Choice:
    person = people.get(conn, nhs_number)
    row = conn.execute(
        select(choice_record.c.state, choice_record.c.record_start).where(
            choice_record.c.nhs_number == nhs_number, choice_record.c.record_end.is_(None)
        )
    ).first()
    state = State(row.state) if row else State.IN
    since = from_db(row.record_start) if row else None
    return Choice(nhs_number, state, since, person.deceased_on(today))


def facts_for(
    person: people.Person, change: ChoiceChange, effective: datetime, recorded: datetime
) -> rules.EventFacts:
    """The rule inputs for one proposed change."""
    return rules.EventFacts.for_people(
        [person],
        actors=[change.actor],
        channels=[change.channel.value],
        effective_at=[effective],
        recorded_at=recorded,
        proxy_names=[change.proxy_name],
        proxy_evidence=[change.proxy_evidence],
    )


def set_choice(db: Database, change: ChoiceChange, *, actor: str) -> Choice:
    """Record a choice if it changes anything; every rule is checked first.

    Setting the state a person already has (at the effective time) records nothing
    and returns ``changed=False``.  ``actor`` is the user or system acting, for the
    audit trail.
    """
    number = parse(change.nhs_number)
    now = utcnow()
    effective = aware(change.effective_at) if change.effective_at else now
    with db.write() as conn:
        person = people.get(conn, number)
        rules.check(facts_for(person, change, effective, now), np.datetime64(to_db(now), "us"))
        clash = conn.execute(
            select(choice_event.c.id).where(
                choice_event.c.nhs_number == number,
                choice_event.c.effective_at == to_db(effective),
            )
        ).first()
        if clash:
            raise DuplicateEvent("this person already has a change recorded at that exact time")
        if _state_at(conn, number, effective) is change.state:
            current = _current(conn, number, now.date())
            audit.record(
                conn,
                actor=actor,
                action="register.set",
                outcome="unchanged",
                channel=change.channel.value,
            )
            return current
        before = records.last_event_id(conn)
        event_id = conn.execute(
            choice_event.insert().values(
                nhs_number=number,
                state=change.state.value,
                effective_at=to_db(effective),
                recorded_at=to_db(now),
                channel=change.channel.value,
                actor=change.actor,
                proxy_name=(change.proxy_name or "").strip() or None,
                proxy_evidence=(change.proxy_evidence or "").strip() or None,
                case_reference=(change.case_reference or "").strip() or None,
            )
        ).inserted_primary_key[0]
        records.rebuild(conn, after_event_id=before)
        audit.record(
            conn,
            actor=actor,
            action="register.set",
            event=int(event_id),
            state=change.state.value,
            channel=change.channel.value,
            by=change.actor,
        )
        current = _current(conn, number, now.date())
    return Choice(
        current.nhs_number, current.state, current.since, current.deceased, True, int(event_id)
    )


def current_choice(db: Database, nhs_number: str) -> Choice:
    """The person's choice now.  Opted in is the default when nothing is recorded."""
    number = parse(nhs_number)
    with db.read() as conn:
        return _current(conn, number, utcnow().date())


def history(db: Database, nhs_number: str) -> History:
    """Every event, oldest first, and the records derived from them."""
    number = parse(nhs_number)
    with db.read() as conn:
        people.get(conn, number)
        events = [
            Event(
                id=int(row.id),
                state=State(row.state),
                effective_at=from_db(row.effective_at),
                recorded_at=from_db(row.recorded_at),
                channel=Channel(row.channel),
                actor=row.actor,
                proxy_name=row.proxy_name,
                proxy_evidence=row.proxy_evidence,
                case_reference=row.case_reference,
            )
            for row in conn.execute(
                select(choice_event)
                .where(choice_event.c.nhs_number == number)
                .order_by(choice_event.c.effective_at, choice_event.c.id)
            )
        ]
        periods = [
            Record(
                State(row.state),
                from_db(row.record_start),
                from_db(row.record_end) if row.record_end else None,
            )
            for row in conn.execute(
                select(choice_record)
                .where(choice_record.c.nhs_number == number)
                .order_by(choice_record.c.record_start)
            )
        ]
    return History(number, events, periods)
