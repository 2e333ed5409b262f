"""The compliance documents, generated from the organisation's own register."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from ndoo.compliance.declaration import declare
from ndoo.compliance.documents import documents, markdown_to_html, md_escape, write_documents
from ndoo.errors import InputError
from tests.compliance.conftest import ORG, TODAY, days
from tests.compliance.helpers import complete

NAME = "Anytown Hospitals NHS Foundation Trust"
TRICKY = "<script>alert(1)</script> **bold** [link](https://example.org) &amp; `code`"


def write(db, out, **values):
    values.setdefault("today", TODAY)
    return write_documents(db, ORG, out, name=NAME, **values)


def test_every_document_is_written_as_markdown_and_html(db, add_disclosure, tmp_path):
    add_disclosure("R-NOW", recipient="University of Anytown")
    written = write(db, tmp_path / "docs")
    names = sorted(path.name for path in written)
    assert names == sorted(
        f"{stem}.{fmt}"
        for stem in (
            "dpia",
            "sop",
            "privacy-notice",
            "staff-communication",
            "recipient-notice-university-of-anytown",
        )
        for fmt in ("md", "html")
    )
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert NAME in text
    html = (tmp_path / "docs" / "dpia.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Data Protection Impact Assessment" in html
    assert "<td>R-NOW</td>" in html
    assert not list((tmp_path / "docs").glob(".*tmp*"))


def test_one_notice_per_recipient_of_disclosures_in_scope(db, add_disclosure):
    add_disclosure("R-1", recipient="University of Anytown")
    add_disclosure("R-2", recipient="University of Anytown")
    add_disclosure("R-3", "do_not_apply", recipient="University of Anytown")
    add_disclosure("R-4", recipient="National Audit Programme")
    add_disclosure("R-5", "do_not_apply", recipient="Regulator")
    add_disclosure("R-6", recipient="Former Partner", end=days(-1))
    found = {d.name: d for d in documents(db, ORG, name=NAME, today=TODAY)}
    notices = sorted(name for name in found if name.startswith("recipient-notice-"))
    assert notices == [
        "recipient-notice-national-audit-programme",
        "recipient-notice-university-of-anytown",
    ]
    anytown = found["recipient-notice-university-of-anytown"].markdown
    applied, _, not_applied = anytown.partition("will not be applied to")
    assert "R-1" in applied and "R-2" in applied and "R-4" not in anytown
    assert "R-3" in not_applied and "R-3" not in applied
    assert "how many records were removed" in anytown
    assert "R-1" in found["dpia"].markdown and "University of Anytown" in found["dpia"].markdown
    assert "R-6" not in found["dpia"].markdown


def test_the_privacy_notice_declares_compliance_only_once_declared(db, add_disclosure):
    add_disclosure("R-NOW")
    before = {d.name: d for d in documents(db, ORG, name=NAME, today=TODAY)}
    assert "Not declared yet" in before["privacy-notice"].markdown
    complete(db)
    declare(db, ORG, actor="caldicott", on=TODAY, today=TODAY)
    after = {d.name: d for d in documents(db, ORG, name=NAME, today=TODAY)}
    assert (
        f"{NAME} is compliant with the national data opt-out policy from 15 January 2026."
        in after["privacy-notice"].markdown
    )
    assert "Not declared yet" not in after["privacy-notice"].markdown
    assert "15 January 2026" in after["staff-communication"].markdown


def test_the_dpia_and_sop_name_a_supplier_applying_opt_outs(db, add_disclosure):
    add_disclosure("R-NOW")
    plain = {d.name: d.markdown for d in documents(db, ORG, name=NAME, today=TODAY)}
    assert "supplier" not in plain["dpia"] and "supplier" not in plain["sop"]
    found = {
        d.name: d.markdown for d in documents(db, ORG, name=NAME, today=TODAY, by_supplier=True)
    }
    dpia = found["dpia"]
    assert "R-NOW" in dpia
    assert "clinical system supplier applies national data opt-outs" in dpia
    assert "must still be applied to every in-scope disclosure, by the supplier's system" in dpia
    assert "making any in-scope disclosure from another system" in " ".join(dpia.split())
    assert "Disclosures from other systems" in found["sop"]
    assert "If opt-outs newly apply" not in found["sop"]


def test_markup_in_the_register_cannot_reach_the_html(db, add_disclosure, tmp_path):
    add_disclosure("R-X", title=TRICKY, recipient="<b>Evil</b> | Corp")
    written = write(db, tmp_path)
    for path in written:
        if path.suffix != ".html":
            continue
        html = path.read_text(encoding="utf-8")
        assert "<script>" not in html
        assert "<strong>bold</strong>" not in html
        assert 'href="https://example.org"' not in html
        assert "<b>Evil</b>" not in html
        assert "<code>" not in html
    notice = (tmp_path / "recipient-notice-b-evil-b-corp.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **bold** [link](https://example.org)" in notice
    assert "&lt;b&gt;Evil&lt;/b&gt; | Corp" in notice


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)

    def handle_data(self, data):
        self.text += data


@pytest.mark.parametrize(
    "text",
    [TRICKY, "# heading", "- item", "+ item", "1. first", "2) second", "> quote", "a | b",
     "line\nbreak", "===", "---", "    indented code", "~~~", "<https://example.org>",
     "trailing\\", "&#60;b&#62;"],
)  # fmt: skip
@pytest.mark.parametrize(
    ("context", "tags"),
    [
        ("{}", {"p"}),
        ("Title: {}", {"p"}),
        ("- {}", {"ul", "li"}),
        ("| Title |\n|---|\n| {} |", {"table", "thead", "tbody", "tr", "th", "td"}),
    ],
)
def test_escaped_values_read_as_themselves_wherever_they_stand(text, context, tags):
    rendered = markdown_to_html(context.format(md_escape(text)))
    reader = _Reader()
    reader.feed(rendered)
    assert reader.tags <= tags, rendered
    assert " ".join(text.split()) in reader.text


def test_formats_can_be_chosen(db, tmp_path):
    written = write(db, tmp_path, formats=("md",))
    assert {path.suffix for path in written} == {".md"}
    with pytest.raises(InputError, match="formats are md and html"):
        write(db, tmp_path, formats=("pdf",))
