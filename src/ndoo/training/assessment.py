"""Taking the module: teach, ask, follow up a wrong answer, pass.

An attempt walks the sections in order.  Each section is taught (its text and its care
scenario), then each of its learning points is asked with one question variant from
the bank.  A right answer moves on; a wrong one shows the point's follow-up lesson and
then a *fresh* variant on the same point (one not yet shown in this attempt while there
is one), until the point is answered right.  After the last section the key points are
shown, and going on from them passes the module: every learning point has then been
answered right.

Where the learner is (``stage``, the section, the point and the question with its
option order) is kept on the attempt, so reloading a page, going back or answering
twice cannot change the question or skip a point; an answer to any question but the
current one is refused.  Every answer is recorded with its variant and option, and the
*score* of a pass is the share of learning points answered right first time.  Records
hold ids, never text, so they read the same whatever language the module was taken in.

A pass is a ``training_completion``, valid for a year (:func:`expiry`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from ndoo.db import Database
from ndoo.db.models import trainee, training_answer, training_attempt, training_completion
from ndoo.errors import InputError, NotFound, RuleViolation
from ndoo.timeutil import from_db, to_db, utcnow
from ndoo.training.content import Module, Option, Point, Question, Section, load
from ndoo.training.translations import language_or_default

TEACH, ASK, LESSON, SUMMARY, DONE = "teach", "ask", "lesson", "summary", "done"
OPEN, PASSED, ABANDONED = "open", "passed", "abandoned"

_chooser = random.SystemRandom()


@dataclass(frozen=True)
class Attempt:
    id: int
    trainee_id: int
    module_version: str
    language: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    stage: str
    section: int
    point: str | None
    question: str | None
    option_order: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """What the learner sees next."""

    stage: str
    attempt: Attempt
    section: Section
    point: Point | None = None
    question: Question | None = None
    options: tuple[Option, ...] = ()
    mastered: int = 0
    total: int = 0
    completion_id: int | None = None


@dataclass(frozen=True)
class Answered:
    """The outcome of one answer: whether it was right, and the step it leads to."""

    correct: bool
    step: Step


@dataclass(frozen=True)
class Completion:
    """A pass: who (as they were then), which module, when, the score, and the expiry."""

    id: int
    trainee_id: int
    attempt_id: int
    module_id: str
    module_version: str
    language: str
    name: str
    team: str
    role: str
    completed_at: datetime
    completed_on: date
    expires_on: date
    points: int
    first_time_correct: int
    score: int

    def in_date(self, today: date) -> bool:
        return today < self.expires_on

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "completed_at": self.completed_at.isoformat(),
            "completed_on": self.completed_on.isoformat(),
            "expires_on": self.expires_on.isoformat(),
        }


def expiry(completed_on: date) -> date:
    """The first day a completion no longer counts: a year on (29 February: 1 March)."""
    try:
        return completed_on.replace(year=completed_on.year + 1)
    except ValueError:
        return date(completed_on.year + 1, 3, 1)


def _attempt(row: Any) -> Attempt:
    return Attempt(
        id=int(row.id),
        trainee_id=int(row.trainee_id),
        module_version=row.module_version,
        language=row.language,
        started_at=from_db(row.started_at),
        finished_at=from_db(row.finished_at) if row.finished_at else None,
        status=row.status,
        stage=row.stage,
        section=int(row.section),
        point=row.point,
        question=row.question,
        option_order=tuple(row.option_order.split(",")) if row.option_order else (),
    )


def completion_from_row(row: Any) -> Completion:
    return Completion(
        id=int(row.id),
        trainee_id=int(row.trainee_id),
        attempt_id=int(row.attempt_id),
        module_id=row.module_id,
        module_version=row.module_version,
        language=row.language,
        name=row.name,
        team=row.team,
        role=row.role,
        completed_at=from_db(row.completed_at),
        completed_on=row.completed_on,
        expires_on=row.expires_on,
        points=int(row.points),
        first_time_correct=int(row.first_time_correct),
        score=int(row.score),
    )


def open_attempt(db: Database, trainee_id: int) -> Attempt | None:
    """The learner's unfinished attempt, if any."""
    with db.read() as conn:
        row = conn.execute(
            select(training_attempt)
            .where(training_attempt.c.trainee_id == trainee_id, training_attempt.c.status == OPEN)
            .order_by(training_attempt.c.id.desc())
        ).first()
    return _attempt(row) if row is not None else None


