"""The scope engine against the policy: every complete set of answers, partial answers,
contradictory answers, and the checks on the rule files."""

from __future__ import annotations

import copy
import itertools
import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndoo.disclosures import record, rules, scope
from ndoo.disclosures.facts import BY_NAME
from ndoo.errors import ConfigurationError

RULES = rules.load()


def codes(field: str) -> tuple[str, ...]:
    return tuple(code for code, _ in BY_NAME[field].choices)


#: Every categorical scope fact and its values.
DOMAINS: dict[str, tuple[str, ...]] = {
    "origin": codes("origin"),
    "contains_cpi": codes("contains_cpi"),
    "anonymised": codes("anonymised"),
    "purpose": codes("purpose"),
    "legal_basis": codes("legal_bases"),
    "cag_condition": codes("cag_condition"),
    "national_exemption": codes("national_exemption"),
    "exemption_confirmed": codes("exemption_confirmed"),
}
#: The free-text scope facts, as answered.
TEXT: dict[str, str] = {
    "statute": "Health and Social Care Act 2008",
    "cag_reference": "CAG 7-04(a)/2013",
}

Facts = dict[str, str | None]


# ---------------------------------------------------------------------------
# The policy, encoded independently of the rule table (policy summary §2 and §6)

ENGLAND = "england_health_adult_social_care"
#: §2 Q2: individual care, as the NDG defines it, includes local clinical audit.
INDIVIDUAL_CARE = frozenset({"direct_care", "local_clinical_audit"})
#: §6: non-contracted invoice validation is exempt.
EXEMPT_PURPOSES = frozenset({"invoice_validation_non_contracted"})
#: §3: the opt-out applies only under section 251, Regulation 2 or 5.
SECTION_251 = frozenset({"s251_regulation_2", "s251_regulation_5"})
#: §6: the survey exemption is unsettled, so it counts only once confirmed.
SURVEY = "patient_experience_survey"


def no_national_exemption(facts: Mapping[str, str | None]) -> bool:
    exemption = facts["national_exemption"]
    if exemption == SURVEY:
        return facts["exemption_confirmed"] != "yes"
    return exemption == "none"


def policy_outcome(facts: Mapping[str, str | None]) -> str:
    """The summary rule: applied only when every condition holds; otherwise not applied."""
    applied = (
        facts["origin"] == ENGLAND
        and facts["contains_cpi"] == "yes"
        and facts["anonymised"] == "no"
        and facts["purpose"] not in INDIVIDUAL_CARE
        and facts["purpose"] not in EXEMPT_PURPOSES
        and facts["legal_basis"] in SECTION_251
        and facts["cag_condition"] == "standard_condition"
        and no_national_exemption(facts)
    )
    return scope.APPLY if applied else scope.DO_NOT_APPLY


def test_the_encoding_names_codes_the_register_uses():
    # A renamed code would make the encoding above silently vacuous.
    assert ENGLAND in DOMAINS["origin"]
    assert set(DOMAINS["purpose"]) >= INDIVIDUAL_CARE | EXEMPT_PURPOSES
    assert set(DOMAINS["legal_basis"]) >= SECTION_251
    assert "standard_condition" in DOMAINS["cag_condition"]
    assert {"none", SURVEY} <= set(DOMAINS["national_exemption"])


def test_the_domains_cover_every_fact_the_rules_read():
    assert set(DOMAINS) | set(TEXT) == set(rules.FACT_VALUES)
    for fact, values in DOMAINS.items():
        assert frozenset(values) == rules.FACT_VALUES[fact], fact
    for fact in TEXT:
        assert rules.FACT_VALUES[fact] is None


# ---------------------------------------------------------------------------
# Every complete set of answers


def complete(values: tuple[str, ...]) -> Facts:
    return {**dict(zip(DOMAINS, values, strict=True)), **TEXT}


