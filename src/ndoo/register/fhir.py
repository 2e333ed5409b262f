"""The register's choices as FHIR R4 ``Consent`` resources, after the NDOP STU3 profile.

The national service's FHIR API (2017-19) modelled a choice as an STU3 ``Consent``
(profile ``https://fhir.nhs.uk/STU3/StructureDefinition/NDOP-Consent-1``).  No R4
version was published; this module carries the profile's fields over to R4, using the
R4B models of ``fhir.resources`` (``fhir.resources.R4B``: FHIR 4.3.0, whose ``Consent``
is unchanged from R4 4.0.1; the top-level ``fhir.resources`` models are R5).  The
resource does not claim the STU3 profile in ``meta.profile``: an R4 resource cannot
conform to an STU3 profile.

One ``Consent`` stands for one person's national data opt-out: the directive "deny
the use of my confidential patient information for research and planning".

=========================  ===========================================================
Element                    Content
=========================  ===========================================================
``id``                     ``ndop-`` and the id of the person's first recorded event,
                           never the NHS number; it never changes (:func:`consent_id`)
``meta.versionId``         the id of the event this version shows
``meta.lastUpdated``       when that event was recorded
``status``                 ``active`` = opted out, ``inactive`` = opted in (as in STU3)
``scope``                  ``patient-privacy`` (consentscope)
``category``               ``NDOP`` from ``NDOP-Categories-1``
``patient``                the NHS number as a ``https://fhir.nhs.uk/Id/nhs-number``
                           identifier, ten digits and no spaces
``dateTime``               when the event took effect
``performer``              the patient, when they acted themselves (STU3
                           ``consentingParty``); absent when a proxy acted
``organization``           the register's custodian as an ODS code identifier
``sourceReference``        a self-set choice's case reference (contact centre, paper
                           form), as an identifier of system :data:`CASE_SYSTEM`
``policy``                 authority ``https://www.gov.uk/`` and the URI of the
                           National Data Guardian's review, as in the STU3 guide
``provision``              type ``deny`` with purposes ``PLAN`` and ``RESCH``
                           (``NDOP-PreferenceCodes-1``): the one question covers both;
                           ``actor`` role ``INF`` is the patient when self-set
extension OptOutSource     ``Extension-NDOP-OptOutSource-1``: ``OP``, ``PFSP``, ``FN``,
                           ``CC``, ``PP``.  A converted Type 2 objection (``T2``) shows
                           as ``GP`` ("GP System": the objection was recorded in the GP
                           system) with the text "Converted Type 2 objection"
extension Proxy            ``Extension-NDOP-Proxy-1``: sub-extension ``role``
                           (``GUARDIAN``, ``POA``, ``COURTDEP`` from
                           ``NDOP-ProxyRole-1``; the secure-estate healthcare
                           professional ``HCP`` from :data:`LOCAL_PROXY_ROLE_SYSTEM`,
                           since the national list has no code for it), ``NIC`` (the
                           case reference), and two additions the register's rules
                           need: ``name`` and ``evidence`` (the proxy's name and the
                           reference of the evidence of their authority)
=========================  ===========================================================

As the profile's business rule says, exactly one of ``performer`` (the person acted)
or the proxy extension (a proxy acted) is present.

:func:`change_from` reads a client's ``Consent`` back into a
:class:`~ndoo.register.ChoiceChange`; :func:`create` and :func:`update` record it with
:func:`~ndoo.register.set_choice`, so every register rule applies and every write is
audited.  Opted in is the default and needs no record, so a person who never made a
choice has no ``Consent``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from pydantic import ValidationError
from sqlalchemy import func, select

from ndoo.db import Database
from ndoo.db.models import choice_event
from ndoo.errors import (
    ClientAssignedId,
    DuplicateRejected,
    InputError,
    InvalidNHSNumber,
    NotFound,
    PersonNotFound,
)
from ndoo.nhs_number import parse
from ndoo.register.choices import ChoiceChange, Event, history, set_choice
from ndoo.register.vocabulary import PERSON_CHANNELS, SELF, Channel, ProxyRole, State
from ndoo.timeutil import aware, start_of_day

# ---------------------------------------------------------------------------
# The historical NDOP vocabulary (nhsconnect/FHIR-NOO-API)

STU3 = "https://fhir.nhs.uk/STU3"
SOURCE_EXTENSION = f"{STU3}/StructureDefinition/Extension-NDOP-OptOutSource-1"
SOURCE_SYSTEM = f"{STU3}/CodeSystem/NDOP-OptOutSource-1"
PROXY_EXTENSION = f"{STU3}/StructureDefinition/Extension-NDOP-Proxy-1"
#: The guide's examples name the proxy roles' ValueSet as the coding system; kept as is.
PROXY_ROLE_SYSTEM = f"{STU3}/ValueSet/NDOP-ProxyRole-1"
#: Accepted from clients as well: the CodeSystem spelling of the same list.
PROXY_ROLE_CODESYSTEM = f"{STU3}/CodeSystem/NDOP-ProxyRole-1"
CATEGORY_SYSTEM = f"{STU3}/CodeSystem/NDOP-Categories-1"
PREFERENCE_SYSTEM = f"{STU3}/CodeSystem/NDOP-PreferenceCodes-1"
POLICY_AUTHORITY = "https://www.gov.uk/"
POLICY_URI = (
    "https://www.gov.uk/government/uploads/system/uploads/attachment_data/file/535024/"
    "data-security-review.PDF"
)
#: The STU3 guide's patient references, still understood when a client sends one.
HISTORICAL_PATIENT_BASE = "https://demographics.spineservices.nhs.uk/STU3/Patient/"

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
PARTICIPATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

# ndoo's own names, for what the national lists do not hold.
LOCAL_PROXY_ROLE_SYSTEM = "urn:ndoo:CodeSystem:ProxyRole"
CASE_SYSTEM = "urn:ndoo:case-reference"

#: The channel codes and their displays, as the guide defines them.
SOURCE_DISPLAY = {
    "OP": "Online Process",
    "PFSP": "Patient Facing Service App",
    "FN": "Form on NHS.UK",
    "CC": "Call Centre",
    "PP": "Paper Process",
    "GP": "GP System",
}
#: A converted Type 2 objection was recorded in the GP system.
TYPE2_SOURCE = "GP"
TYPE2_TEXT = "Converted Type 2 objection"

ROLE_DISPLAY = {
    ProxyRole.GUARDIAN: "Guardian",
    ProxyRole.POA: "Power of Attorney",
    ProxyRole.COURTDEP: "Court Appointed Deputy",
    ProxyRole.HCP: ProxyRole.HCP.label,
}
PURPOSES = (
    ("PLAN", "Opted out of Planning and Commissioning Data Sharing"),
    ("RESCH", "Opted out of Research Data Sharing"),
)

STATUS_OF = {State.OUT: "active", State.IN: "inactive"}
STATE_OF = {status: state for state, status in STATUS_OF.items()}

_ID = re.compile(r"ndop-([1-9][0-9]{0,17})")


# ---------------------------------------------------------------------------
# Errors with the historical API's codes


# ---------------------------------------------------------------------------
# Register -> FHIR


def consent_id(first_event_id: int) -> str:
    """The logical id of a person's ``Consent``: their first recorded event's id.

    Events are never removed, so the lowest id of a person's events never changes; it
    is an internal number, not the NHS number, and says nothing about the person.
    """
    return f"ndop-{first_event_id}"


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def _nhs_reference(nhs_number: str) -> dict[str, Any]:
    return {"type": "Patient", "identifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs_number}}


def _source(channel: Channel) -> dict[str, Any]:
    if channel is Channel.T2:
        concept = {
            "coding": [_coding(SOURCE_SYSTEM, TYPE2_SOURCE, SOURCE_DISPLAY[TYPE2_SOURCE])],
            "text": TYPE2_TEXT,
        }
    else:
        code = channel.value
        concept = {"coding": [_coding(SOURCE_SYSTEM, code, SOURCE_DISPLAY[code])]}
    return {"url": SOURCE_EXTENSION, "valueCodeableConcept": concept}


def _proxy(event: Event) -> dict[str, Any]:
    role = ProxyRole(event.actor)
    system = LOCAL_PROXY_ROLE_SYSTEM if role is ProxyRole.HCP else PROXY_ROLE_SYSTEM
    parts: list[dict[str, Any]] = [
        {
            "url": "role",
            "valueCodeableConcept": {"coding": [_coding(system, role.value, ROLE_DISPLAY[role])]},
        }
    ]
    for url, value in (
        ("NIC", event.case_reference),
        ("name", event.proxy_name),
        ("evidence", event.proxy_evidence),
    ):
        if value:
            parts.append({"url": url, "valueString": value})
    return {"url": PROXY_EXTENSION, "extension": parts}


def to_consent(
    nhs_number: str, event: Event, *, logical_id: str, custodian: str = "X26"
) -> Consent:
    """The ``Consent`` showing ``event``, one of the person's events.

    ``custodian`` is the ODS code of the organisation that holds the register.
    """
    by_self = event.actor == SELF
    extensions = [_source(event.channel)]
    if not by_self:
        extensions.append(_proxy(event))
    patient = _nhs_reference(nhs_number)
    provision: dict[str, Any] = {
        "type": "deny",
        "purpose": [_coding(PREFERENCE_SYSTEM, code, display) for code, display in PURPOSES],
    }
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": logical_id,
        "meta": {"versionId": str(event.id), "lastUpdated": aware(event.recorded_at)},
        "extension": extensions,
        "status": STATUS_OF[event.state],
        "scope": {"coding": [_coding(SCOPE_SYSTEM, "patient-privacy", "Privacy Consent")]},
        "category": [
            {"coding": [_coding(CATEGORY_SYSTEM, "NDOP", "National Data Opt-out")]},
        ],
        "patient": patient,
        "dateTime": aware(event.effective_at),
        "organization": [
            {"type": "Organization", "identifier": {"system": ODS_SYSTEM, "value": custodian}}
        ],
        "policy": [{"authority": POLICY_AUTHORITY, "uri": POLICY_URI}],
        "provision": provision,
    }
    if by_self:
        resource["performer"] = [patient]
        provision["actor"] = [
            {
                "role": {"coding": [_coding(PARTICIPATION_SYSTEM, "INF", "informant")]},
                "reference": patient,
            }
        ]
        if event.case_reference:
            resource["sourceReference"] = {
                "identifier": {"system": CASE_SYSTEM, "value": event.case_reference}
            }
    return Consent.model_validate(resource)


def as_json(resource: Consent | Bundle) -> dict[str, Any]:
    """The resource as FHIR JSON (no empty elements)."""
    found: dict[str, Any] = resource.model_dump(mode="json", by_alias=True, exclude_none=True)
    return found


# ---------------------------------------------------------------------------
# Reading


def _events(db: Database, nhs_number: str) -> list[Event]:
    try:
        return history(db, nhs_number).events
    except PersonNotFound:
        return []


def _newest(events: Sequence[Event]) -> Event:
    """The event whose state holds now: the latest to take effect (then the latest recorded)."""
    return max(events, key=lambda e: (e.effective_at, e.id))


def current(db: Database, nhs_number: str, *, custodian: str = "X26") -> Consent | None:
    """The person's ``Consent`` as it stands, or ``None`` when they never made a choice.

    An unknown person has no ``Consent`` either: a search finds nothing.
    """
    number = parse(nhs_number)
    events = _events(db, number)
    if not events:
        return None
    logical_id = consent_id(min(e.id for e in events))
    return to_consent(number, _newest(events), logical_id=logical_id, custodian=custodian)


def patient_number(text: str) -> str:
    """The NHS number a search's ``patient`` names: the number itself, a
    ``https://fhir.nhs.uk/Id/nhs-number|<number>`` token, or an STU3 patient reference."""
    value = text.strip()
    if value.startswith(HISTORICAL_PATIENT_BASE):
        value = value[len(HISTORICAL_PATIENT_BASE) :]
    elif "|" in value:
        system, _, value = value.partition("|")
        if system != NHS_NUMBER_SYSTEM:
            raise InputError(
                f"search for a patient by NHS number ({NHS_NUMBER_SYSTEM})", field="patient"
            )
    try:
        return parse(value)
    except InvalidNHSNumber as exc:
        raise InvalidNHSNumber(exc.message, field="patient") from None


