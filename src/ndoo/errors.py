"""The one exception tree of ndoo, and the one JSON shape an error takes.

Every error the library raises on purpose is a subclass of :class:`NdooError`.
Errors from dependencies (SQLAlchemy, the file system, pyarrow) are translated
at the boundary with ``raise X from exc`` so callers only ever catch ndoo's own.

::

    NdooError
    ├── ConfigurationError           a setting has a value that cannot be used
    ├── StorageError                 the database failed
    │   ├── DatabaseUnavailable      it cannot be reached or opened
    │   └── SchemaOutOfDate          migrations have not been run (``ndoo db upgrade``)
    ├── InputError                   something a user supplied is wrong
    │   ├── InvalidNHSNumber         not a valid NHS number (format, check digit, placeholder)
    │   └── FileFormatError          a file row or field is wrong (file, line, field)
    ├── RuleViolation                a register rule refuses the change
    │   ├── ProxyNotPermitted        a proxy acted where the rules do not allow one
    │   ├── SelfNotPermitted         a child under 13 or a person lacking capacity acted alone
    │   ├── DeceasedPerson           the choice of a deceased person cannot change
    │   └── DuplicateEvent           the person already has an event at that effective time
    └── NotFound                     something asked for does not exist
        └── PersonNotFound           no demographic record for that NHS number

Messages never contain NHS numbers, names or clinical codes when they are
meant for logs; messages shown to the person who typed the value may echo
the value back (they already have it).
"""

from __future__ import annotations

from typing import Any


class NdooError(Exception):
    """Base of every error ndoo raises on purpose."""

    #: Short machine-readable name used in the JSON error shape.
    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = {k: v for k, v in details.items() if v is not None}

    def __str__(self) -> str:
        return self.message


class ConfigurationError(NdooError):
    code = "configuration"


class StorageError(NdooError):
    code = "storage"


class DatabaseUnavailable(StorageError):
    code = "database_unavailable"


class SchemaOutOfDate(StorageError):
    code = "schema_out_of_date"


class InputError(NdooError):
    code = "invalid_input"


class InvalidNHSNumber(InputError):
    code = "invalid_nhs_number"


class FileFormatError(InputError):
    """A problem in one place of an input file.

    ``file``, ``line`` (1-based, counting the header) and ``field`` are kept as
    data so a caller can point at the place without parsing the message.
    """

    code = "file_format"

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                file,
                f"line {line}" if line is not None else None,
                f"field {field!r}" if field is not None else None,
            )
            if part
        )
        super().__init__(
            f"{where}: {problem}" if where else problem, file=file, line=line, field=field
        )
        self.problem = problem
        self.file = file
        self.line = line
        self.field = field


class RuleViolation(NdooError):
    code = "rule_violation"


class ProxyNotPermitted(RuleViolation):
    code = "proxy_not_permitted"


class SelfNotPermitted(RuleViolation):
    code = "self_not_permitted"


class DeceasedPerson(RuleViolation):
    code = "deceased_person"


class DuplicateEvent(RuleViolation):
    code = "duplicate_event"


class NotFound(NdooError):
    code = "not_found"


class PersonNotFound(NotFound):
    code = "person_not_found"


def error_body(exc: NdooError) -> dict[str, Any]:
    """The one JSON shape of an error, used by the CLI's ``--json`` and the web."""
    return {"error": {"code": exc.code, "message": exc.message, "details": dict(exc.details)}}
