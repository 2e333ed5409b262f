"""Taking the module: teach, ask, follow up a wrong answer with a fresh question, pass."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from ndoo.db.models import training_answer, training_attempt
from ndoo.errors import InputError, RuleViolation
from ndoo.timeutil import utcnow
from ndoo.training import assessment, roster
from ndoo.training.assessment import ASK, DONE, LESSON, SUMMARY, TEACH, expiry
from ndoo.training.content import load
from tests.training.helpers import person, take_module


def _wrong(question):
    return next(o.id for o in question.options if not o.correct)


def test_each_section_is_taught_before_its_questions(db):
    learner = person(db, "Ada Lovelace")
    attempt = assessment.start(db, learner.id)
    step = assessment.step(db, attempt.id, learner.id)
    assert step.stage == TEACH and step.section.id == load().sections[0].id
    step = assessment.proceed(db, attempt.id, learner.id)
    assert step.stage == ASK
    assert step.point is not None and step.point.id == load().sections[0].points[0]
    assert step.question is not None and step.question.point == step.point.id
    assert sorted(o.id for o in step.options) == sorted(o.id for o in step.question.options)


def test_a_wrong_answer_shows_the_lesson_then_a_fresh_question_on_the_same_point(db):
    learner = person(db, "Grace Hopper")
    attempt = assessment.start(db, learner.id)
    asked = assessment.proceed(db, attempt.id, learner.id)
    first = asked.question
    result = assessment.answer(
        db, attempt.id, learner.id, question_id=first.id, option_id=_wrong(first)
    )
    assert not result.correct
    assert result.step.stage == LESSON and result.step.point.id == first.point
    fresh = assessment.proceed(db, attempt.id, learner.id)
    assert fresh.stage == ASK
    assert fresh.question.point == first.point
    assert fresh.question.id != first.id
    assert fresh.mastered == 0


def test_variants_come_round_again_once_all_have_been_shown(db):
    learner = person(db, "Mary Seacole")
    attempt = assessment.start(db, learner.id)
    step = assessment.proceed(db, attempt.id, learner.id)
    point = step.point.id
    shown = []
    for _ in range(len(load().variants(point)) + 1):
        shown.append(step.question.id)
        assessment.answer(
            db,
            attempt.id,
            learner.id,
            question_id=step.question.id,
            option_id=_wrong(step.question),
        )
        step = assessment.proceed(db, attempt.id, learner.id)
    variants = len(load().variants(point))
    assert len(set(shown[:variants])) == variants, "every variant before any repeats"
    assert shown[variants] == shown[0], "then the one shown longest ago"


def test_passing_needs_every_point_right_and_records_the_score(db):
    learner = person(db, "Florence Nightingale", team="Ward 7", role="Nurse")
    completion_id = take_module(db, learner.id, wrong=2, language="pl")
    done = assessment.completion(db, completion_id)
    points = len(load().points)
    assert done.points == points
    assert done.first_time_correct in (points - 1, points - 2)
    assert done.score == round(100 * done.first_time_correct / points)
    assert (done.name, done.team, done.role) == ("Florence Nightingale", "Ward 7", "Nurse")
    assert done.language == "pl" and done.module_version == load().version
    today = utcnow().date()
    assert done.completed_on == today and done.expires_on == expiry(today)
    answers = assessment.answers(db, done.attempt_id)
    assert sum(not a["correct"] for a in answers) == 2
    assert {a["point"] for a in answers if a["correct"]} == set(load().points)
    with db.read() as conn:
        status = conn.execute(
            select(training_attempt.c.status).where(training_attempt.c.id == done.attempt_id)
        ).scalar_one()
    assert status == "passed"


def test_records_hold_ids_and_english_never_translated_text(db):
    learner = person(db, "Dafydd ap Gwilym")
    completion_id = take_module(db, learner.id, wrong=1, language="cy")
    done = assessment.completion(db, completion_id)
    with db.read() as conn:
        rows = conn.execute(
            select(training_answer).where(training_answer.c.attempt_id == done.attempt_id)
        ).all()
    module = load()
    for row in rows:
        assert row.question in module.questions and row.point in module.points
        assert module.questions[row.question].option(row.option) is not None


def test_the_key_points_come_before_the_pass(db):
    learner = person(db, "Edith Cavell")
    attempt = assessment.start(db, learner.id)
    step = assessment.step(db, attempt.id, learner.id)
    while step.stage not in (SUMMARY, DONE):
        if step.stage == ASK:
            step = assessment.answer(
                db,
                attempt.id,
                learner.id,
                question_id=step.question.id,
                option_id=step.question.answer,
            ).step
        else:
            step = assessment.proceed(db, attempt.id, learner.id)
    assert step.stage == SUMMARY and step.completion_id is None
    assert assessment.completions(db, learner.id) == []
    step = assessment.proceed(db, attempt.id, learner.id)
    assert step.stage == DONE and step.completion_id is not None


def test_an_answer_to_an_old_question_is_refused_and_changes_nothing(db):
    learner = person(db, "Elizabeth Garrett")
    attempt = assessment.start(db, learner.id)
    asked = assessment.proceed(db, attempt.id, learner.id)
    question = asked.question
    assessment.answer(
        db, attempt.id, learner.id, question_id=question.id, option_id=question.answer
    )
    with pytest.raises(RuleViolation) as caught:  # the same form sent again
        assessment.answer(
            db, attempt.id, learner.id, question_id=question.id, option_id=_wrong(question)
        )
    assert caught.value.details["reason"] == "not_current"
    assert len(assessment.answers(db, attempt.id)) == 1


def test_no_option_chosen_is_an_input_error_that_records_nothing(db):
    learner = person(db, "Mary Somerville")
    attempt = assessment.start(db, learner.id)
    asked = assessment.proceed(db, attempt.id, learner.id)
    with pytest.raises(InputError, match="select an answer"):
        assessment.answer(db, attempt.id, learner.id, question_id=asked.question.id, option_id="")
    assert assessment.answers(db, attempt.id) == []
    again = assessment.step(db, attempt.id, learner.id)
    assert again.question.id == asked.question.id, "the question does not change on reload"
    assert again.options == asked.options


def test_starting_again_resumes_the_open_attempt(db):
    learner = person(db, "Jenny Lind")
    first = assessment.start(db, learner.id)
    assessment.proceed(db, first.id, learner.id)
    again = assessment.start(db, learner.id, language="cy")
    assert again.id == first.id and again.language == "cy"


def test_someone_who_left_cannot_take_the_module(db):
    learner = person(db, "Ann Leaver")
    roster.leave(db, learner.email, actor="test")
    with pytest.raises(RuleViolation, match="left"):
        assessment.start(db, learner.id)


def test_another_persons_attempt_is_not_found(db):
    owner = person(db, "Owner One")
    other = person(db, "Other Two")
    attempt = assessment.start(db, owner.id)
    with pytest.raises(Exception, match="no such attempt"):
        assessment.proceed(db, attempt.id, other.id)


@pytest.mark.parametrize(
    "completed,expires",
    [
        (date(2026, 11, 21), date(2027, 11, 21)),
        (date(2028, 2, 29), date(2029, 3, 1)),
        (date(2026, 12, 31), date(2027, 12, 31)),
    ],
)
def test_a_pass_is_valid_for_a_year(completed, expires):
    assert expiry(completed) == expires