def person_of(db: Database, logical_id: str) -> str:
    """The NHS number of the person whose ``Consent`` has ``logical_id``; else :class:`NotFound`."""
    found = _ID.fullmatch(logical_id)
    missing = NotFound("there is no Consent with that id")
    if found is None:
        raise missing
    first = int(found.group(1))
    with db.read() as conn:
        number = conn.execute(
            select(choice_event.c.nhs_number).where(choice_event.c.id == first)
        ).scalar_one_or_none()
        if number is None:
            raise missing
        lowest = conn.execute(
            select(func.min(choice_event.c.id)).where(choice_event.c.nhs_number == number)
        ).scalar_one()
    if int(lowest) != first:
        raise missing
    return str(number)


def read(db: Database, logical_id: str, *, custodian: str = "X26") -> Consent:
    """The ``Consent`` with ``logical_id`` as it stands now."""
    found = current(db, person_of(db, logical_id), custodian=custodian)
    if found is None:  # pragma: no cover - an id names a person with events
        raise NotFound("there is no Consent with that id")
    return found


def versions(db: Database, logical_id: str, *, custodian: str = "X26") -> list[Consent]:
    """Every version of the ``Consent``, one per event, newest recorded first."""
    number = person_of(db, logical_id)
    events = sorted(_events(db, number), key=lambda e: e.id, reverse=True)
    return [to_consent(number, e, logical_id=logical_id, custodian=custodian) for e in events]


