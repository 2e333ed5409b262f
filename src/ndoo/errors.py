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
    │   ├── FileFormatError          a file row or field is wrong (file, line, field)
    │   ├── InvalidNumbersInFile     a list holds invalid NHS numbers (file, lines, field)
    │   ├── RowErrors                rows of a file are wrong; each problem has line and field
    │   ├── ClientAssignedId         a FHIR create carried an id (MSG_RESOURCE_ID_FAIL)
    │   └── DuplicateRejected        a FHIR create for a person who has a Consent already
    ├── RuleViolation                a register rule refuses the change
    │   ├── ProxyNotPermitted        a proxy acted where the rules do not allow one
    │   ├── SelfNotPermitted         a child under 13 or a person lacking capacity acted alone
    │   ├── DeceasedPerson           the choice of a deceased person cannot change
    │   ├── DuplicateEvent           the person already has an event at that effective time
    │   ├── AssessmentNeeded         a disclosure has no current, decided scope assessment
    │   └── DeclarationRefused       compliance cannot be declared while steps are undone
    ├── NotFound                     something asked for does not exist
    │   ├── PersonNotFound           no demographic record for that NHS number
    │   ├── CacheEntryNotFound       no cleaned list is cached for that cohort
    │   └── DisclosureNotFound       no disclosure with that reference in the register
    ├── MeshError                    MESH could not be used
    │   ├── MeshUnavailable          refused, timed out or a server error (5xx)
    │   ├── MeshAuthenticationFailed mailbox, password, shared key or certificate refused (403)
    │   ├── MeshMessageGone          the message does not exist or has expired (404, 410)
    │   └── MeshRecipientRejected    MESH refused the recipient or the message (417)
    ├── NotificationFailed           a message could not be sent (Notify or SMTP failed)
    ├── AccessError                  the web service refuses the request
    │   ├── LoginRequired            a staff page needs a signed-in member of staff
    │   ├── AccessDenied             the member of staff's role does not allow it
    │   ├── CsrfFailed               a form came without this session's token
    │   └── RateLimited              too many requests from one client address
    └── CheckError                   the checking service's answer cannot be used
        ├── CheckRejected            the service rejected the request (invalid or empty file)
        ├── CheckResponseMismatch    the response holds numbers that were never sent
        ├── CheckPending             no response yet; receive it later
        └── CacheEntryExpired        a cached cleaned list is older than the allowed age

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


class InvalidNumbersInFile(InputError):
    """A list of NHS numbers holds invalid ones; names the file and the first lines."""

    code = "invalid_nhs_numbers"

    def __init__(
        self,
        *,
        file: str,
        lines: list[int],
        count: int,
        field: str | None = None,
        unit: str = "line",
    ) -> None:
        shown = ", ".join(str(n) for n in lines)
        more = f" and {count - len(lines)} more" if count > len(lines) else ""
        column = f" (column {field!r})" if field else ""
        noun = (
            "entry is not a valid NHS number" if count == 1 else "entries are not valid NHS numbers"
        )
        super().__init__(
            f"{file}: {count} {noun}{column}, on {unit if count == 1 else _plural(unit)} "
            f"{shown}{more}; "
            "correct or remove them and try again (nothing was sent)",
            file=file,
            lines=lines,
            count=count,
            field=field,
        )
        self.file = file
        self.lines = lines
        self.count = count
        self.field = field


class RowErrors(InputError):
    """Several rows of one file are wrong; nothing from the file was used.

    ``problems`` holds each as ``{"line": int, "field": str | None, "message": str}``
    (lines count the header as line 1), so a caller can point at every place.
    """

    code = "row_errors"

    def __init__(self, *, file: str, problems: list[dict[str, Any]], shown: int = 20) -> None:
        rows = sorted({p["line"] for p in problems})
        listed = "; ".join(
            f"line {p['line']}"
            + (f", field {p['field']!r}" if p.get("field") else "")
            + f": {p['message']}"
            for p in problems[:shown]
        )
        more = f"; and {len(problems) - shown} more" if len(problems) > shown else ""
        noun = "row has a problem" if len(rows) == 1 else "rows have problems"
        super().__init__(
            f"{file}: {len(rows)} {noun}, nothing was imported: {listed}{more}",
            file=file,
            problems=problems,
        )
        self.file = file
        self.problems = problems


class ClientAssignedId(InputError):
    """A FHIR create carried an id; the server assigns ids (historically HTTP 405)."""

    code = "MSG_RESOURCE_ID_FAIL"


class DuplicateRejected(InputError):
    """A FHIR create for a person who already has a ``Consent`` (historically HTTP 422)."""

    code = "DUPLICATE_REJECTED"


def _plural(unit: str) -> str:
    return "entries" if unit == "entry" else f"{unit}s"


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


class AssessmentNeeded(RuleViolation):
    code = "assessment_needed"


class DeclarationRefused(RuleViolation):
    code = "declaration_refused"


class NotFound(NdooError):
    code = "not_found"


class PersonNotFound(NotFound):
    code = "person_not_found"


class CacheEntryNotFound(NotFound):
    code = "cache_entry_not_found"


class DisclosureNotFound(NotFound):
    code = "disclosure_not_found"


class MeshError(NdooError):
    code = "mesh"


class MeshUnavailable(MeshError):
    code = "mesh_unavailable"


class MeshAuthenticationFailed(MeshError):
    code = "mesh_authentication_failed"


class MeshMessageGone(MeshError):
    code = "mesh_message_gone"


class MeshRecipientRejected(MeshError):
    code = "mesh_recipient_rejected"


class NotificationFailed(NdooError):
    code = "notification_failed"


class AccessError(NdooError):
    code = "access"


class LoginRequired(AccessError):
    code = "login_required"


class AccessDenied(AccessError):
    code = "access_denied"


class CsrfFailed(AccessError):
    code = "csrf_failed"


class RateLimited(AccessError):
    code = "rate_limited"


class CheckError(NdooError):
    code = "check"


class CheckRejected(CheckError):
    code = "check_rejected"


class CheckResponseMismatch(CheckError):
    code = "check_response_mismatch"


class CheckPending(CheckError):
    code = "check_pending"


class CacheEntryExpired(CheckError):
    code = "cache_entry_expired"


def error_body(exc: NdooError) -> dict[str, Any]:
    """The one JSON shape of an error, used by the CLI's ``--json`` and the web."""
    return {"error": {"code": exc.code, "message": exc.message, "details": dict(exc.details)}}
