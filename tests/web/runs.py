"""Runs for the dashboard tests: small ones through RunWriter, long ones written in bulk.

``write_bulk`` inserts whole arrays as store chunks (the layout schema.py documents) into
a run RunWriter created, so a 1,000,000-point series takes a fraction of a second instead
of a million logging calls.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np

from torchscope.store import RunWriter
from torchscope.store.schema import SCALAR_FAMILY, STEP_DTYPE, VALUE_DTYPE

__all__ = ["write_bulk"]


def write_bulk(
    run_dir: Path,
    values: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
    *,
    name: str | None = None,
    chunk: int = 100_000,
    wall_start: float | None = None,
    close: bool = True,
) -> Path:
    """A run holding ``{(split, metric): (steps, values)}`` in chunks of ``chunk`` points."""
    with RunWriter(run_dir, run_name=name) as w:
        pass
    conn = sqlite3.connect(w.path, isolation_level=None)
    longest = max((len(s) for s, _ in values.values()), default=0)
    t0 = time.time() - longest * 1e-3 if wall_start is None else wall_start  # ends by now
    try:
        conn.execute("BEGIN")
        for (split, metric), (steps, vals) in values.items():
            cur = conn.execute(
                "INSERT INTO series (family, scope, name) VALUES (?, ?, ?)",
                (SCALAR_FAMILY, split, metric),
            )
            sid = cur.lastrowid
            steps = np.asarray(steps, STEP_DTYPE)
            vals = np.asarray(vals, VALUE_DTYPE)
            walls = t0 + np.arange(len(steps), dtype=VALUE_DTYPE) * 1e-3
            for a in range(0, len(steps), chunk):
                s, v, t = steps[a : a + chunk], vals[a : a + chunk], walls[a : a + chunk]
                conn.execute(
                    "INSERT INTO chunks (series, first_step, last_step, n, steps, vals, "
                    "wall_times) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (sid, int(s.min()), int(s.max()), len(s), s.tobytes(), v.tobytes(),
                     t.tobytes()),
                )  # fmt: skip
        if close:  # what a closing Monitor records, after its last point
            conn.execute(
                "INSERT INTO meta (key, value, wall_time) VALUES ('wall_time_s', '1.0', ?)",
                (time.time(),),
            )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return Path(w.path)
