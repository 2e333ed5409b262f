"""For any register, every breakdown of every month adds up to the national total, and the
national totals agree with a person-by-person count written out plainly here."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from ndoo import geography
from ndoo.db import Database
from ndoo.db.models import choice_record, gp_practice, person
from ndoo.stats.publication import compute, snapshot_dates

PERIOD_END = date(2024, 3, 1)
MONTHS = 3
PRACTICES = [("P00001", "LS1 1AA"), ("P00002", "LS2 2BB"), ("P00003", None)]
WINDOW_START = datetime(2023, 11, 20)

people_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "number": st.integers(1_000_000_000, 9_999_999_999),
            "born": st.dates(date(1920, 1, 1), date(2024, 3, 1)),
            "gender": st.sampled_from("0129"),
            "practice": st.sampled_from([None, *(code for code, _ in PRACTICES)]),
            "lsoa": st.sampled_from([None, "E01999999", "first", "second"]),
            "died_after": st.one_of(st.none(), st.integers(0, 40_000)),
            "records": st.lists(
                st.tuples(st.integers(0, 150 * 24), st.one_of(st.none(), st.integers(1, 90 * 24))),
                max_size=3,
            ),
        }
    ),
    max_size=25,
    unique_by=lambda p: p["number"],
)


def load(db: Database, drawn: list[dict]) -> None:
    codes = geography.lsoas().column("LSOA_CODE")
    lsoa = {"first": str(codes[0]), "second": str(codes[1])}
    with db.write() as conn:
        conn.execute(delete(choice_record))
        conn.execute(delete(person))
        conn.execute(delete(gp_practice))
        conn.execute(
            gp_practice.insert(),
            [{"code": c, "name": c, "sub_icb_code": "00L", "postcode": p} for c, p in PRACTICES],
        )
        for p in drawn:
            died = (
                p["born"] + timedelta(days=p["died_after"]) if p["died_after"] is not None else None
            )
            conn.execute(
                person.insert().values(
                    nhs_number=f"{p['number']:010d}", date_of_birth=p["born"], gender=p["gender"],
                    gp_practice_code=p["practice"], lsoa_code=lsoa.get(p["lsoa"], p["lsoa"]),
                    date_of_death=died, lacks_capacity=False, detained=False,
                )
            )  # fmt: skip
            for start_hours, length in p["records"]:
                start = WINDOW_START + timedelta(hours=start_hours)
                end = start + timedelta(hours=length) if length is not None else None
                conn.execute(
                    choice_record.insert().values(
                        nhs_number=f"{p['number']:010d}", state="OUT", record_start=start,
                        record_end=end,
                    )
                )  # fmt: skip


def plain_count(drawn: list[dict], day: date, drop: bool) -> tuple[int, int, int]:
    """(living opt-outs, list size, deceased opt-outs) on ``day``, one person at a time."""
    midnight = datetime.combine(day, datetime.min.time())
    opted = listed = dead = 0
    holding = set()
    for p in drawn:
        died = p["born"] + timedelta(days=p["died_after"]) if p["died_after"] is not None else None
        alive = p["born"] <= day and (died is None or died > day)
        if alive and p["practice"] is not None:
            holding.add(p["practice"])
    with_postcode = {c for c, postcode in PRACTICES if postcode}
    for p in drawn:
        died = p["born"] + timedelta(days=p["died_after"]) if p["died_after"] is not None else None
        alive = p["born"] <= day and (died is None or died > day)
        if alive and p["gender"] in "12" and p["practice"] in holding & with_postcode:
            listed += 1
        number = f"{p['number']:010d}"
        if drop and (number.startswith("9") or len(set(number)) == 1):
            continue
        in_force = False
        for start_hours, length in p["records"]:
            start = WINDOW_START + timedelta(hours=start_hours)
            end = start + timedelta(hours=length) if length is not None else None
            if start < midnight + timedelta(days=1) and (end is None or end > midnight):
                in_force = True
        if in_force and died is not None and died <= day:
            dead += 1
        elif in_force:
            opted += 1
    return opted, listed, dead


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=people_strategy, drop=st.booleans())
def test_every_breakdown_adds_up_to_the_national_total(db: Database, drawn, drop):
    # An opt-out record needs a living person at its start only in the library; the
    # counting rules must hold for any records, so they are written directly.
    load(db, drawn)
    found = compute(db, period_end=PERIOD_END, months=MONTHS, drop_test_numbers=drop)
    age_gen = found.age_gen.to_pylist()
    for day, national in zip(
        snapshot_dates(PERIOD_END, MONTHS), found.national.to_pylist(), strict=True
    ):
        assert national["ACH_DATE"] == day
        total = national["OPT_OUT"]
        assert (total, national["LIST_SIZE"], national["DECEASED"]) == plain_count(drawn, day, drop)
        month = [r for r in age_gen if r["ACH_DATE"] == day]

        def pick(age, gender, column, month=month):
            return [r[column] for r in month if r["AGE_BAND"] == age and r["GENDER"] == gender]

        living = [r for r in month if r["AGE_BAND"] != "All deceased"]
        assert pick("All", "All", "OPT_OUT") == ([total] if total else [])
        assert (
            sum(r["OPT_OUT"] for r in living if r["AGE_BAND"] == "All" and r["GENDER"] != "All")
            == total
        )
        assert (
            sum(r["OPT_OUT"] for r in living if r["GENDER"] == "All" and r["AGE_BAND"] != "All")
            == total
        )
        deceased = national["DECEASED"]
        assert pick("All deceased", "All deceased", "OPT_OUT") == ([deceased] if deceased else [])
        assert sum(r["OPT_OUT"] for r in month if r["AGE_BAND"] == "All deceased"
                   and r["GENDER"] != "All deceased") == deceased  # fmt: skip
        reg = [r for r in found.reg_geog.to_pylist() if r["ACH_DATE"] == day]
        assert sum(r["OPT_OUT"] for r in reg) == total
        assert sum(r["LIST_SIZE"] for r in reg) == national["LIST_SIZE"]
        assert (
            sum(r["OPT_OUT"] for r in found.res_geog.to_pylist() if r["ACH_DATE"] == day) == total
        )
        if total:
            assert pick("All", "All", "LIST_SIZE") == [national["LIST_SIZE"]]
    latest = found.national.to_pylist()[0]
    sub_icb = found.sub_icb.to_pylist()
    assert sum(r["OPT_OUT"] for r in sub_icb) == latest["OPT_OUT"]
    assert sum(r["LIST_SIZE"] for r in sub_icb) == latest["LIST_SIZE"]
    assert sum(r["DECEASED"] for r in sub_icb) == latest["DECEASED"]
