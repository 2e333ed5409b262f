"""The ``.dat`` files of the Check for National Data Opt-outs service: parse and write.

An organisation sends the service (``POS``) a list of NHS numbers and gets the list
back without the numbers of people who have opted out.  Both files have one number a
line, ten digits and a comma, no header::

    9000000009,
    9000000017,

What :func:`parse` accepts
--------------------------
* An optional UTF-8 byte order mark (``EF BB BF``) at the very start is skipped.
* A line ends in LF or CRLF; the last line may have no ending.  A CR at the very end
  of a line (before its LF, or at the end of the data) belongs to the ending.
* Every non-empty line is exactly ten ASCII digits followed by one comma, nothing
  else: no spaces, no header, no second field, no missing comma.
* The ten digits must also be a valid NHS number: Modulus 11 holds and it is not one
  of the placeholders ``0000000000`` … ``9999999999`` (as
  :func:`ndoo.nhs_number.validate_array` decides).
* A line failing any of this is invalid.  NUL bytes, non-ASCII bytes, a lone CR
  inside a line and so on simply make the line invalid: :func:`parse` never raises
  on any bytes.
* Empty lines (no bytes, or only a CR) are ignored, but they count for line numbers.
* Line numbers are physical and 1-based, as an editor shows them; a byte order mark
  does not change them.

Decisions where the real service is not documented (``shared/domain/check-service.md``)
---------------------------------------------------------------------------------------
* **One invalid line rejects the whole file**, as the service does; the response is
  then the single line :data:`INVALID_FILE_LINE`.  :class:`ParsedRequest` still
  counts and locates the invalid lines so the sender can fix them.
* **The check digit is checked.**  The live service may check only length and
  format (unverified); a file we accept is one it would accept too.
* **Duplicates are kept**: every request line whose number has no opt-out comes back,
  in request order, however often the number repeats.
* **The response** has no byte order mark, and every line, the last one included,
  ends with the ending of the request's first line.  Nothing left to return is sent
  as :data:`EMPTY_RESPONSE` because MESH refuses empty message bodies.
* The whole file is held in memory: 100 MB (the MESH UI limit) is about 8.7 million
  lines.  The general path works through it a few MiB at a time, so that what it
  needs besides stays small whatever the file holds.

Speed
-----
Almost every request is a run of lines of one width: 12 bytes (``NNNNNNNNNN,`` LF) or
13 (CRLF).  :func:`fixed_width_rows` recognises that from the length alone, and
:class:`~ndoo.checkrows.FixedWidthRows` checks each block of rows with whole-word
arithmetic on unaligned 8-byte views of the buffer (no copy of the file, no Python loop
per line); see :mod:`ndoo.checkrows`.  Anything else goes to the general path, which
finds the line breaks and checks each line; both give the same result, and a failing
fast path falls back to the general one to locate the invalid lines.  Checking 10
million lines against 3.5 million opt-outs takes about 0.4 s on one core, file to file
(``bench/results/check.md``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from ndoo.checkrows import (
    COMMA,
    DIGITS,
    LINE,
    ROWS_PER_BLOCK,
    ZERO,
    FixedWidthRows,
    check_lines,
)
from ndoo.errors import FileFormatError, InvalidNHSNumber
from ndoo.nhs_number import MAX_NUMBER, validate_array

INVALID_FILE_LINE: Final = "The file contains one or more invalid NHS Numbers."
EMPTY_RESPONSE: Final = b"\n"  # what is sent when no number remains (MESH refuses empty bodies)

BOM: Final = b"\xef\xbb\xbf"
LINE_ENDINGS: Final = (b"\n", b"\r\n")
_LF = 0x0A
_CR = 0x0D
_FORMAT_BLOCK = 1 << 20  # numbers formatted at a time


@dataclass(frozen=True)
class ParsedRequest:
    """What a request file holds, and where it is wrong."""

    numbers: npt.NDArray[np.int64]  # in file order, duplicates kept; empty if any line is invalid
    lines: int  # data lines seen (non-empty lines)
    invalid_count: int  # how many of them are invalid
    invalid_lines: tuple[int, ...]  # 1-based physical numbers of the first invalid lines
    line_ending: bytes  # b"\n" or b"\r\n": the ending of the first line (b"\n" if none)

    @property
    def valid(self) -> bool:
        return self.invalid_count == 0


def parse(data: bytes | bytearray | memoryview, *, max_reported: int = 20) -> ParsedRequest:
    """Read a request file's bytes; never raises on their content.

    ``max_reported`` caps how many invalid line numbers are kept (all are counted).
    """
    if max_reported < 0:
        raise ValueError("max_reported cannot be negative")
    buf = as_bytes_array(data)
    start, ending = _start_and_ending(buf)
    rows = FixedWidthRows.detect(buf, start, ending)
    if rows is not None:
        parsed = _parse_fixed(rows, max_reported)
        if parsed is not None:
            return parsed
    numbers, lines, invalid_count, invalid_lines = _parse_general(
        buf, start, first_line=1, max_reported=max_reported
    )
    return ParsedRequest(numbers, lines, invalid_count, invalid_lines, ending)


def fixed_width_rows(data: bytes | bytearray | memoryview) -> FixedWidthRows | None:
    """The rows a request would have if its lines are of one width (unchecked).

    The width is that of the first line's ending; ``None`` if not one row fits.  The
    lines after the rows are read by :func:`parse_tail`.
    """
    buf = as_bytes_array(data)
    start, ending = _start_and_ending(buf)
    return FixedWidthRows.detect(buf, start, ending)


def parse_tail(rows: FixedWidthRows, *, max_reported: int) -> ParsedRequest:
    """The lines after ``rows`` (by the general path), numbered as lines of the whole file."""
    numbers, lines, invalid_count, invalid_lines = _parse_general(
        rows.buf, rows.end, first_line=rows.count + 1, max_reported=max_reported
    )
    return ParsedRequest(numbers, lines, invalid_count, invalid_lines, rows.line_ending)


def format_numbers(numbers: npt.ArrayLike, *, line_ending: bytes = b"\n") -> bytes:
    """``NNNNNNNNNN,`` and the line ending for each number, zero-padded; ``b""`` for none.

    Only the range is checked (0 to 9 999 999 999); :func:`write_numbers` also
    refuses numbers that are not valid NHS numbers.
    """
    ending = _checked_ending(line_ending)
    array = np.asarray(numbers)
    if array.size == 0:
        return b""
    if array.dtype.kind not in "iu":
        raise TypeError(f"expected integer NHS numbers, got dtype {array.dtype}")
    values = array.astype(np.int64, copy=False).ravel()
    if values.min() < 0 or values.max() > MAX_NUMBER:
        raise InvalidNHSNumber("an NHS number has ten digits, 0 to 9999999999")
    width = LINE + len(ending)
    out = np.empty((values.size, width), dtype=np.uint8)
    out[:, DIGITS] = COMMA
    out[:, LINE:] = np.frombuffer(ending, dtype=np.uint8)
    for first in range(0, values.size, _FORMAT_BLOCK):
        _write_digits(values[first : first + _FORMAT_BLOCK], out[first : first + _FORMAT_BLOCK])
    return out.tobytes()


def read_numbers(path: str | os.PathLike[str]) -> npt.NDArray[np.int64]:
    """The numbers of a request file; :class:`FileFormatError` at its first invalid line."""
    file = Path(path)
    parsed = parse(file.read_bytes(), max_reported=1)
    if not parsed.valid:
        raise FileFormatError(
            f"not ten digits and a comma forming a valid NHS number "
            f"({parsed.invalid_count} invalid line(s) in all)",
            file=str(file),
            line=parsed.invalid_lines[0],
        )
    return parsed.numbers


def write_numbers(
    path: str | os.PathLike[str], numbers: npt.ArrayLike, *, line_ending: bytes = b"\n"
) -> None:
    """Write a request file atomically; refuses numbers that :func:`parse` would reject."""
    array = np.asarray(numbers)
    if array.size and not (array.dtype.kind in "iu" and validate_array(array).all()):
        raise InvalidNHSNumber("a request may hold only valid NHS numbers")
    write_atomically(Path(path), format_numbers(array, line_ending=line_ending))


def write_atomically(path: Path, *chunks: bytes | memoryview) -> None:
    """Write ``chunks`` to ``path`` so readers see the old file or the whole new one.

    A temporary file in the same directory (mode 0600: it holds NHS numbers) is
    renamed over ``path``.  It is not fsynced: whoever needs the file to survive a
    power cut keeps the request until the response is safely sent.
    """
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, then renamed
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            for chunk in chunks:
                handle.write(chunk)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def as_bytes_array(data: bytes | bytearray | memoryview) -> npt.NDArray[np.uint8]:
    """The bytes of ``data`` as a 1-D ``uint8`` array, without a copy when contiguous."""
    view = memoryview(data)
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    return np.frombuffer(view, dtype=np.uint8)


# ---------------------------------------------------------------------------
# Fast path: lines of one width (ndoo.checkrows), then the tail by the general path.


def _parse_fixed(rows: FixedWidthRows, max_reported: int) -> ParsedRequest | None:
    """All rows and the tail, or ``None`` when a row is invalid (the general path decides)."""
    # A tail is shorter than one line, so it holds at most one number.
    numbers = np.empty(rows.count + 1, dtype=np.int64)
    for first in range(0, rows.count, ROWS_PER_BLOCK):
        stop = min(first + ROWS_PER_BLOCK, rows.count)
        block = rows.numbers(first, stop)
        if block is None:
            return None
        numbers[first:stop] = block
    tail = parse_tail(rows, max_reported=max_reported)
    if not tail.valid:
        return ParsedRequest(
            np.empty(0, dtype=np.int64),
            rows.count + tail.lines,
            tail.invalid_count,
            tail.invalid_lines,
            rows.line_ending,
        )
    numbers[rows.count : rows.count + tail.numbers.size] = tail.numbers
    total = rows.count + tail.numbers.size
    return ParsedRequest(numbers[:total], total, 0, (), rows.line_ending)


# ---------------------------------------------------------------------------
# General path: find every line break, then check each line, a few MiB at a time so
# that memory stays bounded whatever the file holds (say, 100 MB of blank lines).

_GENERAL_BYTES = 1 << 22  # bytes of whole lines parsed at a time


@dataclass
class _Tally:
    """What the general path has found so far."""

    max_reported: int
    numbers: list[npt.NDArray[np.int64]] = field(default_factory=list)
    lines: int = 0
    invalid_count: int = 0
    invalid_lines: list[int] = field(default_factory=list)

    def result(self) -> tuple[npt.NDArray[np.int64], int, int, tuple[int, ...]]:
        if self.invalid_count:
            empty = np.empty(0, dtype=np.int64)
            return empty, self.lines, self.invalid_count, tuple(self.invalid_lines)
        if not self.numbers:
            return np.empty(0, dtype=np.int64), self.lines, 0, ()
        return np.concatenate(self.numbers), self.lines, 0, ()


def _parse_general(
    buf: npt.NDArray[np.uint8], start: int, *, first_line: int, max_reported: int
) -> tuple[npt.NDArray[np.int64], int, int, tuple[int, ...]]:
    """``(numbers, lines, invalid_count, invalid_lines)`` of the lines from ``start``."""
    tally = _Tally(max_reported)
    line_number, position = first_line, start
    while position < buf.size:
        stop = _whole_lines_end(buf, position)
        part = buf[position:stop]
        line_number += _parse_lines(part, line_number, tally, last=stop == buf.size)
        position = stop
    return tally.result()


def _whole_lines_end(buf: npt.NDArray[np.uint8], position: int) -> int:
    """End of the whole lines (each with its LF) of the next block, or of the data."""
    scanned, stop = position, position + _GENERAL_BYTES
    while stop < buf.size:
        found = np.flatnonzero(buf[scanned:stop] == _LF)
        if found.size:
            return scanned + int(found[-1]) + 1
        # A line longer than a block (invalid, but still one line): look further.
        scanned, stop = stop, stop + _GENERAL_BYTES
    return int(buf.size)


def _parse_lines(body: npt.NDArray[np.uint8], first_line: int, tally: _Tally, *, last: bool) -> int:
    """Check the lines of ``body`` into ``tally``; return how many lines it holds.

    ``body`` ends just after an LF unless it is the ``last`` part of the data: only
    then are the bytes after its last LF a line (the last one, without an ending).
    """
    breaks = np.flatnonzero(body == _LF)
    count = breaks.size + int(last)
    starts = np.zeros(count, dtype=np.int64)
    np.add(breaks[: count - 1], 1, out=starts[1:])
    lengths = np.full(count, body.size, dtype=np.int64)
    lengths[: breaks.size] = breaks
    # A CR ending a line is part of its ending (body[-1] for an empty first line is masked).
    ends_in_cr = body[lengths - 1] == _CR
    lengths -= starts
    ends_in_cr &= lengths > 0
    lengths -= ends_in_cr
    nonempty = lengths > 0
    good = np.zeros(count, dtype=bool)
    values = np.zeros(count, dtype=np.int64)
    candidates = np.flatnonzero(lengths == LINE)
    if candidates.size:
        good[candidates], values[candidates] = check_lines(body, starts[candidates])
    invalid = nonempty & ~good
    tally.lines += int(np.count_nonzero(nonempty))
    found = int(np.count_nonzero(invalid))
    if found:
        room = tally.max_reported - len(tally.invalid_lines)
        tally.invalid_lines += (np.flatnonzero(invalid)[:room] + first_line).tolist()
        tally.invalid_count += found
    if not tally.invalid_count:  # the numbers matter only while every line is valid
        tally.numbers.append(values[nonempty])
    return count


def _start_and_ending(buf: npt.NDArray[np.uint8]) -> tuple[int, bytes]:
    """Where the lines start (after any byte order mark) and the first line's ending."""
    start = len(BOM) if buf[: len(BOM)].tobytes() == BOM else 0
    return start, _first_line_ending(buf, start)


