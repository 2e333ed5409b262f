"""Synthetic demographics for the register, and matching a person's details to them."""

from __future__ import annotations

import re
import time
from datetime import date

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import select

from ndoo import people
from ndoo.db import Database
from ndoo.db.bulk import insert_table
from ndoo.db.migrate import upgrade
from ndoo.db.models import demographics as table
from ndoo.db.models import person
from ndoo.errors import InvalidNHSNumber
from ndoo.identity import demographics
from ndoo.nhs_number import generate_synthetic
from ndoo.synth.names import FIRST_NAMES, LAST_NAMES
from tests.identity.helpers import add

BORN = date(1984, 3, 15)


def _people(db: Database, count: int, *, seed: int = 7) -> list[str]:
    """``count`` people with valid synthetic numbers, mixed genders, no practice."""
    rng = np.random.default_rng(seed)
    numbers = [f"{n:010d}" for n in generate_synthetic(count, rng)]
    rows = pa.table(
        {
            "nhs_number": pa.array(numbers, pa.string()),
            "date_of_birth": pa.array([BORN] * count, pa.date32()),
            "gender": pa.array(rng.choice(["1", "2", "9"], count).tolist(), pa.string()),
            "lacks_capacity": pa.array([False] * count),
            "detained": pa.array([False] * count),
        }
    )
    with db.write() as conn:
        insert_table(conn, person, rows)
    return numbers


def _records(db: Database) -> dict[str, tuple[object, ...]]:
    with db.read() as conn:
        return {row[0]: tuple(row) for row in conn.execute(select(table))}


def test_everyone_gets_well_formed_demographics_and_most_can_be_reached(db):
    numbers = _people(db, 3000)
    assert demographics.ensure(db, seed=1) == 3000
    records = _records(db)
    assert set(records) == set(numbers)
    mobiles = emails = both = neither = 0
    for _number, given, family, postcode, mobile, email in records.values():
        assert given in FIRST_NAMES and family in LAST_NAMES
        assert demographics.normal_postcode(postcode) == postcode
        if mobile is not None:
            mobiles += 1
            assert re.fullmatch(r"07700900\d{3}", str(mobile))  # Ofcom's drama range
        if email is not None:
            emails += 1
            assert re.fullmatch(
                rf"{str(given).lower()}\.{str(family).lower()}\.\d+@example\.com", str(email)
            )
        both += mobile is not None and email is not None
        neither += mobile is None and email is None
    assert mobiles > 0.8 * 3000 and emails > 0.8 * 3000
    assert 0.7 * 3000 < both < mobiles and both < emails  # some have only one
    assert 0 < neither < 0.1 * 3000  # a few have neither


def test_first_names_fit_the_recorded_gender(db):
    _people(db, 500)
    demographics.ensure(db)
    with db.read() as conn:
        rows = conn.execute(select(person.c.gender, table.c.given_name).join(table)).all()
    female_from = FIRST_NAMES.index("Olivia")
    for gender, given in rows:
        if gender == "1":
            assert FIRST_NAMES.index(given) < female_from
        elif gender == "2":
            assert FIRST_NAMES.index(given) >= female_from


def test_ensure_is_deterministic_and_fills_only_people_without_a_record(db, tmp_path):
    numbers = _people(db, 200)
    assert demographics.ensure(db, seed=3) == 200
    assert demographics.ensure(db, seed=3) == 0
    first = _records(db)

    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    _people(other, 200)
    demographics.ensure(other, seed=3)
    assert _records(other) == first  # same seed, same people: same details
    reseeded = Database(f"sqlite:///{tmp_path / 'reseeded.db'}")
    upgrade(reseeded)
    _people(reseeded, 200)
    demographics.ensure(reseeded, seed=4)
    assert _records(reseeded) != first
    other.dispose()
    reseeded.dispose()

    late = add(db, "9000000033", born=BORN, given="Grace", family="Hopper")
    people.add(db, people.Person("9000000041", BORN, "1"), actor="test")
    assert demographics.ensure(db, seed=3) == 1  # only the newcomer without a record
    records = _records(db)
    assert records[late][1] == "Grace"  # a record already there is left alone
    assert {k: v for k, v in records.items() if k in numbers} == first


