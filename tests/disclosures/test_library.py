"""The built-in library of common disclosures: each case gives its outcome through the
register and the scope rules, and the library file is checked as it loads."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ndoo.disclosures import library, record, rules, scope
from ndoo.errors import ConfigurationError, NotFound

APPLY, DO_NOT_APPLY, MORE = scope.APPLY, scope.DO_NOT_APPLY, scope.MORE_INFORMATION

#: What the policy summary says of each case: the outcome and, where the policy leaves
#: a point unsettled, the fact to ask.  Written from the policy, not from the rules.
POLICY: dict[str, tuple[str, tuple[str, ...]]] = {
    "national-clinical-audit-s251": (APPLY, ()),
    "national-clinical-audit-cag-exempt": (DO_NOT_APPLY, ()),
    "childrens-health-national-audit": (APPLY, ()),
    "local-clinical-audit": (DO_NOT_APPLY, ()),
    "cqc-inspection": (DO_NOT_APPLY, ()),
    "coroner-request": (DO_NOT_APPLY, ()),
    "nhs-counter-fraud": (DO_NOT_APPLY, ()),
    "fitness-to-practise": (DO_NOT_APPLY, ()),
    "notifiable-disease-notification": (DO_NOT_APPLY, ()),
    "abortion-notification": (DO_NOT_APPLY, ()),
    "nhs-england-direction": (DO_NOT_APPLY, ()),
    "safeguarding-referral": (DO_NOT_APPLY, ()),
    "communicable-disease-copi-regulation-3": (DO_NOT_APPLY, ()),
    "national-cancer-registration": (DO_NOT_APPLY, ()),
    "congenital-anomalies-rare-diseases-registration": (DO_NOT_APPLY, ()),
    "ons-official-statistics": (DO_NOT_APPLY, ()),
    "nhsbsa-prescription-charges": (DO_NOT_APPLY, ()),
    "opensafely": (DO_NOT_APPLY, ()),
    "patient-experience-survey": (MORE, ("exemption_confirmed",)),
    "no-nhs-number-disproportionate": (DO_NOT_APPLY, ()),
    "invoice-validation-non-contracted": (DO_NOT_APPLY, ()),
    "invoice-validation-contracted": (MORE, ("cag_condition",)),
    "risk-stratification-case-finding": (MORE, ("cag_condition",)),
    "risk-stratification-commissioning": (MORE, ("cag_condition",)),
    "risk-stratification-standard-condition": (APPLY, ()),
    "commissioning-s251": (APPLY, ()),
    "research-explicit-consent": (DO_NOT_APPLY, ()),
    "research-s251-regulation-5": (APPLY, ()),
    "cancer-research-regulation-2": (APPLY, ()),
    "deceased-patients-research": (APPLY, ()),
    "direct-care-referral": (DO_NOT_APPLY, ()),
    "anonymised-aggregate-statistics": (DO_NOT_APPLY, ()),
    "childrens-social-care": (DO_NOT_APPLY, ()),
    "provider-in-wales": (DO_NOT_APPLY, ()),
}

NAMES = [c.name for c in library.cases()]


def assess(case: library.Case) -> scope.Outcome:
    disclosure, problems = record.parse(case.values)
    assert disclosure is not None, problems
    facts = record.scope_facts(disclosure)
    return scope.assess(facts, rules.load(), record.contradictions(disclosure))


@pytest.mark.parametrize("name", NAMES)
def test_each_case_gives_its_expected_outcome(name):
    case = library.case(name)
    outcome = assess(case)
    assert (outcome.outcome, outcome.missing) == (case.expected, case.missing)
    assert outcome.contradictions == ()


@pytest.mark.parametrize("name", NAMES)
def test_each_case_gives_a_chain_of_reasons_with_sources(name):
    outcome = assess(library.case(name))
    assert outcome.reasons
    for reason in outcome.reasons:
        assert reason.cite.strip(), reason
        assert reason.source.startswith("https://"), reason


@pytest.mark.parametrize("name", [n for n in NAMES if library.case(n).expected != MORE])
def test_each_decision_ends_with_the_rule_that_decided(name):
    outcome = assess(library.case(name))
    decider = outcome.reasons[-1]
    assert decider.rule is not None
    # A decision never rests on a point the policy leaves unsettled.
    assert not decider.unverified


@pytest.mark.parametrize("name", [n for n in NAMES if library.case(n).expected == MORE])
def test_each_case_needing_more_information_leaves_those_facts_unanswered(name):
    case = library.case(name)
    disclosure = case.disclosure()
    for fact in case.missing:
        field = record.field_for_fact(fact, disclosure)
        assert not case.values.get(field, "").strip(), field


def test_the_library_holds_the_cases_the_policy_describes_with_its_outcomes():
    assert sorted(NAMES) == sorted(POLICY)
    for name, (expected, missing) in POLICY.items():
        case = library.case(name)
        assert (case.expected, case.missing) == (expected, missing), name


def test_every_outcome_is_represented():
    assert {c.expected for c in library.cases()} == {APPLY, DO_NOT_APPLY, MORE}


def test_names_and_references_are_unique():
    cases = library.cases()
    assert len({c.name for c in cases}) == len(cases)
    # Several cases can be added to one register without clashing.
    assert len({c.values["reference"] for c in cases}) == len(cases)


@pytest.mark.parametrize("name", NAMES)
def test_each_case_is_a_complete_register_entry_with_its_sources(name):
    case = library.case(name)
    disclosure = case.disclosure()
    assert disclosure.reference == case.values["reference"]
    assert disclosure.title and disclosure.recipient
    assert case.title.strip() and case.description.strip()
    assert case.description.count(". ") + 1 <= 2, "one or two sentences"
    assert case.sources
    for source in case.sources:
        assert source.section.startswith("§")
        assert source.url.startswith("https://")


def test_a_case_is_found_by_name():
    case = library.case("cqc-inspection")
    assert case.expected == DO_NOT_APPLY
    assert case.values["statute"] == "Health and Social Care Act 2008"


def test_an_unknown_case_names_the_known_ones():
    with pytest.raises(NotFound) as raised:
        library.case("tea-break")
    message = str(raised.value)
    assert "'tea-break'" in message
    for name in ("cqc-inspection", "opensafely", "research-s251-regulation-5"):
        assert name in message


def test_changing_a_case_does_not_change_the_library():
    library.cases()[0].values["recipient"] = "Someone else"
    library.case(NAMES[0]).values["recipient"] = "Someone else"
    assert library.cases()[0].values["recipient"] != "Someone else"


# ---------------------------------------------------------------------------
# The library file is checked as it loads

GOOD: dict[str, Any] = {
    "name": "research-s251",
    "title": "Research under section 251",
    "description": "Data for a study under section 251.",
    "expected": "APPLY",
    "sources": [{"section": "§3 Section 251", "url": "https://example.org/policy"}],
    "values": {
        "reference": "RESEARCH-S251",
        "title": "Study extract",
        "recipient": "University research team",
        "purpose": "Research",
    },
}


def test_a_well_formed_library_parses():
    (case,) = library.parse({"case": [GOOD]}, "mine.toml")
    assert case.name == "research-s251"
    assert case.missing == ()
    assert case.sources == (library.Source("§3 Section 251", "https://example.org/policy"),)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"name": "Research S251"}, "lower-case"),
        ({"expected": "MAYBE"}, "'MAYBE'"),
        ({"expected": "MORE INFORMATION NEEDED"}, "names the missing facts"),
        ({"missing": ["cag_condition"]}, "has no missing facts"),
        ({"missing": ["weather"]}, "'weather'"),
        ({"sources": []}, "sources"),
        ({"sources": [{"section": "Appendix 5", "url": "https://example.org"}]}, "§"),
        ({"sources": [{"section": "§4", "url": "http://example.org"}]}, "https"),
        ({"values": {**GOOD["values"], "colour": "red"}}, "'colour'"),
        ({"values": {**GOOD["values"], "purpose": "Tea"}}, "'Tea' is not one of"),
        ({"values": {**GOOD["values"], "reference": ""}}, "Reference is required"),
        ({"values": {**GOOD["values"], "contains_cpi": True}}, "must be text"),
        ({"title": ""}, "title"),
        ({"colour": "red"}, "'colour'"),
    ],
)
def test_a_malformed_case_is_refused_naming_it(change, named):
    broken = {**copy.deepcopy(GOOD), **change}
    with pytest.raises(ConfigurationError) as raised:
        library.parse({"case": [broken]}, "mine.toml")
    message = str(raised.value)
    assert "mine.toml" in message
    assert named in message
    if isinstance(broken["name"], str):
        assert repr(broken["name"]) in message


def test_two_cases_with_one_name_are_refused():
    with pytest.raises(ConfigurationError, match="two cases share the name"):
        library.parse({"case": [GOOD, GOOD]}, "mine.toml")


def test_a_library_without_cases_is_refused():
    with pytest.raises(ConfigurationError, match="no \\[\\[case\\]\\] entries"):
        library.parse({}, "mine.toml")


def test_the_json_form_holds_everything_a_case_says():
    case = library.case("patient-experience-survey")
    data = case.as_dict()
    assert data["name"] == case.name and data["expected"] == MORE
    assert data["missing"] == ["exemption_confirmed"]
    assert data["values"] == case.values
    assert data["sources"][0]["url"].startswith("https://")
    assert json.loads(json.dumps(data)) == data
