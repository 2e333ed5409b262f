"""The scope rule sets: versioned data files, loaded and checked.

Each file in ``ndoo/data/scope/`` is one version of the rules, named after its
version (``2026.11.toml``).  A policy change is a new file: the old one stays, so an
assessment can always be shown with the rules it used.  :func:`load` refuses a file
whose shape is wrong: an unknown fact or value, a step that does not exist, or an
``APPLY`` rule before a ``DO NOT APPLY`` one.  The engine's soundness rests on
that order (:mod:`ndoo.disclosures.scope`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from ndoo.disclosures.facts import BY_NAME, LEGAL_BASES
from ndoo.errors import ConfigurationError, NotFound

OUTCOMES = ("APPLY", "DO NOT APPLY", "NOTE")

#: The facts the rules read, and their allowed values (``None``: free text).
FACT_VALUES: dict[str, frozenset[str] | None] = {
    "origin": frozenset(code for code, _ in BY_NAME["origin"].choices),
    "contains_cpi": frozenset({"yes", "no"}),
    "anonymised": frozenset({"yes", "no"}),
    "purpose": frozenset(code for code, _ in BY_NAME["purpose"].choices),
    "legal_basis": frozenset(code for code, _ in LEGAL_BASES),
    "statute": None,
    "cag_reference": None,
    "cag_condition": frozenset(code for code, _ in BY_NAME["cag_condition"].choices),
    "national_exemption": frozenset(code for code, _ in BY_NAME["national_exemption"].choices),
    "exemption_confirmed": frozenset({"yes", "no"}),
}


@dataclass(frozen=True)
class Step:
    """One question of the policy's ordered scope test."""

    id: str
    title: str
    passed: str
    cite: str
    source: str
    facts: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One row of the rule table."""

    id: str
    step: str
    when: dict[str, frozenset[str]]
    unless: dict[str, frozenset[str]]
    needs: tuple[str, ...]
    outcome: str
    reason: str
    cite: str
    source: str
    unverified: bool = False

    @property
    def facts(self) -> tuple[str, ...]:
        """Every fact that must be known before the rule can match or be ruled out."""
        return tuple(dict.fromkeys([*self.when, *self.unless]))


@dataclass(frozen=True)
class RuleSet:
    """One version of the scope rules."""

    version: str
    title: str
    policy: str
    effective: date
    steps: tuple[Step, ...]
    rules: tuple[Rule, ...]

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)


def versions() -> list[str]:
    """Every rule-set version shipped, oldest first."""
    folder = resources.files("ndoo").joinpath("data", "scope")
    names = (p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    return sorted((n for n in names if _VERSION.fullmatch(n)), key=_version_key)


#: A rule-set file is named after its version (``2026.11.toml``); other files there
#: (the library of common disclosures) are not rule sets.
_VERSION = re.compile(r"\d+(\.\d+)*")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def current_version() -> str:
    """The newest rule-set version: the one new assessments use."""
    return versions()[-1]


@cache
def load(version: str | None = None) -> RuleSet:
    """The rule set of ``version`` (default: the current one), checked."""
    version = version or current_version()
    if version not in versions():
        raise NotFound(f"there is no scope rule set {version!r}; known: {', '.join(versions())}")
    name = f"{version}.toml"
    text = resources.files("ndoo").joinpath("data", "scope", name).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"scope rules {name}: {exc}") from exc
    return parse(data, name)


def parse(data: dict[str, Any], name: str = "rules") -> RuleSet:
    """A rule set from its TOML data; a :class:`ConfigurationError` naming the first fault."""

    def fault(message: str) -> ConfigurationError:
        return ConfigurationError(f"scope rules {name}: {message}")

    try:
        steps = tuple(
            Step(
                id=s["id"],
                title=s["title"],
                passed=s["passed"],
                cite=s["cite"],
                source=s["source"],
                facts=tuple(s.get("facts", ())),
            )
            for s in data["step"]
        )
        rules = tuple(_rule(r, fault) for r in data["rule"])
        ruleset = RuleSet(
            version=str(data["version"]),
            title=data["title"],
            policy=data["policy"],
            effective=data["effective"],
            steps=steps,
            rules=rules,
        )
    except KeyError as exc:
        raise fault(f"missing key {exc.args[0]!r}") from None
    step_ids = [s.id for s in steps]
    if len(set(step_ids)) != len(step_ids):
        raise fault("two steps share an id")
    if len({r.id for r in rules}) != len(rules):
        raise fault("two rules share an id")
    for step in steps:
        for fact in step.facts:
            if fact not in FACT_VALUES:
                raise fault(f"step {step.id}: unknown fact {fact!r}")
    seen_apply = False
    for rule in rules:
        if rule.step not in step_ids:
            raise fault(f"rule {rule.id}: unknown step {rule.step!r}")
        if rule.outcome == "APPLY":
            seen_apply = True
        elif rule.outcome == "DO NOT APPLY" and seen_apply:
            raise fault(f"rule {rule.id}: a DO NOT APPLY rule cannot follow an APPLY rule")
    if not seen_apply:
        raise fault("no rule gives APPLY")
    return ruleset


def _rule(raw: dict[str, Any], fault: Any) -> Rule:
    rule_id = raw["id"]
    outcome = raw["outcome"]
    if outcome not in OUTCOMES:
        raise fault(f"rule {rule_id}: outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")

    def conditions(key: str) -> dict[str, frozenset[str]]:
        out: dict[str, frozenset[str]] = {}
        for fact, values in raw.get(key, {}).items():
            allowed = FACT_VALUES.get(fact, frozenset())
            if fact not in FACT_VALUES or allowed is None:
                raise fault(f"rule {rule_id}: {key} names {fact!r}, not a fact with values")
            unknown = set(values) - allowed
            if unknown:
                raise fault(f"rule {rule_id}: {fact} has no value {sorted(unknown)[0]!r}")
            out[fact] = frozenset(values)
        return out

    needs = tuple(raw.get("needs", ()))
    for fact in needs:
        if fact not in FACT_VALUES:
            raise fault(f"rule {rule_id}: needs names unknown fact {fact!r}")
    when = conditions("when")
    if not when:
        raise fault(f"rule {rule_id}: a rule needs at least one condition in 'when'")
    return Rule(
        id=rule_id,
        step=raw["step"],
        when=when,
        unless=conditions("unless"),
        needs=needs,
        outcome=outcome,
        reason=raw["reason"],
        cite=raw["cite"],
        source=raw["source"],
        unverified=bool(raw.get("unverified", False)),
    )
