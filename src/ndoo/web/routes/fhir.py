"""The register's choices as FHIR R4 ``Consent`` resources, for contact-centre agents.

=====================================  =================================================
``GET /fhir/Consent?patient=…``         a ``searchset`` Bundle with the person's Consent
                                        as it stands (``total`` 0 if they never made a
                                        choice, or are unknown)
``GET /fhir/Consent/{id}``              the Consent as it stands
``GET /fhir/Consent/{id}/_history``     a ``history`` Bundle, one entry per event
``POST /fhir/Consent``                  record a person's first choice: 201 and
                                        ``Location``
``PUT /fhir/Consent/{id}``              record a new state: 200
=====================================  =================================================

The ``patient`` search parameter is the NHS number, an
``https://fhir.nhs.uk/Id/nhs-number|<number>`` token, or the STU3 guide's patient
reference.  A Consent's id is ``ndop-`` and the id of the person's first recorded
event (:func:`ndoo.register.fhir.consent_id`), never the NHS number.  Resources are
sent as ``application/fhir+json``; a write must be sent as ``application/fhir+json``
(or ``application/json``), else 415.

Errors are not ``OperationOutcome`` resources: the service has one error shape,
``{"error": {"code", "message", "details"}}``, for every route.  The historical API's
codes are kept where it had them: a create carrying an id is refused with 405 and
``MSG_RESOURCE_ID_FAIL``; a create for a person who already has a Consent with 422 and
``DUPLICATE_REJECTED``.  Other refusals use the service's codes and statuses (400 for
a body that cannot be parsed, 422 for a Consent that breaks the profile, 409 when a
register rule refuses the change, 404 for an unknown person or id).  Every write goes through
:func:`ndoo.register.set_choice`, which checks the register's rules and writes the
audit entry; the acting member of staff is the audit entry's actor.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from ndoo.errors import ClientAssignedId, error_body
from ndoo.register import fhir
from ndoo.staff.accounts import Staff
from ndoo.web import deps
from ndoo.web.errors import json_error_responses

FHIR_JSON = "application/fhir+json"
WRITE_TYPES = frozenset({FHIR_JSON, "application/json"})


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


# ---------------------------------------------------------------------------
# The wire: the parts of FHIR R4 these resources use (other elements are allowed)


class _Element(BaseModel):
    model_config = ConfigDict(extra="allow")


class Coding(_Element):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(_Element):
    coding: list[Coding] | None = None
    text: str | None = None


class Identifier(_Element):
    system: str | None = None
    value: str | None = None


class Reference(_Element):
    reference: str | None = None
    type: str | None = None
    identifier: Identifier | None = None
    display: str | None = None


class Extension(_Element):
    url: str
    valueCodeableConcept: CodeableConcept | None = None
    valueString: str | None = None
    extension: list[Extension] | None = None


class Meta(_Element):
    versionId: str | None = None
    lastUpdated: str | None = None


class Policy(_Element):
    authority: str | None = None
    uri: str | None = None


class ProvisionActor(_Element):
    role: CodeableConcept
    reference: Reference


class Provision(_Element):
    type: str | None = Field(default=None, description="deny: the opt-out's directive.")
    actor: list[ProvisionActor] | None = None
    purpose: list[Coding] | None = None


class ConsentResource(_Element):
    """A national data opt-out as an R4 ``Consent`` (see :mod:`ndoo.register.fhir`)."""

    resourceType: Literal["Consent"]
    id: str | None = Field(default=None, description="Server-assigned; never sent on create.")
    meta: Meta | None = None
    extension: list[Extension] | None = Field(
        default=None,
        description="Extension-NDOP-OptOutSource-1 (required) and Extension-NDOP-Proxy-1 "
        "(when a proxy acted).",
    )
    status: Literal["active", "inactive"] = Field(
        description="active = opted out; inactive = opted in."
    )
    scope: CodeableConcept
    category: list[CodeableConcept]
    patient: Reference | None = Field(
        default=None,
        description="The NHS number as a https://fhir.nhs.uk/Id/nhs-number identifier.",
    )
    dateTime: str | None = Field(default=None, description="When the choice took effect.")
    performer: list[Reference] | None = Field(
        default=None, description="The patient, when they acted themselves (no proxy)."
    )
    organization: list[Reference] | None = None
    sourceReference: Reference | None = None
    policy: list[Policy] | None = None
    provision: Provision | None = None


class BundleLink(_Element):
    relation: str
    url: str


class BundleSearch(_Element):
    mode: str | None = None


class BundleRequest(_Element):
    method: str
    url: str


class BundleResponse(_Element):
    status: str
    lastModified: str | None = None


class BundleEntry(_Element):
    fullUrl: str | None = None
    resource: ConsentResource | None = None
    search: BundleSearch | None = None
    request: BundleRequest | None = None
    response: BundleResponse | None = None


class ConsentBundle(_Element):
    resourceType: Literal["Bundle"]
    id: str | None = None
    type: Literal["searchset", "history"]
    total: int | None = None
    link: list[BundleLink] | None = None
    entry: list[BundleEntry] | None = None


# ---------------------------------------------------------------------------
# Routes


router = APIRouter(prefix="/fhir", tags=["FHIR"], responses=json_error_responses(401, 403, 422))

Agent = Annotated[Staff, Depends(deps.require("agent"))]


def writer(request: Request, staff: Agent) -> Staff:
    """An agent sending JSON: writes come as JSON, which a cross-site form cannot send."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in WRITE_TYPES:
        raise HTTPException(415, "send the Consent as application/fhir+json")
    return staff


