"""The one settings table of ndoo.

Each setting is read from the environment variable of its name, then from a
``.env`` file (``NDOO_ENV_FILE``, default ``./.env``), then falls back to its
default.  ``ndoo settings`` prints the table with secrets masked and the docs
are generated from it, so a setting exists in exactly one place: ``SETTINGS``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dotenv import dotenv_values

from ndoo.errors import ConfigurationError


class Secret(str):
    """A string whose repr and str are masked; ``.reveal()`` gives the value."""

    __slots__ = ()

    def reveal(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"


def mask_url(url: str) -> str:
    """A database URL with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR")
    return value


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    default: Callable[[Mapping[str, Any]], Any]
    cast: Callable[[str], Any]
    help: str
    secret: bool = False
    example: str = ""

    @property
    def env(self) -> str:
        return f"NDOO_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home",
        lambda s: Path("ndoo-data"),
        lambda raw: Path(raw).expanduser(),
        "Folder for the embedded database, synthetic data and outputs.",
        example="/var/lib/ndoo",
    ),
    Setting(
        "database_url",
        lambda s: f"sqlite:///{Path(s['home']) / 'ndoo.db'}",
        str,
        "SQLAlchemy URL of the register database. SQLite (the default, in HOME) "
        "or PostgreSQL (postgresql+psycopg://user:password@host/db).",
        secret=True,
        example="postgresql+psycopg://ndoo:secret@127.0.0.1:5432/ndoo",
    ),
    Setting(
        "actor",
        lambda s: getpass.getuser(),
        str,
        "Who is acting, as written in the audit trail for commands run by hand.",
        example="ig-lead@trust.nhs.uk",
    ),
    Setting(
        "log_level",
        lambda s: "WARNING",
        _log_level,
        "Logging level: DEBUG, INFO, WARNING or ERROR. Logs never hold NHS numbers.",
        example="INFO",
    ),
    Setting(
        "sql_echo",
        lambda s: False,
        _bool,
        "Log every SQL statement (parameters are never logged).",
        example="true",
    ),
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Resolved settings. Attribute access by name: ``settings.database_url``."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]) -> None:
        self._values = dict(values)
        self._sources = dict(sources)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def home(self) -> Path:
        value: Path = self._values["home"]
        return value

    @property
    def database_url(self) -> str:
        return str(self._values["database_url"])

    def source(self, name: str) -> str:
        """Where a setting came from: ``environment``, ``.env`` or ``default``."""
        return self._sources[name]

    def replace(self, **changes: Any) -> Settings:
        values = {**self._values, **changes}
        sources = {**self._sources, **{k: "override" for k in changes}}
        return Settings(values, sources)

    def display(self) -> list[tuple[str, str, str]]:
        """Rows (variable, shown value, source) with secrets masked."""
        rows = []
        for setting in SETTINGS:
            value = self._values[setting.name]
            if setting.name == "database_url":
                shown = mask_url(str(value))
            elif setting.secret:
                shown = str(Secret(str(value)))
            else:
                shown = str(value)
            rows.append((setting.env, shown, self._sources[setting.name]))
        return rows


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> Settings:
    """Resolve every setting: environment, then ``.env``, then default."""
    environ = os.environ if environ is None else environ
    if env_file is None:
        env_file = Path(environ.get("NDOO_ENV_FILE", ".env"))
    file_values: dict[str, str] = {}
    if env_file.is_file():
        file_values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        if setting.env in environ:
            raw, source = environ[setting.env], "environment"
        elif setting.env in file_values:
            raw, source = file_values[setting.env], ".env"
        else:
            values[setting.name] = setting.default(values)
            sources[setting.name] = "default"
            continue
        try:
            values[setting.name] = setting.cast(raw)
        except ValueError as exc:
            raise ConfigurationError(f"{setting.env} ({source}): {exc}") from exc
        sources[setting.name] = source
    return Settings(values, sources)
