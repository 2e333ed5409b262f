"""The settings table: environment, then .env, then default; secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from ndoo.errors import ConfigurationError
from ndoo.settings import SETTINGS, Secret, load_settings, mask_url


def test_defaults_put_a_sqlite_register_in_home(tmp_path):
    settings = load_settings({}, env_file=tmp_path / "none.env")
    assert settings.home == Path("ndoo-data")
    assert settings.database_url == "sqlite:///ndoo-data/ndoo.db"
    assert settings.source("database_url") == "default"


def test_environment_beats_dotenv_beats_default(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("NDOO_HOME=/from/dotenv\nNDOO_LOG_LEVEL=info\n")
    settings = load_settings({"NDOO_LOG_LEVEL": "ERROR"}, env_file=env_file)
    assert settings.home == Path("/from/dotenv")
    assert settings.source("home") == ".env"
    assert settings.log_level == "ERROR"
    assert settings.source("log_level") == "environment"
    # A default derived from another setting follows it.
    assert settings.database_url == "sqlite:////from/dotenv/ndoo.db"


def test_bad_value_names_the_variable_and_source(tmp_path):
    with pytest.raises(ConfigurationError, match=r"NDOO_SQL_ECHO \(environment\)"):
        load_settings({"NDOO_SQL_ECHO": "perhaps"}, env_file=tmp_path / "x")


def test_database_password_is_masked_when_shown(tmp_path):
    url = "postgresql+psycopg://ndoo:hunter2@db.example/ndoo"
    settings = load_settings({"NDOO_DATABASE_URL": url}, env_file=tmp_path / "x")
    shown = dict((name, value) for name, value, _ in settings.display())
    assert shown["NDOO_DATABASE_URL"] == "postgresql+psycopg://ndoo:***@db.example/ndoo"
    assert "hunter2" not in repr(settings.display())
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"


def test_secret_never_prints_its_value():
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret)
    assert secret.reveal() == "hunter2"


def test_every_setting_is_documented():
    for setting in SETTINGS:
        assert setting.env.startswith("NDOO_")
        assert setting.help.endswith("."), setting.name
        assert setting.example, setting.name
