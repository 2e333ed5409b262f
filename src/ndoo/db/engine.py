"""Connections to the register database, SQLite (WAL) or PostgreSQL, with errors translated."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ndoo.errors import (
    ConfigurationError,
    DatabaseUnavailable,
    NdooError,
    SchemaOutOfDate,
    StorageError,
)
from ndoo.settings import Settings, mask_url

log = logging.getLogger(__name__)

# SQLAlchemy logs result rows at DEBUG, and rows hold NHS numbers.  Its engine logger
# is held at WARNING whatever level the rest of the logs run at; NDOO_SQL_ECHO still
# shows the SQL (echo sets the engine's own logger to INFO), never the rows.
_ENGINE_LOG = logging.getLogger("sqlalchemy.engine")
if _ENGINE_LOG.level == logging.NOTSET or _ENGINE_LOG.level < logging.INFO:
    _ENGINE_LOG.setLevel(logging.WARNING)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    """One register database.  ``read()`` and ``write()`` give transactional connections.

    On SQLite, ``write()`` takes the write lock at the start (``BEGIN IMMEDIATE``), so
    a read-then-write in one transaction cannot fail half-way on a lock upgrade.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.display_url = mask_url(self.url)
        try:
            parsed = make_url(self.url)
        except exc.ArgumentError as err:
            raise ConfigurationError(f"NDOO_DATABASE_URL is not a database URL: {err}") from err
        self.dialect = parsed.get_backend_name()
        if self.dialect not in {"sqlite", "postgresql"}:
            raise ConfigurationError(
                f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql://"
            )
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["poolclass"] = NullPool
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except ModuleNotFoundError as err:
            raise ConfigurationError(
                "PostgreSQL needs the 'postgres' extra: pip install 'ndoo[postgres]'"
            ) from err
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self._schema_checked = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database_url, echo=bool(settings.sql_echo))

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"

    @contextmanager
    def connect(self, *, write: bool, check_schema: bool = True) -> Iterator[Connection]:
        """A connection inside one transaction, committed on success, rolled back on error."""
        engine = self.engine.execution_options(ndoo_write=write)
        try:
            with engine.begin() as conn:
                if check_schema and not self._schema_checked:
                    self._check_schema(conn)
                yield conn
        except NdooError:
            raise
        except exc.SQLAlchemyError as err:
            raise translate(err, self.display_url) from err

    def read(self) -> Any:
        return self.connect(write=False)

    def write(self) -> Any:
        return self.connect(write=True)

    def _check_schema(self, conn: Connection) -> None:
        from ndoo.db.migrate import head_revision

        current = None
        if inspect(conn).has_table("alembic_version"):
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if current != head_revision():
            raise SchemaOutOfDate(
                f"the database {self.display_url} is not at the current schema "
                f"(found {current or 'none'}); run `ndoo db upgrade`"
            )
        self._schema_checked = True

    def dispose(self) -> None:
        self.engine.dispose()


def translate(err: exc.SQLAlchemyError, where: str) -> NdooError:
    """The ndoo error for a SQLAlchemy error; the SQL's parameters are never included."""
    if isinstance(err, exc.OperationalError | exc.InterfaceError) and _is_connect_error(err):
        reason = str(getattr(err, "orig", err)).strip().splitlines()[0][:200]
        return DatabaseUnavailable(f"cannot reach the database {where}: {reason}")
    if isinstance(err, exc.OperationalError | exc.ProgrammingError):
        message = str(getattr(err, "orig", err)).lower()
        if "no such table" in message or "does not exist" in message:
            return SchemaOutOfDate(
                f"the database {where} has no ndoo schema; run `ndoo db upgrade`"
            )
    kind = type(getattr(err, "orig", err)).__name__
    return StorageError(f"database error ({kind}) on {where}")


def _is_connect_error(err: exc.SQLAlchemyError) -> bool:
    if getattr(err, "connection_invalidated", False):
        return True
    orig = getattr(err, "orig", None)
    message = str(orig or err).lower()
    markers = (
        "unable to open database",
        "connection refused",
        "could not connect",
        "connection failed",
        "could not translate host",
        "does not exist",
        "authentication failed",
        "server closed the connection",
        "timeout expired",
    )
    if isinstance(orig, sqlite3.OperationalError):
        return "unable to open" in message or "disk i/o" in message
    return any(marker in message for marker in markers) and "relation" not in message


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook issue BEGIN so writes can take the lock early.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("ndoo_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")
