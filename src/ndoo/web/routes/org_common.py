"""What the organisation's console pages share: who the organisation is, uploads kept
within a size, and files sent as downloads (problems for the error summary come from
:mod:`ndoo.web.forms`).

This module has no routes of its own.
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import date
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from ndoo.disclosures.record import parse_date
from ndoo.errors import FileFormatError, InputError
from ndoo.web import deps

#: Bytes read from an upload at a time.
CHUNK = 1 << 20


def organisation(request: Request) -> str:
    """The ODS code of the organisation whose register and programme the console keeps."""
    return str(deps.settings(request).organisation_code)


def file_problem(exc: InputError) -> str:
    """An error about a file the server saved, without the server's path for it."""
    if isinstance(exc, FileFormatError):
        where = f"line {exc.line}: " if exc.line is not None else ""
        return f"{where}{exc.problem}"
    return exc.message


def parse_day(text: str, field: str) -> date | None:
    """A date typed as YYYY-MM-DD or DD/MM/YYYY; ``None`` when blank."""
    if not text.strip():
        return None
    try:
        return parse_date(text.strip())
    except ValueError:
        raise InputError(
            "enter a real date as YYYY-MM-DD, for example 2026-03-31", field=field
        ) from None


def random_name(length: int = 20) -> str:
    """Random lower-case letters: a folder name that can never read as an NHS number."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))


def declared_length(request: Request) -> int | None:
    """The request body's size as the client declared it, if it did."""
    raw = request.headers.get("content-length", "")
    return int(raw) if raw.isdigit() else None


def too_large_message(limit: int) -> str:
    return f"the file must be smaller than {limit // (1024 * 1024)} MB"


async def save_upload(upload: UploadFile, target: Path, limit: int, field: str) -> int:
    """Write ``upload`` to ``target``; refuse (and remove it) past ``limit`` bytes."""
    written = 0
    with target.open("wb") as handle:
        while chunk := await upload.read(CHUNK):
            written += len(chunk)
            if written > limit:
                handle.close()
                target.unlink(missing_ok=True)
                raise InputError(too_large_message(limit), field=field)
            handle.write(chunk)
    return written


async def uploaded_file(request: Request, name: str) -> UploadFile | None:
    """The file posted as ``name`` (after :func:`ndoo.web.deps.form` checked the form)."""
    found = (await request.form()).get(name)
    if isinstance(found, str) or found is None or not found.filename:
        return None
    return found


async def posted_list(request: Request, name: str) -> list[str]:
    """Every text value posted as ``name`` (checkboxes)."""
    return [v for v in (await request.form()).getlist(name) if isinstance(v, str)]


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def download(content: bytes | str, filename: str, media_type: str) -> Response:
    """``content`` as a file the browser saves as ``filename``."""
    safe = _UNSAFE.sub("-", filename).strip("-") or "download"
    body = content.encode("utf-8") if isinstance(content, str) else content
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