@cache
def complete_outcomes() -> dict[tuple[str, ...], scope.Outcome]:
    """The engine's outcome for every complete combination of the categorical facts."""
    return {
        values: scope.assess(complete(values), RULES)
        for values in itertools.product(*DOMAINS.values())
    }


def test_every_complete_set_of_answers_is_decided_as_the_policy_says():
    outcomes = complete_outcomes()
    assert len(outcomes) == 3 * 2 * 2 * 12 * 6 * 2 * 8 * 2
    undecided = [v for v, o in outcomes.items() if not o.decided]
    assert not undecided, f"{len(undecided)} undecided, e.g. {complete(undecided[0])}"
    wrong = [
        (complete(v), o.outcome)
        for v, o in outcomes.items()
        if o.outcome != policy_outcome(complete(v))
    ]
    assert not wrong, f"{len(wrong)} disagree with the policy, e.g. {wrong[0]}"


def test_every_complete_decision_gives_its_reasons_with_sources():
    for values, outcome in complete_outcomes().items():
        assert outcome.reasons, complete(values)
        decider = outcome.reasons[-1]
        assert decider.rule is not None and not decider.unverified, complete(values)
        for reason in outcome.reasons:
            assert reason.cite and reason.source.startswith("https://"), reason


def test_opt_outs_apply_in_exactly_the_cases_the_summary_rule_lists():
    applied = [o for o in complete_outcomes().values() if o.outcome == scope.APPLY]
    # 9 purposes beyond individual care and not exempt, 2 regulations, and three ways
    # of having no national exemption (none, either answer; an unconfirmed survey).
    assert len(applied) == 9 * 2 * 3
    for outcome in applied:
        assert outcome.reasons[-1].step == "Q5"


# ---------------------------------------------------------------------------
# Partial answers: a decision never depends on a question not yet answered


def completions(facts: Facts) -> list[tuple[str, ...]]:
    choices = [(v,) if (v := facts[f]) is not None else values for f, values in DOMAINS.items()]
    return list(itertools.product(*choices))


@st.composite
def partial_facts(draw: st.DrawFn) -> Facts:
    answers = {fact: draw(st.sampled_from(values)) for fact, values in DOMAINS.items()}
    facts: Facts = {**answers, **TEXT}
    unknown = draw(st.sets(st.sampled_from(sorted(facts))))
    return {fact: None if fact in unknown else value for fact, value in facts.items()}


def check_partial(facts: Facts) -> None:
    outcome = scope.assess(facts, RULES)
    if outcome.decided:
        table = complete_outcomes()
        for values in completions(facts):
            assert table[values].outcome == outcome.outcome, (facts, complete(values))
            assert policy_outcome(complete(values)) == outcome.outcome, complete(values)
    else:
        assert outcome.missing, facts
        for fact in outcome.missing:
            assert fact in rules.FACT_VALUES and facts[fact] is None, (fact, facts)


@settings(max_examples=500, deadline=None)
@given(partial_facts())
def test_a_decision_on_partial_answers_holds_whatever_the_rest_turn_out_to_be(facts):
    check_partial(facts)


@pytest.mark.parametrize("unknown", [*DOMAINS, *TEXT])
def test_leaving_one_answer_out_of_an_applying_case_never_changes_the_decision(unknown):
    for values, outcome in complete_outcomes().items():
        if outcome.outcome == scope.APPLY:
            check_partial({**complete(values), unknown: None})


def test_with_nothing_answered_the_first_question_is_the_origin():
    outcome = scope.assess(dict.fromkeys(rules.FACT_VALUES), RULES)
    assert outcome.outcome == scope.MORE_INFORMATION
    assert outcome.missing[0] == "origin"


