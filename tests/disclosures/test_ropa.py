"""Importing and exporting the record of processing (ROPA) as a CSV spreadsheet."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date
from pathlib import Path

import pytest

from ndoo.db import Database
from ndoo.disclosures import assessments, ropa, store
from ndoo.disclosures.facts import FIELDS
from ndoo.disclosures.record import Disclosure
from ndoo.errors import FileFormatError, InputError, RowErrors

DATA = Path(__file__).parent / "data"
MESSY = DATA / "messy_ropa.csv"
ORG = "RX1"
ACTOR = "ig-lead"

HEADER = "Reference,Title,Recipient organisation,Purpose,Origin of the data,Legal basis,Owner"


def write(folder: Path, text: str, *, name: str = "ropa.csv", encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def import_file(db: Database, path: Path, organisation: str = ORG) -> ropa.ImportResult:
    return ropa.import_csv(db, path, organisation=organisation, actor=ACTOR)


def register(db: Database, organisation: str = ORG) -> dict[str, store.Entry]:
    return {e.reference: e for e in store.entries(db, organisation=organisation)}


def problems_of(error: RowErrors) -> list[tuple[int, str | None]]:
    return [(p["line"], p["field"]) for p in error.problems]


# ---------------------------------------------------------------------------
# Import: what a real spreadsheet looks like


def test_messy_spreadsheet_is_read_as_the_user_meant(db: Database) -> None:
    # BOM, semicolons, CRLF, headings in odd case with underscores and hyphens, a value
    # spanning two lines, a blank line, a row of empty cells, DD/MM/YYYY dates, aliases
    # ("s251 reg 5", "Standard", "Y", "n/a", "Annual") and a column ndoo does not know.
    result = import_file(db, MESSY)

    assert result.rows == 3
    assert result.added == ("RES-001", "DC-002", "AUD-003")
    assert result.changed == result.unchanged == ()
    assert result.ignored_columns == ("Comments",)
    assert register(db)["RES-001"].disclosure == Disclosure(
        reference="RES-001",
        title="Cancer outcomes study",
        recipient="University of Leeds",
        purpose="research",
        contains_cpi="yes",
        anonymised="no",
        origin="england_health_adult_social_care",
        legal_bases=("s251_regulation_5",),
        cag_reference="21/CAG/0001",
        cag_condition="standard_condition",
        national_exemption="none",
        frequency="monthly",
        start_date=date(2024, 4, 1),
        end_date=date(2027, 3, 31),
        owner="Information Governance",
        notes="Pseudonymised extract; reviewed each quarter",
    )
    discharge = register(db)["DC-002"].disclosure
    assert (discharge.purpose, discharge.contains_cpi, discharge.anonymised) == (
        "direct_care",
        "yes",
        "no",
    )
    assert discharge.start_date == date(2023, 1, 15)
    audit = register(db)["AUD-003"].disclosure
    assert audit.legal_bases == ("legal_requirement",)
    assert audit.frequency == "annually"
    assert audit.owner is None
    assert result.as_dict()["added"] == ["RES-001", "DC-002", "AUD-003"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_each_delimiter_gives_the_same_register(
    db: Database, tmp_path: Path, delimiter: str
) -> None:
    rows = [
        ["Reference", "Title", "Recipient organisation", "Legal basis", "Notes"],
        ["R1", "Audit, phase 2", "HQIP", "Explicit consent", "one; two"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)

    import_file(db, write(tmp_path, buffer.getvalue()))

    record = register(db)["R1"].disclosure
    assert (record.title, record.legal_bases, record.notes) == (
        "Audit, phase 2",
        ("explicit_consent",),
        "one; two",
    )


def test_windows_1252_file_from_excel(db: Database, tmp_path: Path) -> None:
    text = (
        "Reference,Title,Recipient organisation,Notes\r\n"
        "FIN-01,Prescribing costs – £ savings,Finance team,“Phase 2” agreed\r\n"
    )
    path = write(tmp_path, text, encoding="cp1252")
    assert b"\xa3" in path.read_bytes()  # really Windows-1252, not UTF-8

    import_file(db, path)

    record = register(db)["FIN-01"].disclosure
    assert record.title == "Prescribing costs – £ savings"
    assert record.notes == "“Phase 2” agreed"


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (b"Reference,Title,Recipient organisation\r\nR1,Caf\xe9,X\r\nR2,Bad \x81 byte,Y\r\n", 3,
         "neither UTF-8 nor Windows-1252"),
        (b"Reference,Title,Recipient organisation\nR1,\"Unclosed,X\nR2,T,Y\n", 2, "never closed"),
        (b"Reference,Title,Recipient organisation\nR1,T,X\nR2,\"Bob\" Smith,Y\n", 3,
         "not well-formed CSV"),
        (b"PK\x03\x04rest of a workbook", None, "Excel workbook"),
        (b"", None, "empty"),
        (b"\r\n\r\n", None, "empty"),
    ],
)  # fmt: skip
def test_unreadable_file_is_named_with_its_line(
    db: Database, tmp_path: Path, content: bytes, line: int | None, fragment: str
) -> None:
    path = tmp_path / "ropa.csv"
    path.write_bytes(content)

    with pytest.raises(FileFormatError) as caught:
        import_file(db, path)

    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert fragment in str(caught.value)
    assert register(db) == {}


def test_missing_required_columns_are_named_with_the_columns_found(
    db: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "Ref,Title,Purpose\nR1,Study,Research\n")

    with pytest.raises(FileFormatError) as caught:
        import_file(db, path)

    message = str(caught.value)
    assert message.startswith(str(path))
    assert "no Reference or Recipient organisation column" in message
    assert "'Ref', 'Title', 'Purpose'" in message
    assert register(db) == {}


def test_two_columns_for_one_field_are_refused(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "Reference,Title,Recipient organisation,legal_bases,Legal basis\n")

    with pytest.raises(FileFormatError, match="'legal_bases' and 'Legal basis' both give"):
        import_file(db, path)


def test_columns_an_export_adds_are_skipped_silently_but_unknown_ones_reported(
    db: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Reference,Title,Recipient organisation,Version,Assessment,Rule set,Assessed at,"
        "Comments,DPIA done,\n"
        "R1,Study,Team,7,APPLY,2026.11,2026-01-01T00:00:00.000000Z,,yes,\n"
        "R2,Audit,Team,1,not assessed,,,,,stray value\n",
    )

    result = import_file(db, path)

    assert result.ignored_columns == ("Comments", "DPIA done", "column 10 (no heading)")
    assert register(db)["R1"].version == 1  # the Version column is not a value to import


# ---------------------------------------------------------------------------
# Import: problems in rows


def test_every_problem_of_every_row_is_reported_and_nothing_imported(
    db: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Reference,Title,Recipient organisation,Purpose,Start date,End date\n"
        "R1,Study,University,Research,01/04/2024,\n"
        "R2,Study,University,Marketing,,\n"
        "R3,,University,Research,31/02/2024,\n"
        "R4,Study,University,Research,2024-05-01,2024-04-01\n"
        "R5,Study,University,Research,,,surplus\n",
    )

    with pytest.raises(RowErrors) as caught:
        import_file(db, path)

    assert problems_of(caught.value) == [
        (3, "Purpose"),
        (4, "Title"),
        (4, "Start date"),
        (5, "End date"),
        (6, None),
    ]
    assert caught.value.file == str(path)
    assert "'Marketing' is not one of" in caught.value.problems[0]["message"]
    assert "7 cells where the header has 6" in caught.value.problems[-1]["message"]
    assert register(db) == {}


def test_a_bad_last_row_after_valid_ones_imports_nothing_and_changes_nothing(
    db: Database, tmp_path: Path
) -> None:
    import_file(db, write(tmp_path, f"{HEADER}\nR1,Study,University,Research,England,,Alice\n"))
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "R1,Study,University,Research,England,,Bob\n"
        "R2,New study,University,Research,England,,Carol\n"
        "R3,Third,University,Research,Mars,,Dan\n",
        name="second.csv",
    )

    with pytest.raises(RowErrors) as caught:
        import_file(db, path)

    assert problems_of(caught.value) == [(4, "Origin of the data")]
    after = register(db)
    assert list(after) == ["R1"]
    assert (after["R1"].version, after["R1"].disclosure.owner) == (1, "Alice")


def test_a_repeated_reference_names_both_lines(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "R1,Study,University,Research,England,,\n"
        "R2,Audit,HQIP,National audit,England,,\n"
        " R1 ,Study again,University,Research,England,,\n",
    )

    with pytest.raises(RowErrors) as caught:
        import_file(db, path)

    [problem] = caught.value.problems
    assert (problem["line"], problem["field"]) == (4, "Reference")
    assert "also on line 2" in problem["message"]
    assert register(db) == {}


def test_lines_are_counted_as_an_editor_shows_them_across_values_spanning_lines(
    db: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Reference,Title,Recipient organisation,Frequency,Notes\r\n"
        'R1,Study,University,Fortnightly,"first line\r\nsecond line\r\nthird line"\r\n'
        "\r\n"
        'R2,Audit,HQIP,Monthly,"one\nmore"\r\n'
        "R3,Return,NHS England,Sometimes,\r\n",
    )

    with pytest.raises(RowErrors) as caught:
        import_file(db, path)

    assert problems_of(caught.value) == [(2, "Frequency"), (8, "Frequency")]


# ---------------------------------------------------------------------------
# Import again: what changes and what must be assessed again


def test_importing_the_same_file_again_changes_nothing(db: Database) -> None:
    import_file(db, MESSY)

    result = import_file(db, MESSY)

    assert result.unchanged == ("RES-001", "DC-002", "AUD-003")
    assert result.added == result.changed == ()
    for reference in result.unchanged:
        assert len(store.history(db, reference, organisation=ORG)) == 1


def test_only_a_change_bearing_on_scope_needs_a_new_assessment(
    db: Database, tmp_path: Path
) -> None:
    first = (
        f"{HEADER}\n"
        "A,Extract,Partner,Research,Outside England,,Alice\n"
        "B,Extract,Partner,Research,Outside England,,Alice\n"
        "C,Extract,Partner,Research,Outside England,,Alice\n"
    )
    import_file(db, write(tmp_path, first))
    for reference in "ABC":
        assessments.assess(db, reference, organisation=ORG, actor=ACTOR)
    assert not any(e.needs_assessment for e in register(db).values())
    second = (
        f"{HEADER}\n"
        "A,Extract,Partner,Service planning,Outside England,,Alice\n"
        "B,Extract,Partner,Research,Outside England,,Bob\n"
        "C,Extract,Partner,Research,Outside England,,Alice\n"
    )

    result = import_file(db, write(tmp_path, second, name="second.csv"))

    assert (result.changed, result.unchanged) == (("A", "B"), ("C",))
    after = register(db)
    assert [after[r].needs_assessment for r in "ABC"] == [True, False, False]
    assert after["B"].disclosure.owner == "Bob"
    states = {s.entry.reference: s.state for s in assessments.standings(db, organisation=ORG)}
    assert states == {"A": assessments.CHANGED, "B": "DO NOT APPLY", "C": "DO NOT APPLY"}


def test_a_column_left_out_keeps_what_the_register_holds(db: Database, tmp_path: Path) -> None:
    import_file(db, MESSY)
    path = write(
        tmp_path,
        "Reference;Title;Recipient organisation\n"
        "RES-001;Cancer outcomes study 2;University of Leeds\n",
    )

    result = import_file(db, path)

    assert result.changed == ("RES-001",)
    record = register(db)["RES-001"].disclosure
    assert record.title == "Cancer outcomes study 2"
    assert (record.cag_condition, record.end_date) == ("standard_condition", date(2027, 3, 31))


def test_an_empty_cell_clears_a_value(db: Database, tmp_path: Path) -> None:
    import_file(db, MESSY)
    path = write(
        tmp_path,
        "Reference;Title;Recipient organisation;Owner\n"
        "RES-001;Cancer outcomes study;University of Leeds;\n",
    )

    import_file(db, path)

    assert register(db)["RES-001"].disclosure.owner is None


def test_disclosures_left_out_of_the_file_are_named_and_kept(db: Database, tmp_path: Path) -> None:
    import_file(db, MESSY)  # RES-001, DC-002, AUD-003
    other = write(
        tmp_path, "Reference,Title,Recipient organisation\nX-9,Audit,HQIP\n", name="x.csv"
    )
    import_file(db, other, organisation="RX2")  # another organisation's is not named
    path = write(
        tmp_path,
        "Reference,Title,Recipient organisation\nDC-002,Discharge summaries,Care home\n",
    )

    result = import_file(db, path)

    assert result.not_in_file == ("AUD-003", "RES-001")
    assert result.as_dict()["not_in_file"] == ["AUD-003", "RES-001"]
    lines = result.describe().split("\n")
    assert "In the register but not in this file: AUD-003, RES-001." in lines
    # Nothing is removed, and a file listing every disclosure names none.
    assert set(register(db)) == {"RES-001", "DC-002", "AUD-003"}
    again = import_file(db, MESSY)
    assert again.not_in_file == ()
    assert "not in this file" not in again.describe()


# ---------------------------------------------------------------------------
# Contradictions are reported, not refused


def test_contradicting_answers_are_imported_and_reported_with_their_line(
    db: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Reference,Title,Recipient organisation,Legal basis,Basis covering this flow\n"
        "OK-1,Study,University,Explicit consent,\n"
        'TWO-2,Study,University,"Explicit consent; Section 251 support under Regulation 5",\n',
    )

    result = import_file(db, path)

    assert result.added == ("OK-1", "TWO-2")
    [found] = result.contradictions
    assert (found.line, found.reference, found.columns) == (
        3,
        "TWO-2",
        ("Basis covering this flow",),
    )
    assert "say which one covers this flow" in found.message
    assert result.as_dict()["contradictions"][0]["reference"] == "TWO-2"
    assert register(db)["TWO-2"].disclosure.legal_bases == (
        "explicit_consent",
        "s251_regulation_5",
    )


# ---------------------------------------------------------------------------
# Export


def full_disclosure() -> Disclosure:
    return Disclosure(
        reference="MIX-9",
        title="=1+1 risk model",
        recipient='Analytics team, "North"',
        purpose="risk_stratification_commissioning",
        contains_cpi="yes",
        anonymised="no",
        origin="england_health_adult_social_care",
        legal_bases=("explicit_consent", "s251_regulation_5"),
        basis_for_flow="s251_regulation_5",
        cag_reference="22/CAG/0100",
        cag_condition="exempts_flow",
        national_exemption="none",
        frequency="ad_hoc",
        start_date=date(2025, 2, 1),
        owner="-",
        notes="Uses; semicolons, commas and 'quotes'",
    )


def test_export_writes_labels_for_excel(db: Database, tmp_path: Path) -> None:
    store.add(db, full_disclosure(), organisation=ORG, actor=ACTOR)
    path = tmp_path / "out.csv"

    assert ropa.export_csv(db, path, organisation=ORG) == 1

    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert data.count(b"\r\n") == 2 and data.count(b"\n") == 2
    header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert header == [f.column for f in FIELDS] + [
        "Version",
        "Assessment",
        "Rule set",
        "Assessed at",
    ]
    cells = dict(zip(header, row, strict=True))
    assert cells["Legal basis"] == ("Explicit consent; Section 251 support under Regulation 5")
    assert cells["Purpose"] == "Risk stratification for commissioning"
    assert cells["Start date"] == "2025-02-01"
    assert cells["End date"] == ""
    assert cells["Title"] == "'=1+1 risk model"  # not run as a formula by a spreadsheet
    assert cells["Owner"] == "'-"
    assert (cells["Version"], cells["Assessment"], cells["Rule set"]) == ("1", "not assessed", "")


def test_export_then_import_gives_the_same_register(db: Database, tmp_path: Path) -> None:
    import_file(db, MESSY)
    store.add(db, full_disclosure(), organisation=ORG, actor=ACTOR)
    store.change(db, "DC-002", {"owner": "Clinical Safety"}, organisation=ORG, actor=ACTOR)
    outcome = assessments.assess(db, "MIX-9", organisation=ORG, actor=ACTOR).outcome
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    ropa.export_csv(db, first, organisation=ORG)

    result = import_file(db, first, organisation="RX2")
    ropa.export_csv(db, second, organisation="RX2")

    assert result.ignored_columns == ()
    assert sorted(result.added) == sorted(register(db))
    assert {r: e.disclosure for r, e in register(db, "RX2").items()} == {
        r: e.disclosure for r, e in register(db).items()
    }
    before, after = first.read_bytes(), second.read_bytes()
    assert before != after  # the assessment columns differ
    assert without_read_only(before) == without_read_only(after)
    states = {row[0]: row[-3] for row in rows_of(before)[1:]}
    assert states["MIX-9"] == outcome
    assert {row[-3] for row in rows_of(after)[1:]} == {"not assessed"}


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def without_read_only(data: bytes) -> list[bytes]:
    """Each line's bytes up to the read-only columns (which hold no commas or quotes)."""
    lines = data.split(b"\r\n")
    assert lines[-1] == b""
    return [line.rsplit(b",", len(ropa.READ_ONLY_COLUMNS))[0] for line in lines[:-1]]


def test_export_refuses_to_overwrite_unless_asked(db: Database, tmp_path: Path) -> None:
    import_file(db, MESSY)
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "ropa.csv"
    path.write_text("keep me", encoding="utf-8")

    with pytest.raises(InputError, match="already exists"):
        ropa.export_csv(db, path, organisation=ORG)
    assert path.read_text(encoding="utf-8") == "keep me"

    assert ropa.export_csv(db, path, organisation=ORG, overwrite=True) == 3
    assert rows_of(path.read_bytes())[1][0] == "AUD-003"
    assert [p.name for p in folder.iterdir()] == ["ropa.csv"]  # no temporary file left


def test_export_into_a_missing_folder_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        ropa.export_csv(db, tmp_path / "nowhere" / "ropa.csv", organisation=ORG)