# ---------------------------------------------------------------------------
# FHIR -> register


def _problems(exc: ValidationError) -> list[dict[str, str | None]]:
    """Where and what, without echoing the values sent."""
    return [
        {"field": ".".join(str(p) for p in err.get("loc", ())) or None, "message": err["msg"]}
        for err in exc.errors()
    ]


def _parse(resource: Mapping[str, Any]) -> Consent:
    if not isinstance(resource, Mapping):
        raise InputError("send one FHIR Consent resource as a JSON object")
    if resource.get("resourceType") != "Consent":
        raise InputError("the resource must be a Consent (resourceType)", field="resourceType")
    try:
        return Consent.model_validate(dict(resource))
    except ValidationError as exc:
        problems = _problems(exc)
        listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise InputError(f"the Consent is not valid FHIR R4: {listed}", problems=problems) from None


def _codes(concept: Any, systems: Sequence[str]) -> list[str]:
    if concept is None:
        return []
    return [c.code for c in concept.coding or () if c.system in systems and c.code]


def _nhs_number_of(reference: Any, field: str) -> str:
    """The NHS number a patient reference names: an identifier, or an STU3 reference."""
    if reference is None:
        raise InputError("say who the Consent is for: the patient's NHS number", field=field)
    value: str | None = None
    if reference.identifier is not None:
        if reference.identifier.system != NHS_NUMBER_SYSTEM:
            raise InputError(
                f"the patient is identified by an NHS number ({NHS_NUMBER_SYSTEM})", field=field
            )
        value = reference.identifier.value
    elif reference.reference and reference.reference.startswith(HISTORICAL_PATIENT_BASE):
        value = reference.reference[len(HISTORICAL_PATIENT_BASE) :]
    if value is None:
        raise InputError(
            f"the patient is identified by an NHS number ({NHS_NUMBER_SYSTEM})", field=field
        )
    if not (len(value) == 10 and value.isascii() and value.isdigit()):
        raise InvalidNHSNumber(
            "an NHS number in a Consent is ten digits with no spaces or hyphens", field=field
        )
    try:
        return parse(value)
    except InvalidNHSNumber as exc:
        raise InvalidNHSNumber(exc.message, field=field) from None


