"""The power-law fit of an ESD's tail, as WeightWatcher 0.7 makes it.

The fit takes the eigenvalues above 1e-5, tries every one as xmin, estimates
alpha = 1 + n / Σ log(λ / xmin) over the n eigenvalues ≥ xmin (the continuous MLE of
Clauset, Shalizi & Newman) and keeps the xmin with the smallest Kolmogorov–Smirnov
distance; with fewer than 20 eigenvalues it uses the bias-corrected small-sample rule.

WeightWatcher loops in Python over candidate xmins; here the KS search is vectorised and
pruned with exact lower bounds, so every candidate that could win is still evaluated in full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["EVALS_THRESHOLD", "PowerLawFit", "fit_power_law"]

EVALS_THRESHOLD = 1e-5
_SMALL_N = 20
_BOUND_COLUMNS = 96  # tail points sampled for the KS lower bounds
_BLOCK = 1 << 21  # elements per block of the exact KS evaluation


@dataclass
class PowerLawFit:
    """A power-law fit of an ESD tail: ``status`` is ``ok`` or ``failed``."""

    alpha: float
    xmin: float
    xmax: float
    D: float
    sigma: float
    num_pl_spikes: int
    status: str = "ok"


def fit_power_law(evals: np.ndarray, threshold: float = EVALS_THRESHOLD) -> PowerLawFit:
    """Fit a power law to the tail of an ESD, choosing xmin by the KS distance.

    Example:
        >>> import numpy as np
        >>> x = (1 - np.random.default_rng(0).random(2000)) ** (-1 / 2.5)  # alpha = 3.5
        >>> round(fit_power_law(x).alpha, 1)
        3.5
    """
    evals = np.asarray(evals, dtype=np.float64)
    data = np.sort(evals[evals > threshold])
    if len(data) < 2:
        return PowerLawFit(-1.0, -1.0, -1.0, -1.0, -1.0, -1, status="failed")
    logs = np.log(data)
    fit = _fit_small(data, logs) if len(data) < _SMALL_N else _fit_standard(data, logs)
    if not math.isfinite(fit.alpha):
        return PowerLawFit(-1.0, -1.0, -1.0, -1.0, -1.0, -1, status="failed")
    fit.num_pl_spikes = int(np.count_nonzero(evals >= fit.xmin))
    return fit


def _tails(logs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each candidate xmin (every point but the last): tail size n and Σ log(λ/xmin)."""
    n = (len(logs) - np.arange(len(logs) - 1)).astype(np.float64)
    tail_sums = np.cumsum(logs[::-1])[::-1][:-1]
    return n, tail_sums - n * logs[:-1]


def _deviations(
    logs: np.ndarray, alphas: np.ndarray, n: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """|F_fit − F_emp| of candidate xmins ``rows`` at points ``cols`` (0 before a row's xmin).

    F_fit(λ_k) = 1 − (λ_k / xmin)^(1 − alpha) and F_emp = (k − i) / n at the tail's k-th
    point, as WeightWatcher computes them.
    """
    gap = np.maximum(logs[None, cols] - logs[rows, None], 0.0)
    steps = np.maximum(cols[None, :] - rows[:, None], 0)
    with np.errstate(invalid="ignore"):  # alpha = inf where a tail is one repeated value
        exponent = np.where(gap > 0, (1.0 - alphas[rows, None]) * gap, 0.0)
    return np.abs(1.0 - np.exp(exponent) - steps / n[rows, None])


def _ks(logs: np.ndarray, alphas: np.ndarray, n: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Exact KS distances of the candidates ``rows``: the largest deviation over each tail."""
    out = np.empty(len(rows))
    cols = np.arange(int(rows.min()), len(logs))
    per_block = max(1, _BLOCK // len(cols))
    for start in range(0, len(rows), per_block):
        block = rows[start : start + per_block]
        out[start : start + len(block)] = _deviations(logs, alphas, n, block, cols).max(axis=1)
    return out


def _fit_standard(data: np.ndarray, logs: np.ndarray) -> PowerLawFit:
    n, spread = _tails(logs)
    with np.errstate(divide="ignore", invalid="ignore"):
        alphas = 1.0 + n / spread
    valid = alphas > 1.0  # WeightWatcher gives D = 1 to the others
    candidates = np.flatnonzero(valid)
    D = np.ones(len(alphas))
    if len(candidates):
        D[candidates] = _pruned_ks(logs, alphas, n, candidates)
    best = int(np.argmin(D))
    return PowerLawFit(
        alpha=float(alphas[best]),
        xmin=float(data[best]),
        xmax=float(data[-1]),
        D=float(D[best]),
        sigma=float((alphas[best] - 1.0) / math.sqrt(len(data) - best)),
        num_pl_spikes=0,
    )


def _pruned_ks(logs: np.ndarray, alphas: np.ndarray, n: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """KS distances where they can matter, +inf where a lower bound rules a row out.

    A lower bound for every row comes from a sample of tail points; rows are then
    evaluated exactly in order of their bound until the best exact distance is below
    every remaining bound. Ties keep the lowest index, as ``np.argmin`` does.
    """
    if len(rows) <= 4 * _BOUND_COLUMNS:
        return _ks(logs, alphas, n, rows)
    sample = np.unique(np.linspace(0, len(logs) - 1, _BOUND_COLUMNS).astype(np.int64))
    bounds = _deviations(logs, alphas, n, rows, sample).max(axis=1)
    order = np.argsort(bounds, kind="stable")
    D = np.full(len(rows), np.inf)
    best = np.inf
    batch = 32
    for start in range(0, len(order), batch):
        chosen = order[start : start + batch]
        if bounds[chosen[0]] > best:
            break
        D[chosen] = _ks(logs, alphas, n, rows[chosen])
        best = min(best, float(D[chosen].min()))
        batch = min(batch * 2, 1024)
    return D


def _fit_small(data: np.ndarray, logs: np.ndarray, k_min: int = 8) -> PowerLawFit:
    """WeightWatcher's small-sample fit: bias-corrected alpha over tails of ≥ ``k_min`` points.

    (WeightWatcher ranks these by D − 0.868/√n, but its caller then takes the smallest D,
    which is what decides its result, so that is what this does.)
    """
    n, spread = _tails(logs)
    with np.errstate(divide="ignore", invalid="ignore"):
        alphas = 1.0 + (n - 1.0) / spread
    rows = np.flatnonzero((n >= k_min) & (spread > 1e-12))
    if not len(rows):  # no tail is long enough: the whole sample is the tail
        spread_all = float(logs.sum() - len(logs) * logs[0])
        if spread_all <= 1e-12:
            return PowerLawFit(-1.0, -1.0, -1.0, -1.0, -1.0, -1, status="failed")
        alphas, n, rows = np.array([1.0 + (len(logs) - 1.0) / spread_all]), n[:1], np.array([0])
    D = np.ones(len(n))
    D[rows] = _ks(logs, alphas, n, rows)
    best = int(np.argmin(D))
    alpha = float(alphas[best]) if best in rows else 0.0
    return PowerLawFit(
        alpha=alpha,
        xmin=float(data[best]),
        xmax=float(data[-1]),
        D=float(D[best]),
        sigma=float((alpha - 1.0) / math.sqrt(len(data) - best)),
        num_pl_spikes=0,
    )