def test_a_decision_waits_for_the_statute_or_the_cag_reference_it_cites():
    facts = complete(("england_health_adult_social_care", "yes", "no", "research",
                      "legal_requirement", "standard_condition", "none", "no"))  # fmt: skip
    outcome = scope.assess({**facts, "statute": None}, RULES)
    assert (outcome.outcome, outcome.missing) == (scope.MORE_INFORMATION, ("statute",))
    facts = {**facts, "legal_basis": "s251_regulation_5", "cag_reference": None}
    outcome = scope.assess(facts, RULES)
    assert (outcome.outcome, outcome.missing) == (scope.MORE_INFORMATION, ("cag_reference",))


# ---------------------------------------------------------------------------
# Contradictory answers are asked about, never resolved by guessing

STUDY = {
    "reference": "STUDY-1",
    "title": "Outcomes study extract",
    "recipient": "University research team",
    "purpose": "Research",
    "contains_cpi": "Yes",
    "anonymised": "No",
    "origin": "England",
    "national_exemption": "None",
}
S251 = {
    "legal_bases": "Section 251 support under Regulation 5",
    "cag_reference": "21/CAG/0042",
    "cag_condition": "Standard condition",
}


def assessed(values: Mapping[str, str]) -> tuple[record.Disclosure, scope.Outcome]:
    disclosure, problems = record.parse(values)
    assert disclosure is not None, problems
    facts = record.scope_facts(disclosure)
    return disclosure, scope.assess(facts, RULES, record.contradictions(disclosure))


def test_consent_and_section_251_without_the_basis_for_the_flow_asks_which():
    values = {**STUDY, **S251, "legal_bases": "Explicit consent; s251 reg 5"}
    _, outcome = assessed(values)
    assert outcome.outcome == scope.MORE_INFORMATION
    assert outcome.missing[0] == "basis_for_flow"
    assert outcome.contradictions == (
        "Explicit consent and Section 251 support under Regulation 5 are both given as the "
        "legal basis; say which one covers this flow",
    )


def test_saying_which_basis_covers_the_flow_settles_it():
    values = {**STUDY, **S251, "legal_bases": "Explicit consent; s251 reg 5"}
    _, outcome = assessed({**values, "basis_for_flow": "s251 reg 5"})
    assert outcome.outcome == scope.APPLY
    consent = {**values, "basis_for_flow": "Explicit consent", "cag_reference": "",
               "cag_condition": ""}  # fmt: skip
    _, outcome = assessed(consent)
    assert outcome.outcome == scope.DO_NOT_APPLY


def test_a_cag_approval_recorded_with_a_consent_basis_is_asked_about():
    disclosure, outcome = assessed({**STUDY, **S251, "legal_bases": "Explicit consent"})
    assert outcome.outcome == scope.MORE_INFORMATION
    assert {"legal_bases", "cag_reference", "cag_condition"} <= set(outcome.missing)
    assert len(outcome.contradictions) == 1
    assert "a CAG approval is recorded" in outcome.contradictions[0]
    assert "Explicit consent" in outcome.contradictions[0]
    # Without the contradiction, consent alone would have decided.
    assert scope.assess(record.scope_facts(disclosure), RULES).outcome == scope.DO_NOT_APPLY


def test_confidential_and_anonymised_at_once_is_asked_about():
    values = {**STUDY, **S251, "anonymised": "Yes"}
    disclosure, outcome = assessed(values)
    assert outcome.outcome == scope.MORE_INFORMATION
    assert outcome.missing[:2] == ("contains_cpi", "anonymised")
    assert outcome.contradictions == (
        "data anonymised to the ICO standard is not confidential patient information, "
        "yet both are answered yes",
    )
    assert scope.assess(record.scope_facts(disclosure), RULES).outcome == scope.DO_NOT_APPLY


def test_a_basis_for_the_flow_that_is_not_listed_is_asked_about():
    values = {**STUDY, **S251, "basis_for_flow": "Explicit consent"}
    _, outcome = assessed(values)
    assert outcome.outcome == scope.MORE_INFORMATION
    assert {"legal_bases", "basis_for_flow"} <= set(outcome.missing)
    assert any("is not one of the legal bases listed" in c for c in outcome.contradictions)


