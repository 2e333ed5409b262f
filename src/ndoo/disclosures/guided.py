"""The guided assessment: only the questions still unanswered, one at a time.

:func:`questions` lists what the scope rules still need for a disclosure, in the order
they would ask it.  :func:`answer` records one answer as a new version of the
disclosure (change ``answered``).  The CLI's ``ndoo disclosures assess`` and the web
console loop over these two until the outcome is decided, then record the
assessment (:func:`ndoo.disclosures.assessments.assess`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ndoo.db import Database
from ndoo.disclosures.assessments import evaluate
from ndoo.disclosures.facts import BY_NAME
from ndoo.disclosures.record import contradictions, parse_value
from ndoo.disclosures.store import Entry, change, get
from ndoo.errors import InputError


@dataclass(frozen=True)
class Question:
    """One question: which field it answers, how it is asked, and what is recorded now."""

    field: str
    text: str
    kind: str  # choice, choices, yes_no or text
    choices: tuple[tuple[str, str], ...]
    help: str
    current: str | None
    contradiction: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "text": self.text,
            "kind": self.kind,
            "choices": [{"code": code, "label": label} for code, label in self.choices],
            "help": self.help,
            "current": self.current,
            "contradiction": self.contradiction,
        }


def questions(entry: Entry) -> list[Question]:
    """What the rules still need to decide, first question first (empty once decided)."""
    result = evaluate(entry)
    if result.decided:
        return []
    disclosure = entry.disclosure
    about: dict[str, str] = {}
    for item in contradictions(disclosure):
        for name in item.fields:
            about.setdefault(name, item.message)
    asked: list[Question] = []
    for name in result.missing:
        spec = BY_NAME[name]
        value = getattr(disclosure, name)
        current = (
            "; ".join(spec.label_of(v) for v in value)
            if isinstance(value, tuple)
            else (spec.label_of(value) if value is not None and spec.choices else value)
        )
        asked.append(
            Question(
                field=name,
                text=spec.question or spec.help,
                kind=spec.kind,
                choices=spec.choices,
                help=spec.help,
                current=current or None,
                contradiction=about.get(name),
            )
        )
    return asked


def answer(
    db: Database, reference: str, field: str, text: str, *, organisation: str, actor: str
) -> Entry:
    """Record ``text`` as the answer for ``field`` (a code, a label or an alias)."""
    if field not in BY_NAME or not BY_NAME[field].scope:
        raise InputError(f"{field!r} is not a question of the scope assessment", field=field)
    try:
        value = parse_value(field, text.strip()) if text.strip() else None
    except ValueError as exc:
        raise InputError(f"{BY_NAME[field].column}: {exc}", field=field) from None
    if value is None and BY_NAME[field].kind == "choices":
        value = ()
    return change(
        db, reference, {field: value}, organisation=organisation, actor=actor, how="answered"
    )


def next_question(db: Database, reference: str, *, organisation: str) -> Question | None:
    """The first question still open for ``reference``, or ``None`` when the rules decide."""
    found = questions(get(db, reference, organisation=organisation))
    return found[0] if found else None
