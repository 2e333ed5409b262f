"""Scale a relative risk so that its expected rate over a population is a target.

Rates in the synthetic population are written as relative factors (by age,
sex, area).  :func:`scale_for_rate` finds the multiplier ``k`` for which the
population-weighted mean of ``min(cap, k * factor)`` equals the target.  It is
solved from the *expected* population (the age pyramid, the shares of each
area), not from the people drawn, so the expected rate is the target whatever
a particular seed happens to draw.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


def expected_rate(weights: Floats, factors: Floats, scale: float, cap: float) -> float:
    """Population-weighted mean of ``min(cap, scale * factors)``."""
    return float(np.sum(weights * np.minimum(cap, scale * factors)) / np.sum(weights))


def scale_for_rate(weights: Floats, factors: Floats, target: float, cap: float = 1.0) -> float:
    """The ``k`` with ``expected_rate(weights, factors, k, cap) == target``.

    ``weights`` and ``factors`` broadcast together (for example ``(cells, 1)``
    against ``(1, areas)``) and must not be negative; ``target`` must be below
    the weighted share of cells with a positive factor times ``cap``.
    """
    weights, factors = np.broadcast_arrays(
        np.asarray(weights, dtype=np.float64), np.asarray(factors, dtype=np.float64)
    )
    reachable = cap * float(np.sum(weights * (factors > 0)) / np.sum(weights))
    if not 0.0 < target < reachable:
        raise ValueError(f"rate {target} cannot be reached with a cap of {cap}")
    low, high = 0.0, 1.0
    while expected_rate(weights, factors, high, cap) < target:
        high *= 2.0
    for _ in range(80):
        middle = (low + high) / 2.0
        if expected_rate(weights, factors, middle, cap) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0