def test_a_contradiction_still_explains_itself():
    _, outcome = assessed({**STUDY, **S251, "anonymised": "Yes"})
    for reason in outcome.reasons:
        assert reason.cite and reason.source.startswith("https://"), reason


# ---------------------------------------------------------------------------
# The rule files

NAME = "broken.toml"


def table() -> dict[str, Any]:
    text = (
        resources.files("ndoo")
        .joinpath("data", "scope", f"{rules.current_version()}.toml")
        .read_text(encoding="utf-8")
    )
    return tomllib.loads(text)


def rule_in(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in data["rule"] if r["id"] == rule_id)


def test_the_shipped_table_parses_to_the_loaded_rules():
    assert rules.parse(table(), NAME) == RULES


def _unknown_fact(data: dict[str, Any]) -> None:
    rule_in(data, "Q1.not-cpi")["when"] = {"blood_group": ["O"]}


def _unknown_value(data: dict[str, Any]) -> None:
    rule_in(data, "Q1.not-cpi")["when"] = {"contains_cpi": ["maybe"]}


def _unknown_fact_in_unless(data: dict[str, Any]) -> None:
    rule_in(data, "Q5.section-251")["unless"] = {"colour": ["red"]}


def _unknown_fact_in_needs(data: dict[str, Any]) -> None:
    rule_in(data, "Q3.legal-requirement")["needs"] = ["statue"]


def _free_text_in_when(data: dict[str, Any]) -> None:
    rule_in(data, "Q3.legal-requirement")["when"] = {"statute": ["Coroners and Justice Act"]}


def _apply_before_do_not_apply(data: dict[str, Any]) -> None:
    apply = rule_in(data, "Q5.section-251")
    data["rule"].remove(apply)
    at = data["rule"].index(rule_in(data, "Q4.opensafely"))
    data["rule"].insert(at, apply)


def _unknown_step(data: dict[str, Any]) -> None:
    rule_in(data, "Q4.opensafely")["step"] = "Q9"


def _unknown_outcome(data: dict[str, Any]) -> None:
    rule_in(data, "Q4.opensafely")["outcome"] = "MAYBE"


def _no_condition(data: dict[str, Any]) -> None:
    rule_in(data, "Q4.opensafely")["when"] = {}


@pytest.mark.parametrize(
    ("break_it", "named"),
    [
        (_unknown_fact, ["Q1.not-cpi", "'blood_group'"]),
        (_unknown_value, ["Q1.not-cpi", "'maybe'"]),
        (_unknown_fact_in_unless, ["Q5.section-251", "'colour'"]),
        (_unknown_fact_in_needs, ["Q3.legal-requirement", "'statue'"]),
        (_free_text_in_when, ["Q3.legal-requirement", "'statute'"]),
        (_apply_before_do_not_apply, ["Q4.opensafely", "cannot follow an APPLY rule"]),
        (_unknown_step, ["Q4.opensafely", "'Q9'"]),
        (_unknown_outcome, ["Q4.opensafely", "'MAYBE'"]),
        (_no_condition, ["Q4.opensafely", "'when'"]),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_a_malformed_table_is_refused_naming_the_rule(
    break_it: Callable[[dict[str, Any]], None], named: list[str]
):
    data = copy.deepcopy(table())
    break_it(data)
    with pytest.raises(ConfigurationError) as raised:
        rules.parse(data, NAME)
    message = str(raised.value)
    assert NAME in message
    for part in named:
        assert part in message


def test_a_table_with_no_apply_rule_is_refused():
    data = copy.deepcopy(table())
    data["rule"] = [r for r in data["rule"] if r["outcome"] != "APPLY"]
    with pytest.raises(ConfigurationError, match="no rule gives APPLY"):
        rules.parse(data, NAME)


def test_every_shipped_rule_set_version_loads():
    assert rules.versions(), "no rule set shipped"
    for version in rules.versions():
        assert rules.load(version).version == version
