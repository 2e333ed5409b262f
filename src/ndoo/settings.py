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


def _organisation_code(raw: str) -> str:
    value = raw.strip().upper()
    if not (1 <= len(value) <= 12 and value.isalnum() and value.isascii()):
        raise ValueError(f"expected an ODS code of 1 to 12 letters and digits, got {raw!r}")
    return value


def _organisation_name(raw: str) -> str:
    value = " ".join(raw.split())
    if not value or len(value) > 200:
        raise ValueError("expected a name of 1 to 200 characters")
    return value


def _notify_backend(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"outbox", "notify", "smtp"}:
        raise ValueError("expected one of outbox, notify, smtp")
    return value


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw.strip())
    if value <= 0:
        raise ValueError(f"expected a whole number above 0, got {raw!r}")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw.strip())
    if not value > 0:
        raise ValueError(f"expected a number above 0, got {raw!r}")
    return value


def _page_size(raw: str) -> int:
    value = int(raw.strip())
    if not 10 <= value <= 5000:
        raise ValueError("MESH lists between 10 and 5000 messages a page")
    return value


def _mailbox(raw: str) -> str:
    value = raw.strip().upper()
    if not value or not value.isalnum() or len(value) > 20:
        raise ValueError(f"expected a MESH mailbox id such as X26HC065, got {raw!r}")
    return value