def _effective(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, date):
        return start_of_day(value)
    raise InputError(
        "dateTime must be a full date or date and time (2024-06-01 or 2024-06-01T09:30:00Z)",
        field="dateTime",
    )


def _extensions(consent: Consent, url: str) -> list[Any]:
    return [e for e in consent.extension or () if e.url == url]


def _channel(consent: Consent) -> Channel:
    found = _extensions(consent, SOURCE_EXTENSION)
    if len(found) != 1:
        raise InputError(
            f"give how the choice was made: one OptOutSource extension ({SOURCE_EXTENSION})",
            field="extension",
        )
    codes = _codes(found[0].valueCodeableConcept, [SOURCE_SYSTEM])
    if len(codes) != 1:
        raise InputError(
            f"the OptOutSource extension holds one code from {SOURCE_SYSTEM}", field="extension"
        )
    code = codes[0]
    if code == "GP":
        raise InputError(
            "GP systems uphold opt-outs but cannot set them; converted Type 2 objections "
            "come only from the Type 2 import",
            field="extension",
        )
    if code not in {c.value for c in PERSON_CHANNELS}:
        allowed = ", ".join(sorted(c.value for c in PERSON_CHANNELS))
        raise InputError(
            f"unknown source of the choice {code!r}; use one of {allowed}", field="extension"
        )
    return Channel(code)


