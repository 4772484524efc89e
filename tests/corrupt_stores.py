"""Run stores damaged in the ways an adversarial review tried, and a way to plant hostile text.

Every damaged case starts from a valid run (scalars, layer statistics, a histogram, a
confusion matrix, an event) written by one RunWriter, and damages one thing through
SQLite or the file's bytes, so the commands that read stores can be checked to end in one
clear error line, never a traceback. ``edit_store`` changes a store past the writer's own
checks: names the writer refuses (control characters) can still arrive in a store made
by someone else, and every reader must show them safely.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torchscope.store import RunWriter

__all__ = ["CORRUPTIONS", "corrupt_store", "edit_store"]


def edit_store(run_dir: Path, statement: str, *params: Any) -> None:
    """Run one SQL statement on the run's store file (the writer must be closed)."""
    conn = sqlite3.connect(run_dir / "run.sqlite")
    with conn:
        conn.execute(statement, params)
    conn.close()


def _sql(statement: str) -> Callable[[Path], None]:
    return lambda db: edit_store(db.parent, statement)


def _bytes(edit: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def damage(db: Path) -> None:
        db.write_bytes(edit(db.read_bytes()))

    return damage


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "text file": _bytes(lambda b: b"not a database at all\n" * 10),
    "truncated": _bytes(lambda b: b[: len(b) // 3]),
    "zeroed pages": _bytes(lambda b: b[:4096] + b"\0" * (len(b) - 4096)),
    "text in steps blob": _sql("UPDATE chunks SET steps = 'abc' WHERE id = 1"),
    "short values blob": _sql("UPDATE chunks SET vals = x'00010203' WHERE id = 1"),
    "meta not json": _sql("UPDATE meta SET value = '{oops' WHERE key = 'run_name'"),
    "matrix a string": _sql("UPDATE confusion SET matrix = '\"abc\"'"),
    "matrix ragged": _sql("UPDATE confusion SET matrix = '[[1, 2], [3]]'"),
    "matrix a list of numbers": _sql("UPDATE confusion SET matrix = '[1, 2, 3]'"),
    "labels a number": _sql("UPDATE confusion SET labels = '7'"),
    "histogram counts short": _sql("UPDATE histograms SET counts = x'0000000000000000'"),
    "event payload not json": _sql("UPDATE events SET payload = 'nan nan'"),
    "series table gone": _sql("DROP TABLE series"),
}


def corrupt_store(root: Path, case: str) -> Path:
    """A run directory under ``root`` damaged as ``CORRUPTIONS[case]`` says."""
    run = root / case.replace(" ", "_")
    with RunWriter(run, run_name="damaged") as w:
        for s in range(30):
            w.log_scalars(s, {"loss": 1.0 / (s + 1), "lr": 0.01})
            w.log_layer_stats(s, "grad", {"fc": {"norm": 1.0 + s}})
        w.log_scalars(29, {"loss": 0.5, "accuracy": 0.7}, split="val")
        w.log_histogram(3, "weight", "fc.weight", [-1.0, 0.0, 1.0], [2.0, 3.0])
        w.log_confusion(29, "val", [[3, 1], [0, 4]], ["a", "b"])
        w.log_event(5, "nonfinite", {"module": "fc", "phase": "forward"})
    for extra in ("run.sqlite-wal", "run.sqlite-shm"):
        (run / extra).unlink(missing_ok=True)
    CORRUPTIONS[case](run / "run.sqlite")
    return run
