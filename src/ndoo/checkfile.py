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
13 (CRLF).  :class:`FixedWidthRows` recognises that from the length alone and checks
each block of rows with whole-word arithmetic on unaligned 8-byte views of the buffer
(no copy of the file, no Python loop per line); see its docstring.  Anything else goes
to the general path, which finds the line breaks and checks each line; both give the
same result, and a failing fast path falls back to the general one to locate the
invalid lines.  Checking 10 million lines against 3.5 million opt-outs takes about
0.4 s on one core, file to file (``bench/results/check.md``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from ndoo.errors import FileFormatError, InvalidNHSNumber
from ndoo.nhs_number import MAX_NUMBER, validate_array

INVALID_FILE_LINE: Final = "The file contains one or more invalid NHS Numbers."
EMPTY_RESPONSE: Final = b"\n"  # what is sent when no number remains (MESH refuses empty bodies)

BOM: Final = b"\xef\xbb\xbf"
LINE_ENDINGS: Final = (b"\n", b"\r\n")
_LF = 0x0A
_CR = 0x0D
_COMMA = 0x2C
_ZERO = 0x30
_DIGITS = 10  # digits in an NHS number
_LINE = _DIGITS + 1  # a data line without its ending: ten digits and a comma


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
    rows = FixedWidthRows.detect(buf.data)
    if rows is not None:
        parsed = _parse_fixed(rows, max_reported)
        if parsed is not None:
            return parsed
    numbers, lines, invalid_count, invalid_lines = _parse_general(
        buf, start, first_line=1, max_reported=max_reported
    )
    return ParsedRequest(numbers, lines, invalid_count, invalid_lines, ending)


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
    width = _LINE + len(ending)
    out = np.empty((values.size, width), dtype=np.uint8)
    out[:, _DIGITS] = _COMMA
    out[:, _LINE:] = np.frombuffer(ending, dtype=np.uint8)
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
# Fast path: lines of one width.


def _word(byte_values: list[int]) -> npt.NDArray[np.uint64]:
    """Eight bytes as a little-endian ``uint64`` 0-d array (0-d: cheaper ufunc calls)."""
    return np.array(int.from_bytes(bytes(byte_values), "little"), dtype=np.uint64)


def _repeat(byte: int) -> npt.NDArray[np.uint64]:
    return _word([byte] * 8)


_U64 = np.uint64
_K30 = _repeat(_ZERO)  # subtracting it turns ASCII digits into their values
_DIGIT_ADD = _repeat(0x7F - 9)  # added to a digit's value, sets the top bit above 9
_HIGH = _repeat(0x80)
_PAIRS = np.array(0x00FF00FF00FF00FF, dtype=_U64)
_QUADS = np.array(0x0000FFFF0000FFFF, dtype=_U64)
_BYTE = np.array(0xFF, dtype=_U64)
_MUL_PAIRS = np.array(1 + (10 << 8), dtype=_U64)  # byte pairs: 10 * first + second
_MUL_QUADS = np.array(1 + (100 << 16), dtype=_U64)  # 16-bit pairs: 100 * first + second
_MUL_OCTETS = np.array(1 + (10_000 << 32), dtype=_U64)  # 32-bit halves: 10000 * low + high
# Modulus 11 holds when the sum of position * digit over the ten digits (positions 1 to
# 10: the weights 10..2 and the check digit's 1, negated) is a multiple of 11.  Modulo 11
# the positions 6..10 are -5..-1, so the test is "d1 + 2 d2 + 3 d3 + 4 d4 + 5 d5 and
# 5 d6 + 4 d7 + 3 d8 + 2 d9 + d10 agree modulo 11".  Each side has weights summing to 15,
# so 9 * 15 = 135 fits a byte: one multiplication gathers a side in the top byte with no
# carry from below.  The first side comes from `lo`, the second from `hi`.
_MUL_FIRST_FIVE = np.array(5 << 24 | 4 << 32 | 3 << 40 | 2 << 48 | 1 << 56, dtype=_U64)
# The sides are at most 135, so the test runs on 16 bits: their difference plus 13 * 11
# (positive), times the inverse of 11 modulo 2**16, is at most (2**16 - 1) // 11 exactly
# for multiples of 11.
_BIAS_11 = np.array(13 * 11, dtype=np.uint16)
_INV_11 = np.array(pow(11, -1, 2**16), dtype=np.uint16)
_MAX_11 = np.array((2**16 - 1) // 11, dtype=np.uint16)
_SHIFT_8 = np.array(8, dtype=_U64)
_SHIFT_16 = np.array(16, dtype=_U64)
_SHIFT_32 = np.array(32, dtype=_U64)
_SHIFT_56 = np.array(56, dtype=_U64)
_HUNDRED = np.array(100, dtype=_U64)
# After _quad_values a word is q1 + 2**32 * q2 (digits 1-4 and 5-8).  A placeholder has
# q1 = q2 = 1111 * d, so the word is 1111 * (2**32 + 1) * d: a multiple of the odd number
# 1111 * (2**32 + 1) that is at most 9 times it, which nothing else is.  (For an odd d,
# x * inverse(d) mod 2**64 <= (2**64 - 1) // d exactly when d divides x.)
_QUADS_1111 = 1111 * (2**32 + 1)
_INV_QUADS_1111 = np.array(pow(_QUADS_1111, -1, 2**64), dtype=_U64)
_MAX_QUADS_1111 = np.array((2**64 - 1) // _QUADS_1111, dtype=_U64)
# 10000 * low + high half (as _MUL_OCTETS) and times 10, for the stem: at most 999999990.
_MUL_STEMS = np.array(10 + (100_000 << 32), dtype=_U64)

ROWS_PER_BLOCK: Final = 16_384  # scratch arrays of 128 KiB: the working set stays in L2
_FORMAT_BLOCK = 1 << 20


class FixedWidthRows:
    """The leading lines of a request that all have one width: the fast path.

    A data line is 12 bytes (``NNNNNNNNNN,`` LF) or 13 (CRLF), so a request of ``n``
    such lines is ``n * width`` bytes after the byte order mark, plus a tail shorter
    than one line (a last line without its ending, or blank lines).  :meth:`detect`
    assumes that from the length; :meth:`stems` and :meth:`numbers` then check it for
    a block of rows at a time and return ``None`` as soon as a row is not a valid line,
    so the caller falls back to the general path.

    Each row is read as two unaligned little-endian ``uint64`` words: ``lo``, its first
    eight bytes (digits 1-8), and ``hi``, its last eight (digits 5 or 6 to 10, the comma
    and the ending).  Per block, some thirty whole-array operations and no loop per row:

    * shape: with ``v = w - bottom``, ``v | (v + 0x7F - (top - bottom))`` has a byte's
      top bit set where that byte is outside ``bottom..top`` ('0'..'9' for a digit,
      exactly the byte for a separator); a valid byte neither borrows nor carries, so
      the lowest invalid byte of a word is always caught;
    * value: digit pairs, quads and octets are combined by multiplying by
      ``1 + 10 << 8`` and so on (the usual SWAR parse of eight digits);
    * Modulus 11: two multiplications and a test for multiples of 11 (see above);
    * placeholders: only rows whose first eight digits are all alike are looked at
      closely.

    The block's scratch arrays are reused, so an instance is for one thread.
    """

    def __init__(
        self,
        buf: npt.NDArray[np.uint8],
        start: int,
        width: int,
        count: int,
        line_ending: bytes,
    ) -> None:
        self.buf = buf
        self.start = start
        self.width = width
        self.count = count
        self.line_ending = line_ending
        self._records: npt.NDArray[np.void] = np.ndarray(
            (count,), dtype=np.dtype((np.void, width)), buffer=buf, offset=start
        )
        self._lo = _strided_words(buf, start, width, count)
        self._hi = _strided_words(buf, start + width - 8, width, count)
        # hi holds bytes width-8 .. width-1 of a row; digit k (0-based) is its byte k + 8 - width.
        line = [_ZERO] * _DIGITS + [_COMMA, *line_ending]
        hi_bytes = range(width - 8, width)
        self._hi_bottom = _word([line[i] for i in hi_bytes])
        self._hi_add = _word([0x7F - 9 if i < _DIGITS else 0x7F for i in hi_bytes])
        weights = [10 - i if 5 <= i < _DIGITS else 0 for i in hi_bytes]  # digits 6-10: 5 .. 1
        self._mul_last_five = _word(weights[::-1])
        self._tail_shift = np.array(8 * (16 - width), dtype=_U64)  # digit 9 to byte 0
        size = min(count, ROWS_PER_BLOCK)
        self._scratch = [np.empty(size, dtype=_U64) for _ in range(4)]
        self._sides = [np.empty(size, dtype=np.uint16) for _ in range(2)]

    @classmethod
    def detect(cls, data: bytes | bytearray | memoryview) -> FixedWidthRows | None:
        """The rows a request would have if its lines are of one width (unchecked).

        The width is that of the first line's ending; ``None`` if not one row fits.
        """
        buf = as_bytes_array(data)
        start, line_ending = _start_and_ending(buf)
        width = _LINE + len(line_ending)
        count = (buf.size - start) // width
        if count == 0:
            return None
        return cls(buf, start, width, count, line_ending)

    @property
    def end(self) -> int:
        """Offset of the first byte after the rows (the start of the tail)."""
        return self.start + self.count * self.width

    def rows(self, first: int, stop: int) -> npt.NDArray[np.void]:
        """Rows ``first`` to ``stop`` as a view of ``width``-byte records.

        Records, not a ``(rows, width)`` matrix: selecting rows of records with a
        boolean mask copies each as one block, about six times faster.
        """
        return self._records[first:stop]

    def stems(self, first: int, stop: int) -> npt.NDArray[np.uint64] | None:
        """The nine-digit stems of rows ``first`` to ``stop``, if all are valid lines.

        The result is a scratch array, overwritten by the next call.
        """
        decoded = self._decode(first, stop)
        if decoded is None:
            return None
        quads, tail, spare = decoded
        np.bitwise_and(tail, _BYTE, out=spare)  # digit 9
        np.multiply(quads, _MUL_STEMS, out=quads)
        np.right_shift(quads, _SHIFT_32, out=quads)  # digits 1-8, times 10
        np.add(quads, spare, out=quads)
        return quads

    def numbers(self, first: int, stop: int) -> npt.NDArray[np.int64] | None:
        """The numbers of rows ``first`` to ``stop``, if all are valid lines (scratch)."""
        decoded = self._decode(first, stop)
        if decoded is None:
            return None
        quads, tail, _ = decoded
        np.multiply(quads, _MUL_OCTETS, out=quads)
        np.right_shift(quads, _SHIFT_32, out=quads)  # digits 1-8
        np.multiply(tail, _MUL_PAIRS, out=tail)
        np.right_shift(tail, _SHIFT_8, out=tail)
        np.bitwise_and(tail, _BYTE, out=tail)  # digits 9 and 10 as a number
        np.multiply(quads, _HUNDRED, out=quads)
        np.add(quads, tail, out=quads)
        return quads.view(np.int64)

    def tail(self, max_reported: int) -> ParsedRequest:
        """The lines after the rows, numbered as lines of the whole file."""
        numbers, lines, invalid_count, invalid_lines = _parse_general(
            self.buf, self.end, first_line=self.count + 1, max_reported=max_reported
        )
        return ParsedRequest(numbers, lines, invalid_count, invalid_lines, self.line_ending)

    def _decode(
        self, first: int, stop: int
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64]] | None:
        """``(digits 1-8 as two 4-digit numbers, digit 9 + 256 * digit 10, spare)``.

        ``None`` if a row is not a valid line.  The 4-digit numbers are the low and
        high halves of each word, as :func:`_quad_values` leaves them.
        """
        size = stop - first
        lo, hi, flags, spare = (s[:size] for s in self._scratch)
        # Shape.  Reading the strided words straight into the subtraction saves a copy.
        np.subtract(self._lo[first:stop], _K30, out=lo)
        np.add(lo, _DIGIT_ADD, out=flags)
        np.bitwise_or(flags, lo, out=flags)
        np.subtract(self._hi[first:stop], self._hi_bottom, out=hi)
        np.add(hi, self._hi_add, out=spare)
        np.bitwise_or(spare, hi, out=spare)
        np.bitwise_or(flags, spare, out=flags)
        if np.bitwise_or.reduce(flags) & _HIGH:
            return None
        # Modulus 11: the two sides, their difference made positive, a multiple of 11?
        first_five, last_five = (s[:size] for s in self._sides)
        np.multiply(lo, _MUL_FIRST_FIVE, out=flags)
        np.right_shift(flags, _SHIFT_56, out=first_five, casting="unsafe")
        np.multiply(hi, self._mul_last_five, out=spare)
        np.right_shift(spare, _SHIFT_56, out=last_five, casting="unsafe")
        np.subtract(first_five, last_five, out=first_five)
        np.add(first_five, _BIAS_11, out=first_five)
        np.multiply(first_five, _INV_11, out=first_five)
        if np.max(first_five) > _MAX_11:
            return None
        _quad_values(lo)
        np.right_shift(hi, self._tail_shift, out=hi)
        # Placeholders pass Modulus 11: look closely only at rows whose first eight
        # digits are all alike (see _QUADS_1111).
        np.multiply(lo, _INV_QUADS_1111, out=flags)
        if np.min(flags) <= _MAX_QUADS_1111 and _has_placeholder(lo, hi, flags):
            return None
        return lo, hi, spare


def _strided_words(
    buf: npt.NDArray[np.uint8], offset: int, stride: int, count: int
) -> npt.NDArray[np.uint64]:
    """``count`` little-endian ``uint64`` read at ``offset + i * stride`` (a view)."""
    words: npt.NDArray[np.uint64] = np.ndarray(
        (count,), dtype="<u8", buffer=buf, offset=offset, strides=(stride,)
    )
    return words


def _quad_values(digits: npt.NDArray[np.uint64]) -> None:
    """Eight digit values (byte 0 first) to the 4-digit numbers of each half, in place."""
    np.multiply(digits, _MUL_PAIRS, out=digits)
    np.right_shift(digits, _SHIFT_8, out=digits)
    np.bitwise_and(digits, _PAIRS, out=digits)
    np.multiply(digits, _MUL_QUADS, out=digits)
    np.right_shift(digits, _SHIFT_16, out=digits)
    np.bitwise_and(digits, _QUADS, out=digits)


def _octet_value(digits: npt.NDArray[np.uint64]) -> None:
    """Eight digit values (byte 0 first) to the number they spell, in place."""
    _quad_values(digits)
    np.multiply(digits, _MUL_OCTETS, out=digits)
    np.right_shift(digits, _SHIFT_32, out=digits)


def _has_placeholder(
    quads: npt.NDArray[np.uint64],
    tail: npt.NDArray[np.uint64],
    flags: npt.NDArray[np.uint64],
) -> bool:
    """Whether a suspect row (flags <= _MAX_QUADS_1111) is ``d * 1111111111``; rare, so slow."""
    suspect = np.flatnonzero(flags <= _MAX_QUADS_1111)
    octet = (quads[suspect] & 0xFFFF) * 10_000 + (quads[suspect] >> 32)
    last_two = (tail[suspect] & 0xFF) * 10 + ((tail[suspect] >> 8) & 0xFF)
    whole = octet * 100 + last_two
    return bool(np.any(whole % 1_111_111_111 == 0))


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
    tail = rows.tail(max_reported)
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
# A line's bytes 3..10 are digits 4-10 and the comma (see FixedWidthRows for the test).
_MID_BOTTOM = _word([_ZERO] * 7 + [_COMMA])
_MID_ADD = _word([0x7F - 9] * 7 + [0x7F])
_SHIFT_40 = np.array(40, dtype=_U64)


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
    candidates = np.flatnonzero(lengths == _LINE)
    if candidates.size:
        words = _words_at_every_byte(body)
        good[candidates], values[candidates] = _check_lines(words, starts[candidates])
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


def _words_at_every_byte(body: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """The eight bytes from each offset as a ``uint64`` (a view; ``body`` has >= 8 bytes)."""
    words: npt.NDArray[np.uint64] = np.ndarray(
        (body.size - 7,), dtype="<u8", buffer=body, strides=(1,)
    )
    return words


def _check_lines(
    words: npt.NDArray[np.uint64], starts: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Validity and value (0 where invalid) of the eleven-byte lines at ``starts``."""
    first = words[starts] - _K30  # digits 1-8
    middle = words[starts + 3] - _MID_BOTTOM  # digits 4-10 and the comma
    flags = first | (first + _DIGIT_ADD) | middle | (middle + _MID_ADD)
    shaped = (flags & _HIGH) == 0
    _octet_value(first)
    last_two = ((((middle >> _SHIFT_40) * _MUL_PAIRS) >> _SHIFT_8) & _BYTE).view(np.int64)
    numbers = first.view(np.int64) * 100 + last_two
    numbers[~shaped] = 0  # 0 is a placeholder, never valid
    ok = validate_array(numbers)
    return ok, np.where(ok, numbers, 0)


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
            out[:, column] = half % 10 + _ZERO
            half //= 10
