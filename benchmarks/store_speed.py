"""Run store speed: ingest rate and decimated reads, torchscope vs naive SQLite vs TensorBoard.

Measured in one run, on one 1,000,000-point scalar series (``--points``):

* ingest (points/s, one point per logging call, until everything is on disk):
  torchscope ``RunWriter.log_scalars`` (calls queue, a thread commits chunks);
  naive SQLite (one row per point, ``executemany`` in batches of 1,000, index on series/step);
  TensorBoard ``SummaryWriter.add_scalar`` (until ``close()``);
* read of the whole series decimated to 1,000 min/max buckets (median of ``--repeats``):
  torchscope ``RunReader.scalars(name, buckets=1000)`` on the store written above (large
  chunks) and on a store written like a training run (a flush every 10 points, i.e.
  100,000 chunks of 10 points); naive SQLite read-all + the same numpy decimation, and the
  same decimation done in SQL with ``GROUP BY``; each torchscope read opens a new RunReader
  (cold), and "live poll" is a dashboard re-reading the series with nothing new written;
  TensorBoard ``EventAccumulator`` with every point kept (``size_guidance={"scalars": 0}``)
  + numpy decimation.

Goal: torchscope's decimated read under 100 ms. Run it on an otherwise idle machine:

    .venv/bin/python benchmarks/store_speed.py
    .venv/bin/python benchmarks/store_speed.py --points 200000 --no-tensorboard
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from torchscope.store import RunReader, RunWriter, Series
from torchscope.store.reader import decimate

BUCKETS = 1000


def _values(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (1.0 / np.sqrt(np.arange(n) + 1.0) + 0.05 * rng.normal(size=n)).astype(np.float64)


def _median_time(fn: Callable[[], object], repeats: int = 1) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process (all its threads)."""
    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def ingest_torchscope(root: Path, values: list[float], flush_every: int | None = None) -> None:
    """Log every point (one call each) and have it committed."""
    w = RunWriter(root)
    for step, v in enumerate(values):
        w.log_scalars(step, {"loss": v})
        if flush_every and step % flush_every == flush_every - 1:
            w.flush()
    w.close()


def read_torchscope(root: Path, buckets: int | None) -> Series:
    with RunReader(root) as r:
        return r.scalars("loss", buckets=buckets)


def ingest_naive_sqlite(path: Path, values: list[float]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE points (series INTEGER, step INTEGER, value REAL, wall_time REAL)")
    conn.execute("CREATE INDEX points_by_series ON points (series, step)")
    batch: list[tuple[int, int, float, float]] = []
    for step, v in enumerate(values):
        batch.append((1, step, v, time.time()))
        if len(batch) == 1000:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO points VALUES (?, ?, ?, ?)", batch)
            conn.execute("COMMIT")
            batch = []
    if batch:
        conn.executemany("INSERT INTO points VALUES (?, ?, ?, ?)", batch)
    conn.close()


def read_naive_all(path: Path) -> dict[str, np.ndarray]:
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT step, value FROM points WHERE series = 1 ORDER BY step").fetchall()
    conn.close()
    a = np.array(rows, dtype=np.float64)
    return decimate(a[:, 0].astype(np.int64), a[:, 1], BUCKETS)


def read_naive_group_by(path: Path) -> list[tuple[float, ...]]:
    conn = sqlite3.connect(path)
    lo, hi = conn.execute("SELECT min(step), max(step) FROM points WHERE series = 1").fetchone()
    rows = conn.execute(
        "SELECT (step - ?) * ? / (? - ? + 1) AS b, min(step), max(step), avg(value), "
        "min(value), max(value), count(*) FROM points WHERE series = 1 GROUP BY b ORDER BY b",
        (lo, BUCKETS, hi, lo),
    ).fetchall()
    conn.close()
    return rows


def ingest_tensorboard(logdir: Path, values: list[float]) -> None:
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(logdir))
    for step, v in enumerate(values):
        w.add_scalar("loss", v, step)
    w.close()


