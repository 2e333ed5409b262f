"""Welsh and Polish: complete catalogues, content shown block by block, records in English."""

from __future__ import annotations

import shutil

import pytest
from babel.messages.pofile import read_po

from ndoo.training.content import default_folder, load
from ndoo.training.translations import (
    LANGUAGES,
    Translator,
    blocks,
    catalogue_path,
    content_messages,
    problems,
    read_catalogue,
    translator,
    update_catalogues,
    write_catalogue,
)


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_the_shipped_languages_are_complete(language):
    found = problems(language)
    assert found == [], f"{len(found)} problems, first: {found[:3]}"


@pytest.mark.parametrize("language", ["cy", "pl"])
def test_every_content_block_is_shown_translated(language):
    tr = translator(language)
    for message, where in content_messages(load()):
        assert tr.gettext(message) != message or message.isupper(), f"{where} untranslated"


def test_blocks_are_paragraphs_and_whole_lists():
    text = "One line.\n\n- a\n- b\n  \n\nLast **bold**."
    assert blocks(text) == ["One line.", "- a\n- b", "Last **bold**."]


def test_markdown_is_rendered_and_raw_html_is_escaped():
    html = Translator("en").markdown("Hello <script>alert(1)</script> **there**")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<strong>there</strong>" in html


def test_english_and_unknown_languages_show_the_source():
    message = load().title
    assert translator("en").gettext(message) == message
    assert translator("xx").gettext(message) == message


def _catalogue_copy(tmp_path):
    folder = tmp_path / "training"
    shutil.copytree(default_folder(), folder)
    return folder


def test_a_lost_list_item_or_link_is_a_problem(tmp_path):
    folder = _catalogue_copy(tmp_path)
    catalogue = read_catalogue("cy", folder)
    listed = next(m for m in catalogue if m.id and str(m.id).startswith("- "))
    listed.string = str(listed.string).split("\n")[0]  # one item kept
    linked = next(m for m in catalogue if m.id and "nhs.uk/your-nhs-data-matters" in str(m.id))
    linked.string = str(linked.string).replace("nhs.uk/your-nhs-data-matters", "nhs.uk")
    write_catalogue(catalogue, "cy", folder)
    found = {p.message: p.problem for p in problems("cy", folder)}
    assert str(listed.id) in found and str(linked.id) in found


def test_changed_content_asks_for_a_translation_again(tmp_path):
    folder = _catalogue_copy(tmp_path)
    before = update_catalogues(["pl"], folder)["pl"]
    section = sorted((folder / "sections").glob("*.md"))[0]
    text = section.read_text(encoding="utf-8")
    first = blocks(text)[0]
    section.write_text(text.replace(first, first + " A new sentence.", 1), encoding="utf-8")
    from ndoo.training import content

    content.load.cache_clear()
    try:
        missing = update_catalogues(["pl"], folder)
    finally:
        content.load.cache_clear()
    assert missing == {"pl": before + 1}
    with catalogue_path("pl", folder).open("rb") as handle:
        changed = read_po(handle).get(first + " A new sentence.")
    assert changed is not None and changed.fuzzy, "a near match is kept for the translator"
    assert {p.message: p.problem for p in problems("pl", folder)}[first + " A new sentence."] == (
        "marked fuzzy: check it"
    )