@pytest.mark.slow
def test_the_demo_register_of_200000_people_is_filled_in_seconds(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'big.db'}")
    upgrade(db)
    _people(db, 200_000)
    started = time.perf_counter()
    assert demographics.ensure(db, seed=1) == 200_000
    assert time.perf_counter() - started < 30
    db.dispose()


def test_a_person_is_matched_by_nhs_number_and_date_of_birth(db):
    number = add(db, "9434765919", born=BORN)
    assert demographics.match(db, nhs_number="943 476 5919", date_of_birth=BORN) == number
    assert demographics.match(db, nhs_number="943-476-5919", date_of_birth=BORN) == number
    assert demographics.match(db, nhs_number="9434765919", date_of_birth=date(1984, 3, 16)) is None
    assert demographics.match(db, nhs_number="9000000009", date_of_birth=BORN) is None
    with pytest.raises(InvalidNHSNumber):
        demographics.match(db, nhs_number="9434765918", date_of_birth=BORN)


def test_a_person_is_matched_by_name_date_of_birth_and_postcode_ignoring_case_spaces_hyphens(db):
    number = add(
        db, "9434765919", born=BORN, given="Mary-Ann", family="Smith Jones", postcode="LS1 4AP"
    )
    found = demographics.match(
        db, given_name="mary ann", family_name="SMITH-JONES", date_of_birth=BORN, postcode="ls14ap"
    )
    assert found == number
    for wrong in (
        {"given_name": "Mary", "family_name": "Smith Jones", "postcode": "LS1 4AP"},
        {"given_name": "Mary-Ann", "family_name": "Smith", "postcode": "LS1 4AP"},
        {"given_name": "Mary-Ann", "family_name": "Smith Jones", "postcode": "LS1 4AQ"},
        {"given_name": "Mary-Ann", "family_name": "Smith Jones", "postcode": "not a postcode"},
        {"given_name": "", "family_name": "Smith Jones", "postcode": "LS1 4AP"},
    ):
        assert demographics.match(db, date_of_birth=BORN, **wrong) is None
    assert (
        demographics.match(
            db,
            given_name="Mary-Ann",
            family_name="Smith Jones",
            postcode="LS1 4AP",
            date_of_birth=date(1985, 3, 15),
        )
        is None
    )


def test_details_that_fit_two_people_identify_no_one(db):
    add(db, "9434765919", born=BORN, given="Sam", family="Lee")
    add(db, "9000000009", born=BORN, given="Sam", family="Lee")
    assert (
        demographics.match(
            db, given_name="Sam", family_name="Lee", date_of_birth=BORN, postcode="LS1 4AP"
        )
        is None
    )
    assert demographics.match(db, nhs_number="9000000009", date_of_birth=BORN) == "9000000009"


def test_deceased_people_are_matched_too(db):
    number = add(db, "9434765919", born=BORN, date_of_death=date(2020, 1, 1))
    assert demographics.match(db, nhs_number=number, date_of_birth=BORN) == number


def test_contacts_on_record_and_how_they_are_masked(db):
    number = add(db, "9434765919", born=BORN, mobile="07700900123", email="ada.l@example.com")
    found = demographics.contact(db, number)
    assert found is not None
    assert found.address("sms") == "07700900123" and found.address("email") == "ada.l@example.com"
    assert found.masked("sms") == "mobile phone number ending 123"
    assert found.masked("email") == "a•••@example.com"
    assert demographics.contact(db, "9000000009") is None


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("ls14ap", "LS1 4AP"),
        (" SW1A-1AA ", "SW1A 1AA"),
        ("m1 1ae", "M1 1AE"),
        ("LS1", None),
        ("12345", None),
        ("", None),
    ],
)
def test_postcodes_are_normalised_or_refused(typed, normal):
    assert demographics.normal_postcode(typed) == normal
