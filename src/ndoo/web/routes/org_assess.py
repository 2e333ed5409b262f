"""The guided scope assessment in the console, one question a page, without JavaScript.

``GET /console/disclosures/{reference}/assess`` shows the first question the scope rules
still need (:func:`ndoo.disclosures.guided.questions`): radios for one choice,
checkboxes for several legal bases, a text box for text, and any contradiction between
answers explained.  Posting an answer records it as a new version of the disclosure
(:func:`ndoo.disclosures.guided.answer`) and shows the next question.  When no question
is left, or the information governance lead chooses to record the assessment as the
register stands, the assessment is recorded
(:func:`ndoo.disclosures.assessments.assess`) and its outcome shown with its reasons.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from ndoo.disclosures import assessments, guided, store
from ndoo.disclosures.facts import BY_NAME
from ndoo.disclosures.guided import Question
from ndoo.errors import InputError
from ndoo.staff.accounts import Staff
from ndoo.web import deps
from ndoo.web.errors import error_responses
from ndoo.web.forms import Problems
from ndoo.web.routes.org_common import organisation, posted_list
from ndoo.web.routes.org_disclosures import (
    AssessmentOut,
    OutcomeOut,
    assessment_out,
    outcome_data,
    path_of,
)
from ndoo.web.templating import render

router = APIRouter(tags=["disclosures"])

Lead = Annotated[Staff, Depends(deps.require("ig_lead"))]


class Choice(BaseModel):
    code: str
    label: str


class QuestionOut(BaseModel):
    """One open question: the field it answers, how it is asked, what is recorded now."""

    field: str
    label: str
    text: str
    kind: str
    choices: list[Choice]
    help: str
    current: str | None
    contradiction: str | None


class AssessmentState(BaseModel):
    """Where the guided assessment of a disclosure stands.

    ``questions`` are still open, first first; ``preview`` is what the rules say of the
    disclosure now, not yet recorded; ``latest`` is the newest recorded assessment.
    """

    reference: str
    title: str
    version: int
    state: str
    questions: list[QuestionOut]
    preview: OutcomeOut
    latest: AssessmentOut | None


def question_out(question: Question) -> QuestionOut:
    return QuestionOut(
        field=question.field,
        label=BY_NAME[question.field].column,
        text=question.text,
        kind=question.kind,
        choices=[Choice(code=code, label=label) for code, label in question.choices],
        help=question.help,
        current=question.current,
        contradiction=question.contradiction,
    )


def state_data(request: Request, reference: str) -> AssessmentState:
    db = deps.database(request)
    entry = store.get(db, reference, organisation=organisation(request))
    with db.read() as conn:
        standing = assessments.standing_in(conn, entry)
    return AssessmentState(
        reference=entry.reference,
        title=entry.disclosure.title,
        version=entry.version,
        state=standing.state,
        questions=[question_out(q) for q in guided.questions(entry)],
        preview=OutcomeOut.model_validate(outcome_data(assessments.evaluate(entry))),
        latest=assessment_out(standing.assessment) if standing.assessment else None,
    )


def _page(
    request: Request,
    data: AssessmentState,
    *,
    answer: list[str] | None = None,
    problems: Problems | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    entry_values = store.get(
        deps.database(request), data.reference, organisation=organisation(request)
    ).disclosure
    question = data.questions[0] if data.questions else None
    if answer is None and question is not None:
        current = getattr(entry_values, question.field)
        if isinstance(current, tuple):
            answer = list(current)
        elif current is not None:
            answer = [str(current)]
        else:
            answer = []
    return render(
        request,
        "org/assess.html",
        {
            "data": data,
            "question": question,
            "answer": answer or [],
            "path": path_of(data.reference),
            "back": path_of(data.reference),
            **(problems.context() if problems else {}),
        },
        status_code=status_code,
    )


@router.get(
    "/console/disclosures/{reference:path}/assess.json",
    response_model=AssessmentState,
    responses=error_responses(401, 403, 404, 422),
)
def assess_json(request: Request, reference: str, staff: Lead) -> AssessmentState:
    """The open questions of a disclosure's guided assessment, and what the rules say now."""
    return state_data(request, reference)


@router.get(
    "/console/disclosures/{reference:path}/assess",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def assess_page(request: Request, reference: str, staff: Lead) -> HTMLResponse:
    return _page(request, state_data(request, reference))


@router.post("/console/disclosures/{reference:path}/assess", include_in_schema=False)
async def answer(request: Request, reference: str, staff: Lead) -> Response:
    db = deps.database(request)
    org = organisation(request)
    values = await deps.form(request)
    field = values.get("field", "")
    if field in BY_NAME and BY_NAME[field].kind == "choices":
        given = await posted_list(request, "answer")
    else:
        given = [values["answer"]] if values.get("answer", "").strip() else []
    if not given:
        data = state_data(request, reference)
        problems = Problems()
        kind = BY_NAME[field].kind if field in BY_NAME else "text"
        problems.add(
            "answer",
            "enter an answer, or record the assessment as it stands"
            if kind == "text"
            else "choose an answer, or record the assessment as it stands",
        )
        return _page(request, data, answer=[], problems=problems, status_code=422)
    try:
        entry = guided.answer(
            db, reference, field, "; ".join(given), organisation=org, actor=staff.username
        )
    except InputError as exc:
        data = state_data(request, reference)
        problems = Problems()
        problems.add("answer", exc.message)
        return _page(request, data, answer=given, problems=problems, status_code=422)
    if guided.questions(entry):
        return RedirectResponse(path_of(entry.reference) + "/assess", status_code=303)
    return _record(request, entry.reference, staff)


@router.post("/console/disclosures/{reference:path}/assess/record", include_in_schema=False)
async def record(request: Request, reference: str, staff: Lead) -> Response:
    await deps.form(request)
    return _record(request, reference, staff)


def _record(request: Request, reference: str, staff: Staff) -> Response:
    done = assessments.assess(
        deps.database(request),
        reference,
        organisation=organisation(request),
        actor=staff.username,
    )
    return RedirectResponse(
        f"{path_of(done.reference)}?recorded={done.id}#assessment", status_code=303
    )
