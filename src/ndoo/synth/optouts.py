"""Opt-out histories: who acted, how, and when, following the register's rules.

Each person who ever opts out gets up to three events, alternating from
``OUT``: a first opt-out, for 7% a withdrawal (``IN``), and for 15% of those a
second opt-out.  Every history obeys the rules the register enforces:

- no event before the day after birth, on or after the day of death, or on or
  after the reference date; events of one person are at least a day apart;
- Type 2 conversions (channel ``T2``, actor ``SELF``, exempt from the age
  rules) fall before 11 October 2018; every other event on or after
  25 May 2018;
- a person aged 13 or more who has capacity acts for themselves (``SELF``);
  for a child under 13 a person with parental responsibility acts
  (``GUARDIAN``, evidence ``PR-…``); for an adult lacking capacity a lasting
  power of attorney (``POA``, ``LPA-…``) or, for 20%, a court-appointed deputy
  (``COURTDEP``, ``COP-…``); for a detained person a healthcare professional
  (``HCP``, ``HCP-…``).  No event falls within a day of a 13th birthday;
- people act online (``OP``), in the NHS App (``PFSP``, from July 2019), with
  the NHS.UK form (``FN``), by phone (``CC``) or on paper (``PP``); proxies use
  paper or the phone; phone and paper events carry a case reference
  ``nnnnn-C``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from ndoo.synth.dates import MICROS_PER_DAY, Days, Micros, add_years, day_number, start_of_day
from ndoo.synth.names import NAME_PAIRS
from ndoo.synth.rates import REOPT_SHARE, WITHDRAWAL_SHARE
from ndoo.synth.streams import Uniforms
from ndoo.synth.timeline import (
    LAUNCH,
    PFSP_START,
    T2_CUTOFF,
    T2_LAST_BIRTH,
    T2_START,
    avoid,
    micros,
    service_curve,
    t2_curve,
    uniform_between,
)

Index = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

STATES = ("OUT", "IN")
CHANNELS = ("T2", "OP", "PFSP", "FN", "CC", "PP")
ACTORS = ("SELF", "GUARDIAN", "POA", "COURTDEP", "HCP")
EVIDENCE_PREFIXES = ("", "PR-", "LPA-", "COP-", "HCP-")
T2, OP, PFSP, FN, CC, PP = range(len(CHANNELS))
SELF, GUARDIAN, POA, COURTDEP, HCP = range(len(ACTORS))

COURT_DEPUTY_SHARE = 0.2
PROXY_PAPER_SHARE = 0.6
# Cumulative chances of OP, PFSP, FN, CC, PP for people acting themselves.
SELF_CHANNELS_BEFORE_APP = np.cumsum([0.62, 0.0, 0.08, 0.18, 0.12])
SELF_CHANNELS_WITH_APP = np.cumsum([0.45, 0.25, 0.06, 0.14, 0.10])
UNIFORM_ROWS = 16
"""Uniform draws per person who opts out (see :func:`histories`)."""


@dataclass(frozen=True)
class Person:
    """What the rules need to know about the people who opt out (parallel arrays)."""

    born: Days
    died: Days
    deceased: Mask
    lacks_capacity: Mask
    detained: Mask


@dataclass(frozen=True)
class Events:
    """Events as parallel arrays, ordered by person then time.

    ``person`` indexes the :class:`Person` arrays; ``state``, ``channel`` and
    ``actor`` index :data:`STATES`, :data:`CHANNELS` and :data:`ACTORS`;
    ``proxy_name`` is ``-1`` unless a proxy acted; ``evidence`` and ``case``
    are numbers for the evidence and case reference strings, or ``-1``.
    """

    person: Index
    state: Index
    effective_at: Micros
    channel: Index
    actor: Index
    proxy_name: Index
    evidence: Index
    case: Index
    active: Mask
    """Per person: is the last event an ``OUT``?"""


def _actor(times: Micros, is_t2: Mask, people: Person, birthday13: Micros, deputy: Mask) -> Index:
    role = np.where(deputy, COURTDEP, POA)
    actor = np.where(times < birthday13, GUARDIAN, SELF)
    actor = np.where(people.lacks_capacity, role, actor)
    actor = np.where(people.detained, HCP, actor)
    result: Index = np.where(is_t2, SELF, actor)
    return result


def _channel(times: Micros, actor: Index, is_t2: Mask, u: Uniforms) -> Index:
    with_app = times >= micros(PFSP_START)
    table = np.where(with_app[:, None], SELF_CHANNELS_WITH_APP, SELF_CHANNELS_BEFORE_APP)
    own = OP + np.minimum((u[:, None] >= table).sum(axis=1), 4)
    proxy = np.where(u < PROXY_PAPER_SHARE, PP, CC)
    result: Index = np.where(is_t2, T2, np.where(actor == SELF, own, proxy))
    return result


def histories(
    people: Person, u: Uniforms, t2_given_eligible: float, reference_date: date
) -> Events:
    """The events of people who opt out, from ``UNIFORM_ROWS`` rows of uniforms.

    Rows: 0 Type 2 or not, 1-2 first opt-out time (Type 2, service), 3-4
    withdrawal and its time, 5-6 repeat and its time, 7 attorney or deputy,
    8 proxy name, 9 evidence number, 10-12 channel and 13-15 case number of
    each event.
    """
    day = MICROS_PER_DAY
    birth = start_of_day(people.born + 1)
    birthday13 = start_of_day(add_years(people.born, 13))
    birthday18 = start_of_day(add_years(people.born, 18))
    end = np.full(people.born.shape, micros(reference_date), dtype=np.int64)
    end = np.where(people.deceased, np.minimum(end, start_of_day(people.died)), end)
    proxy_adult = people.lacks_capacity | people.detained

    # First opt-out: a Type 2 conversion, or through the service.
    eligible = ~proxy_adult & (people.born < day_number(T2_LAST_BIRTH))
    t2_time, t2_ok = t2_curve().draw(
        np.maximum(birth, micros(T2_START)), np.minimum(end, micros(T2_CUTOFF)), u[1]
    )
    is_t2 = eligible & (u[0] < t2_given_eligible) & t2_ok
    low = np.maximum(birth, micros(LAUNCH))
    low = np.where(proxy_adult, np.maximum(low, birthday18), low)
    own_time, own_ok = service_curve(reference_date).draw(low, end, u[2])
    own_time, moved_ok = avoid(own_time, low, end, birthday13, day)
    first = np.where(is_t2, t2_time, own_time)
    has_first = is_t2 | (own_ok & moved_ok)

    # Withdrawal, and a repeat opt-out after it.
    low2 = np.maximum(first + day, low)
    second, ok2 = uniform_between(low2, end, u[4])
    second, moved2 = avoid(second, low2, end, birthday13, day)
    has_second = has_first & (u[3] < WITHDRAWAL_SHARE) & ok2 & moved2
    low3 = second + day
    third, ok3 = uniform_between(low3, end, u[6])
    third, moved3 = avoid(third, low3, end, birthday13, day)
    has_third = has_second & (u[5] < REOPT_SHARE) & ok3 & moved3

    deputy = u[7] < COURT_DEPUTY_SHARE
    never_t2 = np.zeros_like(has_first)
    parts = []
    for slot, (times, present, t2) in enumerate(
        ((first, has_first, is_t2), (second, has_second, never_t2), (third, has_third, never_t2))
    ):
        actor = _actor(times, t2, people, birthday13, deputy)
        channel = _channel(times, actor, t2, u[10 + slot])
        rows = np.flatnonzero(present)
        slot_of = np.full(rows.size, slot, dtype=np.int64)
        parts.append((rows, slot_of, times[rows], actor[rows], channel[rows], u[13 + slot][rows]))
    person, slot_of, effective, actor, channel, u_case = (
        np.concatenate(c) for c in zip(*parts, strict=True)
    )
    order = np.argsort(person * 3 + slot_of, kind="stable")
    person, slot_of, effective = person[order], slot_of[order], effective[order]
    actor, channel, u_case = actor[order], channel[order], u_case[order]
    proxied = actor != SELF
    by_phone_or_post = (channel == CC) | (channel == PP)
    return Events(
        person=person,
        state=slot_of % 2,
        effective_at=effective,
        channel=channel,
        actor=actor,
        proxy_name=np.where(proxied, np.floor(u[8] * NAME_PAIRS).astype(np.int64)[person], -1),
        evidence=np.where(proxied, 10_000_000 + np.floor(u[9] * 9e7).astype(np.int64)[person], -1),
        case=np.where(by_phone_or_post, 10_000 + np.floor(u_case * 990_000).astype(np.int64), -1),
        active=has_first & (~has_second | has_third),
    )
