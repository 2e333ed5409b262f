"""The JSON receipt the checking service sends with every answer.

The live service sends a separate DATA message with subject ``SUCCESS`` and the
request's local id, holding a JSON submission status (``dataset_id`` ``mesh_to_pos``,
``status``, ``stages`` and ``metadata.request.extra``).  ndoo's receipt keeps that
shape and adds what the live one lacks: the counts received and returned, the first
invalid lines by number, and the time of the register snapshot used.  A request the
service cannot answer gets a receipt with subject ``ERROR`` and an ``error`` object
saying why, instead of silence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from ndoo import __version__
from ndoo.pos.state import RequestState
from ndoo.timeutil import iso

DATASET_ID: Final = "mesh_to_pos"
SUCCESS_SUBJECT: Final = "SUCCESS"
ERROR_SUBJECT: Final = "ERROR"
CONTENT_TYPE: Final = "application/json"

_ERRORS: Final = {
    "invalid": (
        "invalid_nhs_numbers",
        "The file contains one or more invalid NHS Numbers. Every line must be a ten-digit "
        "NHS number that passes the Modulus 11 check, followed by a comma.",
    ),
    "empty": ("empty_file", "The file contains no NHS numbers."),
    "missing_headers": (
        "missing_subject_or_local_id",
        "The request had no subject or no local id; both are required. Send it again with "
        "both set (use only letters, digits, '-' and '_').",
    ),
}


@dataclass(frozen=True)
class Receipt:
    subject: str
    filename: str
    body: bytes


def receipt_filename(request: RequestState) -> str:
    stem = (request.filename or request.message_id).rsplit(".", 1)[0]
    return f"{stem}_receipt.json"


def build(request: RequestState, *, mailbox: str) -> Receipt:
    """The receipt for a processed request (its counts and outcome are in ``request``)."""
    outcome = request.outcome or "success"
    error = _ERRORS.get(outcome)
    body: dict[str, Any] = {
        "dataset_id": DATASET_ID,
        "status": "error" if error else "success",
        "error": {"code": error[0], "message": error[1]} if error else None,
        "stages": [
            {"name": "validate_subject_and_local_id", "passed": outcome != "missing_headers"},
            {"name": "validate_non_empty_file", "passed": outcome not in ("empty",)},
            {"name": "validate_nhs_numbers", "passed": outcome == "success"},
        ],
        "counts": {
            "received": request.received_count,
            "returned": request.returned_count,
            "invalid": request.invalid_count,
        },
        "invalid_lines": list(request.invalid_lines),
        "snapshot_at": iso(request.snapshot_at) if request.snapshot_at else None,
        "metadata": {
            "file_type": "dat",
            "request": {
                "extra": {
                    "sending_mailbox": request.sender,
                    "landing_mailbox": mailbox,
                    "message_id": request.message_id,
                    "filename": request.filename,
                    "local_id": request.local_id,
                    "subject": request.subject,
                }
            },
        },
        "service": {"name": "ndoo", "version": __version__},
    }
    return Receipt(
        subject=ERROR_SUBJECT if error else SUCCESS_SUBJECT,
        filename=receipt_filename(request),
        body=json.dumps(body, indent=2).encode("utf-8"),
    )
