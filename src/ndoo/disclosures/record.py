"""One disclosure as a value: parsed from text, checked, and turned into scope facts.

:func:`parse` turns a mapping of field name to text, as typed or as read from a
spreadsheet, into a :class:`Disclosure`.  It collects every problem as a
:class:`Problem` naming its field.  :func:`contradictions` finds answers that cannot
all be true.  Contradictions are reported and never resolved by guessing: the
assessment asks about them instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from typing import Any

from ndoo.disclosures.facts import BY_NAME, FIELDS, S251_BASES
from ndoo.errors import InputError
from ndoo.uphold.cacheentry import check_cohort

REFERENCE_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./ "
)


@dataclass(frozen=True)
class Disclosure:
    """A data use or data flow, as the register holds it.  ``None`` is unknown."""

    reference: str
    title: str
    recipient: str
    purpose: str | None = None
    contains_cpi: str | None = None
    anonymised: str | None = None
    origin: str | None = None
    legal_bases: tuple[str, ...] = ()
    basis_for_flow: str | None = None
    statute: str | None = None
    cag_reference: str | None = None
    cag_condition: str | None = None
    national_exemption: str | None = None
    exemption_confirmed: str | None = None
    frequency: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    owner: str | None = None
    notes: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Codes, ISO dates and a list of legal bases: the JSON form (and the stored one)."""
        out = asdict(self)
        out["legal_bases"] = list(self.legal_bases)
        for name in ("start_date", "end_date"):
            value = out[name]
            out[name] = value.isoformat() if value is not None else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Disclosure:
        """The inverse of :meth:`as_dict` (trusted, already checked data)."""
        values: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        values["legal_bases"] = tuple(values["legal_bases"] or ())
        for name in ("start_date", "end_date"):
            if isinstance(values[name], str):
                values[name] = date.fromisoformat(values[name])
        return cls(**values)

    def with_values(self, **changes: Any) -> Disclosure:
        return replace(self, **changes)

    def active_on(self, day: date) -> bool:
        """Whether the flow runs on ``day`` (started, not ended; no start date means running)."""
        started = self.start_date is None or self.start_date <= day
        ended = self.end_date is not None and self.end_date < day
        return started and not ended


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of a disclosure."""

    field: str
    message: str

    def column(self) -> str:
        return BY_NAME[self.field].column if self.field in BY_NAME else self.field


@dataclass(frozen=True)
class Contradiction:
    """Answers that cannot all be true; ``fields`` are the ones to look at again."""

    fields: tuple[str, ...]
    message: str


def parse(values: Mapping[str, str | None]) -> tuple[Disclosure | None, list[Problem]]:
    """A disclosure from text values by field name; every problem found, by field."""
    problems: list[Problem] = []
    parsed: dict[str, Any] = {}
    for spec in FIELDS:
        raw = values.get(spec.name)
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            if spec.required:
                problems.append(Problem(spec.name, f"{spec.column} is required"))
            parsed[spec.name] = () if spec.kind == "choices" else None
            continue
        try:
            parsed[spec.name] = parse_value(spec.name, text)
        except ValueError as exc:
            problems.append(Problem(spec.name, f"{spec.column}: {exc}"))
    if not problems:
        problems += _problems(parsed)
    if problems:
        return None, problems
    return Disclosure(**parsed), []


def parse_value(name: str, text: str) -> Any:
    """The value of field ``name`` written as ``text``; ``ValueError`` saying what is wrong."""
    spec = BY_NAME[name]
    if spec.kind == "text":
        if len(text) > spec.max_length:
            raise ValueError(f"longer than {spec.max_length} characters")
        if not text.isprintable():
            raise ValueError("holds control characters")
        return text
    if spec.kind in ("choice", "yes_no"):
        return spec.parse_choice(text)
    if spec.kind == "choices":
        codes: list[str] = []
        for part in text.replace(",", ";").split(";"):
            if part.strip():
                code = spec.parse_choice(part)
                if code not in codes:
                    codes.append(code)
        return tuple(codes)
    if spec.kind == "date":
        return parse_date(text)
    raise AssertionError(f"unknown field kind {spec.kind}")


def parse_date(text: str) -> date:
    """A date written as YYYY-MM-DD, or day first as DD/MM/YYYY (as UK spreadsheets save it)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    match = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text)
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _problems(parsed: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    reference = str(parsed["reference"])
    try:
        check_cohort(reference)
    except InputError as exc:
        problems.append(Problem("reference", str(exc)))
    else:
        if not set(reference) <= REFERENCE_CHARACTERS:
            problems.append(
                Problem(
                    "reference",
                    "Reference may hold only letters, digits, spaces and - _ . /",
                )
            )
    for name in ("title", "recipient", "owner", "notes", "statute", "cag_reference"):
        value = parsed.get(name)
        if value:
            try:
                check_cohort(str(value)[:200])
            except InputError:
                problems.append(
                    Problem(name, f"{BY_NAME[name].column} cannot hold ten digits in a row")
                )
    start, end = parsed.get("start_date"), parsed.get("end_date")
    if start is not None and end is not None and end < start:
        problems.append(Problem("end_date", "End date is before the start date"))
    return problems


def check(disclosure: Disclosure) -> Disclosure:
    """``disclosure`` if it is well formed; else an :class:`InputError` naming the field."""
    text = {f.name: _text(getattr(disclosure, f.name)) for f in fields(Disclosure)}
    parsed, problems = parse(text)
    if problems:
        raise InputError("; ".join(p.message for p in problems), field=problems[0].field)
    assert parsed is not None
    return parsed


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return "; ".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def covering_basis(disclosure: Disclosure) -> str | None:
    """The legal basis that covers this flow, if the record settles it."""
    bases = disclosure.legal_bases
    if len(bases) == 1:
        return bases[0]
    if disclosure.basis_for_flow is not None and (not bases or disclosure.basis_for_flow in bases):
        return disclosure.basis_for_flow
    return None


def contradictions(disclosure: Disclosure) -> list[Contradiction]:
    """Answers that cannot all be true, each naming the fields to look at again."""
    found: list[Contradiction] = []
    bases = disclosure.legal_bases
    labels = BY_NAME["legal_bases"]
    if len(bases) > 1 and disclosure.basis_for_flow is None:
        named = " and ".join(labels.label_of(code) for code in bases)
        found.append(
            Contradiction(
                ("basis_for_flow",),
                f"{named} are {'both' if len(bases) == 2 else 'all'} given as the legal basis; "
                "say which one covers this flow",
            )
        )
    if bases and disclosure.basis_for_flow is not None and disclosure.basis_for_flow not in bases:
        found.append(
            Contradiction(
                ("legal_bases", "basis_for_flow"),
                f"the basis said to cover this flow "
                f"({labels.label_of(disclosure.basis_for_flow)}) is not one of the legal "
                "bases listed",
            )
        )
    if disclosure.contains_cpi == "yes" and disclosure.anonymised == "yes":
        found.append(
            Contradiction(
                ("contains_cpi", "anonymised"),
                "data anonymised to the ICO standard is not confidential patient information, "
                "yet both are answered yes",
            )
        )
    basis = covering_basis(disclosure)
    has_cag = disclosure.cag_reference is not None or disclosure.cag_condition is not None
    if has_cag and basis is not None and basis not in S251_BASES:
        found.append(
            Contradiction(
                ("legal_bases", "basis_for_flow", "cag_reference", "cag_condition"),
                f"a CAG approval is recorded, but the legal basis covering the flow is "
                f"{labels.label_of(basis)}, not section 251 support; say which covers this flow",
            )
        )
    return found


def scope_facts(disclosure: Disclosure) -> dict[str, str | None]:
    """What the scope rules read: each fact's code, or ``None`` while unknown.

    ``legal_basis`` is the basis covering the flow (:func:`covering_basis`); the
    free-text facts (statute, CAG reference) are their text.
    """
    return {
        "origin": disclosure.origin,
        "contains_cpi": disclosure.contains_cpi,
        "anonymised": disclosure.anonymised,
        "purpose": disclosure.purpose,
        "legal_basis": covering_basis(disclosure),
        "statute": disclosure.statute,
        "cag_reference": disclosure.cag_reference,
        "cag_condition": disclosure.cag_condition,
        "national_exemption": disclosure.national_exemption,
        "exemption_confirmed": disclosure.exemption_confirmed,
    }


def field_for_fact(fact: str, disclosure: Disclosure) -> str:
    """The register field that answers scope fact ``fact`` (the basis may need settling)."""
    if fact == "legal_basis":
        return "basis_for_flow" if len(disclosure.legal_bases) > 1 else "legal_bases"
    return fact
