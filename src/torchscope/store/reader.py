"""RunReader: read a run's store, with min/max decimation of long series for charts.

The reader opens the file read-only, so it can follow a live run (each call sees the
latest commit) and it opens a store left behind by a killed process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from torchscope._display import Displayable
from torchscope.store.records import Confusion, Event, Histogram, LayerMatrix, Series
from torchscope.store.schema import (
    LAYER_FAMILY_PREFIX,
    RUN_FILENAME,
    SCALAR_FAMILY,
    STEP_DTYPE,
    VALUE_DTYPE,
    connect_read_only,
)

if TYPE_CHECKING:
    pass

__all__ = ["RunReader", "decimate", "find_runs"]


def find_runs(path: str | Path) -> list[Path]:
    """Run directories at or below ``path`` (a run dir, a folder of runs, or a store file).

    Example:
        >>> find_runs("runs")  # doctest: +SKIP
        [PosixPath('runs/exp1'), PosixPath('runs/exp2')]
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if (p / RUN_FILENAME).is_file():
        return [p]
    return sorted(f.parent for f in p.rglob(RUN_FILENAME))


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
    span = hi - lo + 1
    first_of_bucket = lo + (np.arange(buckets, dtype=np.int64) * span + buckets - 1) // buckets
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


class RunReader(Displayable):
    """Read-only view of one run's store.

    Example:
        >>> r = RunReader("runs/exp1")  # doctest: +SKIP
        >>> r.scalars("loss", buckets=1000).maxs  # doctest: +SKIP
    """

    def __init__(self, path: str | Path) -> None:
        p = Path(path)
        self.path = p if p.suffix == ".sqlite" or p.is_file() else p / RUN_FILENAME
        self.run_dir = self.path.parent
        self._conn = connect_read_only(self.path)
        self._lock = threading.RLock()  # one connection, shared by a server's threads
        # series id -> (last chunk id read, its points): a live run is re-read incrementally
        self._cache: dict[int, tuple[int, _Points]] = {}

    @property
    def name(self) -> str:
        """The run's name (``run_name`` given to the writer, else its directory's name)."""
        return str(self.meta_value("run_name") or self.run_dir.name)

    def scalar_names(self) -> list[tuple[str, str]]:
        """``(split, name)`` of every scalar series, in the order they were first logged."""
        rows = self._query(
            "SELECT scope, name FROM series WHERE family = ? ORDER BY id", (SCALAR_FAMILY,)
        )
        return [(s, n) for s, n in rows]

    def scalars(self, name: str, *, split: str = "train", buckets: int | None = None) -> Series:
        """Every point of one scalar series, or its min/max decimation to ``buckets``."""
        sid = self._series_id(SCALAR_FAMILY, split, name)
        if sid is None:
            known = ", ".join(f"{s}/{n}" for s, n in self.scalar_names()) or "none"
            raise KeyError(f"no scalar {name!r} in split {split!r} (known: {known})")
        pts = self._points(sid, wall_times=buckets is None)
        if buckets is not None and len(pts.steps) <= buckets:
            pts = self._points(sid, wall_times=True)  # short: the raw points, with wall times
        if buckets is None or len(pts.steps) <= buckets:
            return Series(name, split, pts.steps, pts.values, wall_times=pts.wall_times)
        return Series(name, split, **decimate(pts.steps, pts.values, buckets))

    def layer_kinds(self) -> list[str]:
        """Kinds of per-layer statistics present, e.g. ``["grad", "weight"]``."""
        rows = self._query(
            "SELECT family FROM series WHERE family LIKE ? GROUP BY family ORDER BY min(id)",
            (LAYER_FAMILY_PREFIX + "%",),
        )
        return [f.removeprefix(LAYER_FAMILY_PREFIX) for (f,) in rows]

    def layer_stat_names(self, kind: str) -> list[str]:
        """Statistic names logged for one kind, e.g. ``["norm", "mean", "std"]``."""
        rows = self._query(
            "SELECT name FROM series WHERE family = ? GROUP BY name ORDER BY min(id)",
            (LAYER_FAMILY_PREFIX + kind,),
        )
        return [n for (n,) in rows]

    def layer_stats(self, kind: str, stat: str, *, buckets: int | None = None) -> LayerMatrix:
        """One statistic of every layer as a layers × steps matrix (bucket means if asked)."""
        with self._snapshot():  # every layer up to the same commit
            rows = self._query(
                "SELECT id, scope FROM series WHERE family = ? AND name = ? ORDER BY id",
                (LAYER_FAMILY_PREFIX + kind, stat),
            )
            layers = [scope for _, scope in rows]
            per_layer = [self._points(sid) for sid, _ in rows]
        all_steps = np.unique(np.concatenate([p.steps for p in per_layer] or [np.zeros(0, int)]))
        if buckets is not None and len(all_steps) > buckets:
            steps, values = _bucket_means(per_layer, all_steps, buckets)
        else:
            steps, values = all_steps, np.full((len(layers), len(all_steps)), np.nan)
            for row, p in zip(values, per_layer):
                row[np.searchsorted(all_steps, p.steps)] = p.values
        return LayerMatrix(kind, stat, layers, steps, values)

    def histogram_names(self) -> list[tuple[str, str]]:
        """``(kind, name)`` of every histogram series."""
        rows = self._query("SELECT kind, name FROM histograms GROUP BY kind, name ORDER BY min(id)")
        return [(k, n) for k, n in rows]

    def histograms(self, kind: str, name: str) -> list[Histogram]:
        """Every histogram logged for one tensor, in step order."""
        rows = self._query(
            "SELECT step, edges, counts FROM histograms WHERE kind = ? AND name = ? "
            "ORDER BY step, id",
            (kind, name),
        )
        return [
            Histogram(step, kind, name, np.frombuffer(e, "<f8"), np.frombuffer(c, "<f8"))
            for step, e, c in rows
        ]

    def confusion_splits(self) -> list[str]:
        """Splits that have a confusion matrix."""
        return [s for (s,) in self._query("SELECT DISTINCT split FROM confusion ORDER BY split")]

    def confusion(self, split: str = "val", step: int | None = None) -> Confusion | None:
        """The confusion matrix of a split at ``step`` (latest by default), or None."""
        sql = "SELECT step, matrix, labels FROM confusion WHERE split = ?"
        if step is None:
            rows = self._query(sql + " ORDER BY step DESC, id DESC LIMIT 1", (split,))
        else:
            rows = self._query(sql + " AND step = ? ORDER BY id DESC LIMIT 1", (split, step))
        if not rows:
            return None
        at, matrix_json, labels_json = rows[0]
        matrix = np.asarray(json.loads(matrix_json), dtype=np.int64)
        labels = json.loads(labels_json) if labels_json else [str(i) for i in range(len(matrix))]
        return Confusion(at, split, matrix, labels)

    def events(self, kind: str | None = None) -> list[Event]:
        """Events in the order logged, all or of one kind."""
        sql = "SELECT step, kind, payload, wall_time FROM events"
        rows = (
            self._query(sql + " ORDER BY id")
            if kind is None
            else self._query(sql + " WHERE kind = ? ORDER BY id", (kind,))
        )
        return [Event(s, k, json.loads(p), t) for s, k, p, t in rows]

    def meta(self) -> dict[str, Any]:
        """Run metadata: the latest value set for every key."""
        rows = self._query("SELECT key, value FROM meta ORDER BY id")
        return {k: json.loads(v) for k, v in rows}

    def meta_value(self, key: str, default: Any = None) -> Any:
        """The latest value set for one metadata key (without parsing the others)."""
        rows = self._query("SELECT value FROM meta WHERE key = ? ORDER BY id DESC LIMIT 1", (key,))
        return json.loads(rows[0][0]) if rows else default

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RunReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunReader({str(self.path)!r})"

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Run several queries in one read transaction: they all see the same commit."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                self._conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _series_id(self, family: str, scope: str, name: str) -> int | None:
        rows = self._query(
            "SELECT id FROM series WHERE family = ? AND scope = ? AND name = ?",
            (family, scope, name),
        )
        return int(rows[0][0]) if rows else None

    def _points(self, series_id: int, *, wall_times: bool = False) -> _Points:
        """All points of a series sorted by step (stable: equal steps keep write order).

        Chunks are append-only with increasing ids, so only chunks newer than the cached
        ones are read: polling a live run costs what was written since the last poll.
        Wall times are a third of the data and only raw reads need them: they are read
        when asked for (and then kept in the cache).
        """
        last_id, cached = self._cache.get(series_id, (0, None))
        if cached is not None and wall_times and cached.wall_times is None:
            last_id, cached = 0, None  # re-read once, with the wall times this time
        with_walls = wall_times or (cached is not None and cached.wall_times is not None)
        columns = "steps, vals, wall_times" if with_walls else "steps, vals"
        rows = self._query(
            f"SELECT id, {columns} FROM chunks WHERE series = ? AND id > ? ORDER BY id",
            (series_id, last_id),
        )
        if not rows and cached is not None:
            return cached
        arrays = [
            np.frombuffer(b"".join(r[i] for r in rows), dtype=STEP_DTYPE if i == 1 else VALUE_DTYPE)
            for i in range(1, 4 if with_walls else 3)
        ]
        new = _Points(arrays[0], arrays[1], arrays[2] if with_walls else None)
        pts = new if cached is None else cached.extend(new)
        self._cache[series_id] = (rows[-1][0] if rows else last_id, pts)
        return pts


