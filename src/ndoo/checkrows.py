"""Checking the lines of a ``.dat`` request a machine word at a time.

A data line of a request (:mod:`ndoo.checkfile`) is ten ASCII digits, a comma and its
ending: 12 bytes with LF, 13 with CRLF.  Almost every request is a run of lines of one
width, so row ``i`` starts at ``start + i * width`` and nothing needs to search for the
line breaks.  :class:`FixedWidthRows` reads each row as two unaligned little-endian
``uint64`` words, through strided NumPy views of the request's buffer (no copy of the
file)::

    byte    0 1 2 3 4 5 6 7 8 9 10 11 12
    LF      d d d d d d d d d d ,  LF        width 12: hi is bytes 4-11
    CRLF    d d d d d d d d d d ,  CR LF     width 13: hi is bytes 5-12
    lo      <------------->                  digits 1-8

``lo`` is a row's first eight bytes, ``hi`` its last eight (digits 5 or 6 to 10, the
comma and the ending).

It then checks and decodes a block of :data:`ROWS_PER_BLOCK` rows with some thirty
whole-array operations and no Python loop per row, each operation working on the eight
bytes of a word at once (SWAR: SIMD within a register):

* shape: with ``v = w - bottom``, ``v | (v + 0x7F - (top - bottom))`` has a byte's
  top bit set where that byte is outside ``bottom..top`` ('0'..'9' for a digit,
  exactly the byte for a separator); a valid byte neither borrows nor carries, so
  the lowest invalid byte of a word is always caught;
* value: digit pairs, quads and octets are combined by multiplying by
  ``1 + 10 << 8`` and so on (the usual SWAR parse of eight digits);
* Modulus 11: two multiplications and a test for multiples of 11 (the comments at
  ``_MUL_FIRST_FIVE`` and ``_INV_11`` below explain how);
* placeholders: only rows whose first eight digits are all alike are looked at
  closely (see ``_QUADS_1111``).

A block with a row that fails any test gives ``None``, and the caller falls back to the
general path of :func:`ndoo.checkfile.parse`, which finds the line breaks and locates
the invalid lines.  That path checks its eleven-byte lines with the same arithmetic on
words read at every byte offset (:func:`check_lines`).

This module knows rows, not files: the byte order mark, the line ending, the lines
after the rows and what a request as a whole means are :mod:`ndoo.checkfile`'s.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from ndoo.nhs_number import validate_array

ZERO: Final = 0x30  # b"0"
COMMA: Final = 0x2C  # b","
DIGITS: Final = 10  # digits in an NHS number
LINE: Final = DIGITS + 1  # a data line without its ending: ten digits and a comma
ROWS_PER_BLOCK: Final = 16_384  # scratch arrays of 128 KiB: the working set stays in L2


def _word(byte_values: list[int]) -> npt.NDArray[np.uint64]:
    """Eight bytes as a little-endian ``uint64`` 0-d array (0-d: cheaper ufunc calls)."""
    return np.array(int.from_bytes(bytes(byte_values), "little"), dtype=np.uint64)


def _repeat(byte: int) -> npt.NDArray[np.uint64]:
    return _word([byte] * 8)


_U64 = np.uint64
_K30 = _repeat(ZERO)  # subtracting it turns ASCII digits into their values
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
# A line's bytes 3..10 are digits 4-10 and the comma: check_lines tests their shape.
_MID_BOTTOM = _word([ZERO] * 7 + [COMMA])
_MID_ADD = _word([0x7F - 9] * 7 + [0x7F])
_SHIFT_40 = np.array(40, dtype=_U64)


class FixedWidthRows:
    """The leading lines of a request that all have one width: the fast path.

    A request of ``n`` such lines is ``n * width`` bytes after the byte order mark, plus
    a tail shorter than one line (a last line without its ending, or blank lines).
    :meth:`detect` assumes that from the length; :meth:`stems` and :meth:`numbers` then
    check it for a block of rows at a time, as the module's docstring explains, and
    return ``None`` as soon as a row is not a valid line, so the caller falls back to
    the general path.  The tail is the general path's too
    (:func:`ndoo.checkfile.parse_tail`).

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
        line = [ZERO] * DIGITS + [COMMA, *line_ending]
        hi_bytes = range(width - 8, width)
        self._hi_bottom = _word([line[i] for i in hi_bytes])
        self._hi_add = _word([0x7F - 9 if i < DIGITS else 0x7F for i in hi_bytes])
        weights = [10 - i if 5 <= i < DIGITS else 0 for i in hi_bytes]  # digits 6-10: 5 .. 1
        self._mul_last_five = _word(weights[::-1])
        self._tail_shift = np.array(8 * (16 - width), dtype=_U64)  # digit 9 to byte 0
        size = min(count, ROWS_PER_BLOCK)
        self._scratch = [np.empty(size, dtype=_U64) for _ in range(4)]
        self._sides = [np.empty(size, dtype=np.uint16) for _ in range(2)]

    @classmethod
    def detect(
        cls, buf: npt.NDArray[np.uint8], start: int, line_ending: bytes
    ) -> FixedWidthRows | None:
        """The rows of ``line_ending``'s width in ``buf`` from ``start`` on (unchecked).

        ``None`` if not one row fits.
        """
        width = LINE + len(line_ending)
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


def _words_at_every_byte(body: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """The eight bytes from each offset as a ``uint64`` (a view; ``body`` has >= 8 bytes)."""
    words: npt.NDArray[np.uint64] = np.ndarray(
        (body.size - 7,), dtype="<u8", buffer=body, strides=(1,)
    )
    return words


def check_lines(
    body: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Validity and value (0 where invalid) of the eleven-byte lines at ``starts``.

    The general path's check of lines at any offsets of ``body``: each line's bytes 0-7
    and 3-10 are read as words and their shape tested as a row's, and the number is then
    left to :func:`~ndoo.nhs_number.validate_array` (Modulus 11, placeholders).  Every
    line must lie whole within ``body``.
    """
    words = _words_at_every_byte(body)
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
