"""RunWriter: append-only logging of one run into a SQLite file, from a background thread.

The logging calls only put plain Python values on a queue, so the training loop never
waits for the disk. A thread wakes every ``flush_interval`` seconds (and on ``flush()`` /
``close()``), drains the queue and commits it as one transaction. A process killed at any
moment leaves a file holding everything up to the last commit.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import queue
import sqlite3
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from torchscope.store.schema import (
    LAYER_FAMILY_PREFIX,
    RUN_FILENAME,
    SCALAR_FAMILY,
    STEP_DTYPE,
    VALUE_DTYPE,
    connect_writer,
)

__all__ = ["RunWriter"]

# One queued item: (table, payload). Payload layouts are private to this module.
_Item = tuple[str, tuple[Any, ...]]
_SeriesKey = tuple[str, str, str]  # (family, scope, name)


@dataclass
class _Barrier:
    """Queued by flush()/close(): set once everything queued before it is committed."""

    done: threading.Event
    stop: bool = False


class RunWriter:
    """Append-only writer for one run: a SQLite file (WAL) written by a background thread.

    Example:
        >>> with RunWriter("runs/exp1") as w:  # doctest: +SKIP
        ...     w.log_scalars(0, {"loss": 2.3, "lr": 1e-3})
        ...     w.log_scalars(0, {"loss": 2.4}, split="val")
    """

    def __init__(
        self,
        logdir: str | Path,
        *,
        flush_interval: float = 1.0,
        run_name: str | None = None,
    ) -> None:
        if flush_interval <= 0:
            raise ValueError("flush_interval must be positive")
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.path = self.logdir / RUN_FILENAME
        self.flush_interval = float(flush_interval)
        self.errors: list[BaseException] = []
        self._conn = connect_writer(self.path)
        self._series_ids: dict[_SeriesKey, int] = {
            (f, s, n): i
            for i, f, s, n in self._conn.execute("SELECT id, family, scope, name FROM series")
        }
        self._queue: queue.SimpleQueue[_Item | _Barrier] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._closed = False
        self._pid = os.getpid()
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="torchscope-store", daemon=True)
        self._thread.start()
        atexit.register(_close_at_exit, weakref.ref(self))
        self.set_meta("run_name", run_name or self.logdir.resolve().name)
        self.set_meta("started", time.time())

    # -- logging calls: cheap, never touch the disk ------------------------------------------

    def log_scalars(
        self,
        step: int,
        values: Mapping[str, float],
        *,
        split: str = "train",
        wall_time: float | None = None,
    ) -> None:
        """Queue named scalars for one step, e.g. ``{"loss": 0.7, "lr": 1e-3}``."""
        t = time.time() if wall_time is None else wall_time
        for name, v in values.items():
            if not hasattr(v, "__float__"):
                raise TypeError(f"scalar {name!r} is a {type(v).__name__}, not a number")
        self._put("scalars", (step, split, t, dict(values)))

    def log_layer_stats(
        self, step: int, kind: str, stats: Mapping[str, Mapping[str, float]]
    ) -> None:
        """Queue per-layer statistics: ``{layer: {stat: value}}`` of one kind (e.g. "grad")."""
        self._put("layers", (step, kind, time.time(), {k: dict(v) for k, v in stats.items()}))

    def log_histogram(
        self, step: int, kind: str, name: str, edges: Sequence[float], counts: Sequence[float]
    ) -> None:
        """Queue one histogram: ``len(edges) == len(counts) + 1``."""
        if len(edges) != len(counts) + 1:
            raise ValueError(f"histogram {name!r}: {len(edges)} edges for {len(counts)} counts")
        self._put("histogram", (step, kind, name, list(edges), list(counts), time.time()))

    def log_confusion(
        self,
        step: int,
        split: str,
        matrix: Sequence[Sequence[int]],
        labels: Sequence[str] | None = None,
    ) -> None:
        """Queue a confusion matrix (rows: true class, columns: predicted class)."""
        rows = [list(r) for r in matrix]
        labels_json = None if labels is None else json.dumps([str(x) for x in labels])
        self._put("confusion", (step, split, rows, labels_json, time.time()))

    def log_event(self, step: int, kind: str, payload: Mapping[str, Any]) -> None:
        """Queue an event, e.g. ``kind="nonfinite"`` with the module and phase in ``payload``."""
        self._put("event", (step, kind, json.dumps(dict(payload), default=str), time.time()))

    def set_meta(self, key: str, value: Any) -> None:
        """Record a JSON-able value under ``key``; a later value for the same key wins."""
        self._put("meta", (key, json.dumps(value), time.time()))

    def flush(self) -> None:
        """Block until everything queued so far is committed."""
        if self._closed:
            return
        self._barrier(stop=False)

    def close(self) -> None:
        """Commit everything queued and stop the thread; safe to call more than once."""
        with self._close_lock:
            if self._closed:
                return
            if os.getpid() != self._pid:  # a forked child: the thread and file are the parent's
                self._closed = True
                return
            self._barrier(stop=True)
            self._thread.join()
            self._conn.close()
            self._closed = True

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunWriter({str(self.path)!r})"

    def _put(self, table: str, payload: tuple[Any, ...]) -> None:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        self._queue.put((table, payload))

    def _barrier(self, *, stop: bool) -> None:
        done = threading.Event()
        self._queue.put(_Barrier(done, stop))
        self._wake.set()
        while not done.wait(0.5):
            if not self._thread.is_alive():  # it died: nothing will ever set the event
                break

    # -- the background thread ---------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            items: list[_Item] = []
            barriers: list[_Barrier] = []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Barrier):
                    barriers.append(item)
                else:
                    items.append(item)
            if items:
                self._commit(items)
            for b in barriers:
                stop = stop or b.stop
                b.done.set()

    def _commit(self, items: list[_Item]) -> None:
        try:
            with _transaction(self._conn):
                _write_items(self._conn, items, self._series_id)
        except Exception as exc:  # a failing write must not kill the training loop
            self.errors.append(exc)
            warnings.warn(
                f"torchscope could not write {len(items)} items to {self.path}: {exc}",
                RuntimeWarning,
                stacklevel=1,
            )

    def _series_id(self, key: _SeriesKey) -> int:
        sid = self._series_ids.get(key)
        if sid is None:
            cur = self._conn.execute(
                "INSERT INTO series (family, scope, name) VALUES (?, ?, ?)", key
            )
            sid = self._series_ids[key] = int(cur.lastrowid or 0)
        return sid


def _close_at_exit(ref: weakref.ReferenceType[RunWriter]) -> None:
    """Commit what is still queued when the interpreter exits without ``close()``."""
    writer = ref()
    if writer is not None:
        writer.close()


class _transaction:
    """``BEGIN``…``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN")

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