def start(
    db: Database, trainee_id: int, *, language: str = "en", module: Module | None = None
) -> Attempt:
    """The learner's open attempt at the current module, or a new one.

    An open attempt at an older version of the module is abandoned: its questions may
    no longer exist.
    """
    module = module or load()
    language = language_or_default(language)
    with db.write() as conn:
        person = conn.execute(select(trainee).where(trainee.c.id == trainee_id)).first()
        if person is None:
            raise NotFound("that person is not on the staff roster")
        if not person.active:
            raise RuleViolation("that person has left, so cannot take the module")
        rows = conn.execute(
            select(training_attempt).where(
                training_attempt.c.trainee_id == trainee_id, training_attempt.c.status == OPEN
            )
        ).all()
        for row in rows:
            if row.module_version == module.version:
                conn.execute(
                    update(training_attempt)
                    .where(training_attempt.c.id == row.id)
                    .values(language=language)
                )
                return _reload(conn, row.id)
            conn.execute(
                update(training_attempt)
                .where(training_attempt.c.id == row.id)
                .values(status=ABANDONED, finished_at=to_db(utcnow()))
            )
        new_id = conn.execute(
            training_attempt.insert().values(
                trainee_id=trainee_id,
                module_version=module.version,
                language=language,
                started_at=to_db(utcnow()),
                status=OPEN,
                stage=TEACH,
                section=0,
            )
        ).inserted_primary_key[0]
        return _reload(conn, new_id)


def _reload(conn: Connection, attempt_id: int) -> Attempt:
    row = conn.execute(select(training_attempt).where(training_attempt.c.id == attempt_id)).first()
    if row is None:
        raise NotFound("no such attempt")
    return _attempt(row)


def _locked(conn: Connection, attempt_id: int, trainee_id: int) -> Attempt:
    row = conn.execute(
        select(training_attempt).where(training_attempt.c.id == attempt_id).with_for_update()
    ).first()
    if row is None or int(row.trainee_id) != trainee_id:
        raise NotFound("no such attempt")
    attempt = _attempt(row)
    if attempt.status != OPEN:
        raise RuleViolation("this attempt is finished; start the module again", reason="finished")
    return attempt


def _answers(conn: Connection, attempt_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(training_answer)
            .where(training_answer.c.attempt_id == attempt_id)
            .order_by(training_answer.c.seq)
        )
    )


def _mastered(answers: list[Any]) -> set[str]:
    return {a.point for a in answers if a.correct}


def _choose(module: Module, point: str, answers: list[Any]) -> tuple[Question, tuple[str, ...]]:
    """A variant on ``point`` not yet shown in this attempt, else the one shown longest
    ago; and a shuffled order of its options."""
    variants = module.variants(point)
    last_shown = {a.question: a.seq for a in answers if a.point == point}
    unseen = [q for q in variants if q.id not in last_shown]
    question = _chooser.choice(unseen) if unseen else min(variants, key=lambda q: last_shown[q.id])
    order = [o.id for o in question.options]
    _chooser.shuffle(order)
    return question, tuple(order)


def _next_point(module: Module, section: int, mastered: set[str]) -> str | None:
    return next((p for p in module.sections[section].points if p not in mastered), None)


def _move(conn: Connection, attempt: Attempt, **values: Any) -> None:
    defaults: dict[str, Any] = {"point": None, "question": None, "option_order": None}
    conn.execute(
        update(training_attempt)
        .where(training_attempt.c.id == attempt.id)
        .values(**{**defaults, **values})
    )


