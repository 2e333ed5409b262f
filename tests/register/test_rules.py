"""The register's rules on columns: ages, birthdays, proxies, death, dates."""

from __future__ import annotations

import numpy as np
import pytest

from ndoo.errors import (
    DeceasedPerson,
    InputError,
    ProxyNotPermitted,
    RuleViolation,
    SelfNotPermitted,
)
from ndoo.register.rules import EventFacts, age_in_years, first_violation

NOW = np.datetime64("2026-01-01T00:00:00", "us")


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("2000-06-15", "2013-06-14", 12),
        ("2000-06-15", "2013-06-15", 13),
        ("2000-02-29", "2013-02-28", 12),
        ("2000-02-29", "2013-03-01", 13),
        ("2000-02-29", "2012-02-29", 12),
        ("1999-12-31", "2000-01-01", 0),
    ],
)
def test_age_in_whole_years(born, on, age):
    result = age_in_years(np.array([born], "datetime64[D]"), np.array([on], "datetime64[D]"))
    assert result.tolist() == [age]


def facts(**overrides: object) -> EventFacts:
    base: dict[str, object] = {
        "actor": "SELF",
        "channel": "OP",
        "effective_at": "2024-01-01T12:00",
        "recorded_at": "2024-01-01T12:00",
        "date_of_birth": "1980-01-01",
        "date_of_death": "NaT",
        "lacks_capacity": False,
        "detained": False,
        "has_proxy_name": False,
        "has_proxy_evidence": False,
    }
    base.update(overrides)
    kinds = {
        "effective_at": "datetime64[us]",
        "recorded_at": "datetime64[us]",
        "date_of_birth": "datetime64[D]",
        "date_of_death": "datetime64[D]",
    }
    return EventFacts(**{k: np.array([v], dtype=kinds.get(k)) for k, v in base.items()})  # type: ignore[arg-type]


PROXY = {"has_proxy_name": True, "has_proxy_evidence": True}


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({}, None),
        ({"date_of_birth": "2012-01-02"}, SelfNotPermitted),
        ({"date_of_birth": "2011-01-01"}, None),
        ({"lacks_capacity": True}, SelfNotPermitted),
        ({"actor": "GUARDIAN", "date_of_birth": "2015-01-01", **PROXY}, None),
        (
            {"actor": "GUARDIAN", "date_of_birth": "2008-01-01", "lacks_capacity": True, **PROXY},
            None,
        ),
        (
            {"actor": "GUARDIAN", "date_of_birth": "1990-01-01", "lacks_capacity": True, **PROXY},
            ProxyNotPermitted,
        ),
        ({"actor": "POA", "lacks_capacity": True, **PROXY}, None),
        (
            {"actor": "POA", "date_of_birth": "2015-01-01", "lacks_capacity": True, **PROXY},
            ProxyNotPermitted,
        ),
        ({"actor": "COURTDEP", "date_of_birth": "2015-01-01", **PROXY}, None),
        ({"actor": "COURTDEP", **PROXY}, ProxyNotPermitted),
        ({"actor": "HCP", "detained": True, **PROXY}, None),
        ({"actor": "HCP", "detained": True}, ProxyNotPermitted),
        ({"date_of_death": "2024-01-01"}, DeceasedPerson),
        ({"date_of_death": "2023-06-01", "effective_at": "2023-05-01T00:00"}, DeceasedPerson),
        (
            {
                "date_of_death": "2025-06-01",
                "effective_at": "2023-05-01T00:00",
                "recorded_at": "2023-05-01T00:00",
            },
            None,
        ),
        ({"effective_at": "2018-05-24T23:59"}, RuleViolation),
        ({"effective_at": "2018-05-25T00:00"}, None),
        (
            {"channel": "T2", "effective_at": "2016-01-01T00:00", "date_of_birth": "2012-01-01"},
            None,
        ),
        ({"channel": "T2", "effective_at": "2018-10-12T00:00"}, RuleViolation),
        ({"effective_at": "2026-01-02T00:00"}, InputError),
    ],
)
def test_rules_table(overrides, error):
    found = first_violation(facts(**overrides), NOW)
    if error is None:
        assert found is None
    else:
        assert found is not None and isinstance(found.error, error)


def test_first_violating_row_is_reported():
    a = facts()
    b = facts(date_of_birth="2015-01-01")
    merged = EventFacts(
        **{
            k: np.concatenate([getattr(a, k), getattr(a, k), getattr(b, k)])
            for k in a.__dataclass_fields__
        }
    )
    found = first_violation(merged, NOW)
    assert found is not None and found.row == 2
