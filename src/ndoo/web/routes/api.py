"""The JSON API, version 1: people's choices, disclosures, compliance and releases.

Every route needs a signed-in member of staff with the right role (administrators
pass every check): a contact-centre agent reads choices; an information governance
lead or an analyst reads the disclosure register of the organisation this service
runs for (the ``organisation_code`` setting) and its releases; an information
governance lead reads the compliance status.  Responses are typed, so the OpenAPI
document (``/api/openapi.json``) describes them, and every error takes the one shape
``{"error": {"code", "message", "details"}}`` (:class:`ErrorResponse`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from ndoo.apply import manifest as manifests
from ndoo.compliance.status import status as compliance_status
from ndoo.db import Database
from ndoo.disclosures import assessments, store
from ndoo.register import current_choice, history
from ndoo.staff.accounts import Staff
from ndoo.web import deps
from ndoo.web.errors import error_responses

STAFF_ERRORS = error_responses(401, 403, 422)

router = APIRouter(prefix="/api/v1", responses=STAFF_ERRORS)

Agent = Annotated[Staff, Depends(deps.require("agent"))]
DisclosureReader = Annotated[Staff, Depends(deps.require("ig_lead", "analyst"))]
IgLead = Annotated[Staff, Depends(deps.require("ig_lead"))]
NhsNumber = Annotated[
    str,
    Path(
        description="The person's NHS number (ten digits; spaces and hyphens are ignored).",
        max_length=20,
        examples=["9434765919"],
    ),
]

# ---------------------------------------------------------------------------
# Choices


class CurrentChoice(BaseModel):
    nhs_number: str
    state: str = Field(description="OUT (opted out) or IN (opted in, the default).")
    label: str = Field(description="The state in words.")
    since: datetime | None = Field(description="When the state began; null for the default.")
    deceased: bool


class ChoiceEvent(BaseModel):
    id: int
    state: str
    effective_at: datetime
    recorded_at: datetime
    channel: str = Field(description="OP, PFSP, FN, CC, PP, or T2 (a converted Type 2).")
    actor: str = Field(description="SELF, or the proxy's role (GUARDIAN, POA, COURTDEP, HCP).")
    proxy_name: str | None
    proxy_evidence: str | None
    case_reference: str | None


class ChoiceRecord(BaseModel):
    state: str
    record_start: datetime
    record_end: datetime | None


class ChoiceHistory(BaseModel):
    nhs_number: str
    events: list[ChoiceEvent] = Field(description="Every event, by effective time.")
    records: list[ChoiceRecord] = Field(description="The periods each state held.")


@router.get(
    "/people/{nhs_number}/choice",
    tags=["choices"],
    response_model=CurrentChoice,
    responses=error_responses(404),
    summary="A person's choice now",
)
def person_choice(request: Request, nhs_number: NhsNumber, staff: Agent) -> dict[str, Any]:
    """Opted out or opted in, and since when.  For contact-centre agents."""
    return current_choice(deps.database(request), nhs_number).as_dict()


@router.get(
    "/people/{nhs_number}/history",
    tags=["choices"],
    response_model=ChoiceHistory,
    responses=error_responses(404),
    summary="A person's events and records",
)
def person_history(request: Request, nhs_number: NhsNumber, staff: Agent) -> dict[str, Any]:
    """Every change the register holds for the person.  For contact-centre agents."""
    return history(deps.database(request), nhs_number).as_dict()


# ---------------------------------------------------------------------------
# Disclosures


class DisclosureFields(BaseModel):
    """What the register says about the data use or flow (codes; null is unknown)."""

    reference: str
    title: str
    recipient: str
    purpose: str | None
    contains_cpi: str | None
    anonymised: str | None
    origin: str | None
    legal_bases: list[str]
    basis_for_flow: str | None
    statute: str | None
    cag_reference: str | None
    cag_condition: str | None
    national_exemption: str | None
    exemption_confirmed: str | None
    frequency: str | None
    start_date: date | None
    end_date: date | None
    owner: str | None
    notes: str | None


class DisclosureEntry(BaseModel):
    organisation: str
    reference: str
    version: int
    needs_assessment: bool
    scope_changed_at: datetime
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    state: str = Field(
        description="The current assessment's outcome, or not assessed / changed since "
        "assessed / rules changed since assessed."
    )
    record: DisclosureFields


class DisclosureRegister(BaseModel):
    organisation: str
    disclosures: list[DisclosureEntry]


class AssessmentReason(BaseModel):
    step: str
    rule: str | None
    text: str
    cite: str
    source: str
    unverified: bool


class Assessment(BaseModel):
    id: int
    reference: str
    disclosure_version: int
    assessed_at: datetime
    assessed_by: str
    outcome: str = Field(description="APPLY, DO NOT APPLY or MORE INFORMATION NEEDED.")
    ruleset: str
    reasons: list[AssessmentReason]
    missing: list[str]
    contradictions: list[str]
    facts: dict[str, str | None]


class DisclosureWithAssessment(DisclosureEntry):
    assessment: Assessment | None = Field(description="The newest assessment, if any.")


@router.get(
    "/disclosures",
    tags=["disclosures"],
    response_model=DisclosureRegister,
    summary="The disclosure register",
)
def disclosures(request: Request, staff: DisclosureReader) -> dict[str, Any]:
    """Every disclosure of the organisation, with where its assessment stands."""
    organisation = str(deps.settings(request).organisation_code)
    found = assessments.standings(deps.database(request), organisation=organisation)
    return {
        "organisation": organisation,
        "disclosures": [{**s.entry.as_dict(), "state": s.state} for s in found],
    }


@router.get(
    "/disclosures/{reference:path}",
    tags=["disclosures"],
    response_model=DisclosureWithAssessment,
    responses=error_responses(404),
    summary="One disclosure and its newest assessment",
)
def disclosure(
    request: Request,
    reference: Annotated[
        str,
        Path(description="The disclosure's reference.", max_length=200, examples=["NCAPOP-01"]),
    ],
    staff: DisclosureReader,
) -> dict[str, Any]:
    """The disclosure's record, where it stands, and its newest assessment."""
    db = deps.database(request)
    organisation = str(deps.settings(request).organisation_code)
    entry = store.get(db, reference, organisation=organisation)
    with db.read() as conn:
        standing = assessments.standing_in(conn, entry)
    return {
        **entry.as_dict(),
        "state": standing.state,
        "assessment": standing.assessment.as_dict() if standing.assessment else None,
    }


