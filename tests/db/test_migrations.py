"""Migrations create exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ndoo.db import Database
from ndoo.db.migrate import current_revision, head_revision, upgrade
from ndoo.db.models import metadata
from ndoo.errors import ConfigurationError, DatabaseUnavailable, SchemaOutOfDate
from ndoo.register import current_choice


def test_upgrade_from_empty_matches_the_models(empty_db: Database):
    assert current_revision(empty_db) is None
    before, after = upgrade(empty_db)
    assert (before, after) == (None, head_revision())
    with empty_db.connect(write=False) as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_upgrade_twice_is_harmless(empty_db: Database):
    upgrade(empty_db)
    assert upgrade(empty_db) == (head_revision(), head_revision())


def test_using_an_unmigrated_database_says_what_to_run(empty_db: Database):
    with pytest.raises(SchemaOutOfDate, match="ndoo db upgrade"):
        current_choice(empty_db, "9434765919")


def test_unreachable_postgresql_is_one_clear_error():
    db = Database("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(DatabaseUnavailable, match="cannot reach the database") as caught:
        upgrade(db)
    assert "nobody@127.0.0.1:1" in str(caught.value)


def test_unopenable_sqlite_file_is_one_clear_error(tmp_path):
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(DatabaseUnavailable, match="cannot reach"):
        upgrade(Database(f"sqlite:///{folder}"))


def test_passwords_are_masked_in_messages():
    db = Database("postgresql://ndoo:s3cret@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(DatabaseUnavailable) as caught:
        upgrade(db)
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in repr(db)


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url"])
def test_unsupported_urls_are_configuration_errors(url):
    with pytest.raises(ConfigurationError):
        Database(url)