def _first_line_ending(buf: npt.NDArray[np.uint8], start: int) -> bytes:
    """CRLF if the first LF follows a CR, else LF (also when there is no LF)."""
    position, block = start, 4096
    while position < buf.size:
        found = np.flatnonzero(buf[position : position + block] == _LF)
        if found.size:
            at = position + int(found[0])
            return b"\r\n" if at > start and buf[at - 1] == _CR else b"\n"
        position += block
        block = min(block * 4, 1 << 24)
    return b"\n"


def _checked_ending(line_ending: bytes) -> bytes:
    if line_ending not in LINE_ENDINGS:
        raise ValueError("the line ending must be b'\\n' or b'\\r\\n'")
    return line_ending


def _write_digits(values: npt.NDArray[np.int64], out: npt.NDArray[np.uint8]) -> None:
    """ASCII digits of ``values`` (0 to 9999999999) into ``out[:, :10]``."""
    # Two five-digit halves fit 32 bits, where division by a constant is cheaper.
    high = (values // 100_000).astype(np.uint32)
    low = (values - high.astype(np.int64) * 100_000).astype(np.uint32)
    for half, offset in ((high, 0), (low, 5)):
        for column in range(offset + 4, offset - 1, -1):
            out[:, column] = half % 10 + ZERO
            half //= 10