Writer = Annotated[Staff, Depends(writer)]
LogicalId = Annotated[
    str,
    Path(description="The Consent's id (ndop-…).", max_length=64, examples=["ndop-1"]),
]


def _example(number: str, status: str, when: str, **more: Any) -> dict[str, Any]:
    patient = {"identifier": {"system": fhir.NHS_NUMBER_SYSTEM, "value": number}}
    return {
        "resourceType": "Consent",
        **more,
        "extension": [
            {
                "url": fhir.SOURCE_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [
                        {"system": fhir.SOURCE_SYSTEM, "code": "CC", "display": "Call Centre"}
                    ]
                },
            }
        ],
        "status": status,
        "scope": {"coding": [{"system": fhir.SCOPE_SYSTEM, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": fhir.CATEGORY_SYSTEM, "code": "NDOP"}]}],
        "patient": patient,
        "dateTime": when,
        "performer": [patient],
    }


Created = Annotated[
    ConsentResource,
    Body(
        media_type=FHIR_JSON,
        openapi_examples={
            "opt-out": {
                "summary": "A person opts out by phone",
                "value": _example("9000000017", "active", "2024-06-01T09:30:00Z"),
            }
        },
    ),
]
Updated = Annotated[
    ConsentResource,
    Body(
        media_type=FHIR_JSON,
        openapi_examples={
            "withdraw": {
                "summary": "A person withdraws their opt-out by phone",
                "value": _example("9434765919", "inactive", "2024-07-01T10:00:00Z", id="ndop-1"),
            }
        },
    ),
]


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/fhir"


def _custodian(request: Request) -> str:
    return str(deps.settings(request).organisation_code)


def _resource(found: Any, status_code: int = 200, **headers: str) -> FhirResponse:
    return FhirResponse(fhir.as_json(found), status_code=status_code, headers=headers or None)


def _sent(resource: ConsentResource) -> dict[str, Any]:
    found: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True)
    return found


@router.get(
    "/Consent",
    response_model=ConsentBundle,
    response_class=FhirResponse,
    summary="Search for a person's Consent",
)
def search(
    request: Request,
    staff: Agent,
    patient: Annotated[
        str,
        Query(
            description="The NHS number, https://fhir.nhs.uk/Id/nhs-number|<number>, or an "
            "STU3 patient reference.",
            max_length=200,
            examples=["9434765919"],
        ),
    ],
) -> FhirResponse:
    """At most one Consent: the person's choice as it stands.  ``total`` 0 means none."""
    db = deps.database(request)
    number = fhir.patient_number(patient)
    found = fhir.current(db, number, custodian=_custodian(request))
    return _resource(fhir.searchset(found, base=_base(request), self_url=str(request.url)))


@router.get(
    "/Consent/{logical_id}",
    response_model=ConsentResource,
    response_class=FhirResponse,
    responses=json_error_responses(404),
    summary="Read a Consent",
)
def read(request: Request, logical_id: LogicalId, staff: Agent) -> FhirResponse:
    """The Consent as it stands now."""
    found = fhir.read(deps.database(request), logical_id, custodian=_custodian(request))
    return _resource(found)


@router.get(
    "/Consent/{logical_id}/_history",
    response_model=ConsentBundle,
    response_class=FhirResponse,
    responses=json_error_responses(404),
    summary="A Consent's history",
)
def versions(request: Request, logical_id: LogicalId, staff: Agent) -> FhirResponse:
    """Every version, one per event in the register, newest recorded first."""
    found = fhir.versions(deps.database(request), logical_id, custodian=_custodian(request))
    bundle = fhir.history_bundle(found, base=_base(request), self_url=str(request.url))
    return _resource(bundle)


@router.post(
    "/Consent",
    status_code=201,
    response_model=ConsentResource,
    response_class=FhirResponse,
    responses=json_error_responses(400, 404, 405, 409, 415),
    summary="Record a person's first choice",
)
def create(request: Request, staff: Writer, resource: Created) -> Any:
    """Refused with ``MSG_RESOURCE_ID_FAIL`` (405) when the body has an id, and with
    ``DUPLICATE_REJECTED`` (422) when the person already has a Consent: update it."""
    try:
        found = fhir.create(
            deps.database(request),
            _sent(resource),
            actor=staff.username,
            custodian=_custodian(request),
        )
    except ClientAssignedId as exc:
        return JSONResponse(error_body(exc), status_code=405, headers={"Allow": "GET, POST"})
    location = f"{_base(request)}/Consent/{found.id}"
    return _resource(found, 201, Location=location)


@router.put(
    "/Consent/{logical_id}",
    response_model=ConsentResource,
    response_class=FhirResponse,
    responses=json_error_responses(400, 404, 409, 415),
    summary="Record a new state",
)
def update(request: Request, logical_id: LogicalId, staff: Writer, resource: Updated) -> Any:
    """The whole resource, with its id.  Sending the state the person already has
    records nothing and returns the Consent as it stands."""
    found = fhir.update(
        deps.database(request),
        logical_id,
        _sent(resource),
        actor=staff.username,
        custodian=_custodian(request),
    )
    return _resource(found)
