"""The server's own index of runs: opaque ids, digests kept fresh, a bounded set of open files.

Requests name a run by an id from this index (a hash of its resolved path), never by a
path, so no request can make the server open a file outside the served directories. A
background refresher looks for new runs every few seconds and, every half second, checks
each known run's files with ``stat`` (no file opened): only runs whose files changed are
read again, and only what was written since. At most ``max_open`` run files are open at
once (least recently used closed first), so a thousand runs need no thousand descriptors.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchscope.store.live import LiveRun, RunDigest, discover_runs

__all__ = ["Catalog", "RunEntry"]

_log = logging.getLogger("torchscope.web")
_RECHECK_S = 5.0
_RECENT_S = 600.0


@dataclass
class RunEntry:
    """One run the server knows: its id, file, digest and the file signature last read."""

    id: str
    path: Path
    root: Path
    digest: RunDigest
    signature: tuple[int, ...] = ()
    checked_at: float = -1e9
    error: str | None = None
    payload: tuple[Any, dict[str, Any]] | None = None  # the list row, until the run changes

    @property
    def folder(self) -> str:
        """The run's folder relative to the served directory it was found in."""
        rel = self.path.parent.relative_to(self.root) if self.path.parent != self.root else None
        return str(rel) if rel is not None else self.root.name


def run_id(path: Path) -> str:
    """A stable opaque id of a run file (the same across restarts of the server)."""
    return hashlib.sha256(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _signature(path: Path) -> tuple[int, ...]:
    """mtime and size of the store and its WAL: changes with every commit, costs no open."""
    out: list[int] = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = os.stat(p)
            out += [st.st_mtime_ns, st.st_size]
        except OSError:
            out += [0, 0]
    return tuple(out)


class Catalog:
    """Every run under the served directories, by opaque id, with fresh digests.

    Example:
        >>> cat = Catalog([Path("runs")])  # doctest: +SKIP
        >>> cat.refresh(); [e.digest.name for e in cat.entries()]  # doctest: +SKIP
        ['exp1', 'exp2']
    """

    def __init__(
        self,
        roots: Sequence[str | Path],
        *,
        max_open: int = 64,
        max_runs: int = 10_000,
        rescan_s: float = 3.0,
    ) -> None:
        self.roots = [Path(r).resolve() for r in roots]
        self.max_open, self.max_runs, self.rescan_s = max_open, max_runs, rescan_s
        self._entries: dict[str, RunEntry] = {}
        self._open: OrderedDict[str, LiveRun] = OrderedDict()
        self._lock = threading.RLock()
        self._scanned_at = -1e9
        self.generation = 0  # bumped whenever any digest or the set of runs changes

    # -- lookups ------------------------------------------------------------------------

    def entries(self) -> list[RunEntry]:
        with self._lock:
            return list(self._entries.values())

    def entry(self, rid: str) -> RunEntry:
        """The run with this id; KeyError for an id this server never gave out."""
        with self._lock:
            return self._entries[rid]

    def open(self, rid: str) -> LiveRun:
        """The run's read-only store, opened on first use; the least used one is let go.

        A run let go is closed when the last request using it finishes (the reference
        dies), never under a request.
        """
        with self._lock:
            run = self._open.get(rid)
            if run is not None:
                self._open.move_to_end(rid)
                return run
            entry = self._entries[rid]
            run = LiveRun(entry.path)
            self._open[rid] = run
            while len(self._open) > self.max_open:
                self._open.popitem(last=False)
            return run

    # -- refreshing ---------------------------------------------------------------------

    def refresh(self, *, force_scan: bool = False) -> bool:
        """Find new runs (every ``rescan_s``) and update the digests of changed ones."""
        changed = False
        now = time.monotonic()
        if force_scan or now - self._scanned_at >= self.rescan_s:
            self._scanned_at = now
            changed |= self._scan()
        for entry in self.entries():
            changed |= self._update(entry)
        if changed:
            self.generation += 1
        return changed

    def _scan(self) -> bool:
        found: list[tuple[Path, Path]] = []
        for root in self.roots:
            budget = self.max_runs - len(found)
            if budget > 0:
                found += [(p, root) for p in discover_runs(root, max_runs=budget)]
        new = False
        with self._lock:
            for path, root in found:
                rid = run_id(path)
                if rid not in self._entries:
                    self._entries[rid] = RunEntry(rid, path, root, RunDigest(path.parent.name))
                    new = True
        return new

    def _update(self, entry: RunEntry) -> bool:
        sig, now = _signature(entry.path), time.monotonic()
        # A network filesystem may cache file attributes for seconds: an unfinished run that
        # wrote lately is asked directly (one small query) every _RECHECK_S even when its
        # files look unchanged. Runs silent for long are left to their file signatures.
        d = entry.digest
        recent = d.last_write is None or time.time() - d.last_write < _RECENT_S
        due = not d.closed and recent and now - entry.checked_at >= _RECHECK_S
        if sig == entry.signature and not due:
            return False
        entry.signature, entry.checked_at = sig, now
        before = entry.digest.versions
        try:
            entry.digest = self.open(entry.id).digest(entry.digest)
            entry.error = None
        except Exception as exc:  # a damaged or foreign file: listed with its error
            entry.error = f"{type(exc).__name__}: {exc}"
            _log.debug("cannot read %s: %s", entry.path, exc)
            with self._lock:
                self._open.pop(entry.id, None)
            return True
        return entry.digest.versions != before

    def start(self, interval: float = 0.5) -> threading.Event:
        """Refresh in a daemon thread every ``interval`` s until the returned event is set."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.refresh()
                except Exception:  # never let the refresher die
                    _log.exception("refreshing the run index failed")

        threading.Thread(target=loop, name="torchscope-catalog", daemon=True).start()
        return stop

    def close(self) -> None:
        with self._lock:
            for run in self._open.values():
                run.close()
            self._open.clear()
