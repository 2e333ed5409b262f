"""``ndoo stats impact``: how the people a release removed differ from those it kept.

One register, one dataset of 100 people (30 with an opt-out), released with the real
``ndoo apply``; every expected count below is worked out by hand from the dataset.

Removed (30): ages 35 x20 and 55 x10; sex F x20 and 1 x10; LSOA L1 x20 and L2 x10.
Kept (70): ages 35 x12, 55 x30, 75 x25, 93 x3; sex Female x20 (2/F/Female), Male x45
(1/M/male), unknown x3 (9/0/U), "Non-binary" x2; LSOA L1 x10, L2 x28, L3 x28, L4 x4.
L1 and L4 are in Sub-ICB A3A8R (London), L2 and L3 in 00L (North East and Yorkshire).
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ndoo import people
from ndoo.cli.main import cli
from ndoo.db import Database
from ndoo.errors import InputError
from ndoo.nhs_number import format_display, generate_synthetic
from ndoo.register import Channel, ChoiceChange, State, set_choice
from ndoo.stats.impact import impact
from ndoo.stats.report import FEWER, HIDDEN, SUPPRESSED, Cell, ImpactReport, suppress
from ndoo.stats.report import write_csv as write_impact_csv
from tests.apply.helpers import NHS_LIKE, NOT_OPTED_OUT, OPTED_OUT, run, sqlite_register

L1, L4 = "E01000001", "E01000002"  # City of London, Sub-ICB A3A8R
L2, L3 = "E01027356", "E01027357"  # Northumberland, Sub-ICB 00L
AS_OF = date(2024, 6, 30)


def _numbers() -> tuple[list[str], list[str]]:
    """30 people to opt out (the register's two first) and 70 without an opt-out."""
    known = {*OPTED_OUT, *NOT_OPTED_OUT}
    fresh = [
        f"{n:010d}"
        for n in generate_synthetic(120, np.random.default_rng(42))
        if str(n) not in known
    ]
    return [*OPTED_OUT, *fresh[:28]], [*NOT_OPTED_OUT, *fresh[28:95]]


REMOVED, KEPT = _numbers()


def _people() -> list[tuple[str, int, str, str]]:
    """(NHS number, age, sex as coded, LSOA) of each person: the module's table."""
    removed = list(
        zip(
            REMOVED,
            [35] * 20 + [55] * 10,
            ["F"] * 20 + ["1"] * 10,
            [L1] * 20 + [L2] * 10,
            strict=True,
        )
    )
    sexes = (["2"] * 7 + ["F"] * 7 + ["Female"] * 6 + ["1"] * 15 + ["M"] * 15 + ["male"] * 15) + [
        "9",
        "0",
        "U",
        "Non-binary",
        "Non-binary",
    ]
    kept = list(
        zip(
            KEPT,
            [35] * 12 + [55] * 30 + [75] * 25 + [93] * 3,
            sexes,
            [L1] * 10 + [L2] * 28 + [L3] * 28 + [L4] * 4,
            strict=True,
        )
    )
    return removed + kept


def dataset() -> pa.Table:
    """One row per person, and more: the first five removed people have a second row
    (the first three written 3-3-4 with spaces, as typed); the 13th kept person, aged 55,
    has two more rows, one at 61 (so 60-69 is never their band); one row has no number."""
    rows: list[tuple[str, int | None, str | None, str | None]] = []
    for i, (number, age, sex, lsoa) in enumerate(_people()):
        rows.append((format_display(number) if i < 3 else number, age, sex, lsoa))
        if i < 5:
            rows.append((number, age, sex, lsoa))
        if number == KEPT[12]:
            rows += [(number, 55, sex, lsoa), (number, 61, sex, lsoa)]
    rows.append(("", 40, "2", L3))
    return pa.table(
        {
            "episode": [f"E{i:04d}" for i in range(len(rows))],
            "nhs_number": [r[0] for r in rows],
            "age": pa.array([r[1] for r in rows], pa.int64()),
            "dob": [date(AS_OF.year - int(r[1] or 0), 1, 15) for r in rows],
            "sex": [r[2] for r in rows],
            "lsoa": [r[3] for r in rows],
            "note": [r[0] for r in rows],  # the number again: never to be shown
        }
    )


def _opt_out(db: Database, numbers: list[str]) -> None:
    for number in numbers:
        people.add(db, people.Person(number, date(1980, 1, 1), "2"), actor="test")
        change = ChoiceChange(
            number,
            State.OUT,
            Channel.OP,
            by_self=True,
            effective_at=datetime(2020, 1, 1, tzinfo=UTC),
        )
        set_choice(db, change, actor="test")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The register (tests.pos.helpers' five, DSA-001 assessed) with 28 more opt-outs."""
    path = tmp_path_factory.mktemp("impact") / "register.db"
    db = sqlite_register(path)
    _opt_out(db, REMOVED[2:])
    db.dispose()
    return path


def _release(template: Path, folder: Path, out: str = "release.parquet") -> tuple[Database, Path]:
    shutil.copyfile(template, folder / "register.db")
    db = Database(f"sqlite:///{folder / 'register.db'}")
    pq.write_table(dataset(), folder / "episodes.parquet")
    result = run(db, str(folder / "episodes.parquet"), str(folder / out), unmatched="drop")
    assert result.manifest_path is not None
    return db, result.manifest_path


@pytest.fixture(scope="module")
def released(template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, Path]:
    db, manifest = _release(template, tmp_path_factory.mktemp("released"))
    yield db, manifest
    db.dispose()


@pytest.fixture
def fresh(template: Path, tmp_path: Path) -> tuple[Database, Path]:
    """A release of its own, for tests that change it."""
    db, manifest = _release(template, tmp_path, out="release.csv")
    yield db, manifest
    db.dispose()


def cells(report: ImpactReport, key: str) -> list[tuple[str, int | str, int | str, str | None]]:
    """(category, kept, removed, suppressed) of one dimension, in the report's order."""
    (dimension,) = [d for d in report.dimensions if d.key == key]
    return [
        (c.category, c.shown(c.kept), c.shown(c.removed), c.suppressed) for c in dimension.cells
    ]


# ---------------------------------------------------------------------------------
# Counts


def test_the_release_is_what_the_tests_expect(released):
    manifest = json.loads(released[1].read_text())
    assert manifest["counts"]["distinct_patients_in"] == 100
    assert manifest["counts"]["distinct_patients_out"] == 70
    assert manifest["unmatched"]["rows_dropped"] == 1


def test_age_bands_worked_by_hand_under_represented_first(released):
    db, manifest = released
    report = impact(manifest, age_column="age", db=db)
    assert (report.kept, report.removed) == (70, 30)
    assert cells(report, "age_band") == [
        ("30-39", 12, 20, None),  # representation (12/70)/(32/100) = 0.536
        ("50-59", 30, 10, None),  # (30/70)/(40/100) = 1.071; 60-69 never appears
        ("70-79", SUPPRESSED, SUPPRESSED, "secondary"),  # the smallest other cell (25)
        ("90+", FEWER, SUPPRESSED, "small"),  # 3 kept, 0 removed
    ]
    (age,) = report.dimensions
    first, second = age.cells[:2]
    assert age.representation(first) == pytest.approx((12 / 70) / (32 / 100))
    assert age.representation(second) == pytest.approx((30 / 70) / (40 / 100))
    assert first.removal_rate == pytest.approx(20 / 32)
    assert [r for _, _, r in report.under_represented()] == [pytest.approx(0.5357, abs=1e-4)]


def test_sex_codings_are_mapped_and_other_values_kept(released):
    report = impact(released[1], sex_column="sex")
    assert cells(report, "sex") == [
        ("Female", 20, 20, None),  # (20/70)/(40/100) = 0.714
        ("Male", 45, 10, None),  # (45/70)/(55/100) = 1.169
        ("Non-binary", FEWER, SUPPRESSED, "small"),
        ("Unknown", FEWER, SUPPRESSED, "small"),  # 9, 0 and U
    ]  # two small cells hide each other: no secondary suppression


def test_lsoas_small_cell_and_its_secondary(released):
    report = impact(released[1], area_column="lsoa")
    assert cells(report, "area") == [
        (L1, 10, 20, None),  # (10/70)/(30/100) = 0.476
        (L2, 28, 10, None),  # (28/70)/(38/100) = 1.053
        (L4, FEWER, SUPPRESSED, "small"),
        (L3, SUPPRESSED, SUPPRESSED, "secondary"),  # 28 people, the smallest other cell
    ]
    (area,) = report.dimensions
    assert area.cells[0].name == "City of London 001A"
    assert area.title == "LSOA"


@pytest.mark.parametrize(
    "level,first,second,title",
    [
        ("sub_icb", "A3A8R", "00L", "Sub-ICB location"),
        ("icb", "QMF", "QHM", "ICB"),
        ("la", "E09000001", "E06000057", "Local authority"),
        ("region", "Y56", "Y63", "NHS England region"),
    ],
)
def test_areas_mapped_up_the_geography(released, level, first, second, title):
    report = impact(released[1], area_column="lsoa", area_level=level)
    # L1 + L4 and L2 + L3: (14/70)/(34/100) = 0.588 and (56/70)/(66/100) = 1.212
    assert cells(report, "area") == [(first, 14, 20, None), (second, 56, 10, None)]
    (area,) = report.dimensions
    assert area.title == title
    assert all(cell.name for cell in area.cells)


def test_a_date_of_birth_gives_the_same_bands_at_the_as_of_date(released):
    by_age = impact(released[1], age_column="age")
    by_birth = impact(released[1], date_of_birth_column="dob", as_of=AS_OF)
    assert cells(by_birth, "age_band") == cells(by_age, "age_band")
    assert by_birth.as_of == AS_OF
    manifest = json.loads(released[1].read_text())
    default = impact(released[1], date_of_birth_column="dob")
    assert default.as_of == date.fromisoformat(manifest["finished_at"][:10])


def test_all_dimensions_at_once(released):
    report = impact(released[1], age_column="age", sex_column="sex", area_column="lsoa")
    assert [d.key for d in report.dimensions] == ["age_band", "sex", "area"]
    assert all(d.total.people == 100 for d in report.dimensions)


# ---------------------------------------------------------------------------------
# Suppression rules


def test_exactly_one_small_cell_takes_the_next_smallest_with_it():
    order = {"a": 0, "b": 1, "c": 2}
    marked = suppress([Cell("a", 50, 3), Cell("b", 40, 20), Cell("c", 30, 20)], order)
    assert [c.suppressed for c in marked] == ["small", None, "secondary"]


def test_two_small_cells_need_no_more():
    order = {"a": 0, "b": 1, "c": 2}
    marked = suppress([Cell("a", 5, 30), Cell("b", 40, 2), Cell("c", 30, 20)], order)
    assert [c.suppressed for c in marked] == ["small", "small", None]


def test_zero_is_not_small_and_a_lone_cell_is_its_total():
    order = {"a": 0, "b": 1}
    assert [c.suppressed for c in suppress([Cell("a", 50, 0), Cell("b", 10, 10)], order)] == [
        None,
        None,
    ]
    (only,) = suppress([Cell("a", 50, 4)], {"a": 0})
    assert only.suppressed == "small"


# ---------------------------------------------------------------------------------
# Refusals


def test_a_changed_output_is_refused(fresh):
    db, manifest = fresh
    assert impact(manifest, sex_column="sex", db=db).kept == 70
    output = Path(json.loads(manifest.read_text())["output"]["path"])
    output.write_text(output.read_text() + "E9999,9000000025,40,,2,E01000001,\n")
    with pytest.raises(InputError, match="SHA-256"):
        impact(manifest, sex_column="sex")


def test_a_changed_input_is_refused(fresh):
    _, manifest = fresh
    source = Path(json.loads(manifest.read_text())["input"]["path"])
    table = dataset()
    pq.write_table(table.slice(0, table.num_rows - 2), source)
    with pytest.raises(InputError, match="has changed since it was made"):
        impact(manifest, sex_column="sex")


def test_an_edited_manifest_is_refused_against_the_stored_copy(fresh):
    db, manifest = fresh
    content = json.loads(manifest.read_text())
    content["disclosure"] = "DSA-999"
    manifest.write_text(json.dumps(content))
    with pytest.raises(InputError, match="differs from the copy stored"):
        impact(manifest, sex_column="sex", db=db)


@pytest.mark.parametrize(
    "options,message",
    [
        ({}, "name at least one column"),
        ({"age_column": "age", "date_of_birth_column": "dob"}, "not both"),
        ({"sex_column": "sex", "as_of": AS_OF}, "only with a date of birth"),
        ({"sex_column": "nhs_number"}, "is the NHS number column"),
        ({"sex_column": "gender"}, "has no column 'gender'"),
        ({"area_column": "lsoa", "area_level": "ward"}, "unknown area level"),
    ],
)
def test_requests_that_cannot_work_are_refused(released, options, message):
    with pytest.raises(InputError, match=message):
        impact(released[1], **options)


# ---------------------------------------------------------------------------------
# Outputs


def test_json_and_csv_hide_what_is_suppressed(released, tmp_path):
    report = impact(released[1], age_column="age", sex_column="sex", area_column="lsoa")
    shown = json.loads(json.dumps(report.as_dict()))
    assert shown["people"] == {
        "people": 100,
        "kept": 70,
        "removed": 30,
        "removal_rate": 0.3,
        "suppressed": None,
    }
    assert shown["rows_without_valid_nhs_number"] == {"rows": FEWER, "decision": "drop"}
    age = shown["dimensions"][0]
    assert age["categories"][0] == {
        "category": "30-39",
        "name": None,
        "people": 32,
        "kept": 12,
        "removed": 20,
        "removal_rate": 0.625,
        "kept_share": round(12 / 70, 4),
        "input_share": 0.32,
        "representation": round((12 / 70) / 0.32, 4),
        "suppressed": None,
    }
    assert age["categories"][3] == {
        "category": "90+",
        "name": None,
        "people": FEWER,
        "kept": FEWER,
        "removed": SUPPRESSED,
        "removal_rate": None,
        "kept_share": None,
        "input_share": None,
        "representation": None,
        "suppressed": "small",
    }
    path = tmp_path / "impact.csv"
    write_impact_csv(report, path)
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["dimension"], r["category"]) for r in rows[:5]] == [
        ("age_band", "30-39"),
        ("age_band", "50-59"),
        ("age_band", "70-79"),
        ("age_band", "90+"),
        ("age_band", "Total"),
    ]
    assert rows[2]["kept"] == SUPPRESSED and rows[2]["removal_rate"] == ""
    assert rows[4]["people"] == "100" and rows[4]["removal_rate"] == "0.3"