# ---------------------------------------------------------------------------
# Compliance


class Step(BaseModel):
    action: int
    title: str
    involves: list[str]
    owner_role: str
    owner: str
    status: str
    due: date | None
    evidence: str
    updated_at: datetime | None
    updated_by: str | None


class Listed(BaseModel):
    reference: str
    title: str
    recipient: str
    state: str
    start_date: date | None
    end_date: date | None


class TechnicalSolution(BaseModel):
    verdict: str = Field(description="required or optional.")
    provisional: bool
    by_supplier: bool
    must_set_up: bool
    as_of: date
    horizon_days: int
    reasons: list[str]
    obligation: str
    in_scope_now: list[Listed]
    in_scope_soon: list[Listed]
    in_scope_later: list[Listed]
    unknown: list[Listed]


class DeclarationSummary(BaseModel):
    declared_on: date
    declared_at: datetime
    declared_by: str
    technical_solution: str


class DisclosureCounts(BaseModel):
    total: int
    counts: dict[str, int] = Field(description="How many disclosures are in each state.")
    references: dict[str, list[str]]


class Breach(BaseModel):
    reference: str
    title: str
    state: str
    scope_changed_at: datetime
    message: str


class NextAction(BaseModel):
    text: str
    action: int | None
    references: list[str]


class ComplianceStatus(BaseModel):
    organisation: str
    as_of: date
    state: str = Field(
        description="not started, in progress, ready to declare, declared, or declared, in breach."
    )
    steps: list[Step]
    technical_solution: TechnicalSolution
    declaration: DeclarationSummary | None
    disclosures: DisclosureCounts
    breaches: list[Breach]
    next_actions: list[NextAction]


@router.get(
    "/compliance",
    tags=["compliance"],
    response_model=ComplianceStatus,
    summary="Where the organisation stands with the policy",
)
def compliance(request: Request, staff: IgLead) -> dict[str, Any]:
    """The programme's steps, the technical solution, the declaration and what to do next."""
    settings = deps.settings(request)
    found = compliance_status(
        deps.database(request),
        str(settings.organisation_code),
        horizon_days=int(settings.planning_horizon_days),
        by_supplier=bool(settings.technical_solution_by_supplier),
    )
    return found.as_dict()


# ---------------------------------------------------------------------------
# Releases


class ReleaseSummary(BaseModel):
    release_id: str
    disclosure: str
    actor: str
    engine: str
    source: str = Field(description="Where the opt-outs came from (register, check, cache…).")
    dry_run: bool
    started_at: datetime
    finished_at: datetime
    rows_in: int
    rows_out: int
    digest: str = Field(description="SHA-256 of the stored manifest.")


class ReleaseHistory(BaseModel):
    releases: list[ReleaseSummary] = Field(description="Newest first.")


def recent_releases(db: Database, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` releases (:func:`ndoo.apply.manifest.recent`)."""
    return manifests.recent(db, limit=limit)


@router.get(
    "/releases",
    tags=["releases"],
    response_model=ReleaseHistory,
    summary="Releases made with opt-outs applied",
)
def releases(
    request: Request,
    staff: Annotated[Staff, Depends(deps.require("analyst", "ig_lead"))],
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, newest first.")] = 100,
) -> dict[str, Any]:
    """The newest releases, with their counts and manifest digest."""
    return {"releases": recent_releases(deps.database(request), limit)}