def _engine(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("duckdb", "spark"):
        raise ValueError(f"expected duckdb or spark, got {raw!r}")
    return value


class Roles(frozenset[str]):
    """Job roles, kept in lower case; ``*`` stands for every role."""

    def requires(self, role: str) -> bool:
        """Whether staff in ``role`` are among these roles."""
        return "*" in self or " ".join(role.split()).lower() in self

    def __str__(self) -> str:
        return ", ".join(sorted(self))


def _roles(raw: str) -> Roles:
    names = [" ".join(part.split()).lower() for part in raw.split(",")]
    names = [n for n in names if n]
    if not names or ("*" in names and len(names) > 1):
        raise ValueError("expected * or a comma-separated list of job roles")
    return Roles(names)


class Days(tuple[int, ...]):
    """Numbers of days, largest first."""

    def __str__(self) -> str:
        return ",".join(str(d) for d in self)


def _reminder_days(raw: str) -> Days:
    try:
        days = sorted({int(part) for part in raw.split(",") if part.strip()}, reverse=True)
    except ValueError:
        raise ValueError("expected whole numbers of days, comma-separated") from None
    if not days or days[-1] <= 0:
        raise ValueError("expected one or more positive numbers of days, comma-separated")
    return Days(days)


def _optional_path(raw: str) -> Path | None:
    return Path(raw).expanduser() if raw.strip() else None


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
    Setting(
        "mesh_url",
        lambda s: "http://127.0.0.1:8700",
        lambda raw: raw.strip().rstrip("/"),
        "Base URL of MESH. The default is the local MESH sandbox that `ndoo demo` and "
        "`ndoo mesh sandbox` start; INT is https://msg.intspineservices.nhs.uk, live "
        "https://mesh-sync.spineservices.nhs.uk.",
        example="https://mesh-sync.spineservices.nhs.uk",
    ),
    Setting(
        "mesh_mailbox",
        lambda s: "X26ORG01",
        _mailbox,
        "This organisation's MESH mailbox id; requests are sent from it and cleaned lists "
        "arrive in it. NHS England recommends a mailbox used only for opt-out checks.",
        example="A1B2COT001",
    ),
    Setting(
        "mesh_password",
        lambda s: Secret("password"),
        lambda raw: Secret(raw),
        "Password of MESH_MAILBOX. The default is the local sandbox's.",
        secret=True,
        example="from-your-mesh-onboarding",
    ),
    Setting(
        "mesh_shared_key",
        lambda s: Secret("ndoo-sandbox"),
        lambda raw: Secret(raw),
        "MESH environment shared key used to sign every request's token. The default is "
        "the key the local sandbox is started with.",
        secret=True,
        example="from-your-mesh-onboarding",
    ),
    Setting(
        "mesh_cert",
        lambda s: None,
        _optional_path,
        "Client TLS certificate (PEM) for MESH's mutual TLS; empty for the local sandbox.",
        example="/etc/ndoo/mesh/client.pem",
    ),
    Setting(
        "mesh_key",
        lambda s: None,
        _optional_path,
        "Private key (PEM) of MESH_CERT.",
        example="/etc/ndoo/mesh/client.key",
    ),
    Setting(
        "mesh_ca",
        lambda s: None,
        _optional_path,
        "CA bundle (PEM) that MESH's server certificate is checked against; empty means "
        "the bundle mesh-client ships for INT and live, or the system's.",
        example="/etc/ndoo/mesh/nhs-ca.pem",
    ),
    Setting(
        "mesh_timeout",
        lambda s: 120.0,
        _positive_float,
        "Seconds to wait for MESH to answer one HTTP request before giving up.",
        example="300",
    ),
    Setting(
        "mesh_chunk_size",
        lambda s: 20 * 1024 * 1024,
        _positive_int,
        "Bytes of a message (before compression) sent per MESH chunk; larger messages are "
        "chunked. MESH requires chunking above 75 MB and refuses single parts over 100 MB.",
        example="52428800",
    ),
    Setting(
        "check_mailbox",
        lambda s: "X26HC065",
        _mailbox,
        "Mailbox of the Check for National Data Opt-outs service: where requests are sent, "
        "and the mailbox `ndoo pos serve` serves. Live is X26HC065, INT X26OT154.",
        example="X26OT154",
    ),
    Setting(
        "pos_password",
        lambda s: Secret("password"),
        lambda raw: Secret(raw),
        "Password of CHECK_MAILBOX, used only by the checking service (`ndoo pos serve`).",
        secret=True,
        example="from-the-service-onboarding",
    ),
    Setting(
        "pos_poll_interval",
        lambda s: 300.0,
        _positive_float,
        "Seconds between the checking service's polls of its inbox. MESH asks for no more "
        "than one poll every 5 minutes on live.",
        example="300",
    ),
    Setting(
        "pos_page_size",
        lambda s: 500,
        _page_size,
        "Messages listed per page of the inbox (10 to 5000); a full page is followed "
        "at once by the next.",
        example="500",
    ),
    Setting(
        "check_wait",
        lambda s: 3600.0,
        _positive_float,
        "Seconds `ndoo check run` waits for the service's response before leaving it to "
        "`ndoo check receive`. The live service answers within about an hour.",
        example="7200",
    ),
    Setting(
        "check_poll_max",
        lambda s: 300.0,
        _positive_float,
        "Longest pause, in seconds, between inbox checks while waiting for a response; "
        "pauses start at 1 second and double up to this.",
        example="60",
    ),
    Setting(
        "cache_max_age_days",
        lambda s: 7.0,
        _positive_float,
        "Oldest cleaned list, in days since it was checked, that may be used to apply "
        "opt-outs. Older lists are refused until refreshed. The organisation sets this "
        "with its DPO; 7 days matches the weekly refresh common in practice.",
        example="1",
    ),
    Setting(
        "cache_refresh_days",
        lambda s: 1.0,
        _positive_float,
        "Age in days after which `ndoo cache refresh --due` re-checks a cohort; run it "
        "on a schedule (for example nightly from cron).",
        example="1",
    ),
    Setting(
        "apply_engine",
        lambda s: "duckdb",
        _engine,
        "Engine `ndoo apply` uses unless --engine is given: duckdb (streams on one "
        "machine) or spark (needs the spark extra and Java 17 or later).",
        example="spark",
    ),
    Setting(
        "apply_memory_limit",
        lambda s: "3GB",
        str,
        "Most memory the DuckDB engine may use before it spills to disk (DuckDB's "
        "memory_limit, e.g. 3GB).",
        example="8GB",
    ),
    Setting(
        "stats_drop_test_numbers",
        lambda s: True,
        _bool,
        "Leave test NHS numbers (starting with 9) and repeated-digit numbers (1111111111 "
        "to 9999999999) out of the opt-out counts of `ndoo stats publish`, as the official "
        "statistics do. Switch off for `ndoo demo` and synthetic England, whose numbers "
        "are all in the 9xx range.",
        example="false",
    ),
    Setting(
        "spark_master",
        lambda s: "local[2]",
        str,
        "Spark master for `ndoo apply --engine spark`: local[N] runs on this machine, "
        "spark://host:7077 on a cluster.",
        example="spark://spark-master:7077",
    ),
    Setting(
        "web_host",
        lambda s: "127.0.0.1",
        str,
        "Address `ndoo serve` listens on.",
        example="0.0.0.0",
    ),
    Setting(
        "web_port",
        lambda s: 8000,
        _positive_int,
        "Port `ndoo serve` listens on.",
        example="8080",
    ),
    Setting(
        "web_secure_cookies",
        lambda s: False,
        _bool,
        "Mark session cookies Secure (sent over HTTPS only). Switch on behind HTTPS; off "
        "for the local demo over plain HTTP.",
        example="true",
    ),
    Setting(
        "web_rate_limit",
        lambda s: 30,
        _positive_int,
        "Requests a minute one client address may make to each step of the citizen "
        "journey (details, codes, proxy applications); more are refused with 429.",
        example="60",
    ),
    Setting(
        "citizen_session_minutes",
        lambda s: 20,
        _positive_int,
        "Minutes without use after which a citizen's session ends.",
        example="15",
    ),
    Setting(
        "staff_session_minutes",
        lambda s: 30,
        _positive_int,
        "Minutes without use after which a member of staff is signed out.",
        example="60",
    ),
    Setting(
        "notify_backend",
        lambda s: "outbox",
        _notify_backend,
        "How messages to citizens are sent: outbox (kept in the database and shown at "
        "/outbox, for the demo), notify (GOV.UK Notify) or smtp (email only).",
        example="notify",
    ),
    Setting(
        "notify_api_key",
        lambda s: Secret(""),
        Secret,
        "GOV.UK Notify API key, for notify_backend=notify.",
        secret=True,
        example="ndoo_live-0000…",
    ),
    Setting(
        "notify_sms_template",
        lambda s: "",
        str,
        "GOV.UK Notify template id for text messages (it receives ((body))).",
        example="f33517ff-2a88-4f6e-b855-c550268ce08a",
    ),
    Setting(
        "notify_email_template",
        lambda s: "",
        str,
        "GOV.UK Notify template id for emails (it receives ((subject)) and ((body))).",
        example="9a1b2c3d-0000-4000-8000-000000000000",
    ),
    Setting(
        "smtp_host",
        lambda s: "127.0.0.1",
        str,
        "SMTP server, for notify_backend=smtp.",
        example="smtp.nhs.net",
    ),
    Setting(
        "smtp_port",
        lambda s: 25,
        _positive_int,
        "SMTP port.",
        example="587",
    ),
    Setting(
        "smtp_username",
        lambda s: "",
        str,
        "SMTP username (empty: no login).",
        example="ndoo@nhs.net",
    ),
    Setting(
        "smtp_password",
        lambda s: Secret(""),
        Secret,
        "SMTP password.",
        secret=True,
        example="…",
    ),
    Setting(
        "smtp_sender",
        lambda s: "no-reply@ndoo.invalid",
        str,
        "The From address of emails sent over SMTP.",
        example="your.nhs.data.matters@nhs.net",
    ),
    Setting(
        "smtp_starttls",
        lambda s: False,
        _bool,
        "Use STARTTLS on the SMTP connection.",
        example="true",
    ),
    Setting(
        "organisation_code",
        lambda s: "X26",
        _organisation_code,
        "ODS code of the organisation whose disclosures and compliance programme ndoo "
        "keeps (upper-case letters and digits). X26 stands for the demo's organisation.",
        example="RXX",
    ),
    Setting(
        "organisation_name",
        lambda s: "Demonstration Health and Care Trust",
        _organisation_name,
        "The organisation's name, as written in the compliance documents ndoo generates.",
        example="Anytown Hospitals NHS Foundation Trust",
    ),
    Setting(
        "planning_horizon_days",
        lambda s: 120,
        _positive_int,
        "How far ahead (days) a planned in-scope disclosure makes the technical solution "
        "required (the implementation guide says within the next 3 to 4 months).",
        example="90",
    ),
    Setting(
        "technical_solution_by_supplier",
        lambda s: False,
        _bool,
        "The organisation's clinical system supplier applies national data opt-outs for "
        "it: a GP practice on one of the principal GP systems, or an organisation using "
        "TPP SystmOne's Strategic Reporting Extract. It then need not set up the technical "
        "solution itself (action 3), but only while every in-scope disclosure is made from "
        "that system; opt-outs must still be applied to each.",
        example="true",
    ),
    Setting(
        "training_required_roles",
        lambda s: Roles({"*"}),
        _roles,
        "The job roles (as written in the staff roster, comma-separated, any case) whose "
        "staff must complete the national data opt-out training every year; * means "
        "every role.",
        example="GP,Practice nurse,Receptionist,Practice manager",
    ),
    Setting(
        "training_new_starter_days",
        lambda s: 30,
        _positive_int,
        "Days a new starter, or someone who moves into a role that requires the training, "
        "has to complete it before they count as overdue.",
        example="14",
    ),
    Setting(
        "training_reminder_days",
        lambda s: _reminder_days("90,30,7"),
        _reminder_days,
        "Days before a completion expires on which ndoo training remind sends a reminder "
        "(a final one goes on the day it expires).",
        example="90,30,7",
    ),
    Setting(
        "web_base_url",
        lambda s: f"http://{s['web_host']}:{s['web_port']}",
        lambda raw: raw.strip().rstrip("/"),
        "The web service's public address, for links in messages such as training reminders.",
        example="https://optout.example.nhs.uk",
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
            elif value is None:
                shown = ""
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
