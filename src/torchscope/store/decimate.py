"""Bucketing long series for charts: min/max/mean per step range, never dropping a point.

Steps may span the whole int64 range (a run may log step 0 and step 2**63 - 1), so bucket
arithmetic that would overflow int64 is done with Python integers instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

__all__ = ["bucket_means", "bucket_of", "decimate"]


class _HasPoints(Protocol):
    @property
    def steps(self) -> np.ndarray: ...
    @property
    def values(self) -> np.ndarray: ...


def bucket_of(steps: np.ndarray, lo: int, span: int, buckets: int) -> np.ndarray:
    """The bucket index ``(s - lo) * buckets // span`` of every step, exactly.

    Example:
        >>> bucket_of(np.array([0, 5, 9]), 0, 10, 2).tolist()
        [0, 1, 1]
    """
    if span * buckets < 2**62:
        return (steps - lo) * buckets // span
    exact = [(int(s) - lo) * buckets // span for s in steps.tolist()]
    return np.array(exact, dtype=np.int64)


def _bucket_firsts(lo: int, span: int, buckets: int) -> np.ndarray:
    """The smallest step of each bucket: ``lo + ceil(i * span / buckets)``."""
    if span * buckets < 2**62:
        return lo + (np.arange(buckets, dtype=np.int64) * span + buckets - 1) // buckets
    return np.array(
        [lo + (i * span + buckets - 1) // buckets for i in range(buckets)], dtype=np.int64
    )


def decimate(steps: np.ndarray, values: np.ndarray, buckets: int) -> dict[str, np.ndarray]:
    """Min/max/mean of ``values`` in ``buckets`` equal step ranges; steps sorted ascending.

    Returns arrays ``steps`` (first step per bucket), ``last_steps``, ``values`` (mean of
    the finite values), ``mins``, ``maxs`` (NaN ignored unless all NaN) and ``counts``.
    Empty buckets are left out. Bucket i holds the steps s with
    ``(s - lo) * buckets // (hi - lo + 1) == i``.

    Example:
        >>> d = decimate(np.arange(10), np.arange(10.0), 2)
        >>> d["mins"].tolist(), d["maxs"].tolist(), d["values"].tolist()
        ([0.0, 5.0], [4.0, 9.0], [2.0, 7.0])
    """
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    lo, hi = int(steps[0]), int(steps[-1])
    first_of_bucket = _bucket_firsts(lo, hi - lo + 1, buckets)
    starts = np.unique(np.searchsorted(steps, first_of_bucket, side="left"))
    starts = starts[starts < len(steps)]  # buckets past the last step (fewer steps than buckets)
    ends = np.append(starts[1:], len(steps))
    finite = np.isfinite(values)
    n_finite = np.add.reduceat(finite.astype(np.int64), starts)
    sums = np.add.reduceat(np.where(finite, values, 0.0), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(n_finite > 0, sums / np.maximum(n_finite, 1), np.nan)
    return {
        "steps": steps[starts],
        "last_steps": steps[ends - 1],
        "values": means,
        "mins": np.fmin.reduceat(values, starts),
        "maxs": np.fmax.reduceat(values, starts),
        "counts": ends - starts,
    }


def bucket_means(
    per_layer: Sequence[_HasPoints], all_steps: np.ndarray, buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each layer's finite values per step bucket; buckets empty everywhere dropped.

    Example:
        >>> class P:
        ...     steps, values = np.arange(4), np.array([1.0, 3.0, 5.0, 7.0])
        >>> steps, means = bucket_means([P()], np.arange(4), 2)
        >>> steps.tolist(), means.tolist()
        ([0, 2], [[2.0, 6.0]])
    """
    lo, hi = int(all_steps[0]), int(all_steps[-1])
    span = hi - lo + 1
    sums = np.zeros((len(per_layer), buckets))
    counts = np.zeros((len(per_layer), buckets))
    for i, p in enumerate(per_layer):
        b = bucket_of(p.steps, lo, span, buckets)
        finite = np.isfinite(p.values)
        sums[i] = np.bincount(b, weights=np.where(finite, p.values, 0.0), minlength=buckets)
        counts[i] = np.bincount(b, weights=finite, minlength=buckets)
    step_bucket = bucket_of(all_steps, lo, span, buckets)
    present = np.unique(step_bucket)
    first_steps = all_steps[np.searchsorted(step_bucket, present)]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums[:, present] / counts[:, present]
    return first_steps, means
