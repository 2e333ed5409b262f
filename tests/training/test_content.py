"""The module as data: what ships can be taught and assessed, and bad content is refused."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ndoo.errors import FileFormatError
from ndoo.training.content import KINDS, MIN_VARIANTS, default_folder, load, parse


def test_the_module_covers_the_six_topics_in_order():
    module = load()
    assert len(module.sections) == 6
    titles = " / ".join(s.title.lower() for s in module.sections)
    for topic in ("what", "applies", "check", "opted out", "choice", "record"):
        assert topic in titles, f"no section on {topic!r}: {titles}"
    assert all(s.scenario and s.body for s in module.sections)
    assert module.key_points.count("\n- ") + module.key_points.startswith("- ") >= 6


def test_every_learning_point_has_variants_of_both_kinds_and_one_right_answer():
    module = load()
    assert set(module.point_order) == set(module.points)
    for point in module.point_order:
        variants = module.variants(point)
        assert len(variants) >= MIN_VARIANTS
        assert {q.kind for q in variants} == set(KINDS)
        stems = [q.stem for q in variants]
        assert len(set(stems)) == len(stems), f"{point} has a repeated question"
        for question in variants:
            assert sum(o.correct for o in question.options) == 1
            assert question.option(question.answer) is not None


def test_the_content_states_no_rule_policy_contradicts():
    """Anonymised data is outside the opt-out; safeguarding is not a named exemption."""
    folder = default_folder()
    text = " ".join(p.read_text(encoding="utf-8") for p in folder.rglob("*.md"))
    text += (folder / "module.toml").read_text(encoding="utf-8")
    lowered = " ".join(text.lower().split())
    assert "even if the data will be anonymised" not in lowered
    assert "even if anonymised" not in lowered
    assert not re.search(r"safeguarding (is|as) an? (named |national )?exemption", lowered)
    assert "0300 303 5678" in text
    assert "nhs digital" not in lowered


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "training"
    shutil.copytree(default_folder(), target, ignore=shutil.ignore_patterns("locale"))
    return target


def _edit(folder: Path, old: str, new: str, count: int = 1) -> None:
    path = folder / "module.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_a_copy_of_the_shipped_content_parses(tmp_path):
    assert parse(_copy(tmp_path)).version == load().version


def test_a_question_with_two_right_answers_is_refused(tmp_path):
    folder = _copy(tmp_path)
    question = next(iter(load().questions.values()))
    wrong = next(o for o in question.options if not o.correct)
    text = (folder / "module.toml").read_text(encoding="utf-8")
    needle = f"text = {_toml_string(wrong.text)}"
    assert needle in text, "the test expects inline option tables"
    _edit(folder, needle, needle + ", correct = true")
    with pytest.raises(FileFormatError, match="exactly one option must be correct") as caught:
        parse(folder)
    assert caught.value.file and caught.value.file.endswith("module.toml")


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_a_point_with_too_few_variants_is_refused(tmp_path):
    folder = _copy(tmp_path)
    point, other = load().point_order[:2]
    surplus = len(load().variants(point)) - (MIN_VARIANTS - 1)
    _edit(folder, f'point = "{point}"', f'point = "{other}"', surplus)
    with pytest.raises(FileFormatError, match=f"{point}' has {MIN_VARIANTS - 1} question variants"):
        parse(folder)


def test_a_question_on_an_unknown_point_is_refused(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, f'point = "{load().point_order[0]}"', 'point = "nowhere"')
    with pytest.raises(FileFormatError, match="no learning point has the id 'nowhere'") as caught:
        parse(folder)
    assert caught.value.field == "point"


def test_a_missing_section_file_names_the_file(tmp_path):
    folder = _copy(tmp_path)
    first = sorted((folder / "sections").glob("*.md"))[0]
    first.unlink()
    with pytest.raises(FileFormatError, match="does not exist") as caught:
        parse(folder)
    assert caught.value.file == str(first)


def test_broken_toml_names_the_file(tmp_path):
    folder = _copy(tmp_path)
    (folder / "module.toml").write_text("[module\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match=r"module\.toml"):
        parse(folder)
