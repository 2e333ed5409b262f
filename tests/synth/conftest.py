"""A synthetic England of 200,000 people, generated once for the synth tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from ndoo.synth import SynthSummary, generate_population
from tests.synth.checks import Joined, join, read

PEOPLE = 200_000
SEED = 7


@dataclass(frozen=True)
class England:
    summary: SynthSummary
    out_dir: Path
    practices: pa.Table
    people: pa.Table
    events: pa.Table
    joined: Joined


@pytest.fixture(scope="session")
def england(tmp_path_factory: pytest.TempPathFactory) -> England:
    out_dir = tmp_path_factory.mktemp("england")
    summary = generate_population(PEOPLE, SEED, out_dir)
    practices, people, events = read(out_dir)
    return England(summary, out_dir, practices, people, events, join(people, events))
