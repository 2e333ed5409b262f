"""Shared steps for the training tests: people on the roster, passes, dates moved back."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from ndoo.db import Database
from ndoo.db.models import trainee, training_completion
from ndoo.training import assessment, roster
from ndoo.training.assessment import expiry
from ndoo.training.content import load


def person(
    db: Database, name: str, *, team: str = "Reception", role: str = "Receptionist"
) -> roster.Member:
    email = name.lower().replace(" ", ".") + "@example.nhs.uk"
    roster.add(db, name=name, email=email, team=team, role=role, actor="test")
    return roster.get(db, email)


def take_module(db: Database, trainee_id: int, *, wrong: int = 0, language: str = "en") -> int:
    """Pass the module through the library, answering the first ``wrong`` questions
    wrongly; the completion's id."""
    attempt = assessment.start(db, trainee_id, language=language)
    step = assessment.step(db, attempt.id, trainee_id)
    while step.stage != assessment.DONE:
        if step.stage == assessment.ASK:
            assert step.question is not None
            if wrong:
                wrong -= 1
                option = next(o.id for o in step.question.options if not o.correct)
            else:
                option = step.question.answer
            step = assessment.answer(
                db, attempt.id, trainee_id, question_id=step.question.id, option_id=option
            ).step
        else:
            step = assessment.proceed(db, attempt.id, trainee_id)
    assert step.completion_id is not None
    return step.completion_id


def completed_on(db: Database, completion_id: int, day: date) -> None:
    """Move a pass back (or on) to ``day``, with its expiry."""
    with db.write() as conn:
        conn.execute(
            update(training_completion)
            .where(training_completion.c.id == completion_id)
            .values(completed_on=day, expires_on=expiry(day))
        )


def joined_on(db: Database, trainee_id: int, day: date) -> None:
    with db.write() as conn:
        conn.execute(
            update(trainee).where(trainee.c.id == trainee_id).values(joined_on=day, role_since=day)
        )


def right_option(question_id: str) -> str:
    return load().questions[question_id].answer
