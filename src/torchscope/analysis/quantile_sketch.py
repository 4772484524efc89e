"""Quantiles read from a fine histogram, and the CDF of several sets of values combined
from their quantile sketches.

A tensor's percentiles come from a histogram of bins × 1024 bins over [min, max], each
within one such bin of the exact value; its sketch (quantiles at 129 evenly spaced
probabilities) lets groups of tensors be combined without a second pass over the values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["SKETCH_PROBS", "MixtureCdf", "quantiles_from_histogram"]

SKETCH_PROBS = np.linspace(0.0, 1.0, 129)  # probabilities of the per-tensor quantile sketch


def quantiles_from_histogram(
    fine: np.ndarray, lo: float, hi: float, probs: Sequence[float] | np.ndarray, unit: float = 1.0
) -> list[float]:
    """Quantiles (numpy's linear interpolation) read from a fine histogram over [lo, hi],
    times ``unit``.

    Within a bin the values are taken as evenly spread, so each is off by less than a bin.

    Example:
        >>> quantiles_from_histogram(np.array([1, 0, 0, 1]), 0.0, 4.0, [0.0, 0.5, 1.0])
        [0.0, 2.0, 4.0]
    """
    n = int(fine.sum())
    p = np.asarray(probs, dtype=np.float64)
    if n == 0:
        return [math.nan] * len(p)
    if hi <= lo:
        return [lo * unit] * len(p)
    cum = np.cumsum(fine)
    position = p * (n - 1)
    below = np.floor(position)
    t = position - below

    def value(rank: np.ndarray) -> np.ndarray:
        b = np.searchsorted(cum, rank, side="right")
        before = np.where(b > 0, cum[np.maximum(b - 1, 0)], 0)
        return lo + (b + (rank - before + 0.5) / fine[b]) * ((hi - lo) / len(fine))

    v = (1 - t) * value(below) + t * value(np.minimum(below + 1, n - 1))
    v = np.clip(v, lo, hi)
    v[p <= 0], v[p >= 1] = lo, hi
    return [float(x) * unit for x in v]


class MixtureCdf:
    """The CDF of several tensors' values together, from their quantile sketches. Values
    are in units of ``unit`` (a power of two that keeps huge values from overflowing the
    interpolation); percentiles come back in plain numbers.

    Example:
        >>> cdf = MixtureCdf([(np.linspace(0, 1, 129), 100), (np.linspace(1, 3, 129), 100)])
        >>> cdf(np.array([1.0, 2.0])).tolist(), cdf.percentiles({"p50": 0.0})
        ([0.5, 0.75], {'p50': 1.0})
    """

    def __init__(self, sketches: Sequence[tuple[Sequence[float], int]], unit: float = 1.0) -> None:
        """``sketches``: (quantiles at ``SKETCH_PROBS``, number of values) per member."""
        self.sketches = [(np.asarray(q) / unit, n) for q, n in sketches]
        self.total = sum(w for _, w in self.sketches)
        self.unit = unit

    def __call__(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros(len(values))
        for sketch, weight in self.sketches:
            out += weight * np.interp(values, sketch, SKETCH_PROBS, left=0.0, right=1.0)
        return out / self.total

    def between(self, edges: np.ndarray) -> np.ndarray:
        """The CDF at the edges of bins spanning [min, max]: from exactly 0 to exactly 1
        (a tensor of one value at the minimum would otherwise count below the first edge)."""
        out = self(edges)
        out[0], out[-1] = 0.0, 1.0
        return out

    def percentiles(self, like: dict[str, float]) -> dict[str, float]:
        grid = np.unique(np.concatenate([s for s, _ in self.sketches]))
        if len(grid) > 4096:
            grid = grid[np.linspace(0, len(grid) - 1, 4096).astype(int)]
        cdf = self(grid)
        return {k: float(np.interp(float(k[1:]) / 100, cdf, grid)) * self.unit for k in like}
