"""RunWriter: append-only logging of one run into a SQLite file, from a background thread.

The logging calls check what they are given (``store.checks``) and put plain Python values
on a queue, so the training loop never waits for the disk and an item the store cannot
keep is refused at the call. A thread wakes every ``flush_interval`` seconds (and on
``flush()`` / ``close()``), drains the queue and commits it as one transaction. A process
killed at any moment leaves a file holding everything up to the last commit.

A writer on a directory that already holds a run starts a new run beside it (see
``store.layout``) unless ``resume=True``, which continues that run as a new *segment*.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import sqlite3
import threading
import time
import warnings
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, SupportsFloat

from torchscope.errors import LogValueError
from torchscope.store.batch import Chunks, Item, SeriesKey, Transaction, describe, write_batch
from torchscope.store.checks import (
    STEP_MAX,
    STEP_MIN,
    check_counts,
    check_json,
    check_mapping,
    check_name,
    check_note,
    check_number,
    check_step,
    check_vector,
    check_wall_time,
)
from torchscope.store.layout import claim_run_dir
from torchscope.store.schema import RUN_FILENAME, connect_writer

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["DEFAULT_FLUSH_INTERVAL", "RunWriter"]

_log = logging.getLogger("torchscope.store")

DEFAULT_FLUSH_INTERVAL = 0.2  # seconds; benchmarks/RESULTS.md "commit interval" for why


@dataclass
class _Barrier:
    """Queued by flush()/close(): set once everything queued before it is committed."""

    done: threading.Event
    stop: bool = False


class RunWriter:
    """Append-only writer for one run: a SQLite file (WAL) written by a background thread.

    Args:
        logdir: the run directory. If it already holds a run, a new run is started beside
            it (``logdir-2``, ``logdir-3``…; a one-line notice on the ``torchscope.store``
            logger says where) unless ``resume`` is true.
        flush_interval: seconds between commits (a killed process loses at most this much).
        name: the run's name (default: its directory's name); ``run_name`` is the same.
        tags: short labels to find and group runs by.
        note: free text about the run.
        resume: continue the run in ``logdir`` as a new segment: its points are kept beside
            the earlier ones and marked with the segment number, never mixed up.

    Every logging call checks its step, names and values (``store.checks`` lists what is
    accepted) and raises ``LogValueError`` at the call for an item the store cannot keep;
    nothing else is lost.

    Example:
        >>> with RunWriter("runs/exp1", name="baseline", tags=["lr-sweep"]) as w:  # doctest: +SKIP
        ...     w.log_scalars(0, {"loss": 2.3, "lr": 1e-3})
        ...     w.log_scalars(0, {"loss": 2.4}, split="val")
    """

    def __init__(
        self,
        logdir: str | Path,
        *,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        name: str | None = None,
        tags: Iterable[str] = (),
        note: str | None = None,
        resume: bool = False,
        run_name: str | None = None,
    ) -> None:
        if not flush_interval > 0:
            raise ValueError("flush_interval must be positive")
        name = name if name is not None else run_name
        meta = _run_meta(name, tags, note)  # checked before anything is created on disk
        self.logdir = _claim(Path(logdir), resume)
        self.path = self.logdir / RUN_FILENAME
        self.flush_interval = float(flush_interval)
        self.errors: list[BaseException] = []
        started = self._started = time.time()
        self._timed = False  # whether the caller recorded the run's wall time itself
        self._conn, self.segment = _connect(self.path, started, resume)
        self.journal_mode = str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])
        if self.journal_mode != "wal":
            _log.warning(
                "torchscope: %s is on a network filesystem; this run uses SQLite's rollback "
                "journal (WAL needs shared memory on one host), so readers elsewhere see it",
                self.logdir,
            )
        utf8 = self._conn.execute("PRAGMA encoding").fetchone()[0] == "UTF-8"
        self._chunks = Chunks(self.segment, grow=utf8)  # see store/batch.py for why
        self._series_ids: dict[SeriesKey, int] = {
            (f, s, n): i
            for i, f, s, n in self._conn.execute("SELECT id, family, scope, name FROM series")
        }
        self._names_ok: set[str] = set()
        self._queue: queue.SimpleQueue[Item | _Barrier] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._closed = False
        self._pid = os.getpid()
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="torchscope-store", daemon=True)
        self._thread.start()
        atexit.register(_close_at_exit, weakref.ref(self))
        if self.segment == 0:
            meta = {"run_name": self.logdir.resolve().name, "tags": [], **meta}
            meta["started"] = started
        for key, value in meta.items():
            self.set_meta(key, value)

    # -- logging calls: cheap, checked, never touch the disk ----------------------------------

    def log_scalars(
        self,
        step: int,
        values: Mapping[str, SupportsFloat],
        *,
        split: str = "train",
        wall_time: float | None = None,
    ) -> None:
        """Queue named scalars for one step, e.g. ``{"loss": 0.7, "lr": 1e-3}``."""
        if type(step) is not int or not STEP_MIN <= step <= STEP_MAX:  # the common case first
            step = check_step(step)
        self._name(split, "split")
        t = time.time() if wall_time is None else check_wall_time(wall_time)
        checked = dict(check_mapping(values, "scalars"))
        known = self._names_ok
        for name, v in checked.items():
            if name not in known:
                self._name(name, "scalar name")
            if type(v) is not float:
                checked[name] = check_number(v, f"scalar {name!r}")
        self._put("scalars", (step, split, t, checked))

    def log_layer_stats(
        self, step: int, kind: str, stats: Mapping[str, Mapping[str, SupportsFloat]]
    ) -> None:
        """Queue per-layer statistics: ``{layer: {stat: value}}`` of one kind (e.g. "grad")."""
        step = check_step(step)
        self._name(kind, "layer statistic kind")
        checked = {
            self._name(layer, "layer name"): {
                self._name(stat, "statistic name"): check_number(v, f"{kind} {stat!r} of {layer!r}")
                for stat, v in check_mapping(layer_stats, f"{kind} statistics of {layer!r}").items()
            }
            for layer, layer_stats in check_mapping(stats, f"{kind} statistics").items()
        }
        self._put("layers", (step, kind, time.time(), checked))

    def log_histogram(
        self, step: int, kind: str, name: str, edges: ArrayLike, counts: ArrayLike
    ) -> None:
        """Queue one histogram (edges and counts: sequences or 1-D arrays of real numbers):
        ``len(edges) == len(counts) + 1``."""
        step = check_step(step)
        self._name(kind, "histogram kind")
        self._name(name, "histogram name")
        e = check_vector(edges, f"edges of {name!r}")
        c = check_vector(counts, f"counts of {name!r}")
        if len(e) != len(c) + 1:
            raise LogValueError(f"histogram {name!r}: {len(e)} edges for {len(c)} counts")
        self._put("histogram", (step, kind, name, e, c, time.time()))

    def log_confusion(
        self,
        step: int,
        split: str,
        matrix: ArrayLike,
        labels: Sequence[str] | None = None,
    ) -> None:
        """Queue a confusion matrix of counts (rows: true class, columns: predicted class)."""
        step = check_step(step)
        self._name(split, "confusion split")
        rows = check_counts(matrix, split)
        labels_json = None
        if labels is not None:
            if isinstance(labels, str):
                raise LogValueError(f"confusion {split!r}: labels must be a list, not a str")
            labels = list(labels)
            if len(labels) != len(rows):
                raise LogValueError(
                    f"confusion {split!r}: {len(labels)} labels for {len(rows)} classes"
                )
            labels_json = json.dumps([self._name(x, "class label") for x in labels])
        self._put("confusion", (step, split, json.dumps(rows), labels_json, time.time()))

    def log_event(self, step: int, kind: str, payload: Mapping[str, Any]) -> None:
        """Queue an event, e.g. ``kind="nonfinite"`` with the module and phase in ``payload``."""
        step = check_step(step)
        self._name(kind, "event kind")
        if not isinstance(payload, Mapping):
            raise LogValueError(
                f"event {kind!r}: payload is a {type(payload).__name__}, not a dict"
            )
        self._put("event", (step, kind, check_json(dict(payload), kind, default=str), time.time()))

    def set_meta(self, key: str, value: Any) -> None:
        """Record a JSON-able value under ``key``; a later value for the same key wins."""
        self._name(key, "metadata key")
        self._put("meta", (key, check_json(value, key), time.time()))
        self._timed = self._timed or key == "wall_time_s"

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
            if not self._timed:  # else `runs` reads the run as never ended
                self.set_meta("wall_time_s", time.time() - self._started)
            # the run's end, so that readers (the dashboard's status) can tell a finished run
            # from a crashed one; a killed process never gets here
            now = time.time()
            self._put("meta", ("closed", check_json(now, "closed"), now))
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

    def _name(self, name: Any, what: str) -> str:
        if type(name) is str and name in self._names_ok:  # names repeat: check each once
            return name
        check_name(name, what)
        if len(self._names_ok) < 100_000:
            self._names_ok.add(name)
        return name

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
            items: list[Item] = []
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

    def _commit(self, items: list[Item]) -> None:
        """Commit a batch; if it fails, commit its items one by one, losing only bad ones."""
        if self._try_commit(items) is None:
            return
        for item in items:
            exc = self._try_commit([item])
            if exc is not None:  # a failing write must not kill the training loop
                self.errors.append(exc)
                warnings.warn(
                    f"torchscope could not write {describe(item)} to {self.path}: {exc}",
                    RuntimeWarning,
                    stacklevel=1,
                )

    def _try_commit(self, items: list[Item]) -> Exception | None:
        known, growing = dict(self._series_ids), dict(self._chunks.open)
        try:
            with Transaction(self._conn):
                write_batch(self._conn, items, self._series_id, self._chunks)
        except Exception as exc:
            # rows made or grown in the rolled-back transaction are as they were before it
            self._series_ids, self._chunks.open = known, growing
            return exc
        return None

    def _series_id(self, key: SeriesKey) -> int:
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


def _claim(requested: Path, resume: bool) -> Path:
    """The run directory to write (``requested``, or one beside it), saying if it moved."""
    logdir = claim_run_dir(requested, resume=resume)
    if logdir != requested:
        _log.warning(
            "torchscope: %s already holds a run; this run is written to %s "
            "(resume=True continues that run instead)",
            requested, logdir,
        )  # fmt: skip
    return logdir


def _connect(path: Path, started: float, resume: bool) -> tuple[sqlite3.Connection, int]:
    """``connect_writer``; a new run's claimed (empty) file is removed if that fails."""
    try:
        return connect_writer(path, started=started)
    except BaseException:
        if not resume and path.is_file() and path.stat().st_size == 0:
            path.unlink()
        raise


def _run_meta(name: str | None, tags: Iterable[str], note: str | None) -> dict[str, Any]:
    """The run's name, tags and note, checked, as the metadata to record."""
    meta: dict[str, Any] = {}
    if name is not None:
        meta["run_name"] = check_name(name, "run name")
    if isinstance(tags, str):
        raise LogValueError(f"tags must be a list of names, not the str {tags!r}")
    tag_list = [check_name(t, "tag") for t in tags]
    if tag_list:
        meta["tags"] = list(dict.fromkeys(tag_list))
    if note is not None:
        meta["note"] = check_note(note)
    return meta
