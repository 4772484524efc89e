"""RunReader: read a run's store, with min/max decimation of long series for charts.

The reader opens the file read-only (``mode=ro``: reading never changes it), so it can
follow a live run (each call sees the latest commit) and it opens a store left behind by a
killed process. A store is input: whatever is wrong with it (not SQLite, truncated, a
missing table, a blob of the wrong type or length) is one ``StoreError`` naming the file
and the item, never a raw sqlite3, numpy or JSON error.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from torchscope._display import Displayable
from torchscope.errors import StoreError
from torchscope.store.decimate import bucket_means, decimate
from torchscope.store.decode import Decoder
from torchscope.store.layout import find_runs
from torchscope.store.records import Confusion, Event, Histogram, LayerMatrix, Segment, Series
from torchscope.store.schema import (
    LAYER_FAMILY_PREFIX,
    RUN_FILENAME,
    SCALAR_FAMILY,
    connect_read_only,
    schema_version,
)

__all__ = ["RunReader", "decimate", "find_runs"]


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
        self._decode = Decoder(self.path)
        self._conn = connect_read_only(self.path)
        self._lock = threading.RLock()  # one connection, shared by a server's threads
        # schema 1 (before segments): every row is segment 0
        self._segment = "segment" if self._run(schema_version) >= 2 else "0"
        self._check_families()
        # series id -> (last chunk id read, its points then, all points read): a live run is
        # re-read incrementally
        self._cache: dict[int, tuple[int, int, _Points]] = {}

    @property
    def name(self) -> str:
        """The run's name (``name`` given to the writer, else its directory's name)."""
        value = self.meta_value("run_name")
        return value if isinstance(value, str) and value else self.run_dir.name

    @property
    def tags(self) -> list[str]:
        """The run's tags (``[]`` when it has none)."""
        value = self.meta_value("tags", [])
        return [t for t in value if isinstance(t, str)] if isinstance(value, list) else []

    @property
    def note(self) -> str | None:
        """The run's note, if it was given one."""
        value = self.meta_value("note")
        return value if isinstance(value, str) else None

    def segments(self) -> list[Segment]:
        """The run's launches: one for a run never resumed, one more per ``resume=True``."""
        if self._segment == "0":
            started = self.meta_value("started", 0.0)
            rows = [(0, started if isinstance(started, int | float) else 0.0)]
        else:
            rows = self._query("SELECT id, started FROM segments ORDER BY id")
        group = f"GROUP BY {self._segment}" if self._segment != "0" else ""  # schema 1: one
        spans = {
            self._decode.integer(seg, "a chunk's segment"): (
                self._step(lo),
                self._step(hi),
                self._step(n) or 0,
            )
            for seg, lo, hi, n in self._query(
                f"SELECT {self._segment}, min(first_step), max(last_step), sum(n) FROM chunks "
                + group
            )
        }
        out = []
        for index, started in rows:
            i = self._decode.integer(index, "a segment number")
            lo, hi, n = spans.get(i, (None, None, 0))
            out.append(
                Segment(i, self._decode.real(started, f"the start of segment {i}"), lo, hi, n)
            )
        return out

    def scalar_names(self) -> list[tuple[str, str]]:
        """``(split, name)`` of every scalar series, in the order they were first logged."""
        rows = self._query(
            "SELECT scope, name FROM series WHERE family = ? ORDER BY id", (SCALAR_FAMILY,)
        )
        return [(self._text(s, "a split"), self._text(n, "a scalar name")) for s, n in rows]

    def scalars(
        self,
        name: str,
        *,
        split: str = "train",
        buckets: int | None = None,
        segment: int | None = None,
    ) -> Series:
        """Every point of one scalar series, or its min/max decimation to ``buckets``.

        ``segment`` keeps only the points of one launch of a resumed run (see ``segments``).
        """
        sid = self._series_id(SCALAR_FAMILY, split, name)
        if sid is None:
            names = self.scalar_names()
            if (split, name) in names:  # listed, yet not found by its key
                raise self._decode.fail(f"scalar {split!r}/{name!r}: the series index is damaged")
            known = ", ".join(f"{s}/{n}" for s, n in names) or "none"
            raise KeyError(f"no scalar {name!r} in split {split!r} (known: {known})")
        label = f"scalar {split!r}/{name!r}"
        pts = self._points(sid, label, wall_times=buckets is None).of_segment(segment)
        if buckets is not None and len(pts.steps) <= buckets:  # short: raw, with wall times
            pts = self._points(sid, label, wall_times=True).of_segment(segment)
        if buckets is None or len(pts.steps) <= buckets:
            return Series(
                name, split, pts.steps, pts.values, wall_times=pts.wall_times, segments=pts.segments
            )
        return Series(name, split, **decimate(pts.steps, pts.values, buckets))

    def layer_kinds(self) -> list[str]:
        """Kinds of per-layer statistics present, e.g. ``["grad", "weight"]``."""
        rows = self._query(
            "SELECT family FROM series WHERE family LIKE ? GROUP BY family ORDER BY min(id)",
            (LAYER_FAMILY_PREFIX + "%",),
        )
        return [self._text(f, "a family").removeprefix(LAYER_FAMILY_PREFIX) for (f,) in rows]

    def layer_stat_names(self, kind: str) -> list[str]:
        """Statistic names logged for one kind, e.g. ``["norm", "mean", "std"]``."""
        rows = self._query(
            "SELECT name FROM series WHERE family = ? GROUP BY name ORDER BY min(id)",
            (LAYER_FAMILY_PREFIX + kind,),
        )
        return [self._text(n, "a statistic name") for (n,) in rows]

    def layer_stats(
        self, kind: str, stat: str, *, buckets: int | None = None, segment: int | None = None
    ) -> LayerMatrix:
        """One statistic of every layer as a layers × steps matrix (bucket means if asked).

        At a step logged twice (a resumed run), the later point fills the cell; ``segment``
        keeps one launch only.
        """
        with self._snapshot():  # every layer up to the same commit
            rows = self._query(
                "SELECT id, scope FROM series WHERE family = ? AND name = ? ORDER BY id",
                (LAYER_FAMILY_PREFIX + kind, stat),
            )
            layers = [self._text(scope, "a layer name") for _, scope in rows]
            per_layer = [
                self._points(sid, f"{kind} {stat!r} of {layer!r}").of_segment(segment)
                for (sid, _), layer in zip(rows, layers)
            ]
        all_steps = np.unique(np.concatenate([p.steps for p in per_layer] or [np.zeros(0, int)]))
        if buckets is not None and len(all_steps) > buckets:
            steps, values = bucket_means(per_layer, all_steps, buckets)
        else:
            steps, values = all_steps, np.full((len(layers), len(all_steps)), np.nan)
            for row, p in zip(values, per_layer):
                row[np.searchsorted(all_steps, p.steps)] = p.values
        return LayerMatrix(kind, stat, layers, steps, values)

    def histogram_names(self) -> list[tuple[str, str]]:
        """``(kind, name)`` of every histogram series."""
        rows = self._query("SELECT kind, name FROM histograms GROUP BY kind, name ORDER BY min(id)")
        return [
            (self._text(k, "a histogram kind"), self._text(n, "a histogram name")) for k, n in rows
        ]

    def histograms(self, kind: str, name: str) -> list[Histogram]:
        """Every histogram logged for one tensor, in step order."""
        rows = self._query(
            f"SELECT id, step, edges, counts, {self._segment} FROM histograms "
            "WHERE kind = ? AND name = ? ORDER BY step, id",
            (kind, name),
        )
        return [self._decode.histogram(row, kind, name) for row in rows]

    def confusion_splits(self) -> list[str]:
        """Splits that have a confusion matrix."""
        rows = self._query("SELECT DISTINCT split FROM confusion ORDER BY split")
        return [self._text(s, "a confusion split") for (s,) in rows]

    def confusion(self, split: str = "val", step: int | None = None) -> Confusion | None:
        """The confusion matrix of a split at ``step`` (latest by default), or None."""
        sql = f"SELECT id, step, matrix, labels, {self._segment} FROM confusion WHERE split = ?"
        if step is None:
            rows = self._query(sql + " ORDER BY step DESC, id DESC LIMIT 1", (split,))
        else:
            rows = self._query(sql + " AND step = ? ORDER BY id DESC LIMIT 1", (split, step))
        return self._decode.confusion(rows[0], split) if rows else None

    def events(self, kind: str | None = None) -> list[Event]:
        """Events in the order logged, all or of one kind."""
        sql = f"SELECT id, step, kind, payload, wall_time, {self._segment} FROM events"
        rows = (
            self._query(sql + " ORDER BY id")
            if kind is None
            else self._query(sql + " WHERE kind = ? ORDER BY id", (kind,))
        )
        return [self._decode.event(row) for row in rows]

    def meta(self) -> dict[str, Any]:
        """Run metadata: the latest value set for every key."""
        rows = self._query("SELECT key, value FROM meta ORDER BY id")
        return {
            self._text(k, "a metadata key"): self._decode.json(v, f"meta {k!r}") for k, v in rows
        }

    def meta_value(self, key: str, default: Any = None) -> Any:
        """The latest value set for one metadata key (without parsing the others)."""
        rows = self._query("SELECT value FROM meta WHERE key = ? ORDER BY id DESC LIMIT 1", (key,))
        return self._decode.json(rows[0][0], f"meta {key!r}") if rows else default

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
            self._run(lambda c: c.execute("BEGIN"))
            try:
                yield
            finally:
                self._run(lambda c: c.execute("COMMIT"))

    def _run(self, fn: Any) -> Any:
        """``fn(connection)`` under the lock, a SQLite error turned into ``StoreError``."""
        with self._lock:
            try:
                return fn(self._conn)
            except sqlite3.Error as exc:
                raise StoreError(self.path, str(exc)) from exc
            except UnicodeDecodeError as exc:  # a text column holding bytes that are not UTF-8
                raise StoreError(self.path, f"text that is not UTF-8 ({exc.reason})") from exc

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return self._run(lambda c: c.execute(sql, params).fetchall())

    def _step(self, value: Any) -> int | None:
        return None if value is None else self._decode.integer(value, "a chunk's step")

    def _text(self, value: Any, what: str) -> str:
        return self._decode.text(value, what)

    def _check_families(self) -> None:
        """Every series is a scalar or layer statistic: a family no writer makes means a
        damaged store, whose series would otherwise be left out without a word."""
        for (family,) in self._query("SELECT DISTINCT family FROM series"):
            known = self._text(family, "a series family")
            if known != SCALAR_FAMILY and not known.startswith(LAYER_FAMILY_PREFIX):
                raise self._decode.fail(f"a series of the unknown family {known[:80]!r}")

    def _series_id(self, family: str, scope: str, name: str) -> int | None:
        rows = self._query(
            "SELECT id FROM series WHERE family = ? AND scope = ? AND name = ?",
            (family, scope, name),
        )
        return self._decode.integer(rows[0][0], "a series id") if rows else None

    def _points(self, series_id: int, label: str, *, wall_times: bool = False) -> _Points:
        """All points of a series sorted by step (stable: equal steps keep write order).

        Points are only ever added: in new chunks, or at the end of the series' last chunk
        while its writer grows it (store/batch.py). So only what follows the cached points
        is read: the rest of the last chunk read and every newer chunk; polling a live run
        costs what was written since the last poll. Wall times are a third of the data and
        only raw reads need them: they are read when asked for (then kept in the cache).
        """
        last_id, last_n, cached = self._cache.get(series_id, (0, 0, None))
        if cached is not None and wall_times and cached.wall_times is None:
            last_id, last_n, cached = 0, 0, None  # re-read once, with the wall times this time
        with_walls = wall_times or (cached is not None and cached.wall_times is not None)
        columns = f"n, {self._segment}, steps, vals" + (", wall_times" if with_walls else "")
        rows = self._query(
            f"SELECT id, {columns} FROM chunks WHERE series = ? AND id >= ? ORDER BY id",
            (series_id, last_id),
        )
        skip = 0
        if rows and rows[0][0] == last_id:  # the chunk read last time: only its new points
            skip = last_n
            if rows[0][1] == last_n and len(rows) == 1 and cached is not None:
                return cached
        if not rows and cached is None:  # a series is written with its first chunk
            raise self._decode.fail(f"{label} has no points: its chunks are missing")
        arrays = self._decode.chunks(rows, label, with_walls)
        if rows and rows[0][1] < skip:
            raise self._decode.fail(f"chunk {last_id} of {label} lost points since it was read")
        steps, values, segments = (a[skip:] for a in arrays[:3])
        new = _Points(steps, values, segments, arrays[3][skip:] if with_walls else None)
        pts = new if cached is None else cached.extend(new)
        if rows:
            self._cache[series_id] = (rows[-1][0], int(rows[-1][1]), pts)
        return pts


@dataclass(frozen=True)
class _Points:
    """Points of one series in step order (wall times only if they were read)."""

    steps: np.ndarray
    values: np.ndarray
    segments: np.ndarray
    wall_times: np.ndarray | None

    def __post_init__(self) -> None:
        s = self.steps
        if len(s) > 1 and bool((s[1:] < s[:-1]).any()):
            order = np.argsort(s, kind="stable")
            for name in ("steps", "values", "segments", "wall_times"):
                if getattr(self, name) is not None:
                    object.__setattr__(self, name, getattr(self, name)[order])
        for a in (self.steps, self.values, self.segments, self.wall_times):
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
            np.concatenate([self.segments, new.segments]),
            walls,
        )

    def of_segment(self, segment: int | None) -> _Points:
        """Only the points one segment wrote (all of them for None)."""
        if segment is None:
            return self
        keep = self.segments == segment
        walls = self.wall_times[keep] if self.wall_times is not None else None
        return _Points(self.steps[keep], self.values[keep], self.segments[keep], walls)
