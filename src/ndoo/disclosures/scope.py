"""The scope engine: a disclosure's facts and a rule set in, an outcome with its reasons out.

The rules are read in order (:mod:`ndoo.disclosures.rules`).  For each rule, with
the facts known so far, the engine decides whether it *fires* (every fact it reads is
known and matches), *cannot* fire (a known fact rules it out), or is *open* (it might
fire once an unknown fact is answered).

- The first ``DO NOT APPLY`` rule that fires, with every fact it ``needs`` known,
  decides.  Each such rule is enough on its own, so an open rule before it cannot
  change the outcome.
- An ``APPLY`` rule decides only if no rule before it is still open or waiting for
  a fact: an unanswered question could still end the test.  The rule files keep every
  ``APPLY`` rule after every ``DO NOT APPLY`` rule.
- Otherwise more information is needed.  The missing facts are named in rule order,
  which is also the order the guided assessment asks them in.

Contradictory answers never decide: they make more information needed and are named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ndoo.disclosures.facts import BY_NAME
from ndoo.disclosures.record import Contradiction
from ndoo.disclosures.rules import Rule, RuleSet

APPLY = "APPLY"
DO_NOT_APPLY = "DO NOT APPLY"
MORE_INFORMATION = "MORE INFORMATION NEEDED"

FIRES, OPEN, CANNOT = "fires", "open", "cannot"


@dataclass(frozen=True)
class Reason:
    """One link in the chain: what was found, the step and rule, and the policy it rests on."""

    step: str
    rule: str | None
    text: str
    cite: str
    source: str
    unverified: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Outcome:
    """An assessment's result under one rule-set version."""

    outcome: str
    ruleset: str
    reasons: tuple[Reason, ...]
    missing: tuple[str, ...] = ()
    contradictions: tuple[str, ...] = ()
    facts: dict[str, str | None] = field(default_factory=dict)

    @property
    def decided(self) -> bool:
        return self.outcome != MORE_INFORMATION

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "ruleset": self.ruleset,
            "reasons": [r.as_dict() for r in self.reasons],
            "missing": list(self.missing),
            "contradictions": list(self.contradictions),
            "facts": dict(self.facts),
        }


def label(fact: str, value: str | None) -> str:
    """A fact's value as a person reads it."""
    if value is None:
        return "not recorded"
    name = "legal_bases" if fact == "legal_basis" else fact
    spec = BY_NAME.get(name)
    if spec is None or not spec.choices:
        return value
    text = spec.label_of(value)
    return text[0].lower() + text[1:] if fact in _IN_SENTENCE else text


_IN_SENTENCE = frozenset({"origin", "purpose", "legal_basis"})


def _render(text: str, facts: Mapping[str, str | None]) -> str:
    labels = {fact: label(fact, value) for fact, value in facts.items()}
    return text.format_map(_Labels(labels))


class _Labels(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def state(rule: Rule, facts: Mapping[str, str | None]) -> str:
    """Whether ``rule`` fires, cannot fire, or is open, given the facts known."""
    unknown = False
    for fact, values in rule.when.items():
        value = facts.get(fact)
        if value is None:
            unknown = True
        elif value not in values:
            return CANNOT
    for fact, values in rule.unless.items():
        value = facts.get(fact)
        if value is None:
            unknown = True
        elif value in values:
            return CANNOT
    return OPEN if unknown else FIRES


def assess(
    facts: Mapping[str, str | None],
    ruleset: RuleSet,
    contradictions: list[Contradiction] | tuple[Contradiction, ...] = (),
) -> Outcome:
    """The outcome for ``facts`` (``None`` is unknown) under ``ruleset``."""
    facts = dict(facts)
    notes: list[Reason] = []
    missing: list[str] = []
    blocked = False  # an earlier rule is open or waits for a fact
    decision: tuple[Rule, str] | None = None
    for rule in ruleset.rules:
        status = state(rule, facts)
        if rule.outcome == "NOTE":
            if status == FIRES:
                notes.append(_reason(rule, facts))
            continue
        if status == CANNOT:
            continue
        if status == OPEN:
            # The first unknown fact: the next question, not every one the rule reads.
            missing += [f for f in rule.facts if facts.get(f) is None][:1]
            blocked = True
            continue
        waiting = [f for f in rule.needs if facts.get(f) is None]
        if waiting:
            missing += waiting
            blocked = True
            continue
        if rule.outcome == DO_NOT_APPLY or not blocked:
            decision = (rule, rule.outcome)
            break
    contradicted = [c.message for c in contradictions]
    if contradicted:
        missing = [name for item in contradictions for name in item.fields] + missing
        decision = None
    chain = _chain(ruleset, facts, decision[0] if decision else None, notes)
    if decision is None:
        return Outcome(
            MORE_INFORMATION,
            ruleset.version,
            tuple(chain),
            tuple(dict.fromkeys(missing)),
            tuple(contradicted),
            facts,
        )
    return Outcome(decision[1], ruleset.version, tuple(chain), (), (), facts)


def _reason(rule: Rule, facts: Mapping[str, str | None]) -> Reason:
    return Reason(
        rule.step, rule.id, _render(rule.reason, facts), rule.cite, rule.source, rule.unverified
    )


def _chain(
    ruleset: RuleSet,
    facts: Mapping[str, str | None],
    decided_by: Rule | None,
    notes: list[Reason],
) -> list[Reason]:
    """The steps before the deciding one, in order, then the decision; notes where they fall."""
    chain: list[Reason] = []
    for step in ruleset.steps:
        if decided_by is not None and step.id == decided_by.step:
            chain += [n for n in notes if n.step == step.id]
            chain.append(_reason(decided_by, facts))
            break
        rules = [r for r in ruleset.rules if r.step == step.id and r.outcome != "NOTE"]
        states = [state(r, facts) for r in rules]
        if step.id == ruleset.rules[-1].step and decided_by is None:
            chain += [n for n in notes if n.step == step.id]
            break
        if any(s == OPEN for s in states) or any(facts.get(f) is None for f in step.facts[:1]):
            text = f"{step.title}: not settled yet."
            if decided_by is not None:
                text = f"{step.title}: not answered; not needed for this outcome."
            chain.append(Reason(step.id, None, text, step.cite, step.source))
        else:
            chain.append(Reason(step.id, None, _render(step.passed, facts), step.cite, step.source))
        chain += [n for n in notes if n.step == step.id]
    return chain
