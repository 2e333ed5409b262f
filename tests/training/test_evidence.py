"""Evidence for an inspection: who completed what, when, the score and the expiry."""

from __future__ import annotations

import csv
import io
import zlib
from datetime import date, timedelta

import pytest

from ndoo.errors import InputError
from ndoo.settings import load_settings
from ndoo.training import roster
from ndoo.training.evidence import COLUMNS, csv_bytes, evidence, pdf_bytes, write
from tests.training.helpers import completed_on, person, take_module

TODAY = date(2027, 2, 1)


def _people(db):
    trained = person(db, "Łucja Wiśniewska", team="Ward 3", role="Nurse")
    first = take_module(db, trained.id, language="pl")
    completed_on(db, first, date(2025, 12, 1))
    second = take_module(db, trained.id, wrong=1, language="pl")
    completed_on(db, second, date(2026, 12, 1))
    person(db, "=Formula Name", team="Reception", role="Receptionist")
    leaver = person(db, "Left Already", team="Ward 3", role="Nurse")
    completed_on(db, take_module(db, leaver.id), date(2026, 5, 1))
    roster.leave(db, leaver.email, actor="t", on=date(2026, 9, 30))


def _rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"))))


def test_every_pass_and_every_untrained_required_person_is_listed(db):
    _people(db)
    found, _ = evidence(db, load_settings({}), TODAY)
    rows = _rows(csv_bytes(found))
    assert list(rows[0]) == list(COLUMNS)
    by = [(r["Name"], r["Completed on"], r["Standing today"]) for r in rows]
    assert by == [
        ("'=Formula Name", "", "overdue"),
        ("Left Already", "2026-05-01", "left on 2026-09-30"),
        ("Łucja Wiśniewska", "2025-12-01", "in date (renewed since)"),
        ("Łucja Wiśniewska", "2026-12-01", "in date"),
    ]
    latest = rows[3]
    assert latest["Language"] == "Polish" and latest["Expires on"] == "2027-12-01"
    assert latest["Score (%)"] == str(
        round(100 * (int(latest["Learning points right first time"].split()[0])) / 12)
    )
    assert latest["Required"] == "yes" and latest["Module version"]


def test_the_pdf_holds_the_summary_and_the_table(db):
    _people(db)
    found, board = evidence(db, load_settings({}), TODAY)
    data = pdf_bytes(found, board, organisation="Anytown Hospitals NHS Trust")
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    text = b"".join(_streams(data))
    # fpdf2 writes text with embedded (subset) fonts as glyph ids; the document's
    # metadata keeps the title and author as text.
    assert b"Anytown Hospitals NHS Trust" in data or b"Anytown" in text
    assert len(data) > 5_000


def _streams(data: bytes) -> list[bytes]:
    out = []
    for chunk in data.split(b"stream\n")[1:]:
        body = chunk.split(b"\nendstream")[0]
        try:
            out.append(zlib.decompress(body))
        except zlib.error:
            continue
    return out


def test_write_refuses_another_suffix_and_an_existing_file(db, tmp_path):
    settings = load_settings({})
    with pytest.raises(InputError, match=r"\.csv or \.pdf"):
        write(db, settings, tmp_path / "evidence.xlsx")
    out = tmp_path / "out"
    out.mkdir()
    target = out / "evidence.csv"
    target.write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match="already exists"):
        write(db, settings, target)
    assert target.read_text(encoding="utf-8") == "keep me"
    assert write(db, settings, target, overwrite=True) == 0
    assert list(out.iterdir()) == [target], "no partial file is left behind"


def test_new_starters_still_in_their_first_weeks_are_shown_not_started(db):
    starter = person(db, "Just Joined")
    found, _ = evidence(db, load_settings({}), date.today() + timedelta(days=1))
    assert [(r.name, r.standing) for r in found] == [(starter.name, "not started")]
