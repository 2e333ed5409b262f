"""Converting Type 2 objections: the cut-off, withdrawals, idempotence, bad rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ndoo.db.models import audit_entry, choice_event
from ndoo.errors import FileFormatError
from ndoo.register import State, current_choice, history, import_type2
from ndoo.register.type2 import Type2Row, objection_in_force
from tests.conftest import ADULT, CHILD, ELDER, OTHER

UNKNOWN = "9000000033"


def write(tmp_path: Path, text: str, name: str = "type2.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def table_counts(db):
    with db.read() as conn:
        return (
            conn.execute(select(func.count()).select_from(choice_event)).scalar_one(),
            conn.execute(select(func.count()).select_from(audit_entry)).scalar_one(),
        )


@pytest.fixture
def people_known(db, add_person):
    add_person(ADULT, born=date(1960, 1, 1))
    add_person(CHILD, born=date(2012, 1, 1))  # aged 4 when the objection was recorded
    add_person(ELDER, born=date(1930, 1, 1), date_of_death=date(2020, 2, 2))
    add_person(OTHER, born=date(1975, 1, 1))
    return db


FILE = f"""nhs_number,code,date_recorded
{ADULT},9Nu4.,2018-10-11
{CHILD},9Nu4,2016-03-01
{ELDER},9Nu4,2015-01-01
{OTHER},9Nu4,2016-01-01
{OTHER},9Nu5,2017-01-01
{UNKNOWN},9Nu4,2017-05-05
{ADULT},9Nu4,2019-01-01
"""


def test_objections_on_or_before_the_cutoff_become_opt_outs_with_their_date(people_known, tmp_path):
    db = people_known
    report = import_type2(db, write(tmp_path, FILE), actor="ig")
    assert report.rows == 7 and report.people == 5
    assert report.converted == 2
    assert report.after_cutoff == [8]
    assert report.withdrawn == [5]
    assert report.not_known == [7]
    assert report.deceased == [4]
    adult = current_choice(db, ADULT)
    assert adult.state is State.OUT
    assert adult.since == datetime(2018, 10, 11, tzinfo=UTC)
    assert current_choice(db, CHILD).since == datetime(2016, 3, 1, tzinfo=UTC)
    assert current_choice(db, OTHER).state is State.IN
    event = history(db, ADULT).events[0]
    assert (event.channel.value, event.actor) == ("T2", "SELF")


def test_reimporting_the_same_file_changes_nothing(people_known, tmp_path):
    db = people_known
    path = write(tmp_path, FILE)
    import_type2(db, path, actor="ig")
    events_before, _ = table_counts(db)
    again = import_type2(db, path, actor="ig")
    assert again.converted == 0
    assert again.already_converted == [2, 3]
    assert table_counts(db)[0] == events_before


def test_a_later_national_choice_survives_a_backdated_conversion(people_known, tmp_path):
    from ndoo.register import Channel, ChoiceChange, set_choice

    db = people_known
    for state, day in ((State.OUT, datetime(2018, 6, 1)), (State.IN, datetime(2019, 1, 1))):
        change = ChoiceChange(
            ADULT, state, Channel.OP, by_self=True, effective_at=day.replace(tzinfo=UTC)
        )
        set_choice(db, change, actor="web")
    import_type2(db, write(tmp_path, FILE), actor="ig")
    assert current_choice(db, ADULT).state is State.IN
    records = history(db, ADULT).records
    assert [(r.state, r.record_start.date()) for r in records] == [
        (State.OUT, date(2018, 6, 1)),
        (State.IN, date(2019, 1, 1)),
    ]
    assert len(history(db, ADULT).events) == 3


@pytest.mark.parametrize(
    ("row", "line", "field", "message"),
    [
        (f"{ADULT[:-1]}8,9Nu4,2016-01-01", 3, "nhs_number", "check digit"),
        ("943 476 591,9Nu4,2016-01-01", 3, "nhs_number", "10 digits"),
        (f"{ADULT},9Nu0,2016-01-01", 3, "code", "Type 1"),
        (f"{ADULT},XYZ,2016-01-01", 3, "code", "not a Type 2"),
        (f"{ADULT},9Nu4,2016-13-01", 3, "date_recorded", "not a date"),
        (f"{ADULT},9Nu4,2999-01-01", 3, "date_recorded", "future"),
        (f"{ADULT},9Nu4", 3, None, "fields"),
    ],
)
def test_a_broken_row_stops_the_import_and_writes_nothing(
    people_known, tmp_path, row, line, field, message
):
    db = people_known
    before = table_counts(db)
    path = write(tmp_path, f"nhs_number,code,date_recorded\n{CHILD},9Nu4,2016-03-01\n{row}\n")
    with pytest.raises(FileFormatError, match=message) as caught:
        import_type2(db, path, actor="ig")
    assert (caught.value.file, caught.value.line, caught.value.field) == ("type2.csv", line, field)
    assert f"line {line}" in str(caught.value)
    assert table_counts(db) == before


def test_header_variants_uk_dates_and_bom_are_read(people_known, tmp_path):
    text = f"\ufeffNHS Number,SNOMED Code,Date Recorded\n{ADULT},881561000000100,01/02/2017\n"
    report = import_type2(people_known, write(tmp_path, text), actor="ig")
    assert report.converted == 1
    assert current_choice(people_known, ADULT).since == datetime(2017, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("nhs,when\n", "no code column"),
        ("NHS Number,Code,Date of birth,Date of entry\n", "several columns could be the date"),
    ],
)
def test_unusable_files_are_named(db, tmp_path, text, message):
    with pytest.raises(FileFormatError, match=message):
        import_type2(db, write(tmp_path, text), actor="ig")


def test_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(FileFormatError, match="cannot open"):
        import_type2(db, tmp_path / "absent.csv", actor="ig")


def test_objection_in_force_follows_withdrawals():
    def row(line: int, code: str, day: date) -> Type2Row:
        return Type2Row(line, ADULT, code, day)

    assert objection_in_force([row(2, "9Nu4", date(2016, 1, 1))]).line == 2
    assert (
        objection_in_force([row(2, "9Nu4", date(2016, 1, 1)), row(3, "9Nu5", date(2017, 1, 1))])
        is None
    )
    again = objection_in_force(
        [
            row(2, "9Nu4", date(2016, 1, 1)),
            row(3, "9Nu5", date(2017, 1, 1)),
            row(4, "9Nu4", date(2018, 2, 1)),
            row(5, "9Nu4", date(2018, 3, 1)),
        ]
    )
    assert again is not None and again.line == 4
    assert objection_in_force([row(2, "9Nu4", date(2018, 10, 12))]) is None


def test_spreadsheet_exports_are_read(people_known, tmp_path):
    text = (
        "Patient NHS No;Read Code;Event Date;Practice\r\n"
        f'"{ADULT[:3]} {ADULT[3:6]} {ADULT[6:]}";9Nu4;11/10/2018 00:00;A81001\r\n'
        f"{CHILD};9Nu4;01-Mar-2016;A81001\r\n"
        ";;;\r\n"
    )
    report = import_type2(people_known, write(tmp_path, text), actor="ig")
    assert report.converted == 2
    assert current_choice(people_known, CHILD).since == datetime(2016, 3, 1, tzinfo=UTC)