class _Column:
    """Points of one series gathered from a batch, as three parallel lists."""

    __slots__ = ("steps", "values", "wall_times")

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.values: list[Any] = []
        self.wall_times: list[float] = []

    def add(self, step: int, value: Any, wall_time: float) -> None:
        self.steps.append(step)
        self.values.append(value)
        self.wall_times.append(wall_time)

    def row(self, series: int) -> tuple[Any, ...]:
        steps = np.array(self.steps, dtype=STEP_DTYPE)
        try:
            values = np.array(self.values, dtype=VALUE_DTYPE)
        except (TypeError, ValueError):
            values = np.zeros(0)
        if values.shape != steps.shape:  # a value that is not one number: convert one by one
            values = np.array([_to_float(v) for v in self.values], dtype=VALUE_DTYPE)
        walls = np.array(self.wall_times, dtype=VALUE_DTYPE)
        return (series, int(steps.min()), int(steps.max()), len(steps),
                steps.tobytes(), values.tobytes(), walls.tobytes())  # fmt: skip


def _write_items(
    conn: sqlite3.Connection, items: list[_Item], series_id: Callable[[_SeriesKey], int]
) -> None:
    """Insert one drained batch: numeric points grouped into one chunk per series."""
    columns: dict[_SeriesKey, _Column] = {}

    def column(key: _SeriesKey) -> _Column:
        c = columns.get(key)
        if c is None:
            c = columns[key] = _Column()
        return c

    for table, p in items:
        if table == "scalars":
            step, split, t, values = p
            for name, v in values.items():
                column((SCALAR_FAMILY, split, name)).add(step, v, t)
        elif table == "layers":
            step, kind, t, stats = p
            family = LAYER_FAMILY_PREFIX + kind
            for layer, layer_stats in stats.items():
                for stat, v in layer_stats.items():
                    column((family, layer, stat)).add(step, v, t)
        else:
            _write_row(conn, table, p)
    conn.executemany(
        "INSERT INTO chunks (series, first_step, last_step, n, steps, vals, wall_times) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [c.row(series_id(key)) for key, c in columns.items()],
    )


def _write_row(conn: sqlite3.Connection, table: str, p: tuple[Any, ...]) -> None:
    if table == "histogram":
        step, kind, name, edges, counts, t = p
        conn.execute(
            "INSERT INTO histograms (step, kind, name, edges, counts, wall_time) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (int(step), kind, name, _f64(edges), _f64(counts), t),
        )
    elif table == "confusion":
        step, split, rows, labels_json, t = p
        matrix = json.dumps([[int(x) for x in r] for r in rows])
        conn.execute(
            "INSERT INTO confusion (step, split, matrix, labels, wall_time) VALUES (?, ?, ?, ?, ?)",
            (int(step), split, matrix, labels_json, t),
        )
    elif table == "event":
        step, kind, payload, t = p
        conn.execute(
            "INSERT INTO events (step, kind, payload, wall_time) VALUES (?, ?, ?, ?)",
            (int(step), kind, payload, t),
        )
    elif table == "meta":
        conn.execute("INSERT INTO meta (key, value, wall_time) VALUES (?, ?, ?)", p)


def _to_float(v: Any) -> float:
    """A logged number as a float; a value that is not a number is stored as NaN."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _f64(values: Sequence[float]) -> bytes:
    return np.asarray(values, dtype="<f8").tobytes()
