"""Per-pixel bucket decimation and smoothing of long series, honest about every point.

A chart ``width`` pixels wide shows a series as one bucket per pixel column: the smallest
and largest finite value in it (so a single spike among a million points stays visible),
its last value (the line drawn through the buckets), and how many NaN, +inf and -inf it
held (marked on the chart, never dropped). Points arrive in pieces (one batch of store
chunks at a time); ``BucketRows.merge`` joins the pieces, so memory stays proportional to
the width, not to the series.

Smoothing is a debiased exponential moving average whose decay follows the x spacing
(``ema_uneven``), computed on the raw points with a vectorised linear-recurrence scan.

Example:
    >>> rows = bucket_rows(np.arange(10.0), np.arange(10.0), 0.0, 9.0, 2)
    >>> rows.mins.tolist(), rows.maxs.tolist(), rows.last.tolist()
    ([0.0, 5.0], [4.0, 9.0], [4.0, 9.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "BucketRows",
    "EmaState",
    "bucket_rows",
    "ema_uneven",
    "linear_scan",
    "raw_rows",
    "segment_starts",
]

_SCAN_BLOCK = 64


@dataclass(frozen=True)
class BucketRows:
    """Non-empty buckets of a series, in x order.

    ``index`` is the bucket number (pixel column), ``x`` the x of the bucket's last point,
    ``last`` its value (possibly non-finite), ``mins``/``maxs`` the finite extremes (NaN when
    the bucket holds no finite value), ``counts`` the points, ``nan``/``posinf``/``neginf``
    the non-finite points among them.
    """

    index: np.ndarray
    x: np.ndarray
    last: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray
    counts: np.ndarray
    nan: np.ndarray
    posinf: np.ndarray
    neginf: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    @staticmethod
    def empty() -> BucketRows:
        i, f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        return BucketRows(i, f, f, f, f, i, i, i, i)

    @staticmethod
    def merge(parts: list[BucketRows]) -> BucketRows:
        """Join pieces of one series: rows of the same bucket become one row.

        The merged row's last value is the one with the largest x (the latest written among
        equal x), so the result does not depend on how the points were split into pieces.
        """
        parts = [p for p in parts if len(p)]
        if not parts:
            return BucketRows.empty()
        if len(parts) == 1:
            return parts[0]
        order = np.lexsort(
            (np.concatenate([p.x for p in parts]), np.concatenate([p.index for p in parts]))
        )
        cat = {k: np.concatenate([getattr(p, k) for p in parts])[order] for k in _FIELDS}
        starts = _run_starts(cat["index"])
        ends = np.append(starts[1:], len(cat["index"])) - 1
        with np.errstate(invalid="ignore"):
            return BucketRows(
                index=cat["index"][starts],
                x=cat["x"][ends],
                last=cat["last"][ends],
                mins=np.fmin.reduceat(cat["mins"], starts),
                maxs=np.fmax.reduceat(cat["maxs"], starts),
                counts=np.add.reduceat(cat["counts"], starts),
                nan=np.add.reduceat(cat["nan"], starts),
                posinf=np.add.reduceat(cat["posinf"], starts),
                neginf=np.add.reduceat(cat["neginf"], starts),
            )


_FIELDS = ("index", "x", "last", "mins", "maxs", "counts", "nan", "posinf", "neginf")


def _run_starts(index: np.ndarray) -> np.ndarray:
    """Positions where a non-decreasing integer array changes value (0 included)."""
    return np.concatenate([[0], np.flatnonzero(index[1:] != index[:-1]) + 1])


def _sorted(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """x in ascending order (stable: equal x keep write order), y along; integer x (steps)
    stays integer, float x is made finite."""
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        x = x.astype(np.float64, copy=False)
        if not np.isfinite(x).all():  # a damaged wall time: drawn at an edge, never dropped
            x = np.nan_to_num(x, nan=lo, posinf=hi, neginf=lo)
    if len(x) > 1 and bool((x[1:] < x[:-1]).any()):
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    return x, y


def bucket_rows(x: np.ndarray, y: np.ndarray, lo: float, hi: float, width: int) -> BucketRows:
    """Bucket points into ``width`` equal columns of ``[lo, hi]`` (points outside go to the
    edge columns). Points not sorted by ``x`` are sorted first (stable: among equal x the
    latest written is the bucket's last).

    Column ``i`` holds the x with ``lo + i·(hi-lo)/width <= x < lo + (i+1)·(hi-lo)/width``;
    on sorted x the columns' first points are found by binary search, so the cost is one
    pass of reductions, not a per-point index.

    Example:
        >>> r = bucket_rows(np.array([0.0, 1, 2, 3]), np.array([1.0, np.nan, 9, np.inf]), 0, 3, 2)
        >>> r.maxs.tolist(), r.nan.tolist(), r.posinf.tolist(), r.last.tolist()
        ([1.0, 9.0], [1, 0], [0, 1], [nan, inf])
    """
    if width < 1:
        raise ValueError("width must be at least 1")
    if not len(x):
        return BucketRows.empty()
    x, y = _sorted(x, y, lo, hi)
    span = hi - lo
    if span > 0 and width > 1:
        bounds = lo + np.arange(1, width) * (span / width)
        if x.dtype.kind in "iu":  # the first integer ≥ a bound is ≥ its ceiling: no float copy
            bounds = np.clip(np.ceil(bounds), -(2.0**62), 2.0**62).astype(x.dtype)
        firsts = np.concatenate([[0], np.searchsorted(x, bounds, side="left")])
    else:
        firsts = np.zeros(1, np.int64)
    ends_at = np.append(firsts[1:], len(x))
    used = np.flatnonzero(ends_at > firsts)  # columns holding at least one point
    return _reduce(x, y, firsts[used], used.astype(np.int64))


def raw_rows(x: np.ndarray, y: np.ndarray) -> BucketRows:
    """Every distinct x its own row (points at the same x share one), for short series.

    The row's ``index`` orders like x (its float bits made monotonic), so rows of pieces
    merge as buckets do.

    Example:
        >>> raw_rows(np.array([1.0, 2, 2]), np.array([5.0, 6, 7])).last.tolist()
        [5.0, 7.0]
    """
    if not len(x):
        return BucketRows.empty()
    x, y = _sorted(x, y, 0.0, 0.0)
    starts = _run_starts(x)
    bits = x[starts].astype(np.float64).view(np.int64)
    index = np.where(bits < 0, bits ^ np.int64(0x7FFFFFFFFFFFFFFF), bits)
    return _reduce(x, y, starts, index)


def _reduce(x: np.ndarray, y: np.ndarray, starts: np.ndarray, index: np.ndarray) -> BucketRows:
    ends = np.append(starts[1:], len(x)) - 1
    counts = np.diff(np.append(starts, len(x)))
    finite = np.isfinite(y)
    if finite.all():  # the common case: no NaN/inf to count or to keep out of the extremes
        zeros = np.zeros(len(starts), np.int64)
        clean, nan, posinf, neginf = y, zeros, zeros, zeros
    else:
        clean = np.where(finite, y, np.nan)
        nan = np.add.reduceat(np.isnan(y).astype(np.int64), starts)
        posinf = np.add.reduceat(np.isposinf(y).astype(np.int64), starts)
        neginf = np.add.reduceat(np.isneginf(y).astype(np.int64), starts)
    with np.errstate(invalid="ignore"):
        return BucketRows(
            index=index,
            x=x[ends].astype(np.float64),
            last=y[ends].astype(np.float64),
            mins=np.fmin.reduceat(clean, starts),
            maxs=np.fmax.reduceat(clean, starts),
            counts=counts,
            nan=nan,
            posinf=posinf,
            neginf=neginf,
        )


def segment_starts(steps: np.ndarray, previous: float | None = None) -> np.ndarray:
    """Positions (in write order) where a new segment starts: the step went down.

    A resumed run logs steps it had logged before; each stretch of non-decreasing steps is
    a segment, drawn as its own line so that nothing is dropped or zig-zagged. ``previous``
    is the last step of the piece before this one (a drop at position 0 counts).

    Example:
        >>> segment_starts(np.array([0, 1, 2, 1, 2, 2, 0])).tolist()
        [3, 6]
    """
    starts = np.flatnonzero(steps[1:] < steps[:-1]) + 1
    if previous is not None and len(steps) and steps[0] < previous:
        starts = np.concatenate([[0], starts])
    return starts


def linear_scan(a: np.ndarray, b: np.ndarray, s0: float = 0.0) -> np.ndarray:
    """``s[i] = a[i] * s[i-1] + b[i]`` with ``s[-1] = s0``, vectorised (no Python loop per point).

    Blocks of 64 are scanned in parallel (one vector operation per position in the block),
    then the block ends are scanned recursively and carried back in. Only multiplications
    and additions of the sequential formula: no division, so no overflow for any ``a``.

    Example:
        >>> linear_scan(np.array([0.5, 0.5, 0.0]), np.array([1.0, 1.0, 2.0]), 4.0).tolist()
        [3.0, 2.5, 2.0]
    """
    n = len(a)
    if n <= _SCAN_BLOCK:
        out = np.empty(n)
        s = s0
        for i, (ai, bi) in enumerate(zip(a.tolist(), b.tolist())):
            s = ai * s + bi
            out[i] = s
        return out
    rows = -(-n // _SCAN_BLOCK)
    pad = rows * _SCAN_BLOCK - n
    # position-in-block major: each step of the block loop reads one contiguous row
    A = np.concatenate([a, np.ones(pad)]).reshape(rows, _SCAN_BLOCK).T.copy()
    B = np.concatenate([b, np.zeros(pad)]).reshape(rows, _SCAN_BLOCK).T.copy()
    decay = np.cumprod(A, axis=0)  # how much of the state entering a block survives
    local = B  # each block scanned from a zero state, in place
    for j in range(1, _SCAN_BLOCK):
        local[j] += A[j] * local[j - 1]
    ends = linear_scan(decay[-1], local[-1], s0)  # the state leaving each block
    entering = np.concatenate([[s0], ends[:-1]])
    return (decay * entering[None, :] + local).T.reshape(-1)[:n]


@dataclass(frozen=True)
class EmaState:
    """Where a smoothed series stands after its last point, to continue it live."""

    acc: float
    norm: float
    last_x: float | None


def ema_uneven(
    x: np.ndarray,
    y: np.ndarray,
    weight: float,
    spacing: float,
    state: EmaState | None = None,
    restart: np.ndarray | None = None,
) -> tuple[np.ndarray, EmaState]:
    """Debiased EMA of ``y`` over ``x``; a gap of ``g`` typical spacings decays by ``weight**g``.

    ``weight`` is TensorBoard's smoothing (0 = none, 0.99 = heavy) for points one
    ``spacing`` apart; gaps below one spacing (repeated steps) count as one, so no point is
    ignored. A non-finite value gives NaN there and restarts the average after it (a NaN
    is never carried as the last good value); ``restart`` marks positions (segment starts
    of a resumed run) where it restarts too.

    Example:
        >>> out, _ = ema_uneven(np.array([0.0, 1, 3]), np.array([1.0, 3, 3]), 0.5, 1.0)
        >>> out.round(4).tolist()
        [1.0, 2.3333, 2.8667]
    """
    state = state or EmaState(0.0, 0.0, None)
    if not len(x):
        return np.zeros(0), state
    prev = np.concatenate([[x[0] if state.last_x is None else state.last_x], x[:-1]])
    gaps = np.maximum((x - prev) / max(spacing, 1e-300), 1.0)
    w = np.exp(gaps * np.log(weight)) if weight > 0 else np.zeros(len(x))
    finite = np.isfinite(y)
    # How much of the running average survives a point: none at a non-finite value, none
    # after one and none at a restart (the average starts afresh, as at the first point).
    cut = np.concatenate([[False], ~finite[:-1]])
    if restart is not None and len(restart):
        cut[restart] = True
    keep = np.where(finite & ~cut, w, 0.0)
    gain = np.where(finite, 1.0 - w, 0.0)
    acc = linear_scan(keep, gain * np.where(finite, y, 0.0), state.acc)
    norm = linear_scan(keep, gain, state.norm)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(finite & (norm > 0), acc / np.where(norm > 0, norm, 1.0), np.nan)
    return out, EmaState(float(acc[-1]), float(norm[-1]), float(x[-1]))
