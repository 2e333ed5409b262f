"""Random streams that make a synthetic population reproducible and chunkable.

A population is cut into fixed **blocks** of :data:`BLOCK_SIZE` people.  Each
block draws its random numbers from its own PCG64 generator, seeded by
``(seed, stream, block)`` through NumPy's ``SeedSequence``, and always draws the
same arrays in the same order.  So person *i* gets the same values whether the
people are generated in one chunk or in many, and on any machine: only
``Generator.random`` and ``Generator.integers`` are used (bit-exact across
platforms), and everything derived from them uses IEEE arithmetic, not libm.
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

BLOCK_SIZE = 16_384
"""People per random block; chunks are whole numbers of blocks."""

Uniforms = npt.NDArray[np.float64]


class Stream(enum.IntEnum):
    """Independent purposes, so that adding draws to one never shifts another."""

    NHS_NUMBERS = 1
    PRACTICES = 2
    PEOPLE = 3
    EVENTS = 4
    AREAS = 5


def generator(seed: int, stream: Stream, block: int = 0) -> np.random.Generator:
    """The generator of one ``stream`` (and ``block``) of a population's ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, int(stream), block])))


def block_bounds(people: int, first_block: int, stop_block: int) -> list[tuple[int, int, int]]:
    """``(block, start, stop)`` person ranges of the blocks ``first_block:stop_block``."""
    return [
        (block, block * BLOCK_SIZE, min((block + 1) * BLOCK_SIZE, people))
        for block in range(first_block, stop_block)
        if block * BLOCK_SIZE < people
    ]


def uniforms(
    seed: int,
    stream: Stream,
    blocks: list[tuple[int, int]],
    columns: int,
) -> Uniforms:
    """A ``(columns, n)`` array of U[0, 1) draws, block by block.

    ``blocks`` holds ``(block, rows)`` pairs; the rows of each block come from
    that block's own generator, so a block's values never depend on which other
    blocks are drawn with it.
    """
    parts = [
        generator(seed, stream, block).random((columns, rows)) for block, rows in blocks if rows
    ]
    if not parts:
        return np.empty((columns, 0), dtype=np.float64)
    return np.concatenate(parts, axis=1)
