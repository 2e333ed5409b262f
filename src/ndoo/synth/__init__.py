"""Synthetic England: a reproducible population of GP-registered people and their opt-outs.

``generate_population(people, seed, out_dir)`` writes ``practices.parquet``,
``people.parquet`` and ``events.parquet`` (schemas in
:mod:`ndoo.synth.schemas`) for the register to load.  The people follow
England's age pyramid and health geographies; their opt-out histories follow
the published rates and timeline (5.4% overall, Type 2 conversions, the June
2021 GPDPR burst) and the register's rules.  Every NHS number is from the
never-issued 9xx test range.
"""

from ndoo.synth.generator import (
    DEFAULT_REFERENCE_DATE,
    MAX_PEOPLE,
    SynthSummary,
    generate_population,
)
from ndoo.synth.schemas import EVENTS_SCHEMA, PEOPLE_SCHEMA, PRACTICES_SCHEMA

__all__ = [
    "DEFAULT_REFERENCE_DATE",
    "EVENTS_SCHEMA",
    "MAX_PEOPLE",
    "PEOPLE_SCHEMA",
    "PRACTICES_SCHEMA",
    "SynthSummary",
    "generate_population",
]
