"""The training module as data: sections, learning points, a question bank, key points.

The content lives in ``ndoo/data/training/`` (or another folder given to
:func:`load`), not in code:

- ``module.toml``: the module's id, version and title; the six sections in teaching
  order, each with its scenario and its learning points; the learning points, each with
  a one-sentence summary and a follow-up lesson; the question bank, several variants
  per learning point, each with one correct option.
- ``sections/*.md``: each section's teaching text.
- ``key-points.md``: the summary shown at the end.

Every text is English Markdown; :mod:`ndoo.training.translations` shows it in another
language block by block.  :func:`load` refuses content that could not be taught or
assessed (a point without variants, a question without exactly one correct option, a
section naming an unknown point) with a :class:`FileFormatError` naming the file and
the field, so a mistake is caught by ``ndoo training check`` and the tests, not by a
learner.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ndoo.errors import FileFormatError

#: Each learning point needs at least this many question variants, so a learner who
#: answers wrongly gets a fresh question on the same point.
MIN_VARIANTS = 3
KINDS = ("knowledge", "scenario")


@dataclass(frozen=True)
class Option:
    id: str
    text: str
    correct: bool


@dataclass(frozen=True)
class Question:
    """One variant: a multiple-choice question on one learning point."""

    id: str
    point: str
    kind: str
    stem: str
    options: tuple[Option, ...]

    @property
    def answer(self) -> str:
        """The id of the correct option."""
        return next(o.id for o in self.options if o.correct)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Point:
    """A learning point: what the learner must know, and the lesson when they do not."""

    id: str
    section: str
    summary: str
    lesson: str


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    body: str
    scenario_title: str
    scenario: str
    points: tuple[str, ...]


@dataclass(frozen=True)
class Module:
    id: str
    version: str
    title: str
    summary: str
    minutes: int
    sections: tuple[Section, ...]
    points: Mapping[str, Point]
    questions: Mapping[str, Question]
    key_points: str

    @property
    def point_order(self) -> tuple[str, ...]:
        """Every learning point, in teaching order."""
        return tuple(p for section in self.sections for p in section.points)

    def variants(self, point: str) -> tuple[Question, ...]:
        """The question variants on ``point``, in the bank's order."""
        return tuple(q for q in self.questions.values() if q.point == point)

    def section_of(self, point: str) -> Section:
        return next(s for s in self.sections if point in s.points)

    def section_index(self, section_id: str) -> int:
        return next(i for i, s in enumerate(self.sections) if s.id == section_id)


def default_folder() -> Path:
    return Path(str(resources.files("ndoo") / "data" / "training"))


