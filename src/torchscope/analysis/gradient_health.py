"""Exploding and vanishing gradients, found in a layers × steps matrix of gradient norms.

Rules (stated so a reader can check a flag by hand):

- **exploding**: a layer's gradient norm is more than ``explode`` (10) times that layer's
  median norm over the run, or is not finite;
- **vanishing**: a layer's gradient norm is below ``vanish`` (1e-4) times the largest
  layer's norm at the same step (or exactly zero while another layer's is not).

Consecutive flagged columns of one layer are merged into one interval, and at most
``limit`` intervals are returned (the strongest first), so the answer stays small.

Example:
    >>> norms = np.array([[1.0, 1.0, 50.0, 1.0], [1.0, 1.0, 1.0, 1e-9]])
    >>> flags = gradient_flags(["a", "b"], [0, 1, 2, 3], norms)
    >>> sorted((f.layer, f.kind, f.first, f.last) for f in flags)
    [('a', 'exploding', 2.0, 2.0), ('b', 'vanishing', 3.0, 3.0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["GradientFlag", "gradient_flags"]


@dataclass(frozen=True)
class GradientFlag:
    """One layer flagged over the steps ``first``..``last``; ``value`` is the extreme seen."""

    layer: str
    kind: str  # "exploding" or "vanishing"
    first: float
    last: float
    value: float | None
    ratio: float | None  # × the layer's median (exploding) or × the largest layer (vanishing)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gradient_flags(
    layers: Sequence[str],
    steps: Sequence[float] | np.ndarray,
    norms: np.ndarray,
    *,
    explode: float = 10.0,
    vanish: float = 1e-4,
    limit: int = 200,
) -> list[GradientFlag]:
    """Flag exploding/vanishing gradient norms (``norms[layer, column]``, NaN = no point)."""
    norms = np.asarray(norms, dtype=np.float64)
    steps = np.asarray(steps, dtype=np.float64)
    present = ~np.isnan(norms)
    finite = np.isfinite(norms)
    with np.errstate(all="ignore"):
        median = np.nanmedian(np.where(finite, norms, np.nan), axis=1, keepdims=True)
        exploding = present & (~finite | (norms > explode * median) & (median > 0))
        largest = np.nanmax(np.where(finite, norms, np.nan), axis=0, keepdims=True)
        vanishing = finite & (largest > 0) & (norms < vanish * largest)
        explode_ratio = norms / median
        vanish_ratio = norms / largest
    flags = _intervals(layers, steps, exploding, norms, explode_ratio, "exploding")
    flags += _intervals(layers, steps, vanishing, norms, vanish_ratio, "vanishing")
    flags.sort(key=lambda f: -_strength(f))
    return flags[:limit]


def _strength(f: GradientFlag) -> float:
    if f.ratio is None or not np.isfinite(f.ratio):
        return float("inf")
    return f.ratio if f.kind == "exploding" else 1.0 / max(f.ratio, 1e-300)


def _intervals(
    layers: Sequence[str],
    steps: np.ndarray,
    mask: np.ndarray,
    norms: np.ndarray,
    ratios: np.ndarray,
    kind: str,
) -> list[GradientFlag]:
    out: list[GradientFlag] = []
    for i, row in enumerate(mask):
        cols = np.flatnonzero(row)
        if not len(cols):
            continue
        breaks = np.flatnonzero(np.diff(cols) > 1) + 1
        for run in np.split(cols, breaks):
            pick = (
                run[np.argmax(ratios[i, run])]
                if kind == "exploding"
                else run[np.argmin(ratios[i, run])]
            )
            value, ratio = float(norms[i, pick]), float(ratios[i, pick])
            out.append(
                GradientFlag(
                    layers[i],
                    kind,
                    float(steps[run[0]]),
                    float(steps[run[-1]]),
                    value if np.isfinite(value) else None,
                    ratio if np.isfinite(ratio) else None,
                )
            )
    return out
