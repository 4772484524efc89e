"""Read-only queries a live dashboard needs: what changed, rows after a cursor, digests.

A ``LiveRun`` holds one read-only connection to a run file (SQLite ``mode=ro``, WAL or
not) and never caches points: a series is read chunk by chunk when asked for, so the
memory of a server following many long runs does not grow with their data. What it keeps
per series is a fixed-size digest (count, step range, last, min, max), updated from the
chunks written since the last look. Chunk ids grow with every commit, so "rows after
cursor" is one indexed query and returns only what is new.

Example:
    >>> run = LiveRun("runs/exp1/run.sqlite")  # doctest: +SKIP
    >>> cursor, rows = run.rows_after(0)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from torchscope.store.batches import ChunkBatch
from torchscope.store.follow import Tail, read_after
from torchscope.store.schema import (
    LAYER_FAMILY_PREFIX,
    RUN_FILENAME,
    SCALAR_FAMILY,
    VALUE_DTYPE,
    connect_read_only,
)

__all__ = [
    "BULKY_META",
    "CLOSE_KEYS",
    "LiveRun",
    "RunDigest",
    "SeriesDigest",
    "SeriesKey",
    "discover_runs",
]

# Metadata keys whose presence says the writer closed the run (the Monitor's wall_time_s).
CLOSE_KEYS = ("wall_time_s", "closed", "finished", "end_time")
# Large metadata a digest leaves out (read on their own, when a page asks for the model).
BULKY_META = ("graph", "summary")
_BUSY_TIMEOUT_MS = 2000  # a rollback-journal store is locked while its writer commits
_MAX_JSON = 1 << 20  # metadata values larger than this are not parsed


@dataclass(frozen=True)
class SeriesKey:
    """A series of a run: ``family`` "scalar" (scope = split) or "layer.<kind>" (scope = layer)."""

    id: int
    family: str
    scope: str
    name: str

    @property
    def is_scalar(self) -> bool:
        return self.family == SCALAR_FAMILY

    @property
    def kind(self) -> str:
        return self.family.removeprefix(LAYER_FAMILY_PREFIX)


@dataclass
class SeriesDigest:
    """Fixed-size facts about one series, kept up to date from new chunks."""

    key: SeriesKey
    points: int = 0
    first_step: int | None = None
    last_step: int | None = None  # the largest step
    latest_step: int | None = None  # the step written last (lower after a resumption)
    last: float | None = None
    min: float | None = None
    max: float | None = None
    nonfinite: int = 0
    decreasing: bool = False  # a step went down: a resumed run, kept as a second segment
    tail: Tail = field(default_factory=Tail)  # where reading this series stopped

    def add(self, s: np.ndarray, v: np.ndarray) -> None:
        """Points of this series (steps, values) written after those already counted."""
        if not len(s):
            return
        prev = self.latest_step
        self.decreasing |= bool((s[1:] < s[:-1]).any() or (prev is not None and s[0] < prev))
        lo, hi = int(s.min()), int(s.max())
        self.first_step = lo if self.first_step is None else min(self.first_step, lo)
        self.last_step = hi if self.last_step is None else max(self.last_step, hi)
        self.latest_step = int(s[-1])
        self.points += len(s)
        last = float(v[-1])
        self.last = last if math.isfinite(last) else None
        finite = v[np.isfinite(v)]
        self.nonfinite += len(v) - len(finite)
        if len(finite):
            small, large = float(finite.min()), float(finite.max())
            self.min = small if self.min is None else min(self.min, small)
            self.max = large if self.max is None else max(self.max, large)


@dataclass
class RunDigest:
    """What a runs list shows about a run, kept up to date from what was written since."""

    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    series: dict[int, SeriesDigest] = field(default_factory=dict)
    cursor: int = 0  # id of the newest chunk read
    latest_step: int | None = None  # last step of the newest scalar chunk (write order)
    latest_chunk: int = 0
    last_write: float | None = None
    first_write: float | None = None
    events: int = 0
    has_graph: bool = False
    closed_at: float | None = None  # wall time of the newest close marker
    versions: tuple[int, ...] = (0, 0, 0, 0, 0, -1)

    @property
    def closed(self) -> bool:
        """Closed by its writer and not written since (a resumed run is open again)."""
        if self.closed_at is None:
            return False
        return self.last_write is None or self.closed_at >= self.last_write - 1e-3

    @property
    def last_step(self) -> int | None:
        """The largest step of any series."""
        steps = [d.last_step for d in self.series.values() if d.last_step is not None]
        return max(steps) if steps else None

    @property
    def first_step(self) -> int | None:
        steps = [d.first_step for d in self.series.values() if d.first_step is not None]
        return min(steps) if steps else None

    @property
    def start_time(self) -> float | None:
        for key in ("start_time", "started"):
            t = self.meta.get(key)
            if isinstance(t, (int, float)) and math.isfinite(t):
                return float(t)
        return self.first_write

    def status(self, now: float, stale_after: float) -> str:
        """``finished`` (closed), ``live`` (written within ``stale_after`` s) or ``crashed``."""
        if self.closed:
            return "finished"
        if self.last_write is not None and now - self.last_write <= stale_after:
            return "live"
        return "crashed"


class LiveRun:
    """One run file opened read-only for a server: thread-safe, nothing cached but digests."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        conn = connect_read_only(self.path)
        conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only=1")
        self._conn = conn
        self._lock = threading.RLock()
        self._keys: dict[int, SeriesKey] = {}
        columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(chunks)").fetchall()}
        # Stores of schema 2 mark each writer session (a resumption) with a segment number.
        self.has_segments = "segment" in columns

    # -- small queries ------------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def data_version(self) -> int:
        """A number that changes whenever another connection commits (SQLite's own)."""
        return int(self.query("PRAGMA data_version")[0][0])

    def versions(self) -> tuple[int, ...]:
        """Newest row id of chunks, histograms, confusion, events and meta, and the data
        version (a chunk can also grow in place): what changed."""
        row = self.query(
            "SELECT (SELECT max(id) FROM chunks), (SELECT max(id) FROM histograms), "
            "(SELECT max(id) FROM confusion), (SELECT max(id) FROM events), "
            "(SELECT max(id) FROM meta)"
        )[0]
        return (*(int(v or 0) for v in row), self.data_version())

    def series_keys(self) -> dict[int, SeriesKey]:
        """Every series of the run by id (new series are read once, when they appear).

        A copy: requests on other threads may add series while the caller iterates.
        """
        with self._lock:
            newest = max(self._keys, default=0)
            for sid, family, scope, name in self.query(
                "SELECT id, family, scope, name FROM series WHERE id > ? ORDER BY id", (newest,)
            ):
                self._keys[int(sid)] = SeriesKey(int(sid), str(family), str(scope), str(name))
            return dict(self._keys)

    def find_series(self, family: str, scope: str, name: str) -> SeriesKey | None:
        for key in self.series_keys().values():
            if (key.family, key.scope, key.name) == (family, scope, name):
                return key
        return None

    def meta(self, skip: tuple[str, ...] = BULKY_META) -> dict[str, Any]:
        """The latest value of every metadata key but ``skip`` (values not JSON are left out)."""
        out: dict[str, Any] = {}
        marks = ",".join("?" * len(skip))
        sql = f"SELECT key, value FROM meta WHERE key NOT IN ({marks}) ORDER BY id"
        for key, value in self.query(sql, skip):
            parsed = _json(value)
            if parsed is not _BAD:
                out[str(key)] = parsed
        return out

    def meta_value(self, key: str, max_bytes: int = 64 << 20) -> Any:
        """The latest value of one metadata key, or None (absent, too large or not JSON)."""
        rows = self.query(
            "SELECT value FROM meta WHERE key = ? AND length(value) <= ? ORDER BY id DESC LIMIT 1",
            (key, max_bytes),
        )
        if not rows:
            return None
        try:
            return json.loads(rows[0][0])
        except (ValueError, TypeError, RecursionError):
            return None

    # -- chunks -------------------------------------------------------------------------

    def batches(
        self,
        where: str = "",
        params: tuple[Any, ...] = (),
        *,
        wall_times: bool = True,
        batch: int = 512,
    ) -> Iterator[ChunkBatch]:
        """Chunks matching ``where`` (an SQL condition on ``chunks``) in write order, in batches.

        Each batch is its own query (after the last id seen), so the connection is free for
        other requests between batches however slowly they are consumed.
        """
        segment = "segment" if self.has_segments else "0"
        columns = f"id, series, n, {segment}, steps, vals" + (", wall_times" if wall_times else "")
        cond = f"({where}) AND " if where else ""
        sql = f"SELECT {columns} FROM chunks WHERE {cond}id > ? ORDER BY id LIMIT {int(batch)}"
        after = 0
        while rows := self.query(sql, (*params, after)):
            after = int(rows[-1][0])
            yield ChunkBatch.decode(rows, wall_times=wall_times)
            if len(rows) < batch:
                return

    # -- digest -------------------------------------------------------------------------

    def digest(self, previous: RunDigest | None = None) -> RunDigest:
        """The run's digest: ``previous`` brought up to date by reading only what is newer.

        The caller keeps the digest (a few numbers per series), so a connection can be
        closed and reopened without reading the run again.
        """
        d = previous if previous is not None else RunDigest(name=self.path.parent.name)
        versions = self.versions()
        if versions == d.versions:
            return d
        keys = self.series_keys()
        if versions[4] != d.versions[4]:
            d.meta = self.meta()
            name = d.meta.get("run_name")
            d.name = name if isinstance(name, str) and name else self.path.parent.name
            d.has_graph = bool(self.query("SELECT 1 FROM meta WHERE key = 'graph' LIMIT 1"))
            marks = ",".join("?" * len(CLOSE_KEYS))
            (closed_at,) = self.query(
                f"SELECT max(wall_time) FROM meta WHERE key IN ({marks})", CLOSE_KEYS
            )[0]
            d.closed_at = float(closed_at) if isinstance(closed_at, (int, float)) else None
        self._digest_chunks(d, keys, versions[0])
        d.events = int(self.query("SELECT count(*) FROM events")[0][0])
        d.last_write = _max_opt(d.last_write, self._newest_wall_time())
        d.versions = versions
        return d

    def _digest_chunks(self, d: RunDigest, keys: dict[int, SeriesKey], newest: int) -> None:
        """Scalar series: their new points (from each series' tail, so a chunk that grew in
        place is read from where it was left). Layer series: counted from chunk columns."""
        self._digest_layers(d, keys, newest)
        latest = (d.latest_chunk, d.latest_step)
        for key in keys.values():
            if not key.is_scalar:
                continue
            sd = d.series.setdefault(key.id, SeriesDigest(key))
            batch, sd.tail = read_after(self, key.id, sd.tail)
            if batch is not None and batch.points:
                sd.add(batch.steps, batch.values)
                if sd.tail.chunk >= latest[0]:  # written last (a grown chunk: same id)
                    latest = (sd.tail.chunk, int(batch.steps[-1]))
        d.latest_chunk, d.latest_step = latest
        if d.first_write is None:
            first = self.query("SELECT substr(wall_times, 1, 8) FROM chunks ORDER BY id LIMIT 1")
            d.first_write = _wall(first[0][0]) if first else None
        d.cursor = newest

    def _digest_layers(self, d: RunDigest, keys: dict[int, SeriesKey], newest: int) -> None:
        """Points and step range of layer series: new chunks, and last chunks grown since."""
        grown = [sd for sd in d.series.values() if not sd.key.is_scalar and sd.tail.chunk]
        for part in range(0, len(grown), 500):
            chunk_of = {sd.tail.chunk: sd for sd in grown[part : part + 500]}
            marks = ",".join("?" * len(chunk_of))
            for cid, n, hi in self.query(
                f"SELECT id, n, last_step FROM chunks WHERE id IN ({marks})", tuple(chunk_of)
            ):
                sd = chunk_of[int(cid)]
                sd.points += int(n) - (sd.tail.n or 0)
                sd.last_step = max(sd.last_step or int(hi), int(hi))
                sd.tail = Tail(int(cid), int(n))
        for sid, lo, hi, n, last, last_n in self.query(
            "SELECT g.series, g.lo, g.hi, g.n, g.last, c.n FROM (SELECT series, "
            "min(first_step) AS lo, max(last_step) AS hi, sum(n) AS n, max(id) AS last "
            "FROM chunks WHERE id > ? AND id <= ? GROUP BY series) AS g "
            "JOIN chunks AS c ON c.id = g.last",
            (d.cursor, newest),
        ):
            key = keys.get(int(sid))
            if key is None or key.is_scalar:
                continue
            sd = d.series.setdefault(key.id, SeriesDigest(key))
            sd.points += int(n)
            sd.first_step = int(lo) if sd.first_step is None else min(sd.first_step, int(lo))
            sd.last_step = int(hi) if sd.last_step is None else max(sd.last_step, int(hi))
            sd.latest_step = sd.last_step
            sd.tail = Tail(int(last), int(last_n))

    def _newest_wall_time(self) -> float | None:
        rows = self.query(
            "SELECT (SELECT substr(wall_times, -8, 8) FROM chunks ORDER BY id DESC LIMIT 1), "
            "(SELECT wall_time FROM events ORDER BY id DESC LIMIT 1), "
            "(SELECT wall_time FROM meta ORDER BY id DESC LIMIT 1)"
        )[0]
        walls = [_wall(rows[0]), *(float(t) for t in rows[1:] if isinstance(t, (int, float)))]
        finite = [t for t in walls if t is not None and math.isfinite(t)]
        return max(finite) if finite else None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"LiveRun({str(self.path)!r})"