def _text(table: Mapping[str, Any], key: str, *, file: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FileFormatError(f"{where}: {key} must be non-empty text", file=file, field=key)
    return value.strip()


def _list(table: Mapping[str, Any], key: str, *, file: str, where: str) -> list[Any]:
    value = table.get(key)
    if not isinstance(value, list) or not value:
        raise FileFormatError(f"{where}: {key} must be a non-empty list", file=file, field=key)
    return value


def _unique(ids: list[str], *, file: str, what: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise FileFormatError(f"two {what} have the id {item!r}", file=file, field="id")
        seen.add(item)


def _read(folder: Path, name: str) -> str:
    path = folder / name
    if not path.is_file():
        raise FileFormatError("the file does not exist", file=str(path))
    return path.read_text(encoding="utf-8").strip()


def _question(raw: Mapping[str, Any], index: int, *, file: str) -> Question:
    where = f"questions[{index}]"
    qid = _text(raw, "id", file=file, where=where)
    where = f"question {qid!r}"
    kind = _text(raw, "kind", file=file, where=where)
    if kind not in KINDS:
        raise FileFormatError(
            f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}",
            file=file,
            field="kind",
        )
    options = []
    for raw_option in _list(raw, "options", file=file, where=where):
        if not isinstance(raw_option, Mapping):
            raise FileFormatError(f"{where}: each option is a table", file=file, field="options")
        correct = raw_option.get("correct", False)
        if not isinstance(correct, bool):
            raise FileFormatError(f"{where}: correct is true or false", file=file, field="correct")
        options.append(
            Option(
                id=_text(raw_option, "id", file=file, where=where),
                text=_text(raw_option, "text", file=file, where=where),
                correct=correct,
            )
        )
    if not 3 <= len(options) <= 5:
        raise FileFormatError(f"{where}: give 3 to 5 options", file=file, field="options")
    _unique([o.id for o in options], file=file, what=f"options of {where}")
    if sum(o.correct for o in options) != 1:
        raise FileFormatError(
            f"{where}: exactly one option must be correct", file=file, field="options"
        )
    return Question(
        id=qid,
        point=_text(raw, "point", file=file, where=where),
        kind=kind,
        stem=_text(raw, "stem", file=file, where=where),
        options=tuple(options),
    )


def parse(folder: Path) -> Module:
    """The module in ``folder``, checked (:class:`FileFormatError` when it cannot be used)."""
    file = str(folder / "module.toml")
    try:
        with open(file, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise FileFormatError("the file does not exist", file=file) from exc
    except tomllib.TOMLDecodeError as exc:
        raise FileFormatError(str(exc), file=file) from exc
    head = raw.get("module")
    if not isinstance(head, Mapping):
        raise FileFormatError("the [module] table is missing", file=file, field="module")
    minutes = head.get("minutes")
    if not isinstance(minutes, int) or minutes <= 0:
        raise FileFormatError("module: minutes is a positive whole number", file=file)

    points: dict[str, Point] = {}
    raw_points = _list(raw, "points", file=file, where="module")
    _unique([str(p.get("id")) for p in raw_points], file=file, what="points")
    sections = []
    raw_sections = _list(raw, "sections", file=file, where="module")
    _unique([str(s.get("id")) for s in raw_sections], file=file, what="sections")
    point_tables = {str(p.get("id")): p for p in raw_points}
    for index, s in enumerate(raw_sections):
        sid = _text(s, "id", file=file, where=f"sections[{index}]")
        where = f"section {sid!r}"
        section_points = tuple(str(p) for p in _list(s, "points", file=file, where=where))
        for pid in section_points:
            if pid not in point_tables:
                raise FileFormatError(
                    f"{where}: no learning point has the id {pid!r}", file=file, field="points"
                )
            if pid in points:
                raise FileFormatError(
                    f"{where}: learning point {pid!r} is already taught in section "
                    f"{points[pid].section!r}",
                    file=file,
                    field="points",
                )
            p = point_tables[pid]
            points[pid] = Point(
                id=pid,
                section=sid,
                summary=_text(p, "summary", file=file, where=f"point {pid!r}"),
                lesson=_text(p, "lesson", file=file, where=f"point {pid!r}"),
            )
        sections.append(
            Section(
                id=sid,
                title=_text(s, "title", file=file, where=where),
                body=_read(folder, _text(s, "file", file=file, where=where)),
                scenario_title=_text(s, "scenario_title", file=file, where=where),
                scenario=_text(s, "scenario", file=file, where=where),
                points=section_points,
            )
        )
    untaught = sorted(set(point_tables) - set(points))
    if untaught:
        raise FileFormatError(
            f"learning point {untaught[0]!r} belongs to no section", file=file, field="points"
        )

    questions: dict[str, Question] = {}
    raw_questions = _list(raw, "questions", file=file, where="module")
    for index, q in enumerate(raw_questions):
        question = _question(q, index, file=file)
        if question.id in questions:
            raise FileFormatError(
                f"two questions have the id {question.id!r}", file=file, field="id"
            )
        if question.point not in points:
            raise FileFormatError(
                f"question {question.id!r}: no learning point has the id {question.point!r}",
                file=file,
                field="point",
            )
        questions[question.id] = question
    for pid in points:
        variants = [q for q in questions.values() if q.point == pid]
        if len(variants) < MIN_VARIANTS:
            raise FileFormatError(
                f"learning point {pid!r} has {len(variants)} question variants; it needs at "
                f"least {MIN_VARIANTS}",
                file=file,
                field="questions",
            )
        kinds = {q.kind for q in variants}
        if kinds != set(KINDS):
            raise FileFormatError(
                f"learning point {pid!r} needs both a knowledge and a scenario question",
                file=file,
                field="questions",
            )

    return Module(
        id=_text(head, "id", file=file, where="module"),
        version=_text(head, "version", file=file, where="module"),
        title=_text(head, "title", file=file, where="module"),
        summary=_text(head, "summary", file=file, where="module"),
        minutes=minutes,
        sections=tuple(sections),
        points=points,
        questions=questions,
        key_points=_read(folder, "key-points.md"),
    )


@cache
def load(folder: Path | None = None) -> Module:
    """The module shipped with ndoo (or the one in ``folder``), read once."""
    return parse(folder or default_folder())
