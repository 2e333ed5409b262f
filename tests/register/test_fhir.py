"""The register's choices as FHIR R4 Consent resources, and a client's Consent read back."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.consent import Consent
from sqlalchemy import select

from ndoo.db.models import audit_entry
from ndoo.errors import (
    DeceasedPerson,
    InputError,
    InvalidNHSNumber,
    NotFound,
    PersonNotFound,
    ProxyNotPermitted,
    SelfNotPermitted,
)
from ndoo.register import Channel, ChoiceChange, ProxyRole, State, fhir, history, set_choice
from ndoo.register.choices import Event
from tests.conftest import ADULT, CHILD, ELDER, OTHER

WHEN = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
RECORDED = datetime(2024, 6, 1, 9, 31, 5, tzinfo=UTC)


def event(**changes: Any) -> Event:
    values: dict[str, Any] = {
        "id": 7,
        "state": State.OUT,
        "effective_at": WHEN,
        "recorded_at": RECORDED,
        "channel": Channel.OP,
        "actor": "SELF",
        "proxy_name": None,
        "proxy_evidence": None,
        "case_reference": None,
        **changes,
    }
    return Event(**values)


def as_json(found: Event, number: str = ADULT, **kw: Any) -> dict[str, Any]:
    return fhir.as_json(fhir.to_consent(number, found, logical_id="ndop-3", **kw))


def extension(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension", []) if e["url"] == url]


def proxy_parts(resource: dict[str, Any]) -> dict[str, Any]:
    (proxy,) = extension(resource, fhir.PROXY_EXTENSION)
    return {
        part["url"]: part.get("valueString") or part.get("valueCodeableConcept")
        for part in proxy["extension"]
    }


def posted(number: str = ADULT, **changes: Any) -> dict[str, Any]:
    """A Consent as a client would post it: the person opts out by phone."""
    patient = {"identifier": {"system": fhir.NHS_NUMBER_SYSTEM, "value": number}}
    body: dict[str, Any] = {
        "resourceType": "Consent",
        "extension": [
            {
                "url": fhir.SOURCE_EXTENSION,
                "valueCodeableConcept": {"coding": [{"system": fhir.SOURCE_SYSTEM, "code": "CC"}]},
            }
        ],
        "status": "active",
        "scope": {"coding": [{"system": fhir.SCOPE_SYSTEM, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": fhir.CATEGORY_SYSTEM, "code": "NDOP"}]}],
        "patient": patient,
        "dateTime": "2024-06-01T09:30:00Z",
        "performer": [copy.deepcopy(patient)],
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def with_proxy(body: dict[str, Any], role: str = "GUARDIAN", **parts: str | None) -> dict[str, Any]:
    system = fhir.LOCAL_PROXY_ROLE_SYSTEM if role == "HCP" else fhir.PROXY_ROLE_SYSTEM
    given = {"name": "Pat Parent", "evidence": "BIRTH-CERT-1", **parts}
    values = {k: v for k, v in given.items() if v is not None}
    proxy = {
        "url": fhir.PROXY_EXTENSION,
        "extension": [
            {"url": "role", "valueCodeableConcept": {"coding": [{"system": system, "code": role}]}},
            *({"url": k, "valueString": v} for k, v in values.items()),
        ],
    }
    body = {k: v for k, v in body.items() if k != "performer"}
    body["extension"] = [*body["extension"], proxy]
    return body


# ---------------------------------------------------------------------------
# Register -> FHIR: each element of the profile


def test_an_opt_out_is_an_active_r4_consent_for_the_nhs_number():
    resource = as_json(event())
    Consent.model_validate(resource)  # a valid R4 (R4B) Consent
    assert resource["resourceType"] == "Consent"
    assert resource["id"] == "ndop-3"
    assert resource["status"] == "active"
    assert resource["patient"]["identifier"] == {
        "system": "https://fhir.nhs.uk/Id/nhs-number",
        "value": ADULT,
    }
    assert resource["dateTime"] == "2024-06-01T09:30:00Z"
    assert resource["meta"] == {"versionId": "7", "lastUpdated": "2024-06-01T09:31:05Z"}


def test_an_opt_in_is_inactive():
    assert as_json(event(state=State.IN))["status"] == "inactive"


def test_scope_category_policy_purposes_and_custodian_follow_the_ndop_profile():
    resource = as_json(event(), custodian="8HV48")
    assert resource["scope"]["coding"][0]["code"] == "patient-privacy"
    assert resource["category"][0]["coding"][0] == {
        "system": "https://fhir.nhs.uk/STU3/CodeSystem/NDOP-Categories-1",
        "code": "NDOP",
        "display": "National Data Opt-out",
    }
    assert resource["policy"] == [
        {
            "authority": "https://www.gov.uk/",
            "uri": "https://www.gov.uk/government/uploads/system/uploads/attachment_data/"
            "file/535024/data-security-review.PDF",
        }
    ]
    provision = resource["provision"]
    assert provision["type"] == "deny"
    assert [(p["system"], p["code"]) for p in provision["purpose"]] == [
        ("https://fhir.nhs.uk/STU3/CodeSystem/NDOP-PreferenceCodes-1", "PLAN"),
        ("https://fhir.nhs.uk/STU3/CodeSystem/NDOP-PreferenceCodes-1", "RESCH"),
    ]
    assert resource["organization"][0]["identifier"] == {
        "system": "https://fhir.nhs.uk/Id/ods-organization-code",
        "value": "8HV48",
    }


@pytest.mark.parametrize(
    ("channel", "display"),
    [
        (Channel.OP, "Online Process"),
        (Channel.PFSP, "Patient Facing Service App"),
        (Channel.FN, "Form on NHS.UK"),
        (Channel.CC, "Call Centre"),
        (Channel.PP, "Paper Process"),
    ],
)
def test_the_channel_is_the_optoutsource_extension(channel, display):
    (source,) = extension(as_json(event(channel=channel)), fhir.SOURCE_EXTENSION)
    assert source["url"] == (
        "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-NDOP-OptOutSource-1"
    )
    assert source["valueCodeableConcept"]["coding"] == [
        {
            "system": "https://fhir.nhs.uk/STU3/CodeSystem/NDOP-OptOutSource-1",
            "code": channel.value,
            "display": display,
        }
    ]


def test_a_converted_type2_objection_shows_as_recorded_in_the_gp_system():
    (source,) = extension(as_json(event(channel=Channel.T2)), fhir.SOURCE_EXTENSION)
    assert source["valueCodeableConcept"]["coding"][0]["code"] == "GP"
    assert source["valueCodeableConcept"]["text"] == "Converted Type 2 objection"


def test_a_self_set_choice_has_the_patient_as_performer_and_informant_and_no_proxy():
    resource = as_json(event(case_reference="CASE-77"))
    assert resource["performer"] == [resource["patient"]]
    actor = resource["provision"]["actor"][0]
    assert actor["role"]["coding"][0]["code"] == "INF"
    assert actor["reference"] == resource["patient"]
    assert extension(resource, fhir.PROXY_EXTENSION) == []
    assert resource["sourceReference"]["identifier"] == {
        "system": fhir.CASE_SYSTEM,
        "value": "CASE-77",
    }


@pytest.mark.parametrize(
    ("role", "system", "display"),
    [
        ("GUARDIAN", "https://fhir.nhs.uk/STU3/ValueSet/NDOP-ProxyRole-1", "Guardian"),
        ("POA", "https://fhir.nhs.uk/STU3/ValueSet/NDOP-ProxyRole-1", "Power of Attorney"),
        (
            "COURTDEP",
            "https://fhir.nhs.uk/STU3/ValueSet/NDOP-ProxyRole-1",
            "Court Appointed Deputy",
        ),
        ("HCP", fhir.LOCAL_PROXY_ROLE_SYSTEM, ProxyRole.HCP.label),
    ],
)
def test_a_proxy_is_the_proxy_extension_with_role_and_case_reference(role, system, display):
    resource = as_json(
        event(actor=role, proxy_name="Pat Parent", proxy_evidence="EV-1", case_reference="12345-C")
    )
    assert "performer" not in resource
    assert "actor" not in resource["provision"]
    assert "sourceReference" not in resource
    parts = proxy_parts(resource)
    assert parts["role"]["coding"] == [{"system": system, "code": role, "display": display}]
    assert parts["NIC"] == "12345-C"
    assert parts["name"] == "Pat Parent"
    assert parts["evidence"] == "EV-1"


def test_a_proxy_without_a_case_reference_has_no_nic():
    parts = proxy_parts(as_json(event(actor="POA", proxy_name="A", proxy_evidence="B")))
    assert "NIC" not in parts


# ---------------------------------------------------------------------------
# FHIR -> register


@pytest.mark.parametrize(
    "found",
    [
        event(),
        event(state=State.IN, channel=Channel.PFSP),
        event(channel=Channel.PP, case_reference="PAPER-9"),
        event(actor="GUARDIAN", proxy_name="P", proxy_evidence="E", case_reference="12345-C"),
        event(actor="POA", channel=Channel.CC, proxy_name="P", proxy_evidence="E"),
        event(actor="COURTDEP", channel=Channel.FN, proxy_name="P", proxy_evidence="E"),
        event(actor="HCP", channel=Channel.PP, proxy_name="P", proxy_evidence="E"),
    ],
    ids=["out", "in", "paper-case", "guardian", "poa", "deputy", "hcp"],
)
def test_a_consent_reads_back_as_the_change_it_shows(found):
    resource = as_json(found)
    del resource["id"], resource["meta"]
    change = fhir.change_from(resource)
    assert change == ChoiceChange(
        ADULT,
        found.state,
        found.channel,
        by_self=found.actor == "SELF",
        proxy_role=None if found.actor == "SELF" else ProxyRole(found.actor),
        proxy_name=found.proxy_name,
        proxy_evidence=found.proxy_evidence,
        case_reference=found.case_reference,
        effective_at=WHEN,
    )


def test_the_historical_stu3_patient_reference_is_understood():
    reference = {"reference": f"https://demographics.spineservices.nhs.uk/STU3/Patient/{ADULT}"}
    change = fhir.change_from(posted(patient=reference, performer=[reference]))
    assert change.nhs_number == ADULT and change.by_self


def test_a_date_without_a_time_takes_effect_at_the_start_of_the_day():
    change = fhir.change_from(posted(dateTime="2024-06-01"))
    assert change.effective_at == datetime(2024, 6, 1, tzinfo=UTC)


def test_without_a_date_time_the_change_takes_effect_when_recorded():
    assert fhir.change_from(posted(dateTime=None)).effective_at is None


def test_both_performer_and_proxy_are_refused():
    body = with_proxy(posted())
    body["performer"] = posted()["performer"]
    with pytest.raises(InputError, match="exactly one of performer") as caught:
        fhir.change_from(body)
    assert caught.value.details["field"] == "performer"


def test_neither_performer_nor_proxy_is_refused():
    with pytest.raises(InputError, match="exactly one of performer"):
        fhir.change_from(posted(performer=None))


def _bad_source(code: str) -> dict[str, Any]:
    return posted(
        extension=[
            {
                "url": fhir.SOURCE_EXTENSION,
                "valueCodeableConcept": {"coding": [{"system": fhir.SOURCE_SYSTEM, "code": code}]},
            }
        ]
    )


def _other_patient_performer() -> dict[str, Any]:
    other = {"identifier": {"system": fhir.NHS_NUMBER_SYSTEM, "value": OTHER}}
    return posted(performer=[other])


def _two_sources() -> dict[str, Any]:
    body = posted()
    body["extension"] = body["extension"] * 2
    return body


def _two_roles() -> dict[str, Any]:
    body = with_proxy(posted())
    body["extension"][1]["extension"].insert(0, body["extension"][1]["extension"][0])
    return body


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        ({"resourceType": "Patient"}, InputError, "resourceType"),
        (posted(scope=None), InputError, None),
        (posted(status="draft"), InputError, "status"),
        (
            posted(scope={"coding": [{"system": fhir.SCOPE_SYSTEM, "code": "research"}]}),
            InputError,
            "scope",
        ),
        (posted(category=[{"coding": [{"code": "ICOL"}]}]), InputError, "category"),
        (posted(number="943 476 5919"), InvalidNHSNumber, "patient"),
        (posted(number="943-476-5919"), InvalidNHSNumber, "patient"),
        (posted(number="9434765918"), InvalidNHSNumber, "patient"),
        (posted(patient=None), InputError, "patient"),
        (
            posted(patient={"identifier": {"system": "https://example.org/id", "value": ADULT}}),
            InputError,
            "patient",
        ),
        (posted(extension=None), InputError, "extension"),
        (_two_sources(), InputError, "extension"),
        (_bad_source("GP"), InputError, "extension"),
        (_bad_source("T2"), InputError, "extension"),
        (_bad_source("NHS Choices"), InputError, "extension"),
        (with_proxy(posted(), role="MOTHER"), InputError, "extension"),
        (_two_roles(), InputError, "extension"),
        (_other_patient_performer(), InputError, "performer"),
        (
            posted(modifierExtension=[{"url": "https://example.org/x", "valueString": "y"}]),
            InputError,
            "modifierExtension",
        ),
        (posted(provision={"type": "permit"}), InputError, "provision.type"),
        (posted(dateTime="2024"), InputError, "dateTime"),
        (posted(dateTime="1 June 2024"), InputError, None),
        (
            with_proxy(
                posted(sourceReference={"identifier": {"system": fhir.CASE_SYSTEM, "value": "X"}})
            ),
            InputError,
            "sourceReference",
        ),
    ],
    ids=[
        "not-a-consent",
        "no-scope",
        "status-draft",
        "scope-research",
        "category-not-ndop",
        "number-with-spaces",
        "number-with-hyphens",
        "check-digit",
        "no-patient",
        "patient-not-nhs-number",
        "no-source",
        "two-sources",
        "source-gp",
        "source-t2",
        "source-unknown",
        "role-unknown",
        "two-roles",
        "performer-someone-else",
        "modifier-extension",
        "permit",
        "partial-date",
        "not-a-date",
        "proxy-case-in-source-reference",
    ],
)
def test_an_invalid_consent_is_refused_naming_the_field(body, error, field):
    with pytest.raises(error) as caught:
        fhir.change_from(body)
    if field is not None:
        assert caught.value.details.get("field") == field
    else:
        assert caught.value.details["problems"]


def test_the_refusal_does_not_echo_the_values_sent():
    with pytest.raises(InputError) as caught:
        fhir.change_from(posted(dateTime=f"{ADULT}"))
    assert ADULT not in str(caught.value.details)


@pytest.mark.parametrize(
    "text",
    [
        ADULT,
        "943 476 5919",
        f"https://fhir.nhs.uk/Id/nhs-number|{ADULT}",
        f"https://demographics.spineservices.nhs.uk/STU3/Patient/{ADULT}",
    ],
)
def test_a_search_names_the_patient_in_any_of_the_usual_forms(text):
    assert fhir.patient_number(text) == ADULT


@pytest.mark.parametrize("text", ["12345", f"https://example.org|{ADULT}", "9434765918"])
def test_a_search_for_something_else_is_refused(text):
    with pytest.raises(InputError):
        fhir.patient_number(text)


# ---------------------------------------------------------------------------
# With the register


def _opt_out(db, number: str = ADULT, at: datetime = WHEN, **kw: Any):
    values: dict[str, Any] = {"by_self": True, "effective_at": at, **kw}
    return set_choice(db, ChoiceChange(number, State.OUT, Channel.OP, **values), actor="test")


def test_a_person_who_never_chose_or_is_unknown_has_no_consent(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    assert fhir.current(db, ADULT) is None
    assert fhir.current(db, OTHER) is None


def test_the_current_consent_shows_the_newest_event_under_a_stable_id(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    first = _opt_out(db)
    found = fhir.current(db, ADULT)
    assert found is not None and found.status == "active"
    assert found.id == fhir.consent_id(first.event_id) != ADULT
    later = WHEN + timedelta(days=3)
    change = ChoiceChange(ADULT, State.IN, Channel.PFSP, by_self=True, effective_at=later)
    withdrawn = set_choice(db, change, actor="test")
    again = fhir.current(db, "943 476 5919")
    assert again is not None
    assert again.id == found.id  # the logical id never changes
    assert again.status == "inactive"
    assert again.meta.versionId == str(withdrawn.event_id)
    assert fhir.read(db, found.id).status == "inactive"


def test_a_late_back_dated_form_does_not_hide_the_choice_in_force(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    _opt_out(db)
    later = WHEN + timedelta(days=10)
    set_choice(
        db,
        ChoiceChange(ADULT, State.IN, Channel.OP, by_self=True, effective_at=later),
        actor="test",
    )
    # A paper opt-out dated before the withdrawal, recorded after it.
    set_choice(
        db,
        ChoiceChange(
            ADULT, State.OUT, Channel.PP, by_self=True, effective_at=WHEN - timedelta(days=5)
        ),
        actor="test",
    )
    found = fhir.current(db, ADULT)
    assert found is not None and found.status == "inactive"


def test_the_history_has_one_version_per_event_newest_recorded_first(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    first = _opt_out(db)
    later = WHEN + timedelta(days=3)
    set_choice(
        db,
        ChoiceChange(ADULT, State.IN, Channel.CC, by_self=True, effective_at=later),
        actor="test",
    )
    logical_id = fhir.consent_id(first.event_id)
    found = fhir.versions(db, logical_id)
    assert [c.status for c in found] == ["inactive", "active"]
    assert {c.id for c in found} == {logical_id}
    events = history(db, ADULT).events
    assert [c.meta.versionId for c in found] == [str(e.id) for e in reversed(events)]
    bundle = fhir.as_json(fhir.history_bundle(found, base="https://x/fhir", self_url="u"))
    assert bundle["type"] == "history" and bundle["total"] == 2
    assert [e["request"]["method"] for e in bundle["entry"]] == ["PUT", "POST"]


def test_only_the_first_event_id_names_a_consent(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    add_person(ELDER, born=date(1950, 1, 1))
    first = _opt_out(db)
    other = _opt_out(db, ELDER)
    assert fhir.person_of(db, fhir.consent_id(first.event_id)) == ADULT
    assert fhir.person_of(db, fhir.consent_id(other.event_id)) == ELDER
    second = set_choice(
        db,
        ChoiceChange(
            ADULT, State.IN, Channel.OP, by_self=True, effective_at=WHEN + timedelta(days=1)
        ),
        actor="test",
    )
    for wrong in (fhir.consent_id(second.event_id), "ndop-999", ADULT, "ndop-0", "ndop-x"):
        with pytest.raises(NotFound):
            fhir.person_of(db, wrong)


def test_create_records_the_choice_through_the_register_and_audits_it(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    found = fhir.create(db, posted(), actor="agent.amy", custodian="X26")
    assert found.status == "active"
    (only,) = history(db, ADULT).events
    assert (only.channel, only.actor, only.effective_at) == (Channel.CC, "SELF", WHEN)
    assert found.id == fhir.consent_id(only.id)
    with db.read() as conn:
        entry = conn.execute(
            select(audit_entry.c.actor, audit_entry.c.action, audit_entry.c.detail).order_by(
                audit_entry.c.seq.desc()
            )
        ).first()
    assert entry is not None
    assert (entry.actor, entry.action) == ("agent.amy", "register.set")
    assert ADULT not in entry.detail


def test_create_refuses_a_client_assigned_id(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    with pytest.raises(fhir.ClientAssignedId) as caught:
        fhir.create(db, posted(id="mine"), actor="t")
    assert caught.value.code == "MSG_RESOURCE_ID_FAIL"
    assert history(db, ADULT).events == []


def test_create_refuses_a_person_who_already_has_a_consent(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    _opt_out(db)
    with pytest.raises(fhir.DuplicateRejected) as caught:
        fhir.create(db, posted(), actor="t")
    assert caught.value.code == "DUPLICATE_REJECTED"
    assert len(history(db, ADULT).events) == 1


def test_create_refuses_an_opt_in_for_someone_opted_in_by_default(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    with pytest.raises(InputError, match="opted in already"):
        fhir.create(db, posted(status="inactive"), actor="t")
    assert history(db, ADULT).events == []


def test_create_for_an_unknown_person_is_refused(db):
    with pytest.raises(PersonNotFound):
        fhir.create(db, posted(), actor="t")


def test_the_registers_rules_apply_to_a_posted_consent(db, add_person):
    add_person(CHILD, born=date(2018, 1, 1))
    add_person(ELDER, born=date(1940, 1, 1), date_of_death=date(2024, 1, 1))
    with pytest.raises(SelfNotPermitted):
        fhir.create(db, posted(CHILD), actor="t")
    with pytest.raises(ProxyNotPermitted):  # a proxy must give name and evidence
        fhir.create(db, with_proxy(posted(CHILD), name=None, evidence=None), actor="t")
    with pytest.raises(DeceasedPerson):
        fhir.create(db, posted(ELDER), actor="t")
    made = fhir.create(db, with_proxy(posted(CHILD)), actor="t")
    assert made.status == "active"
    (only,) = history(db, CHILD).events
    assert (only.actor, only.proxy_name, only.proxy_evidence) == (
        "GUARDIAN",
        "Pat Parent",
        "BIRTH-CERT-1",
    )


def test_update_records_the_new_state(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    made = fhir.create(db, posted(), actor="t")
    body = fhir.as_json(made)
    body["status"] = "inactive"
    body["dateTime"] = "2024-07-01T10:00:00Z"
    updated = fhir.update(db, made.id, body, actor="t")
    assert updated.id == made.id and updated.status == "inactive"
    assert [e.state for e in history(db, ADULT).events] == [State.OUT, State.IN]


def test_an_update_to_the_same_state_records_nothing(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    made = fhir.create(db, posted(), actor="t")
    body = fhir.as_json(made)
    body["dateTime"] = "2024-07-01T10:00:00Z"
    again = fhir.update(db, made.id, body, actor="t")
    assert again.meta.versionId == made.meta.versionId
    assert len(history(db, ADULT).events) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"id": "ndop-999"}, "id"),
        (
            {"patient": {"identifier": {"system": fhir.NHS_NUMBER_SYSTEM, "value": ELDER}}},
            "patient",
        ),
    ],
)
def test_an_update_keeps_its_id_and_patient(db, add_person, change, field):
    add_person(ADULT, born=date(1980, 1, 1))
    add_person(ELDER, born=date(1950, 1, 1))
    made = fhir.create(db, posted(), actor="t")
    body = {**fhir.as_json(made), "status": "inactive", "dateTime": "2024-07-01T10:00:00Z"}
    body.pop("performer")
    body = {**body, **change}
    if "patient" in change:
        body["performer"] = [change["patient"]]
    else:
        body["performer"] = [body["patient"]]
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(InputError) as caught:
        fhir.update(db, made.id, body, actor="t")
    assert caught.value.details["field"] == field
    assert len(history(db, ADULT).events) == 1


def test_the_search_bundle_holds_at_most_one_consent(db, add_person):
    add_person(ADULT, born=date(1980, 1, 1))
    empty = fhir.as_json(fhir.searchset(None, base="https://x/fhir", self_url="https://x/s"))
    assert empty["type"] == "searchset" and empty["total"] == 0 and "entry" not in empty
    made = fhir.create(db, posted(), actor="t")
    full = fhir.as_json(fhir.searchset(made, base="https://x/fhir", self_url="https://x/s"))
    assert full["total"] == 1
    (entry,) = full["entry"]
    assert entry["fullUrl"] == f"https://x/fhir/Consent/{made.id}"
    assert entry["search"] == {"mode": "match"}
