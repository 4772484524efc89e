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

``--latency`` measures instead how soon a point logged by a training process is visible to
a reader (issue 12: a dashboard must show it within 1 s, p95), for several pairs of
(Monitor scalar flush interval, RunWriter commit interval): a trainer process runs a small
MLP at a fixed 20 ms step and logs ``logged_at=time.time()`` through ``Monitor.log`` every
step; this process polls the store every 100 ms (like a dashboard page) and takes, for each
newly visible point, poll time − ``logged_at``. It also reports what the shorter intervals
cost: the trainer's mean step time and CPU time (all its threads), chunks and file size of
its store, and a cold decimated read of a 6-hour series at 10 steps/s written with the
commits' points per chunk.

    .venv/bin/python benchmarks/store_speed.py --latency
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
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
    parser.add_argument("--latency", action="store_true", help="measure log-to-visible latency")
    parser.add_argument("--steps", type=int, default=1500, help="trainer steps (--latency)")
    args = parser.parse_args()
    if args.latency:
        latency_main(args.steps)
        return
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


# -- latency: log → visible to a reader ------------------------------------------------------

# (label, Monitor scalar flush s, RunWriter commit s); None: no monitor (the bare step)
LATENCY_CONFIGS: list[tuple[str, float | None, float | None]] = [
    ("no monitor", None, None),
    ("flush 0.5 s, commit 1.0 s (before)", 0.5, 1.0),
    ("flush 0.2 s, commit 0.2 s", 0.2, 0.2),
    ("flush 0.1 s, commit 0.1 s", 0.1, 0.1),
]
STEP_MS = 20.0
POLL_S = 0.1

_TRAINER = """
import json, sys, time, torch
from torchscope.monitor import Monitor
from torchscope.store import RunWriter
logdir, flush, commit, steps, step_ms = sys.argv[1:6]
torch.set_num_threads(1)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(64, 256), torch.randint(0, 10, (64,))
mon = None
if flush != "none":
    mon = Monitor(model, opt, writer=RunWriter(logdir, flush_interval=float(commit)))
    mon._scalars.interval = float(flush)  # the setting measured
cpu0, spent = time.process_time(), 0.0
print("ready", flush=True)
for step in range(int(steps)):
    t0 = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if mon is not None:
        mon.log(step, loss=loss, logged_at=time.time())
    took = time.perf_counter() - t0
    spent += took
    if took < float(step_ms) / 1000:
        time.sleep(float(step_ms) / 1000 - took)  # a fixed step rate: the same load for all
if mon is not None:
    mon.close()
print(json.dumps({"step_ms": spent / int(steps) * 1000, "cpu_s": time.process_time() - cpu0}))
"""


def measure_latency(
    root: Path, flush: float | None, commit: float | None, steps: int
) -> dict[str, float]:
    """Run one trainer; poll its store every 100 ms; return latency and cost figures."""
    src = str(Path(__file__).parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    args = [str(root), str(flush or "none"), str(commit or "none"), str(steps), str(STEP_MS)]
    proc = subprocess.Popen(
        [sys.executable, "-c", _TRAINER, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    latencies: list[float] = []
    polls: list[float] = []
    reader, seen = None, 0
    while proc.poll() is None and flush is not None:
        time.sleep(POLL_S)
        t = time.perf_counter()
        if reader is None and (root / "run.sqlite").exists():
            reader = RunReader(root)
        try:
            logged = reader.scalars("logged_at").values if reader is not None else np.zeros(0)
        except KeyError:  # nothing committed yet
            logged = np.zeros(0)
        now = time.time()
        polls.append(time.perf_counter() - t)
        latencies += (now - logged[seen:]).tolist()
        seen = len(logged)
    cost = json.loads(proc.stdout.read().strip().splitlines()[-1])
    proc.wait()
    out = {"step_ms": cost["step_ms"], "cpu_s": cost["cpu_s"]}
    if reader is not None:
        reader.close()
        lat = np.array(latencies)
        out |= {
            "points": float(len(lat)),
            "p50": float(np.percentile(lat, 50)),
            "p95": float(np.percentile(lat, 95)),
            "max": float(lat.max()),
            "poll_ms": statistics.median(polls) * 1e3,
        }
        conn = sqlite3.connect(root / "run.sqlite")  # the last connection: folds the WAL in
        out["chunks"] = float(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        out["kib"] = (root / "run.sqlite").stat().st_size / 1024
    return out


def scalar_flush_cost(root: Path, repeats: int = 2000) -> float:
    """Median µs the training thread spends in one Monitor scalar flush (CPU tensors)."""
    import torch

    from torchscope.monitor import Monitor

    model = torch.nn.Linear(8, 2)
    mon = Monitor(model, writer=RunWriter(root), every=10**9)
    times = []
    for step in range(repeats):
        loss = model(torch.ones(1, 8)).sum()
        mon._scalars.add(step, "train", {"loss": loss, "lr": 0.1})
        mon._hooks.nonfinite.check("forward", 0, loss, step)  # type: ignore[union-attr]
        t = time.perf_counter()
        mon._flush_scalars()
        times.append(time.perf_counter() - t)
    mon.close()
    return statistics.median(times) * 1e6


def latency_main(steps: int) -> None:
    print(
        f"{platform.machine()} · {os.cpu_count()} cores · sqlite {sqlite3.sqlite_version} · "
        f"load {os.getloadavg()[0]:.2f} · {steps} steps of {STEP_MS:.0f} ms, polled every "
        f"{POLL_S * 1e3:.0f} ms"
    )
    head = f"{'configuration':<36} {'p50 s':>6} {'p95 s':>6} {'max s':>6} {'step ms':>8}"
    print(f"\n{head} {'CPU s':>6} {'chunks':>7} {'KiB':>7} {'poll ms':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, flush, commit) in enumerate(LATENCY_CONFIGS):
            r = measure_latency(Path(tmp) / f"run{i}", flush, commit, steps)
            lat = "".join(f" {r.get(k, float('nan')):6.2f}" for k in ("p50", "p95", "max"))
            store = f"{r.get('chunks', 0):7.0f} {r.get('kib', 0):7.0f} {r.get('poll_ms', 0):8.1f}"
            print(f"{label:<36}{lat} {r['step_ms']:8.2f} {r['cpu_s']:6.2f} {store}")
        flush_us = scalar_flush_cost(Path(tmp) / "flush")
        print(
            f"\ntraining-thread cost of one Monitor scalar flush (2 scalars, non-finite check): "
            f"{flush_us:.0f} µs; at one flush per 0.5 / 0.2 / 0.1 s: "
            + " / ".join(f"{flush_us / 1e6 / s * 100:.3f}%" for s in (0.5, 0.2, 0.1))
            + " of wall time"
        )
        print("\ncold decimated read of a 6-hour series at 10 steps/s (216,000 points):")
        values = _values(216_000).tolist()
        for commit in (1.0, 0.2, 0.1):
            per_commit = max(int(commit * 10), 1)
            root = Path(tmp) / f"long{per_commit}"
            ingest_torchscope(root, values, per_commit)
            wall, cpu = _median_time(lambda r=root: read_torchscope(r, BUCKETS), 5)  # type: ignore[misc]
            size = (root / "run.sqlite").stat().st_size / 2**20
            print(
                f"  commit every {commit} s ({per_commit} points per commit): {wall * 1e3:6.1f} ms "
                f"(CPU {cpu * 1e3:.1f} ms), file {size:.1f} MiB"
            )


if __name__ == "__main__":
    main()
