"""One drained batch of logged items → SQL rows: numeric points packed into chunks.

The writer thread calls ``write_batch`` inside a transaction. Items were checked when they
were logged (``store.checks``), so they convert without surprises here; a value that still
fails to be a number (a tensor that raises on ``float``) is stored as NaN rather than
failing the batch.

A commit every 0.2 s would otherwise leave a chunk of one or two points per series per
commit, and a cold read of a long run pays per chunk. So the last chunk this writer made
for a series *grows* (its blobs are appended to, in the same transaction as the rest of
the batch) until it holds ``GROW_LIMIT`` points, which keeps the row within one 4 KiB page;
points are still only ever added, never changed. Readers re-read a grown last chunk from
where they stopped (``RunReader._points``).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from torchscope.store.schema import LAYER_FAMILY_PREFIX, SCALAR_FAMILY, STEP_DTYPE, VALUE_DTYPE

__all__ = ["GROW_LIMIT", "Chunks", "Item", "SeriesKey", "Transaction", "describe", "write_batch"]

# One queued item: (table, payload). Payload layouts are private to this module and writer.py.
Item = tuple[str, tuple[Any, ...]]
SeriesKey = tuple[str, str, str]  # (family, scope, name)

GROW_LIMIT = 128  # points; 24 bytes each: a growing chunk row stays within one 4 KiB page

# Blob concatenation goes through text in SQLite; CAST back to BLOB keeps the bytes exactly
# in a UTF-8 database (the only encoding a writer grows chunks in).
_GROW = (
    "UPDATE chunks SET first_step = min(first_step, ?), last_step = max(last_step, ?), "
    "n = n + ?, steps = CAST(steps || ? AS BLOB), vals = CAST(vals || ? AS BLOB), "
    "wall_times = CAST(wall_times || ? AS BLOB) WHERE id = ?"
)
_INSERT = (
    "INSERT INTO chunks (series, first_step, last_step, n, steps, vals, wall_times, segment) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class Chunks:
    """Writes a batch's points of each series: into its growing chunk, or a new one.

    ``open`` maps a series id to (chunk id, points) of the chunk this writer may still grow.
    """

    def __init__(self, segment: int, *, grow: bool = True) -> None:
        self.segment, self.grow = segment, grow
        self.open: dict[int, tuple[int, int]] = {}

    def write(self, conn: sqlite3.Connection, series: int, row: tuple[Any, ...]) -> None:
        """Store one series' new points; ``row`` is ``_Column.row``'s tuple."""
        _, first, last, n, steps, values, walls, _ = row
        chunk, held = self.open.get(series, (0, GROW_LIMIT))
        if self.grow and held + n <= GROW_LIMIT:
            conn.execute(_GROW, (first, last, n, steps, values, walls, chunk))
            self.open[series] = (chunk, held + n)
            return
        cur = conn.execute(_INSERT, row)
        if n < GROW_LIMIT:
            self.open[series] = (int(cur.lastrowid or 0), n)
        else:
            self.open.pop(series, None)


class Transaction:
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

    def row(self, series: int, segment: int) -> tuple[Any, ...]:
        steps = np.array(self.steps, dtype=STEP_DTYPE)
        try:
            values = np.array(self.values, dtype=VALUE_DTYPE)
        except (TypeError, ValueError, RuntimeError):
            values = np.zeros(0)
        if values.shape != steps.shape:  # a value that is not one number: convert one by one
            values = np.array([_to_float(v) for v in self.values], dtype=VALUE_DTYPE)
        walls = np.array(self.wall_times, dtype=VALUE_DTYPE)
        return (series, int(steps.min()), int(steps.max()), len(steps),
                steps.tobytes(), values.tobytes(), walls.tobytes(), segment)  # fmt: skip


def write_batch(
    conn: sqlite3.Connection,
    items: list[Item],
    series_id: Callable[[SeriesKey], int],
    chunks: Chunks,
) -> None:
    """Insert one drained batch: numeric points grouped into one chunk per series."""
    columns: dict[SeriesKey, _Column] = {}

    def column(key: SeriesKey) -> _Column:
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
            _write_row(conn, table, p, chunks.segment)
    for key, c in columns.items():
        sid = series_id(key)
        chunks.write(conn, sid, c.row(sid, chunks.segment))


def _write_row(conn: sqlite3.Connection, table: str, p: tuple[Any, ...], segment: int) -> None:
    if table == "histogram":
        step, kind, name, edges, counts, t = p
        conn.execute(
            "INSERT INTO histograms (step, kind, name, edges, counts, wall_time, segment) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (step, kind, name, _f64(edges), _f64(counts), t, segment),
        )
    elif table == "confusion":
        step, split, matrix_json, labels_json, t = p
        conn.execute(
            "INSERT INTO confusion (step, split, matrix, labels, wall_time, segment) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (step, split, matrix_json, labels_json, t, segment),
        )
    elif table == "event":
        step, kind, payload, t = p
        conn.execute(
            "INSERT INTO events (step, kind, payload, wall_time, segment) VALUES (?, ?, ?, ?, ?)",
            (step, kind, payload, t, segment),
        )
    elif table == "meta":
        conn.execute("INSERT INTO meta (key, value, wall_time) VALUES (?, ?, ?)", p)


def describe(item: Item) -> str:
    """A short, printable description of a queued item, for an error message."""
    table, p = item
    text = f"{table} {p[0]!r}" if p else table
    text = ascii(text)
    return text if len(text) <= 80 else text[:79] + "…"


def _to_float(v: Any) -> float:
    """A logged number as a float; a value that fails to convert is stored as NaN."""
    try:
        return float(v)
    except (TypeError, ValueError, RuntimeError):
        return math.nan


def _f64(values: Sequence[float] | np.ndarray) -> bytes:
    return np.asarray(values, dtype="<f8").tobytes()
