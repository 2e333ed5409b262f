"""A small register built by hand, whose publication is worked out by hand in the tests.

Snapshots are 1 April, 1 May and 1 June 2024 (period end June 2024, three months).
A person's practice is their *current* ``gp_practice_code``: the register keeps no
history of it, so J, who moved from practice P1 to P2 after opting out, counts at P2
in every month.

====  ======  ==========  ========  ======  =====================================================
who   gender  born        practice  LSOA    history
====  ======  ==========  ========  ======  =====================================================
A     F       1980-01-15  P1        L1      out 2024-01-10
B     M       1980-01-15  P1        L1      out 2024-01-10, in 2024-05-01 00:00 (not counted May)
C     F       1985-07-01  P2        L2      out 2024-02-01, in 2024-04-01 10:00 (counted 1 April),
                                            out again 2024-05-15
D     M       1970-02-02  P2        L2      out 2024-03-01, died 2024-05-20 (deceased in June)
E     9       1990-03-03  none      none    out 2024-01-01 (Unknown gender, Unallocated)
F     F       1980-01-15  P1        L1      out 2024-01-01; a 9xx test number
G     M       1980-01-15  P1        none    out 2024-01-01; 1111111111, written directly
H     M       1975-05-05  P3        E01999  out 2024-01-01; P3 has no postcode (holds no list)
I     F       2000-06-02  P1        L1      out 2024-06-01 23:00 (counted 1 June, aged 23)
J     M       1950-03-10  P1 → P2   L2      out 2024-01-01, then moved to P2
L     F       1940-01-01  P1        L1      out 2023-01-01, died 2024-02-01 (deceased throughout)
K1    F       1990-05-01  P1        —       never opted out
K2    M       2024-05-10  P2        —       born in May: listed from June
K3    0       1990-01-01  P1        —       unknown gender: never in list sizes
K4    F       1960-01-01  P2        —       died 2024-04-15: listed in April only
====  ======  ==========  ========  ======  =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from ndoo import geography, people
from ndoo.db import Database
from ndoo.db.models import choice_record, gp_practice, person
from ndoo.nhs_number import check_digit
from ndoo.register import Channel, ChoiceChange, State, set_choice


def valid_number(stem: int) -> str:
    """The first valid NHS number at or after the nine-digit ``stem``."""
    while True:
        digit = check_digit(f"{stem:09d}")
        if digit is not None and digit < 10:
            return f"{stem:09d}{digit}"
        stem += 1


@dataclass(frozen=True)
class Hand:
    """Codes and numbers of the hand-built register."""

    p1: str = "A81001"
    p2: str = "B82002"
    p3: str = "C83003"
    unknown_lsoa: str = "E01999999"

    @property
    def s1(self) -> tuple[str, str, str]:
        row = geography.sub_icb_locations().slice(0, 1).to_pylist()[0]
        return (
            row["SUB_ICB_LOCATION_CODE"],
            row["ONS_SUB_ICB_LOCATION_CODE"],
            row["SUB_ICB_LOCATION_NAME"],
        )

    @property
    def s2(self) -> tuple[str, str, str]:
        row = geography.sub_icb_locations().slice(1, 1).to_pylist()[0]
        return (
            row["SUB_ICB_LOCATION_CODE"],
            row["ONS_SUB_ICB_LOCATION_CODE"],
            row["SUB_ICB_LOCATION_NAME"],
        )

    @property
    def l1(self) -> str:
        return str(geography.lsoas().column("LSOA_CODE")[0])

    @property
    def l2(self) -> str:
        return str(geography.lsoas().column("LSOA_CODE")[1])


NUMBERS = {
    name: valid_number(stem)
    for name, stem in {
        "A": 400000001, "B": 400000011, "C": 400000021, "D": 400000031, "E": 400000041,
        "H": 400000071, "I": 400000081, "J": 400000091, "L": 400000101, "K1": 400000111,
        "K2": 400000121, "K3": 400000131, "K4": 400000141,
    }.items()
}  # fmt: skip
NUMBERS["F"] = "9434765919"
NUMBERS["G"] = "1111111111"


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def choose(db: Database, who: str, state: State, when: datetime) -> None:
    change = ChoiceChange(NUMBERS[who], state, Channel.OP, by_self=True, effective_at=when)
    set_choice(db, change, actor="test")


def build(db: Database) -> Hand:
    hand = Hand()
    with db.write() as conn:
        conn.execute(
            gp_practice.insert(),
            [
                {"code": hand.p1, "name": "First Surgery", "sub_icb_code": hand.s1[0],
                 "postcode": "LS1 1AA"},
                {"code": hand.p2, "name": "Second, Medical Centre", "sub_icb_code": hand.s2[0],
                 "postcode": "LS2 2BB"},
                {"code": hand.p3, "name": "Closed Practice", "sub_icb_code": hand.s2[0],
                 "postcode": None},
            ],
        )  # fmt: skip
    rows = [
        ("A", "2", date(1980, 1, 15), hand.p1, hand.l1),
        ("B", "1", date(1980, 1, 15), hand.p1, hand.l1),
        ("C", "2", date(1985, 7, 1), hand.p2, hand.l2),
        ("D", "1", date(1970, 2, 2), hand.p2, hand.l2),
        ("E", "9", date(1990, 3, 3), None, None),
        ("F", "2", date(1980, 1, 15), hand.p1, hand.l1),
        ("H", "1", date(1975, 5, 5), hand.p3, hand.unknown_lsoa),
        ("I", "2", date(2000, 6, 2), hand.p1, hand.l1),
        ("J", "1", date(1950, 3, 10), hand.p1, hand.l2),
        ("L", "2", date(1940, 1, 1), hand.p1, hand.l1),
        ("K1", "2", date(1990, 5, 1), hand.p1, None),
        ("K2", "1", date(2024, 5, 10), hand.p2, None),
        ("K3", "0", date(1990, 1, 1), hand.p1, None),
        ("K4", "2", date(1960, 1, 1), hand.p2, None),
    ]
    for who, gender, born, practice, lsoa in rows:
        people.add(
            db,
            people.Person(NUMBERS[who], born, gender, gp_practice_code=practice, lsoa_code=lsoa),
            actor="test",
        )
    people.update_facts(db, NUMBERS["K4"], actor="test", date_of_death=date(2024, 4, 15))
    choose(db, "A", State.OUT, at(2024, 1, 10))
    choose(db, "B", State.OUT, at(2024, 1, 10))
    choose(db, "B", State.IN, at(2024, 5, 1))
    choose(db, "C", State.OUT, at(2024, 2, 1))
    choose(db, "C", State.IN, at(2024, 4, 1, 10))
    choose(db, "C", State.OUT, at(2024, 5, 15))
    choose(db, "D", State.OUT, at(2024, 3, 1))
    people.update_facts(db, NUMBERS["D"], actor="test", date_of_death=date(2024, 5, 20))
    for who in ("E", "F", "H", "J"):
        choose(db, who, State.OUT, at(2024, 1, 1))
    choose(db, "I", State.OUT, at(2024, 6, 1, 23))
    choose(db, "L", State.OUT, at(2023, 1, 1))
    people.update_facts(db, NUMBERS["L"], actor="test", date_of_death=date(2024, 2, 1))
    with db.write() as conn:
        # J moves practice; the register keeps only the current one.
        conn.execute(
            update(person)
            .where(person.c.nhs_number == NUMBERS["J"])
            .values(gp_practice_code=hand.p2)
        )
        # 1111111111 is no valid NHS number, so the library refuses it: written directly.
        conn.execute(
            person.insert().values(nhs_number=NUMBERS["G"], date_of_birth=date(1980, 1, 15),
                                   gender="1", gp_practice_code=hand.p1, lacks_capacity=False,
                                   detained=False)
        )  # fmt: skip
        conn.execute(
            choice_record.insert().values(
                nhs_number=NUMBERS["G"], state="OUT", record_start=datetime(2024, 1, 1)
            )
        )
    return hand


@pytest.fixture
def hand(db: Database) -> Hand:
    return build(db)
