"""The on-disk layout of a run: one SQLite file in WAL mode, append-only.

Numeric series (user scalars and per-layer statistics) are stored as *chunks*: each flush
writes, for every series that received points, one row holding those points as three
packed little-endian arrays: ``steps`` (int64), ``vals`` (float64) and ``wall_times``
(float64, last, so that reading steps and values never walks its pages). Every point is
kept; reading a 1,000,000-point series is then a few blob reads and ``numpy.frombuffer``
instead of a million Python row objects (``benchmarks/store_speed.py``: about 20x faster
than one row per point for a decimated read).

Everything else (histograms, confusion matrices, events, metadata) is one row per logged
item; JSON columns hold JSON text and may contain ``NaN``/``Infinity`` (Python's json).
``PRAGMA user_version`` is the schema version and ``PRAGMA application_id`` marks the file as
a torchscope run.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

__all__ = [
    "APPLICATION_ID",
    "LAYER_FAMILY_PREFIX",
    "RUN_FILENAME",
    "SCALAR_FAMILY",
    "SCHEMA_VERSION",
    "STEP_DTYPE",
    "VALUE_DTYPE",
    "connect_read_only",
    "connect_writer",
]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x74736370  # "tscp"
RUN_FILENAME = "run.sqlite"
# Readers memory-map the file: large chunk blobs are then read ~3x faster (measured).
_READ_MMAP_BYTES = 1 << 30

# series.family: "scalar" (scope = split) or "layer.<kind>" (scope = layer name)
SCALAR_FAMILY = "scalar"
LAYER_FAMILY_PREFIX = "layer."

STEP_DTYPE = np.dtype("<i8")
VALUE_DTYPE = np.dtype("<f8")  # values and wall times

_DDL = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    family TEXT NOT NULL,
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (family, scope, name)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    series INTEGER NOT NULL REFERENCES series(id),
    first_step INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    n INTEGER NOT NULL,
    steps BLOB NOT NULL,
    vals BLOB NOT NULL,
    wall_times BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_series ON chunks (series, id);
CREATE TABLE IF NOT EXISTS histograms (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    edges BLOB NOT NULL,
    counts BLOB NOT NULL,
    wall_time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS histograms_by_name ON histograms (kind, name, step);
CREATE TABLE IF NOT EXISTS confusion (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    split TEXT NOT NULL,
    matrix TEXT NOT NULL,
    labels TEXT,
    wall_time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    wall_time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    wall_time REAL NOT NULL
);
"""


def connect_writer(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) a run file for appending, in WAL mode, schema in place.

    ``synchronous=NORMAL`` in WAL mode keeps every committed transaction across a crash of
    the writing process (SIGKILL included); only an OS crash or power loss can lose the last
    commits. The connection is handed to the writer thread, hence ``check_same_thread=False``.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        conn.close()
        raise ValueError(
            f"{path} has store schema {version}; this torchscope reads ≤ {SCHEMA_VERSION}"
        )
    conn.executescript(_DDL)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
    return conn


def connect_read_only(path: Path) -> sqlite3.Connection:
    """Open a run file read-only; works while a writer is live and after it was killed."""
    if not path.is_file():
        raise FileNotFoundError(f"no torchscope run store at {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    conn.execute(f"PRAGMA mmap_size={_READ_MMAP_BYTES}")
    app, version = (
        conn.execute("PRAGMA application_id").fetchone()[0],
        conn.execute("PRAGMA user_version").fetchone()[0],
    )
    if app != APPLICATION_ID:
        conn.close()
        raise ValueError(f"{path} is not a torchscope run store")
    if version > SCHEMA_VERSION:
        conn.close()
        raise ValueError(
            f"{path} has store schema {version}; this torchscope reads ≤ {SCHEMA_VERSION}"
        )
    return conn