def test_the_text_report_reads_as_a_table(released):
    text = impact(released[1], age_column="age").text()
    assert "People (distinct NHS numbers): 100 in the input, 70 kept, 30 removed (30.0%)." in text
    assert "Rows without a valid NHS number: fewer than 10 (dropped)" in text
    assert "Age band 30-39: 0.54 (removal rate 62.5%)" in text
    lines = text.splitlines()
    table = lines[lines.index("Age band (column 'age')") :]
    assert table[2].split() == ["30-39", "32", "12", "20", "62.5%", "0.54"]
    assert table[5].split() == ["90+", "fewer", "than", "10", "fewer", "than", "10", "suppressed"]
    assert table[6].split() == ["Total", "100", "70", "30", "30.0%"]


def test_no_nhs_number_reaches_the_report(released, tmp_path):
    report = impact(released[1], age_column="age", sex_column="note", area_column="note")
    assert {c.category for d in report.dimensions[1:] for c in d.cells} == {HIDDEN}
    path = tmp_path / "impact.csv"
    write_impact_csv(report, path)
    for text in (report.text(), json.dumps(report.as_dict()), path.read_text()):
        assert not NHS_LIKE.search(text.replace(str(released[1]), ""))


# ---------------------------------------------------------------------------------
# The command


@pytest.fixture
def invoke(released, tmp_path, monkeypatch):
    db, _ = released
    monkeypatch.setenv("NDOO_DATABASE_URL", str(db.engine.url))
    monkeypatch.setenv("NDOO_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("NDOO_HOME", str(tmp_path / "home"))

    def call(*args: object):
        return CliRunner().invoke(
            cli, ["stats", "impact", *(str(a) for a in args)], catch_exceptions=False
        )

    return call


def test_the_command_prints_text_json_and_csv(invoke, released, tmp_path):
    manifest = released[1]
    text = invoke(
        manifest, "--age-column", "age", "--area-column", "lsoa", "--area-level", "region"
    )
    assert text.exit_code == 0, text.output
    assert "NHS England region (column 'lsoa')" in text.output
    as_json = invoke(manifest, "--sex-column", "sex", "--json", "--csv", tmp_path / "out.csv")
    assert as_json.exit_code == 0, as_json.output
    payload = json.loads(as_json.stdout)
    assert payload["dimensions"][0]["categories"][0]["category"] == "Female"
    assert (tmp_path / "out.csv").read_text().startswith("dimension,category,name,")


def test_the_command_reports_a_refusal_in_one_line(invoke, released):
    result = invoke(released[1], "--sex-column", "gender")
    assert result.exit_code == 1
    assert result.output.startswith("ndoo: error: the dataset has no column 'gender'")
    as_json = invoke(released[1], "--json")
    assert as_json.exit_code == 1
    assert "name at least one column" in as_json.output


def test_the_command_help_ends_with_an_example(invoke):
    result = invoke("--help")
    assert "Example:" in result.output and "ndoo stats impact" in result.output


def test_a_dependency_message_that_could_hold_a_number_is_not_repeated():
    from ndoo.stats.impact import _first_line

    assert _first_line(ValueError("bad row: 943 476 5919,2")) == "ValueError"
    assert _first_line(ValueError("no such file\nline two")) == "no such file"


def test_a_csv_release_read_as_text_with_dates_of_birth_as_typed(template, tmp_path):
    shutil.copyfile(template, tmp_path / "register.db")
    db = Database(f"sqlite:///{tmp_path / 'register.db'}")
    table = dataset()
    dob = [f"{d:%d/%m/%Y}" for d in table.column("dob").to_pylist()]
    table = table.set_column(3, "dob", pa.array(dob))
    pa_csv.write_csv(table, tmp_path / "episodes.csv")
    try:
        result = run(
            db, str(tmp_path / "episodes.csv"), str(tmp_path / "out.csv"), unmatched="drop"
        )
        assert result.manifest_path is not None
        report = impact(
            result.manifest_path,
            date_of_birth_column="dob",
            as_of=AS_OF,
            sex_column="sex",
            area_column="lsoa",
            area_level="sub_icb",
            db=db,
        )
    finally:
        db.dispose()
    assert cells(report, "age_band")[:2] == [("30-39", 12, 20, None), ("50-59", 30, 10, None)]
    assert cells(report, "sex")[:2] == [("Female", 20, 20, None), ("Male", 45, 10, None)]
    assert cells(report, "area") == [("A3A8R", 14, 20, None), ("00L", 56, 10, None)]
