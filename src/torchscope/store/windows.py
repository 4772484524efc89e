"""What a chart shows of a series over an x range: per-pixel buckets, segments, smoothing.

``series_window`` reads a series chunk by chunk (only the chunks overlapping the range
when x is the step and nothing needs the history) and reduces each batch to at most
``width`` buckets at once, so a request's memory is bounded by the batch and the width
whatever the series' length. Every point is counted in exactly one bucket; NaN and ±inf
are counted per bucket; a resumed run's repeated or decreasing steps start a new segment
(drawn as its own line) instead of being dropped or zig-zagging back.

``layer_window`` does the same for one statistic of every layer (a layers × buckets
heatmap).

Example:
    >>> from torchscope.store.live import LiveRun
    >>> run = LiveRun("runs/exp1/run.sqlite")  # doctest: +SKIP
    >>> key = run.find_series("scalar", "train", "loss")  # doctest: +SKIP
    >>> series_window(run, key, width=800).points  # doctest: +SKIP
    1000000
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from torchscope.store.batches import ChunkBatch
from torchscope.store.buckets import (
    BucketRows,
    EmaState,
    bucket_rows,
    ema_uneven,
    raw_rows,
    segment_starts,
)
from torchscope.store.follow import Tail
from torchscope.store.live import LiveRun, SeriesKey
from torchscope.store.schema import LAYER_FAMILY_PREFIX

__all__ = [
    "AXES",
    "MAX_SEGMENTS",
    "LayerWindow",
    "Segment",
    "SeriesWindow",
    "layer_window",
    "series_extent",
    "series_window",
]

AXES = ("step", "wall", "rel")
MAX_SEGMENTS = 32  # beyond this many resumptions, the rest is drawn as one x-sorted line
_BATCH_POINTS = 1 << 20  # points decoded at once: bounds a request's memory


@dataclass
class Segment:
    """One stretch of non-decreasing x in write order, bucketed (and smoothed if asked)."""

    rows: BucketRows
    smooth: BucketRows | None = None
    parts: list[BucketRows] = field(default_factory=list, repr=False)
    smooth_parts: list[BucketRows] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class SeriesWindow:
    """A series as a chart of ``width`` pixels shows it between ``lo`` and ``hi``."""

    key: SeriesKey
    lo: float | None
    hi: float | None
    points: int  # points in the range (each counted in one bucket)
    raw: bool  # no more points than pixels: every point is its own row
    segments: list[Segment]
    unordered: bool  # more than MAX_SEGMENTS segments: the last one is x-sorted
    cursor: Tail  # where this read of the series ended: live points after it extend it
    ema: EmaState | None
    spacing: float

    @property
    def shown(self) -> int:
        return sum(len(s.rows) for s in self.segments)


def series_extent(
    run: LiveRun, keys: Sequence[SeriesKey], axis: str = "step", origin: float = 0.0
) -> tuple[float, float] | None:
    """The x range the series span (steps exactly; wall times from first and last chunk)."""
    if not keys:
        return None
    marks = ",".join("?" * len(keys))
    ids = tuple(k.id for k in keys)
    if axis == "step":
        lo, hi = run.query(
            f"SELECT min(first_step), max(last_step) FROM chunks WHERE series IN ({marks})", ids
        )[0]
        return None if lo is None else (float(lo), float(hi))
    first = run.query(
        f"SELECT substr(wall_times, 1, 8) FROM chunks WHERE series IN ({marks}) "
        "ORDER BY id LIMIT 1",
        ids,
    )
    last = run.query(
        f"SELECT substr(wall_times, -8, 8) FROM chunks WHERE series IN ({marks}) "
        "ORDER BY id DESC LIMIT 1",
        ids,
    )
    if not first or not last:
        return None
    a, b = (float(np.frombuffer(r[0][0], "<f8")[0]) - origin for r in (first, last))
    return (min(a, b), max(a, b)) if np.isfinite([a, b]).all() else None


def _spacing(run: LiveRun, key: SeriesKey) -> float:
    """Typical step gap of a series: its step span over its point count."""
    lo, hi, n = run.query(
        "SELECT min(first_step), max(last_step), sum(n) FROM chunks WHERE series = ?", (key.id,)
    )[0]
    if lo is None or not n or n < 2:
        return 1.0
    return max((hi - lo) / (n - 1), 1e-12)


@dataclass
class _Scan:
    """State carried from one batch of chunks to the next."""

    lo: float
    hi: float
    width: int
    smooth: float
    spacing: float
    ranged: bool
    raw: bool
    segments: list[Segment] = field(default_factory=list)
    prev_x: float | None = None
    prev_step: float | None = None
    prev_segment: int | None = None
    ema: EmaState | None = None
    points: int = 0
    unordered: bool = False


def series_window(
    run: LiveRun,
    key: SeriesKey,
    *,
    axis: str = "step",
    lo: float | None = None,
    hi: float | None = None,
    width: int = 1000,
    smooth: float = 0.0,
    origin: float = 0.0,
) -> SeriesWindow:
    """The series between ``lo`` and ``hi`` (default: all) in ``width`` per-pixel buckets.

    ``axis`` is ``step``, ``wall`` (seconds since the epoch) or ``rel`` (seconds since
    ``origin``); ``smooth`` is the EMA weight (0 = off) computed on the raw points.
    """
    if axis not in AXES:
        raise ValueError(f"axis must be one of {AXES}, not {axis!r}")
    ranged = lo is not None and hi is not None
    # Where the series ends now; its last chunk may grow while it is read: cut to this.
    last = run.query(
        "SELECT id, n FROM chunks WHERE series = ? ORDER BY id DESC LIMIT 1", (key.id,)
    )
    cursor = Tail(int(last[0][0]), int(last[0][1])) if last else Tail()
    extent = (lo, hi) if ranged else series_extent(run, [key], axis, origin)
    if extent is None or not last:
        return SeriesWindow(key, None, None, 0, True, [], False, cursor, None, 1.0)
    lo_, hi_ = float(extent[0]), float(extent[1])  # type: ignore[arg-type]
    where = "series = ? AND id <= ?"
    params: tuple[Any, ...] = (key.id, cursor.chunk)
    if axis == "step" and ranged and smooth <= 0:  # the history is needed for smoothing only
        where += " AND last_step >= ? AND first_step <= ?"
        params += (int(np.floor(lo_)), int(np.ceil(hi_)))
    estimate = run.query(f"SELECT coalesce(sum(n), 0) FROM chunks WHERE {where}", params)[0][0]
    raw = int(estimate) <= width
    scan = _Scan(lo_, hi_, width, smooth, _spacing(run, key), ranged, raw)
    pending: list[ChunkBatch] = []
    for batch in run.batches(where, params, wall_times=axis != "step"):
        pending.append(batch.keep_points(cursor.chunk, cursor.n or 0))
        if sum(b.points for b in pending) >= _BATCH_POINTS:
            _scan_batch(scan, ChunkBatch.join(pending), axis, origin)
            pending = []
    if pending:
        _scan_batch(scan, ChunkBatch.join(pending), axis, origin)
    scan.segments = [seg for seg in scan.segments if seg.parts]
    for seg in scan.segments:
        seg.rows = BucketRows.merge(seg.parts)
        seg.smooth = BucketRows.merge(seg.smooth_parts) if smooth > 0 else None
        seg.parts, seg.smooth_parts = [], []
    ema = scan.ema if smooth > 0 else None
    return SeriesWindow(
        key, lo_, hi_, scan.points, raw, scan.segments, scan.unordered, cursor, ema, scan.spacing
    )


def _scan_batch(scan: _Scan, batch: ChunkBatch, axis: str, origin: float) -> None:
    """Segment, smooth, range-filter and bucket one batch of chunks (in write order)."""
    if not batch.points:
        return
    steps, y = batch.steps, batch.values  # steps stay integers: no float copy to bucket them
    if axis == "step":
        x: np.ndarray = steps
    else:
        assert batch.wall_times is not None
        x = batch.wall_times - origin
    # a new writer session (a resumption) starts a segment even where steps go on rising
    sessions = batch.session_starts(scan.prev_segment)
    scan.prev_segment = int(batch.segments[-1])
    smooth_y = None
    if scan.smooth > 0:
        restarts = np.union1d(segment_starts(steps, scan.prev_step), sessions)
        fsteps = steps.astype(np.float64)
        smooth_y, scan.ema = ema_uneven(fsteps, y, scan.smooth, scan.spacing, scan.ema, restarts)
    scan.prev_step = float(steps[-1])
    starts = set(segment_starts(x, scan.prev_x).tolist()) | set(sessions.tolist())
    if not scan.segments:
        starts.add(0)
    scan.prev_x = float(x[-1])
    bounds = sorted({0, len(x), *starts})
    for a, b in itertools.pairwise(bounds):
        if a in starts:
            _new_segment(scan)
        _add_piece(scan, x[a:b], y[a:b], None if smooth_y is None else smooth_y[a:b])


def _new_segment(scan: _Scan) -> None:
    if len(scan.segments) < MAX_SEGMENTS:
        scan.segments.append(Segment(BucketRows.empty()))
    else:
        scan.unordered = True  # keep adding to the last segment, sorted by x


def _add_piece(scan: _Scan, x: np.ndarray, y: np.ndarray, smooth_y: np.ndarray | None) -> None:
    if scan.ranged:
        keep = (x >= scan.lo) & (x <= scan.hi)
        x, y = x[keep], y[keep]
        smooth_y = None if smooth_y is None else smooth_y[keep]
    if not len(x):
        return
    scan.points += len(x)
    seg = scan.segments[-1]
    rows = raw_rows if scan.raw else lambda x, y: bucket_rows(x, y, scan.lo, scan.hi, scan.width)
    seg.parts.append(rows(x, y))
    if smooth_y is not None:
        seg.smooth_parts.append(rows(x, smooth_y))


@dataclass(frozen=True)
class LayerWindow:
    """One statistic of every layer, bucketed over steps: a layers × columns heatmap.

    ``columns`` are the bucket numbers that hold any point; ``maxs``/``mins``/``last`` are
    NaN where a layer has no finite point in that column; ``nonfinite`` counts its NaN/inf.
    """

    kind: str
    stat: str
    layers: list[str]
    lo: float | None
    hi: float | None
    width: int
    columns: np.ndarray
    maxs: np.ndarray
    mins: np.ndarray
    last: np.ndarray
    nonfinite: np.ndarray
    points: int


def layer_window(
    run: LiveRun,
    kind: str,
    stat: str,
    *,
    width: int = 400,
    lo: float | None = None,
    hi: float | None = None,
    max_layers: int = 2000,
) -> LayerWindow:
    """Every layer's ``stat`` of ``kind`` (e.g. grad/norm) in ``width`` step buckets."""
    family = LAYER_FAMILY_PREFIX + kind
    keys = [k for k in run.series_keys().values() if k.family == family and k.name == stat]
    keys = keys[:max_layers]
    ranged = lo is not None and hi is not None
    extent = (lo, hi) if ranged else series_extent(run, keys)
    if extent is None:
        empty = np.zeros((len(keys), 0))
        return LayerWindow(kind, stat, [k.scope for k in keys], None, None, width,
                           np.zeros(0, np.int64), empty, empty, empty, empty, 0)  # fmt: skip
    lo_, hi_ = float(extent[0]), float(extent[1])  # type: ignore[arg-type]
    per_layer = [_layer_rows(run, k, lo_, hi_, width, ranged) for k in keys]
    columns = np.unique(np.concatenate([r.index for r in per_layer] or [np.zeros(0, np.int64)]))
    shape = (len(keys), len(columns))
    maxs, mins, last = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    nonfinite = np.zeros(shape, np.int64)
    for i, r in enumerate(per_layer):
        at = np.searchsorted(columns, r.index)
        maxs[i, at], mins[i, at], last[i, at] = r.maxs, r.mins, r.last
        nonfinite[i, at] = r.nan + r.posinf + r.neginf
    points = int(sum(int(r.counts.sum()) for r in per_layer))
    layers = [k.scope for k in keys]
    return LayerWindow(kind, stat, layers, lo_, hi_, width, columns, maxs, mins, last,
                       nonfinite, points)  # fmt: skip


def _layer_rows(
    run: LiveRun, key: SeriesKey, lo: float, hi: float, width: int, ranged: bool
) -> BucketRows:
    params: tuple[Any, ...] = (key.id,)
    where = "series = ?"
    if ranged:
        where += " AND last_step >= ? AND first_step <= ?"
        params += (int(np.floor(lo)), int(np.ceil(hi)))
    parts = []
    for batch in run.batches(where, params, wall_times=False):
        if not batch.points:
            continue
        x, y = batch.steps, batch.values
        if ranged:
            keep = (x >= lo) & (x <= hi)
            x, y = x[keep], y[keep]
        parts.append(bucket_rows(x, y, lo, hi, width))
    return BucketRows.merge(parts)