class _Proxy:
    def __init__(self, role: ProxyRole, values: dict[str, str | None]) -> None:
        self.role = role
        self.case_reference = values.get("NIC")
        self.name = values.get("name")
        self.evidence = values.get("evidence")


def _proxy_of(consent: Consent) -> _Proxy | None:
    found = _extensions(consent, PROXY_EXTENSION)
    if not found:
        return None
    if len(found) > 1:
        raise InputError("give at most one Proxy extension", field="extension")
    roles: list[str] = []
    values: dict[str, str | None] = {}
    systems = (PROXY_ROLE_SYSTEM, PROXY_ROLE_CODESYSTEM, LOCAL_PROXY_ROLE_SYSTEM)
    for part in found[0].extension or ():
        if part.url == "role":
            roles.extend(_codes(part.valueCodeableConcept, systems))
        elif part.url in ("NIC", "name", "evidence"):
            if not isinstance(part.valueString, str):
                raise InputError(f"the proxy's {part.url} is a valueString", field="extension")
            values[part.url] = part.valueString
    if len(roles) != 1:
        raise InputError(
            "the Proxy extension holds one role: GUARDIAN, POA or COURTDEP (or HCP)",
            field="extension",
        )
    try:
        role = ProxyRole(roles[0])
    except ValueError:
        raise InputError(
            f"unknown proxy role {roles[0]!r}; use GUARDIAN, POA or COURTDEP (or HCP)",
            field="extension",
        ) from None
    return _Proxy(role, values)


def _check_terms(consent: Consent) -> None:
    if consent.modifierExtension:
        raise InputError("modifier extensions are not understood", field="modifierExtension")
    if "patient-privacy" not in _codes(consent.scope, [SCOPE_SYSTEM]):
        raise InputError(f"scope must be patient-privacy ({SCOPE_SYSTEM})", field="scope")
    if not any("NDOP" in _codes(c, [CATEGORY_SYSTEM]) for c in consent.category):
        raise InputError(f"category must hold NDOP ({CATEGORY_SYSTEM})", field="category")
    provision = consent.provision
    if provision is not None and provision.type not in (None, "deny"):
        raise InputError(
            "the national data opt-out is a deny provision; status says whether it holds",
            field="provision.type",
        )


def change_from(resource: Mapping[str, Any]) -> ChoiceChange:
    """The change a client's ``Consent`` asks for, checked against the profile.

    Checks: a valid R4 ``Consent``; ``scope`` and ``category`` as this module writes
    them; ``status`` ``active`` or ``inactive``; the patient's NHS number (ten digits,
    valid); one OptOutSource code that a person can use (``OP``, ``PFSP``, ``FN``,
    ``CC``, ``PP``); a known proxy role if a proxy acted; and exactly one of
    ``performer`` (the patient) or the Proxy extension.  The register's own rules
    (age, capacity, death, the proxy's name and evidence…) are applied by
    :func:`~ndoo.register.set_choice`.  Errors are :class:`~ndoo.errors.InputError`.
    """
    consent = _parse(resource)
    _check_terms(consent)
    if consent.status not in STATE_OF:
        raise InputError("status is active (opted out) or inactive (opted in)", field="status")
    number = _nhs_number_of(consent.patient, "patient")
    channel = _channel(consent)
    proxy = _proxy_of(consent)
    performers = consent.performer or []
    if bool(performers) == (proxy is not None):
        raise InputError(
            "give exactly one of performer (the patient acted) or the Proxy extension "
            "(a proxy acted), not both and not neither",
            field="performer",
        )
    if performers and (
        len(performers) != 1 or _nhs_number_of(performers[0], "performer") != number
    ):
        raise InputError("the performer, when given, is the patient themselves", field="performer")
    case_reference = None
    if consent.sourceReference is not None:
        ident = consent.sourceReference.identifier
        if proxy is not None or ident is None or ident.system != CASE_SYSTEM:
            raise InputError(
                "sourceReference holds a self-set choice's case reference "
                f"({CASE_SYSTEM}); a proxy's goes in the NIC sub-extension",
                field="sourceReference",
            )
        case_reference = ident.value
    effective = _effective(consent.dateTime)
    if proxy is None:
        return ChoiceChange(
            number,
            STATE_OF[consent.status],
            channel,
            by_self=True,
            case_reference=case_reference,
            effective_at=effective,
        )
    return ChoiceChange(
        number,
        STATE_OF[consent.status],
        channel,
        proxy_role=proxy.role,
        proxy_name=proxy.name,
        proxy_evidence=proxy.evidence,
        case_reference=proxy.case_reference,
        effective_at=effective,
    )


