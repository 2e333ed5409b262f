"""The staff roster from CSV: joining, changing, leaving and coming back."""

from __future__ import annotations

from datetime import date

import pytest

from ndoo.errors import FileFormatError, RowErrors
from ndoo.training import roster

HEADER = "Name,Email,Team,Role\n"


def _file(tmp_path, text: str, *, name: str = "staff.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_roster_as_excel_saves_it_is_imported(db, tmp_path):
    text = (
        "\ufeffFull name;E-mail address;Department;Job title;Start date\r\n"
        "Siân Llŷr;SIAN.LLYR@Example.NHS.uk;Ward  2;Staff  nurse;01/09/2026\r\n"
        "Zoë Brontë;zoe@example.nhs.uk;Reception;Receptionist;\r\n"
    )
    result = roster.import_csv(db, _file(tmp_path, text), actor="test")
    assert sorted(result.joined) == ["sian.llyr@example.nhs.uk", "zoe@example.nhs.uk"]
    sian = roster.get(db, "Sian.Llyr@example.nhs.uk")
    assert (sian.name, sian.team, sian.role) == ("Siân Llŷr", "Ward 2", "Staff nurse")
    assert sian.joined_on == sian.role_since == date(2026, 9, 1)


def test_windows_1252_is_read(db, tmp_path):
    text = HEADER + "Renée O’Neil,renee@example.nhs.uk,Pharmacy,Pharmacist\n"
    roster.import_csv(db, _file(tmp_path, text, encoding="cp1252"), actor="test")
    assert roster.get(db, "renee@example.nhs.uk").name == "Renée O’Neil"


def test_every_bad_row_is_named_and_nothing_is_imported(db, tmp_path):
    text = (
        HEADER
        + "Good Person,good@example.nhs.uk,Ward 1,Nurse\n"
        + "No Email,,Ward 1,Nurse\n"
        + "Bad Email,not-an-address,Ward 1,Nurse\n"
        + ",noname@example.nhs.uk,Ward 1,Nurse\n"
        + "Twice,GOOD@example.nhs.uk,Ward 1,Nurse\n"
    )
    with pytest.raises(RowErrors) as caught:
        roster.import_csv(db, _file(tmp_path, text), actor="test")
    places = {(p["line"], p["field"]) for p in caught.value.problems}
    assert places == {(3, "email"), (4, "email"), (5, "name"), (6, "email")}
    assert "staff.csv" in caught.value.message and "line 6" in caught.value.message
    assert roster.members(db) == []


def test_a_header_without_the_needed_columns_says_which(db, tmp_path):
    with pytest.raises(FileFormatError, match="no team, role column") as caught:
        roster.import_csv(db, _file(tmp_path, "Name,Email\nA,a@example.nhs.uk\n"), actor="t")
    assert caught.value.line == 1


def test_a_workbook_is_refused_with_what_to_do(db, tmp_path):
    path = tmp_path / "staff.xlsx"
    path.write_bytes(b"PK\x03\x04rest of a zip")
    with pytest.raises(FileFormatError, match="save the roster as 'CSV UTF-8'"):
        roster.import_csv(db, path, actor="test")


def test_changes_leavers_and_returners(db, tmp_path):
    first = (
        HEADER
        + "Amy Pond,amy@example.nhs.uk,Reception,Receptionist\n"
        + "Rory Williams,rory@example.nhs.uk,Ward 1,Nurse\n"
        + "Clara Oswald,clara@example.nhs.uk,Admin,Clerk\n"
    )
    roster.import_csv(db, _file(tmp_path, first), actor="test")
    second = (
        HEADER
        + "Amy Williams,amy@example.nhs.uk,Reception,Practice manager\n"
        + "Rory Williams,rory@example.nhs.uk,Ward 1,Nurse\n"
    )
    result = roster.import_csv(db, _file(tmp_path, second, name="b.csv"), actor="test")
    assert result.changed == ["amy@example.nhs.uk"] and result.unchanged == ["rory@example.nhs.uk"]
    assert result.missing == ["clara@example.nhs.uk"] and result.left == []
    assert roster.get(db, "clara@example.nhs.uk").active, "a partial file removes nobody"

    result = roster.import_csv(
        db, _file(tmp_path, second, name="c.csv"), actor="test", mark_leavers=True
    )
    assert result.left == ["clara@example.nhs.uk"]
    clara = roster.get(db, "clara@example.nhs.uk")
    assert not clara.active and clara.left_on is not None
    assert [m.email for m in roster.members(db)] == ["amy@example.nhs.uk", "rory@example.nhs.uk"]

    result = roster.import_csv(db, _file(tmp_path, first, name="d.csv"), actor="test")
    assert result.rejoined == ["clara@example.nhs.uk"]
    assert roster.get(db, "clara@example.nhs.uk").active
    changes = [c.change for c in roster.history(db, "clara@example.nhs.uk")]
    assert changes == ["joined", "left", "rejoined"]
    amy = roster.history(db, "amy@example.nhs.uk")
    assert "role: Receptionist -> Practice manager" in amy[1].detail


def test_a_new_role_starts_the_clock_again(db):
    roster.add(
        db,
        name="Jo",
        email="jo@example.nhs.uk",
        team="A",
        role="Porter",
        actor="t",
        start_date=date(2020, 1, 6),
    )
    roster.change(db, "jo@example.nhs.uk", actor="t", team="B")
    assert roster.get(db, "jo@example.nhs.uk").role_since == date(2020, 1, 6)
    roster.change(db, "jo@example.nhs.uk", actor="t", role="Ward clerk")
    assert roster.get(db, "jo@example.nhs.uk").role_since > date(2020, 1, 6)