def _ask(conn: Connection, module: Module, attempt: Attempt, section: int, point: str) -> None:
    question, order = _choose(module, point, _answers(conn, attempt.id))
    _move(
        conn,
        attempt,
        stage=ASK,
        section=section,
        point=point,
        question=question.id,
        option_order=",".join(order),
    )


def _module_for(attempt: Attempt, module: Module | None) -> Module:
    module = module or load()
    if module.version != attempt.module_version:
        raise RuleViolation(
            "the module has changed since this attempt began; start it again",
            reason="module_changed",
        )
    return module


def step(db: Database, attempt_id: int, trainee_id: int, *, module: Module | None = None) -> Step:
    """Where the learner is in the attempt."""
    with db.read() as conn:
        row = conn.execute(
            select(training_attempt).where(training_attempt.c.id == attempt_id)
        ).first()
        if row is None or int(row.trainee_id) != trainee_id:
            raise NotFound("no such attempt")
        attempt = _attempt(row)
        answers = _answers(conn, attempt_id)
        completion_id = conn.execute(
            select(training_completion.c.id).where(training_completion.c.attempt_id == attempt_id)
        ).scalar()
    module = _module_for(attempt, module)
    section = module.sections[min(attempt.section, len(module.sections) - 1)]
    point = module.points[attempt.point] if attempt.point else None
    question = module.questions[attempt.question] if attempt.question else None
    options: tuple[Option, ...] = ()
    if question is not None:
        by_id = {o.id: o for o in question.options}
        options = tuple(by_id[o] for o in attempt.option_order if o in by_id)
    return Step(
        stage=attempt.stage,
        attempt=attempt,
        section=section,
        point=point,
        question=question,
        options=options,
        mastered=len(_mastered(answers) & set(module.points)),
        total=len(module.points),
        completion_id=int(completion_id) if completion_id is not None else None,
    )


def proceed(
    db: Database, attempt_id: int, trainee_id: int, *, module: Module | None = None
) -> Step:
    """Go on from a section's teaching, a follow-up lesson or the key points.

    From the key points this passes the module.  Asked while a question waits for its
    answer, it changes nothing.
    """
    with db.write() as conn:
        attempt = _locked(conn, attempt_id, trainee_id)
        module = _module_for(attempt, module)
        mastered = _mastered(_answers(conn, attempt.id))
        if attempt.stage == TEACH:
            point = _next_point(module, attempt.section, mastered)
            if point is None:  # nothing left to ask in this section
                _after_section(conn, module, attempt)
            else:
                _ask(conn, module, attempt, attempt.section, point)
        elif attempt.stage == LESSON and attempt.point:
            _ask(conn, module, attempt, attempt.section, attempt.point)
        elif attempt.stage == SUMMARY:
            _pass(conn, module, attempt, mastered)
    return step(db, attempt_id, trainee_id, module=module)


def _after_section(conn: Connection, module: Module, attempt: Attempt) -> None:
    following = attempt.section + 1
    if following < len(module.sections):
        _move(conn, attempt, stage=TEACH, section=following)
    else:
        _move(conn, attempt, stage=SUMMARY, section=attempt.section)


def answer(
    db: Database,
    attempt_id: int,
    trainee_id: int,
    *,
    question_id: str,
    option_id: str,
    module: Module | None = None,
) -> Answered:
    """Record an answer to the current question; whether it was right, and what is next.

    :class:`InputError` when no option (or an option the question lacks) was chosen;
    :class:`RuleViolation` (reason ``not_current``) for an answer to any question but
    the one being asked, such as a form sent twice or from an old page.
    """
    with db.write() as conn:
        attempt = _locked(conn, attempt_id, trainee_id)
        module = _module_for(attempt, module)
        if attempt.stage != ASK or attempt.question != question_id or not attempt.point:
            raise RuleViolation(
                "that question has already been answered; carry on from here",
                reason="not_current",
            )
        question = module.questions[question_id]
        option = question.option(option_id or "")
        if option is None:
            raise InputError("select an answer", field="answer")
        answers = _answers(conn, attempt.id)
        conn.execute(
            training_answer.insert().values(
                attempt_id=attempt.id,
                seq=len(answers) + 1,
                point=attempt.point,
                question=question.id,
                option=option.id,
                correct=option.correct,
                answered_at=to_db(utcnow()),
            )
        )
        if option.correct:
            mastered = _mastered(answers) | {attempt.point}
            point = _next_point(module, attempt.section, mastered)
            if point is None:
                _after_section(conn, module, attempt)
            else:
                _ask(conn, module, attempt, attempt.section, point)
        else:
            _move(conn, attempt, stage=LESSON, section=attempt.section, point=attempt.point)
    return Answered(option.correct, step(db, attempt_id, trainee_id, module=module))