@dataclass(frozen=True)
class _Points:
    """Points of one series in step order (wall times only if they were read)."""

    steps: np.ndarray
    values: np.ndarray
    wall_times: np.ndarray | None

    def __post_init__(self) -> None:
        s = self.steps
        if len(s) > 1 and bool((s[1:] < s[:-1]).any()):
            order = np.argsort(s, kind="stable")
            for name in ("steps", "values", "wall_times"):
                if getattr(self, name) is not None:
                    object.__setattr__(self, name, getattr(self, name)[order])
        for a in (self.steps, self.values, self.wall_times):
            if a is not None:
                a.flags.writeable = False  # shared with the cache: callers get read-only views

    def extend(self, new: _Points) -> _Points:
        """These points followed by ``new`` (written later), in step order."""
        walls = None
        if self.wall_times is not None and new.wall_times is not None:
            walls = np.concatenate([self.wall_times, new.wall_times])
        return _Points(
            np.concatenate([self.steps, new.steps]),
            np.concatenate([self.values, new.values]),
            walls,
        )


def _bucket_means(
    per_layer: list[_Points], all_steps: np.ndarray, buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each layer's finite values per step bucket; buckets empty everywhere dropped."""
    lo, hi = int(all_steps[0]), int(all_steps[-1])
    span = hi - lo + 1
    sums = np.zeros((len(per_layer), buckets))
    counts = np.zeros((len(per_layer), buckets))
    for i, p in enumerate(per_layer):
        b = (p.steps - lo) * buckets // span
        finite = np.isfinite(p.values)
        sums[i] = np.bincount(b, weights=np.where(finite, p.values, 0.0), minlength=buckets)
        counts[i] = np.bincount(b, weights=finite, minlength=buckets)
    step_bucket = (all_steps - lo) * buckets // span
    present = np.unique(step_bucket)
    first_steps = all_steps[np.searchsorted(step_bucket, present)]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums[:, present] / counts[:, present]
    return first_steps, means