def read_tensorboard(logdir: Path) -> dict[str, np.ndarray]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    events = acc.Scalars("loss")
    steps = np.fromiter((e.step for e in events), dtype=np.int64, count=len(events))
    vals = np.fromiter((e.value for e in events), dtype=np.float64, count=len(events))
    return decimate(steps, vals, BUCKETS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-tensorboard", action="store_true")
    args = parser.parse_args()
    n, reps = args.points, args.repeats
    values = _values(n).tolist()
    print(
        f"{platform.machine()} · {os.cpu_count()} cores · sqlite {sqlite3.sqlite_version} · "
        f"load {os.getloadavg()[0]:.2f} · {n:,} points, {BUCKETS} buckets"
    )
    ingest: dict[str, tuple[float, float]] = {}
    read: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ingest["torchscope"] = _median_time(lambda: ingest_torchscope(root / "ts", values))
        ingest["torchscope, flush every 10"] = _median_time(
            lambda: ingest_torchscope(root / "ts10", values, 10)
        )
        naive = root / "naive.db"
        ingest["naive SQLite (row per point)"] = _median_time(
            lambda: ingest_naive_sqlite(naive, values)
        )
        expected = decimate(np.arange(n), np.asarray(values), BUCKETS)
        got = read_torchscope(root / "ts", BUCKETS)
        assert np.allclose(got.maxs, expected["maxs"]) and len(got) == BUCKETS
        # cold reads: a new RunReader each time (the reader caches what it has read)
        read["torchscope"] = _median_time(lambda: read_torchscope(root / "ts", BUCKETS), reps)
        read["torchscope, flush every 10"] = _median_time(
            lambda: read_torchscope(root / "ts10", BUCKETS), reps
        )
        read["torchscope, raw (no decimation)"] = _median_time(
            lambda: read_torchscope(root / "ts", None), reps
        )
        with RunReader(root / "ts10") as live:
            live.scalars("loss", buckets=BUCKETS)
            read["torchscope, live poll (cached, no new points)"] = _median_time(
                lambda: live.scalars("loss", buckets=BUCKETS), reps
            )
        read["naive SQLite read-all + numpy"] = _median_time(lambda: read_naive_all(naive), 3)
        read["naive SQLite GROUP BY"] = _median_time(lambda: read_naive_group_by(naive), 3)
        if not args.no_tensorboard:
            import tensorboard.backend.event_processing.event_accumulator  # noqa: F401
            import torch.utils.tensorboard  # noqa: F401  (imports are not timed)

            tb = root / "tb"
            ingest["TensorBoard add_scalar"] = _median_time(lambda: ingest_tensorboard(tb, values))
            read["TensorBoard EventAccumulator + numpy"] = _median_time(
                lambda: read_tensorboard(tb)
            )
    _report(n, ingest, read)


def _report(
    n: int, ingest: dict[str, tuple[float, float]], read: dict[str, tuple[float, float]]
) -> None:
    base_in, base_read = ingest["torchscope"][0], read["torchscope"][0]
    print(f"\n{'ingest':<48} {'points/s':>10} {'CPU s':>8} {'vs torchscope':>14}")
    for name, (wall, cpu) in ingest.items():
        print(f"{name:<48} {n / wall:>10,.0f} {cpu:>8.2f} {wall / base_in:>13.1f}x")
    print(f"\n{'decimated read of the series':<48} {'ms':>10} {'CPU ms':>8} {'vs torchscope':>14}")
    for name, (wall, cpu) in read.items():
        print(f"{name:<48} {wall * 1e3:>10.1f} {cpu * 1e3:>8.1f} {wall / base_read:>13.1f}x")
    wall, cpu = read["torchscope"]
    goal = "met" if wall < 0.1 else "NOT met"
    print(
        f"\ngoal: decimated read under 100 ms: {goal} ({wall * 1e3:.1f} ms, CPU {cpu * 1e3:.1f} ms)"
    )


if __name__ == "__main__":
    main()
