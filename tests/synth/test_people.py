"""People and practices look like England's GP-registered population."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow.compute as pc

from ndoo import geography
from ndoo.nhs_number import validate_array
from ndoo.synth import DEFAULT_REFERENCE_DATE
from tests.synth.checks import age_on, day_of, days, strings
from tests.synth.conftest import PEOPLE, England

REFERENCE = day_of(DEFAULT_REFERENCE_DATE)


def _ages(england: England) -> np.ndarray:
    born = days(england.people["date_of_birth"])
    return age_on(born, np.full(born.size, REFERENCE))


def test_nhs_numbers_are_valid_unique_and_from_the_test_range(england: England) -> None:
    numbers = strings(england.people["nhs_number"])
    assert england.people.num_rows == PEOPLE
    assert np.char.str_len(numbers).min() == 10
    assert validate_array(numbers.astype(np.int64)).all()
    assert np.unique(numbers).size == PEOPLE
    assert (np.char.find(numbers, "9") == 0).all()


def test_gender_codes_are_nhs_person_gender_codes(england: England) -> None:
    gender = strings(england.people["gender"])
    assert set(np.unique(gender)) <= {"0", "1", "2", "9"}
    assert 0.49 < (gender == "2").mean() < 0.52
    assert 0 < np.isin(gender, ["0", "9"]).mean() < 0.002


def test_ages_follow_an_england_like_pyramid(england: England) -> None:
    ages = _ages(england)
    gender = strings(england.people["gender"])
    assert ages.min() >= 0 and ages.max() <= 110
    assert 0.17 < (ages < 15).mean() < 0.20
    assert 0.15 < (ages >= 65).mean() < 0.22
    old = ages >= 85
    assert (gender[old] == "2").sum() > 1.3 * (gender[old] == "1").sum()
    assert 0.001 < (ages >= 95).mean() < 0.004


def test_practices_have_synthetic_codes_in_real_sub_icb_locations(england: England) -> None:
    practices = england.practices
    codes = strings(practices["code"])
    assert np.unique(codes).size == codes.size
    assert pc.all(pc.match_substring_regex(practices["code"], r"^Z\d{5}$")).as_py()
    assert pc.all(geography.is_sub_icb_code(practices["sub_icb_code"])).as_py()
    assert set(practices["sub_icb_code"].to_pylist()) == set(geography.sub_icb_codes())
    assert pc.min(pc.utf8_length(practices["name"])).as_py() > 5
    postcodes = practices["postcode"].drop_null()
    assert pc.all(pc.match_substring_regex(postcodes, r"^[A-Z]{1,2}\d{1,2} \d[A-Z]{2}$")).as_py()


def test_practice_count_follows_list_sizes() -> None:
    from ndoo.synth.practices import practice_count

    assert practice_count(1_000, 106) == 106
    assert 6_000 < practice_count(60_000_000, 106) < 6_800


def test_everyone_is_registered_and_mostly_lives_near_their_practice(england: England) -> None:
    practices = england.practices
    registered = england.people["gp_practice_code"]
    assert pc.all(pc.is_in(registered, value_set=practices["code"])).as_py()
    lsoas = geography.lsoas()
    assert pc.all(pc.is_in(england.people["lsoa_code"], value_set=lsoas["LSOA_CODE"])).as_py()
    practice_sub = np.asarray(
        practices["sub_icb_code"].take(pc.index_in(registered, value_set=practices["code"]))
    )
    home_sub = np.asarray(
        lsoas["SUB_ICB_LOCATION_CODE"].take(
            pc.index_in(england.people["lsoa_code"], value_set=lsoas["LSOA_CODE"])
        )
    )
    assert 0.94 < (practice_sub == home_sub).mean() < 0.97
    per_sub = np.unique(practice_sub, return_counts=True)[1]
    assert per_sub.size == 106 and per_sub.min() > 200


def test_a_few_have_died_in_the_last_five_years(england: England) -> None:
    born = days(england.people["date_of_birth"])
    dead = england.people["date_of_death"].is_valid().to_numpy(zero_copy_only=False)
    died = days(england.people["date_of_death"])[dead]
    assert 0.008 < dead.mean() < 0.012
    assert (died < REFERENCE).all() and (died > born[dead]).all()
    assert (died >= day_of(date(2021, 9, 30))).all()
    ages = _ages(england)
    assert dead[ages >= 80].mean() > 10 * dead[ages < 60].mean()


def test_capacity_and_detention_are_rare_and_adult(england: England) -> None:
    ages = _ages(england)
    lacks = england.people["lacks_capacity"].to_numpy()
    detained = england.people["detained"].to_numpy()
    assert 0.002 < lacks.mean() < 0.004
    assert 0.0005 < detained.mean() < 0.0015
    assert ages[lacks].min() >= 18 and ages[detained].min() >= 18
    assert np.median(ages[lacks]) >= 65
    assert not (lacks & detained).any()