def _pass(conn: Connection, module: Module, attempt: Attempt, mastered: set[str]) -> None:
    missing = [p for p in module.point_order if p not in mastered]
    if missing:  # cannot happen through answer(); kept as the rule itself
        raise RuleViolation(f"{len(missing)} learning points have not been answered right yet")
    answers = _answers(conn, attempt.id)
    first: dict[str, bool] = {}
    for row in answers:
        first.setdefault(row.point, bool(row.correct))
    first_time = sum(first.get(p, False) for p in module.point_order)
    person = conn.execute(select(trainee).where(trainee.c.id == attempt.trainee_id)).one()
    now = utcnow()
    conn.execute(
        training_completion.insert().values(
            trainee_id=attempt.trainee_id,
            attempt_id=attempt.id,
            module_id=module.id,
            module_version=module.version,
            language=attempt.language,
            name=person.name,
            team=person.team,
            role=person.role,
            completed_at=to_db(now),
            completed_on=now.date(),
            expires_on=expiry(now.date()),
            points=len(module.point_order),
            first_time_correct=first_time,
            score=round(100 * first_time / len(module.point_order)),
        )
    )
    _move(conn, attempt, stage=DONE, section=attempt.section)
    conn.execute(
        update(training_attempt)
        .where(training_attempt.c.id == attempt.id)
        .values(status=PASSED, finished_at=to_db(now))
    )


def set_language(db: Database, attempt_id: int, trainee_id: int, language: str) -> None:
    """Record the language the learner now takes the module in."""
    with db.write() as conn:
        conn.execute(
            update(training_attempt)
            .where(
                training_attempt.c.id == attempt_id,
                training_attempt.c.trainee_id == trainee_id,
                training_attempt.c.status == OPEN,
            )
            .values(language=language_or_default(language))
        )


def completions(db: Database, trainee_id: int | None = None) -> list[Completion]:
    """Passes, newest first; one person's when ``trainee_id`` is given."""
    query = select(training_completion).order_by(
        training_completion.c.completed_at.desc(), training_completion.c.id.desc()
    )
    if trainee_id is not None:
        query = query.where(training_completion.c.trainee_id == trainee_id)
    with db.read() as conn:
        return [completion_from_row(row) for row in conn.execute(query)]


def completion(db: Database, completion_id: int) -> Completion:
    with db.read() as conn:
        row = conn.execute(
            select(training_completion).where(training_completion.c.id == completion_id)
        ).first()
    if row is None:
        raise NotFound("no such certificate")
    return completion_from_row(row)


def answers(db: Database, attempt_id: int) -> list[dict[str, Any]]:
    """An attempt's answers in order: point, variant, option, right or wrong."""
    with db.read() as conn:
        return [
            {
                "seq": int(a.seq),
                "point": a.point,
                "question": a.question,
                "option": a.option,
                "correct": bool(a.correct),
                "answered_at": from_db(a.answered_at).isoformat(),
            }
            for a in _answers(conn, attempt_id)
        ]


def attempts_count(db: Database, trainee_id: int) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(training_attempt)
                .where(training_attempt.c.trainee_id == trainee_id)
            ).scalar_one()
        )
