"""How ndoo stores a list of numbers: the versioned blob of :func:`encode_numbers`.

The ``covered`` and ``kept`` columns of the cache of cleaned lists
(:mod:`ndoo.uphold.cache`), and the list a check request sent
(``check_request.numbers``), hold numbers in this format::

    byte 0       format version, 1
    bytes 1-8    count of numbers, unsigned 64-bit little-endian
    bytes 9-12   CRC-32 of the uncompressed payload, unsigned 32-bit little-endian
    bytes 13-    the payload, compressed with zstd (level 3)

The version-1 payload holds the distinct numbers in ascending order as deltas (the
first number, then each difference from the one before) in 64-bit little-endian
integers, byte-shuffled: all first bytes, then all second bytes, and so on.  Deltas
of a sorted list are small, so the high byte planes are runs of zeros that compress
to almost nothing — about 1 to 2 bytes a number, 3.5 million numbers in 4 to 7 MB —
and 10 million numbers encode or decode in a few tenths of a second.  The layout is
fixed-endian and zstd comes with pyarrow, which ndoo requires, so a blob moves
between machines and databases unchanged.  A new layout takes a new version byte;
a version this code does not know is refused, never guessed at.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ndoo.errors import StorageError

Int64Array = npt.NDArray[np.int64]

FORMAT_VERSION = 1
_HEADER = struct.Struct("<BQI")
_CODEC = "zstd"
_LEVEL = 3


def distinct(numbers: npt.ArrayLike) -> Int64Array:
    """The distinct values of an integer array in ascending order (sorts only if needed)."""
    array = np.asarray(numbers, dtype=np.int64).ravel()
    if array.size > 1 and not bool(np.all(array[1:] > array[:-1])):
        array = np.sort(array)
        keep = np.empty(array.size, dtype=bool)
        keep[0] = True
        np.not_equal(array[1:], array[:-1], out=keep[1:])
        array = array[keep]
    return array


def encode_numbers(numbers: npt.ArrayLike) -> bytes:
    """The stored form of a list of numbers: its distinct values, ascending (format v1)."""
    values = distinct(numbers)
    if values.size and values[0] < 0:
        raise ValueError("only non-negative numbers can be stored")
    deltas = np.empty_like(values)
    if values.size:
        deltas[0] = values[0]
        np.subtract(values[1:], values[:-1], out=deltas[1:])
    payload = deltas.astype("<i8", copy=False).view(np.uint8).reshape(-1, 8).T.tobytes()
    compressed = pa.Codec(_CODEC, compression_level=_LEVEL).compress(payload, asbytes=True)
    header = _HEADER.pack(FORMAT_VERSION, values.size, zlib.crc32(payload))
    return header + bytes(compressed)


def decode_numbers(blob: bytes) -> Int64Array:
    """The numbers a blob from :func:`encode_numbers` holds, ascending."""
    data = bytes(blob)
    if len(data) < _HEADER.size:
        raise StorageError("a stored list of numbers is truncated")
    version, count, crc = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise StorageError(
            f"a stored list of numbers is in format {version}, which this version of ndoo "
            "cannot read; upgrade ndoo"
        )
    size = count * 8
    try:
        payload = pa.Codec(_CODEC).decompress(
            data[_HEADER.size :], decompressed_size=size, asbytes=True
        )
    except (pa.ArrowException, OSError) as exc:
        raise StorageError("a stored list of numbers is damaged (it does not decompress)") from exc
    if len(payload) != size or zlib.crc32(payload) != crc:
        raise StorageError("a stored list of numbers is damaged (its checksum does not match)")
    planes = np.frombuffer(payload, dtype=np.uint8).reshape(8, count)
    deltas = np.ascontiguousarray(planes.T).view("<i8").reshape(count)
    return np.cumsum(deltas, dtype=np.int64)
