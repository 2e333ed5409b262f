"""Fixtures every apply test shares: a small register and a folder for datasets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ndoo.db import Database
from tests.apply.helpers import sqlite_register


@pytest.fixture
def register(tmp_path: Path) -> Iterator[Database]:
    db = sqlite_register(tmp_path / "register.db")
    yield db
    db.dispose()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder
