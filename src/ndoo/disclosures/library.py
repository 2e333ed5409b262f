"""A built-in library of common disclosures, each with the outcome the scope rules give.

The library is the data file ``ndoo/data/scope/library.toml``.  Each :class:`Case`
holds the values a person would type into the register (:func:`record.parse` accepts
them), the outcome the current scope rules give for them, the facts still to ask when
more information is needed, and the sections of the policy it rests on.  A case is a
starting point: an organisation copies it into its register and corrects what differs,
such as its own reference or the CAG reference on its approval letter (a value in
square brackets).

:func:`load_library` refuses a file whose shape is wrong: an unknown field, a value
the register would refuse, an unknown outcome, missing facts that do not fit the
outcome, or a source that is not a policy section with an ``https`` address.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

from ndoo.disclosures import record
from ndoo.disclosures.facts import BY_NAME
from ndoo.disclosures.record import Disclosure
from ndoo.disclosures.rules import FACT_VALUES
from ndoo.disclosures.scope import APPLY, DO_NOT_APPLY, MORE_INFORMATION
from ndoo.errors import ConfigurationError, NotFound

LIBRARY_FILE = "library.toml"

OUTCOMES = (APPLY, DO_NOT_APPLY, MORE_INFORMATION)

_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_KEYS = frozenset({"name", "title", "description", "expected", "missing", "sources", "values"})


@dataclass(frozen=True)
class Source:
    """Where a case rests: a section of the policy summary and the public page behind it."""

    section: str
    url: str


@dataclass(frozen=True)
class Case:
    """One common disclosure: what a person types, and the outcome the scope rules give."""

    name: str
    title: str
    description: str
    values: dict[str, str] = field(hash=False)
    expected: str
    missing: tuple[str, ...]
    sources: tuple[Source, ...]

    def disclosure(self) -> Disclosure:
        """The case's values as a register entry."""
        parsed, problems = record.parse(self.values)
        if parsed is None:
            raise ConfigurationError(
                f"library case {self.name!r}: " + "; ".join(p.message for p in problems)
            )
        return parsed

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "values": dict(self.values),
            "expected": self.expected,
            "missing": list(self.missing),
            "sources": [{"section": s.section, "url": s.url} for s in self.sources],
        }


def cases() -> list[Case]:
    """Every case in the library, in the file's order."""
    return [_copy(c) for c in load_library()]


def case(name: str) -> Case:
    """The case called ``name``; :class:`NotFound` naming the known cases if none is."""
    for found in load_library():
        if found.name == name:
            return _copy(found)
    known = ", ".join(c.name for c in load_library())
    raise NotFound(f"there is no library case {name!r}; known: {known}", case=name)


def _copy(found: Case) -> Case:
    return replace(found, values=dict(found.values))


@cache
def load_library() -> tuple[Case, ...]:
    """The library shipped with ndoo, checked."""
    path = resources.files("ndoo").joinpath("data", "scope", LIBRARY_FILE)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"disclosure library {LIBRARY_FILE}: {exc}") from exc
    return parse(data, LIBRARY_FILE)


def parse(data: Mapping[str, Any], name: str = "library") -> tuple[Case, ...]:
    """The cases of a library from its TOML data; a :class:`ConfigurationError` naming
    the file and the case at the first fault."""

    def fault(message: str) -> ConfigurationError:
        return ConfigurationError(f"disclosure library {name}: {message}")

    raw_cases = data.get("case")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise fault("there are no [[case]] entries")
    found: list[Case] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_cases, start=1):
        if not isinstance(raw, dict):
            raise fault(f"case {index} is not a table")
        case_name = raw.get("name")
        where = f"case {case_name!r}" if isinstance(case_name, str) else f"case {index}"
        parsed = _case(raw, _at(fault, where))
        if parsed.name in seen:
            raise fault(f"{where}: two cases share the name")
        seen.add(parsed.name)
        found.append(parsed)
    return tuple(found)


def _at(
    fault: Callable[[str], ConfigurationError], where: str
) -> Callable[[str], ConfigurationError]:
    return lambda message: fault(f"{where}: {message}")


def _case(raw: dict[str, Any], fault: Callable[[str], ConfigurationError]) -> Case:
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise fault(f"unknown key {unknown[0]!r}")
    for key in sorted(_KEYS - {"missing"}):
        if key not in raw:
            raise fault(f"missing key {key!r}")
    name = _text(raw, "name", fault)
    if not _NAME.fullmatch(name):
        raise fault("a name is lower-case letters and digits joined by '-'")
    expected = _text(raw, "expected", fault)
    if expected not in OUTCOMES:
        raise fault(f"expected {expected!r} is not one of {', '.join(OUTCOMES)}")
    missing = _missing(raw.get("missing", []), expected, fault)
    return Case(
        name=name,
        title=_text(raw, "title", fault),
        description=_text(raw, "description", fault),
        values=_values(raw["values"], fault),
        expected=expected,
        missing=missing,
        sources=_sources(raw["sources"], fault),
    )


def _text(raw: Mapping[str, Any], key: str, fault: Callable[[str], ConfigurationError]) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise fault(f"{key} must be non-empty text")
    return value


def _values(raw: Any, fault: Callable[[str], ConfigurationError]) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise fault("values must be a table")
    values: dict[str, str] = {}
    for key, value in raw.items():
        if key not in BY_NAME:
            raise fault(f"values name unknown field {key!r}")
        if not isinstance(value, str):
            raise fault(f"values.{key} must be text, as a person would type it")
        values[key] = value
    _, problems = record.parse(values)
    if problems:
        raise fault("the register refuses its values: " + "; ".join(p.message for p in problems))
    return values


def _missing(
    raw: Any, expected: str, fault: Callable[[str], ConfigurationError]
) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise fault("missing must be a list of fact names")
    for item in raw:
        if item not in FACT_VALUES and item not in BY_NAME:
            raise fault(f"missing names unknown fact {item!r}")
    if expected == MORE_INFORMATION and not raw:
        raise fault(f"a case expecting {MORE_INFORMATION} names the missing facts")
    if expected != MORE_INFORMATION and raw:
        raise fault(f"a case expecting {expected} has no missing facts")
    return tuple(raw)


def _sources(raw: Any, fault: Callable[[str], ConfigurationError]) -> tuple[Source, ...]:
    if not isinstance(raw, list) or not raw:
        raise fault("sources must be a non-empty list")
    sources: list[Source] = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"section", "url"}:
            raise fault("each source is a table of section and url")
        section, url = item["section"], item["url"]
        if not isinstance(section, str) or not section.startswith("§"):
            raise fault(f"source section {section!r} must name a policy section (§...)")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise fault(f"source url {url!r} must be an https address")
        sources.append(Source(section, url))
    return tuple(sources)
