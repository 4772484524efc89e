"""The on-disk layout of a run: one SQLite file in WAL mode, append-only.

Numeric series (user scalars and per-layer statistics) are stored as *chunks*: rows holding
a series' points as three packed little-endian arrays: ``steps`` (int64), ``vals``
(float64) and ``wall_times`` (float64, last, so that reading steps and values never walks
its pages). Each commit appends a series' new points to its last chunk while that holds
fewer than 128 points (``store/batch.py``), else starts a new chunk. Every point is kept,
and points are only ever added; reading a 1,000,000-point series is then a few blob reads
and ``numpy.frombuffer`` instead of a million Python row objects
(``benchmarks/store_speed.py``: about 20x faster than one row per point for a decimated
read).

Everything else (histograms, confusion matrices, events, metadata) is one row per logged
item; JSON columns hold JSON text and may contain ``NaN``/``Infinity`` (Python's json).
``PRAGMA user_version`` is the schema version and ``PRAGMA application_id`` marks the file as
a torchscope run.

Schema 2 adds *segments*: each writer session on a file is one segment (0 for the run's
first, 1 for its first resume…), in the ``segments`` table, and every chunk, histogram,
confusion matrix and event carries the segment that wrote it. A resumed run's repeated or
decreasing steps are then kept and told apart. Schema-1 files are read as one segment and
upgraded in place when a writer resumes them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from torchscope.errors import StoreError
from torchscope.store.filesystems import journal_mode_for

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
    "schema_version",
]

SCHEMA_VERSION = 2
APPLICATION_ID = 0x74736370  # "tscp"
RUN_FILENAME = "run.sqlite"
# Readers memory-map the file: large chunk blobs are then read ~3x faster (measured).
_READ_MMAP_BYTES = 1 << 30

# series.family: "scalar" (scope = split) or "layer.<kind>" (scope = layer name)
SCALAR_FAMILY = "scalar"
LAYER_FAMILY_PREFIX = "layer."

STEP_DTYPE = np.dtype("<i8")
VALUE_DTYPE = np.dtype("<f8")  # values and wall times

_TABLES = """
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
    wall_times BLOB NOT NULL,
    segment INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_by_series ON chunks (series, id);
CREATE TABLE IF NOT EXISTS histograms (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    edges BLOB NOT NULL,
    counts BLOB NOT NULL,
    wall_time REAL NOT NULL,
    segment INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS histograms_by_name ON histograms (kind, name, step);
CREATE TABLE IF NOT EXISTS confusion (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    split TEXT NOT NULL,
    matrix TEXT NOT NULL,
    labels TEXT,
    wall_time REAL NOT NULL,
    segment INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    wall_time REAL NOT NULL,
    segment INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    wall_time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL
)
"""
TABLES = ("series", "chunks", "histograms", "confusion", "events", "meta")
_SEGMENTED = ("chunks", "histograms", "confusion", "events")  # tables with a segment column


def connect_writer(path: Path, *, started: float) -> tuple[sqlite3.Connection, int]:
    """Open (creating if needed) a run file for appending; return it and the new segment.

    WAL mode with ``synchronous=NORMAL`` keeps every committed transaction across a crash of
    the writing process (SIGKILL included); only an OS crash or power loss can lose the last
    commits. On a shared network filesystem the rollback journal is used instead, with
    ``synchronous=FULL`` (see ``store/filesystems.py``). The schema, an upgrade of a
    schema-1 file and the new segment's row are written in one transaction, so a reader
    never sees a half-made file. The connection is handed to the writer thread, hence
    ``check_same_thread=False``.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        if journal_mode_for(path.parent) == "wal":
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        else:  # a network filesystem: WAL's shared memory does not cross hosts
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        version = _check_ours(conn, path, writing=True)
        for statement in _TABLES.split(";"):
            conn.execute(statement)
        if version == 1:
            _upgrade_from_1(conn)
        segment = conn.execute("SELECT coalesce(max(id) + 1, 0) FROM segments").fetchone()[0]
        conn.execute("INSERT INTO segments (id, started) VALUES (?, ?)", (segment, started))
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        raise
    return conn, int(segment)


def _upgrade_from_1(conn: sqlite3.Connection) -> None:
    """Give a schema-1 file segment columns; its points so far are segment 0."""
    for table in _SEGMENTED:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN segment INTEGER NOT NULL DEFAULT 0")
    started = conn.execute("SELECT min(wall_time) FROM meta").fetchone()[0]
    conn.execute("INSERT INTO segments (id, started) VALUES (0, ?)", (started or 0.0,))


def _check_ours(conn: sqlite3.Connection, path: Path, *, writing: bool) -> int:
    """The file's schema version; ``StoreError`` if it is not a torchscope run we can use."""
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    fresh = writing and app == 0 and version == 0 and not _table_names(conn)
    if app != APPLICATION_ID and not fresh:
        raise StoreError(path, "not a torchscope run store")
    if version > SCHEMA_VERSION:
        raise StoreError(
            path, f"store schema {version}; this torchscope reads schemas up to {SCHEMA_VERSION}"
        )
    return int(version)


def _table_names(conn: sqlite3.Connection) -> set[str]:
    return {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def connect_read_only(path: Path) -> sqlite3.Connection:
    """Open a run file read-only; works while a writer is live and after it was killed.

    ``mode=ro`` makes damage by reading impossible. (One exception, on network filesystems
    only: the unfinished transaction a killed writer left in a rollback journal is rolled
    back first, as the writer would on resume; see ``_roll_back_hot_journal``.) Every way
    the file can fail to be a readable run (not SQLite, truncated, a foreign database, a
    newer or incomplete schema) raises ``StoreError`` naming the file.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no torchscope run store at {path}")
    try:
        return _open_read_only(path)
    except StoreError as exc:
        if not (_HOT_JOURNAL in str(exc) and _roll_back_hot_journal(path)):
            raise
    return _open_read_only(path)


# SQLite's words for SQLITE_READONLY_ROLLBACK: a hot journal a read-only reader cannot undo
_HOT_JOURNAL = "attempt to write a readonly database"


def _roll_back_hot_journal(path: Path) -> bool:
    """Undo the unfinished transaction a killed writer left in a rollback journal.

    Only runs on a network filesystem (no WAL) after a writer was killed mid-commit: a
    read-only connection cannot open such a file until someone rolls the journal back, which
    is what the writer itself does on resume. Opening the file writable makes SQLite do just
    that and nothing more (it writes the last committed pages back); False when the journal
    is gone or the file cannot be written (then the error stands).
    """
    if not path.with_name(path.name + "-journal").is_file():
        return False
    try:
        conn = sqlite3.connect(path, timeout=2.0)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return True


def _open_read_only(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA mmap_size={_READ_MMAP_BYTES}")
        version = _check_ours(conn, path, writing=False)
        needed = (*TABLES, "segments") if version >= 2 else TABLES
        missing = [t for t in needed if t not in _table_names(conn)]
        if missing:
            raise StoreError(path, f"missing table {', '.join(missing)}")
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(path, f"{exc}") from exc
    except UnicodeDecodeError as exc:  # a table name holding bytes that are not UTF-8
        conn.close()
        raise StoreError(path, f"text that is not UTF-8 ({exc.reason})") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    """The open file's schema version (``PRAGMA user_version``)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
