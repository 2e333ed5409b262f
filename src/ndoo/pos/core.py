"""The checking core of the Check for National Data Opt-outs service: pure, no MESH, no DB.

A request is a ``.dat`` file of NHS numbers (:mod:`ndoo.checkfile`); the response is
the same file without the numbers that have an opt-out, an allow-list: lines are kept
in request order, duplicates included, with the request's line ending.  One invalid
line rejects the whole file, answered by :data:`~ndoo.checkfile.INVALID_FILE_LINE`.
Nothing left to return, or nothing sent, is answered by
:data:`~ndoo.checkfile.EMPTY_RESPONSE`, because MESH refuses empty bodies.

The fast path works a block of rows at a time: :class:`~ndoo.checkrows.FixedWidthRows`
checks the block and yields its stems, :meth:`NumberSet.probe` marks the opted-out
ones, and the kept rows are copied byte for byte from the request into the response,
so no number is formatted again.  Requests that are not all of one line width, or
hold an invalid line, take the general path through :func:`ndoo.checkfile.parse`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from ndoo.checkfile import (
    EMPTY_RESPONSE,
    INVALID_FILE_LINE,
    as_bytes_array,
    fixed_width_rows,
    format_numbers,
    parse,
    parse_tail,
    write_atomically,
)
from ndoo.checkrows import ROWS_PER_BLOCK, FixedWidthRows
from ndoo.numberset import NumberSet, Scratch

Status = Literal["success", "invalid", "empty"]
MAX_REPORTED: Final = 20  # invalid line numbers kept in an outcome


@dataclass(frozen=True)
class CheckOutcome:
    """The answer to one request."""

    status: Status  # "empty": the file held no NHS numbers at all
    received: int  # numbers received (data lines)
    returned: int  # numbers in the response
    invalid_count: int
    invalid_lines: tuple[int, ...]  # 1-based line numbers of the first invalid lines
    # The response as a read-only, zero-copy view of the checking buffer; `response` is
    # its bytes, made on first use (check_file's caller often never needs them in
    # memory).  Compared by content; not hashed (the buffer behind it is not hashable),
    # and never shown: it holds NHS numbers.
    body: memoryview = field(repr=False, hash=False)

    @cached_property
    def response(self) -> bytes:
        """The data file to send back."""
        return self.body.tobytes()


def check_request(data: bytes | bytearray | memoryview, index: NumberSet) -> CheckOutcome:
    """Check a request's bytes against ``index``; never raises on their content."""
    buf = as_bytes_array(data)
    rows = fixed_width_rows(buf.data)
    if rows is not None:
        outcome = _check_rows(rows, index)
        if outcome is not None:
            return outcome
    return _check_parsed(buf, index)


def check_file(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], index: NumberSet
) -> CheckOutcome:
    """Check the request file ``src``; write the response to ``dst`` atomically."""
    outcome = check_request(_read(Path(src)).data, index)
    write_atomically(Path(dst), outcome.body)
    return outcome


def _check_rows(rows: FixedWidthRows, index: NumberSet) -> CheckOutcome | None:
    """The fast path, or ``None`` when a row is not a valid line."""
    width = rows.width
    # Room for every row and the tail's one number, formatted.
    out = np.empty((rows.count + 1) * width, dtype=np.uint8)
    written = 0
    block = min(rows.count, ROWS_PER_BLOCK)
    scratch, keep = Scratch(block), np.empty(block, dtype=bool)
    for first in range(0, rows.count, ROWS_PER_BLOCK):
        stop = min(first + ROWS_PER_BLOCK, rows.count)
        stems = rows.stems(first, stop)
        if stems is None:
            return None
        kept = keep[: stop - first]
        np.less(index.probe(stems, scratch), 0x80, out=kept)
        copied = rows.rows(first, stop)[kept].view(np.uint8)
        out[written : written + copied.size] = copied
        written += copied.size
    tail = parse_tail(rows, max_reported=MAX_REPORTED)
    received = rows.count + tail.lines
    if not tail.valid:
        return _invalid(received, tail.invalid_count, tail.invalid_lines, rows.line_ending)
    last = format_numbers(tail.numbers[~index.contains(tail.numbers)], line_ending=rows.line_ending)
    out[written : written + len(last)] = np.frombuffer(last, dtype=np.uint8)
    written += len(last)
    return _success(received, written // width, out[:written])


def _check_parsed(buf: npt.NDArray[np.uint8], index: NumberSet) -> CheckOutcome:
    """The general path: any layout, and the reporting of invalid lines."""
    parsed = parse(buf.data, max_reported=MAX_REPORTED)
    if not parsed.valid:
        return _invalid(
            parsed.lines, parsed.invalid_count, parsed.invalid_lines, parsed.line_ending
        )
    if parsed.lines == 0:
        return CheckOutcome("empty", 0, 0, 0, (), memoryview(EMPTY_RESPONSE))
    kept = parsed.numbers[~index.contains(parsed.numbers)]
    body = format_numbers(kept, line_ending=parsed.line_ending)
    return _success(parsed.lines, kept.size, np.frombuffer(body, dtype=np.uint8))


def _success(received: int, returned: int, body: npt.NDArray[np.uint8]) -> CheckOutcome:
    response = body.data.toreadonly() if returned else memoryview(EMPTY_RESPONSE)
    return CheckOutcome("success", received, returned, 0, (), response)


def _invalid(
    received: int, invalid_count: int, invalid_lines: tuple[int, ...], line_ending: bytes
) -> CheckOutcome:
    response = memoryview(INVALID_FILE_LINE.encode("ascii") + line_ending)
    return CheckOutcome("invalid", received, 0, invalid_count, invalid_lines, response)


def _read(path: Path) -> npt.NDArray[np.uint8]:
    """A file's bytes in a NumPy array.

    NumPy asks the kernel for huge pages for large arrays, which makes filling 100 MB
    several times cheaper than a ``bytes`` object of the same size on this platform.
    """
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        buf = np.empty(size + 1, dtype=np.uint8)  # one more byte tells that it grew
        view = buf.data
        filled = 0
        while filled < buf.size and (count := handle.readinto(view[filled:])):
            filled += count
        if filled < buf.size:
            return buf[:filled]
        rest = np.frombuffer(handle.read(), dtype=np.uint8)
        return np.concatenate((buf, rest))