# ---------------------------------------------------------------------------
# Writing


def create(
    db: Database, resource: Mapping[str, Any], *, actor: str, custodian: str = "X26"
) -> Consent:
    """Record a person's first choice from a posted ``Consent``; the new ``Consent``.

    Refused: an id sent by the client (:class:`ClientAssignedId`); a person who already
    has a ``Consent`` (:class:`DuplicateRejected`: update it instead); and ``inactive``
    for a person with no choice, who is opted in already and needs no record.
    """
    if isinstance(resource, Mapping) and resource.get("id") is not None:
        raise ClientAssignedId("Client is not permitted to assign an id", field="id")
    change = change_from(resource)
    events = history(db, change.nhs_number).events  # PersonNotFound for an unknown person
    duplicate = DuplicateRejected(
        "Consent already exists for this patient/policy/purpose; update it (PUT) instead"
    )
    if events:
        raise duplicate
    if change.state is State.IN:
        raise InputError(
            "this person has no recorded choice, so they are opted in already and nothing "
            "needs recording; create a Consent only to record an opt-out",
            field="status",
        )
    choice = set_choice(db, change, actor=actor)
    if not choice.changed:  # another request recorded the same choice first
        raise duplicate
    found = current(db, change.nhs_number, custodian=custodian)
    assert found is not None
    return found


def update(
    db: Database,
    logical_id: str,
    resource: Mapping[str, Any],
    *,
    actor: str,
    custodian: str = "X26",
) -> Consent:
    """Record the state a ``Consent`` sent with PUT asks for; the ``Consent`` as it stands.

    The body carries the same ``id`` and the same patient.  Sending the state the person
    already has records nothing (the register keeps only changes) and returns the
    ``Consent`` unchanged; the audit trail still has the request.
    """
    number = person_of(db, logical_id)
    sent = resource.get("id") if isinstance(resource, Mapping) else None
    if sent is None:
        raise InputError("an update carries the Consent's id", field="id")
    if sent != logical_id:
        raise InputError("the id in the body is not the id in the address", field="id")
    change = change_from(resource)
    if change.nhs_number != number:
        raise InputError("the patient of a Consent cannot change", field="patient")
    set_choice(db, change, actor=actor)
    return read(db, logical_id, custodian=custodian)


# ---------------------------------------------------------------------------
# Bundles


def searchset(found: Consent | None, *, base: str, self_url: str) -> Bundle:
    """A search result: at most one ``Consent`` (the one question has one answer)."""
    entries = []
    if found is not None:
        entries.append(
            {
                "fullUrl": f"{base}/Consent/{found.id}",
                "resource": found,
                "search": {"mode": "match"},
            }
        )
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "searchset",
            "total": len(entries),
            "link": [{"relation": "self", "url": self_url}],
            "entry": entries or None,
        }
    )


def history_bundle(found: Sequence[Consent], *, base: str, self_url: str) -> Bundle:
    """A history: one entry per version, newest first, as ``_history`` returns them."""
    entries = []
    for position, consent in enumerate(found):
        first = position == len(found) - 1
        entries.append(
            {
                "fullUrl": f"{base}/Consent/{consent.id}",
                "resource": consent,
                "request": {
                    "method": "POST" if first else "PUT",
                    "url": "Consent" if first else f"Consent/{consent.id}",
                },
                "response": {
                    "status": "201 Created" if first else "200 OK",
                    "lastModified": consent.meta.lastUpdated if consent.meta else None,
                },
            }
        )
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "history",
            "total": len(entries),
            "link": [{"relation": "self", "url": self_url}],
            "entry": entries or None,
        }
    )