_BAD = object()


def _json(text: Any) -> Any:
    if not isinstance(text, str) or len(text) > _MAX_JSON:
        return _BAD
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _BAD


def _wall(blob: Any) -> float | None:
    if not isinstance(blob, bytes) or len(blob) != 8:
        return None
    t = float(np.frombuffer(blob, VALUE_DTYPE)[0])
    return t if math.isfinite(t) else None


def _max_opt(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def discover_runs(root: str | Path, *, max_depth: int = 6, max_runs: int = 10_000) -> list[Path]:
    """Run files at or below ``root`` (a run directory or a folder of runs), bounded.

    The walk follows no symbolic link to a directory and stops at ``max_depth`` levels and
    ``max_runs`` files, so a huge or cyclic tree costs a bounded amount of work. Every path
    returned lies inside ``root`` once resolved.

    Example:
        >>> discover_runs("runs")  # doctest: +SKIP
        [PosixPath('/home/me/runs/exp1/run.sqlite')]
    """
    base = Path(root).resolve()
    if base.is_file():
        return [base] if base.name.endswith(".sqlite") else []
    found: list[Path] = []
    stack = [(base, 0)]
    while stack and len(found) < max_runs:
        folder, depth = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name == RUN_FILENAME and entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path))
            elif depth < max_depth and entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), depth + 1))
    return sorted(p for p in found if p.resolve().is_relative_to(base))[:max_runs]
