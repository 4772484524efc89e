"""The dashboard's read-only store queries: digests, rows after a cursor, windows, discovery."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from tests.store.sample_runs import LAYERS, write_sample_run
from tests.web.runs import write_bulk
from torchscope.store import RunReader, RunWriter
from torchscope.store.batches import Chunk
from torchscope.store.follow import Follower, Tail
from torchscope.store.live import LiveRun, discover_runs
from torchscope.store.windows import layer_window, series_window


def _loss(run: LiveRun, split: str = "train"):  # type: ignore[no-untyped-def]
    key = run.find_series("scalar", split, "loss")
    assert key is not None
    return key


def test_digest_of_a_sample_run(tmp_path: Path) -> None:
    sample = write_sample_run(tmp_path / "a", name="alpha")
    d = LiveRun(tmp_path / "a" / "run.sqlite").digest()
    assert d.name == "alpha"
    train = next(s for s in d.series.values() if s.key.is_scalar and s.key.name == "loss"
                 and s.key.scope == "train")  # fmt: skip
    assert train.points == len(sample.steps)
    assert train.last == pytest.approx(sample.train_loss[-1])
    assert train.min == pytest.approx(sample.train_loss.min())
    assert (train.first_step, train.last_step) == (0, 499)
    assert d.last_step == 499 and d.latest_step is not None
    assert d.closed  # RunWriter.close() records the run's end
    assert d.status(time.time() + 3600, 60.0) == "finished"


def test_digest_reads_only_what_is_new(tmp_path: Path) -> None:
    w = RunWriter(tmp_path / "r", flush_interval=0.05)
    w.log_scalars(0, {"loss": 3.0})
    w.flush()
    run = LiveRun(w.path)
    d = run.digest()
    first_cursor = d.cursor
    w.log_scalars(1, {"loss": 1.0})
    w.log_scalars(2, {"loss": float("nan")})
    w.set_meta("wall_time_s", 2.0)
    w.close()
    d = run.digest(d)
    loss = next(s for s in d.series.values() if s.key.name == "loss")
    assert loss.tail.n == 3 or d.cursor > first_cursor  # the chunk grew, or a new one came
    assert (loss.points, loss.min, loss.max, loss.nonfinite, loss.last) == (3, 1.0, 3.0, 1, None)
    assert d.closed and d.status(time.time(), 60.0) == "finished"


def _steps(chunks: list[Chunk]) -> list[int]:
    return [s for c in chunks for s in c.steps.tolist()]


def test_a_follower_gets_only_new_points_even_in_a_chunk_that_grew(tmp_path: Path) -> None:
    w = RunWriter(tmp_path / "r", flush_interval=0.05)
    for s in range(5):
        w.log_scalars(s, {"loss": float(s)})
    w.flush()
    run = LiveRun(w.path)
    follower = Follower(run, after=0)
    chunks, _ = follower.poll()
    assert _steps(chunks) == [0, 1, 2, 3, 4]
    assert follower.poll() == ([], [])  # nothing written: nothing read
    w.log_scalars(5, {"loss": 5.0})  # the writer grows its last chunk in place
    w.log_layer_stats(5, "grad", {"fc": {"norm": 1.0}})  # not a scalar: not sent
    w.flush()
    chunks, _ = follower.poll()
    assert [(c.steps.tolist(), c.values.tolist()) for c in chunks] == [([5], [5.0])]
    assert chunks[0].start == 5  # the rest of the chunk read before, not all of it again
    w.log_scalars(6, {"loss": 6.0}, split="val")  # a new series
    w.close()
    chunks, _ = follower.poll()
    assert [(c.steps.tolist(), run.series_keys()[c.series].scope) for c in chunks] == [([6], "val")]


def test_a_follower_starts_from_a_tail_and_is_bounded(tmp_path: Path) -> None:
    n = 50_000
    write_bulk(tmp_path / "r", {("train", "loss"): (np.arange(n), np.zeros(n))}, chunk=10_000)
    run = LiveRun(tmp_path / "r" / "run.sqlite")
    key = _loss(run)
    follower = Follower(run, after=0, tails={key.id: Tail(2, 4_000)})  # mid-way in chunk 2
    chunks, _ = follower.poll(max_points=25_000)
    assert _steps(chunks)[0] == 14_000 and len(_steps(chunks)) == 16_000  # rest of 2, then 3
    assert chunks[0].start == 4_000
    chunks, _ = follower.poll(max_points=25_000)
    assert len(_steps(chunks)) == 20_000  # 4 and 5
    chunks, too_large = Follower(run, after=0).poll(max_points=5_000)
    assert chunks == [] and too_large == [key.id] * 5


def test_window_of_a_million_points_keeps_the_spike_and_counts_every_point(
    tmp_path: Path,
) -> None:
    n = 1_000_000
    y = np.sin(np.arange(n) / 5e4)
    y[333_333], y[500_000], y[600_000], y[700_000] = 40.0, np.nan, np.inf, -np.inf
    write_bulk(tmp_path / "r", {("train", "loss"): (np.arange(n), y)})
    run = LiveRun(tmp_path / "r" / "run.sqlite")
    w = series_window(run, _loss(run), width=700)
    (seg,) = w.segments
    rows = seg.rows
    assert (w.points, w.shown, w.raw) == (n, 700, False)
    assert rows.counts.sum() == n
    assert np.nanmax(rows.maxs) == 40.0
    assert (rows.nan.sum(), rows.posinf.sum(), rows.neginf.sum()) == (1, 1, 1)
    zoom = series_window(run, _loss(run), lo=333_000, hi=333_600, width=700)
    assert zoom.points == 601 and zoom.shown == 601  # full resolution: one row per point
    assert 40.0 in zoom.segments[0].rows.maxs.tolist()


def test_raw_window_and_resumed_segments(tmp_path: Path) -> None:
    steps = np.concatenate([np.arange(0, 100), np.arange(60, 150)])  # resumed from step 60
    vals = np.concatenate([np.zeros(100), np.ones(90)])
    write_bulk(tmp_path / "r", {("train", "loss"): (steps, vals)})
    run = LiveRun(tmp_path / "r" / "run.sqlite")
    w = series_window(run, _loss(run), width=1000)
    assert w.raw and w.points == 190
    assert [len(s.rows) for s in w.segments] == [100, 90]
    assert w.segments[1].rows.x[0] == 60 and set(w.segments[1].rows.last.tolist()) == {1.0}
    digest = run.digest()
    assert next(iter(digest.series.values())).decreasing


def test_smoothed_window_restarts_at_the_resumption(tmp_path: Path) -> None:
    steps = np.concatenate([np.arange(0, 100), np.arange(50, 100)])
    vals = np.concatenate([np.zeros(100), np.full(50, 10.0)])
    write_bulk(tmp_path / "r", {("train", "loss"): (steps, vals)})
    run = LiveRun(tmp_path / "r" / "run.sqlite")
    w = series_window(run, _loss(run), width=1000, smooth=0.99)
    assert w.segments[1].smooth is not None
    np.testing.assert_allclose(w.segments[1].smooth.last, 10.0, rtol=1e-12)  # not pulled to 0


def test_wall_and_relative_axes(tmp_path: Path) -> None:
    write_bulk(tmp_path / "r", {("train", "loss"): (np.arange(10), np.arange(10.0))},
               wall_start=1000.0)  # fmt: skip
    run = LiveRun(tmp_path / "r" / "run.sqlite")
    wall = series_window(run, _loss(run), axis="wall")
    rel = series_window(run, _loss(run), axis="rel", origin=1000.0)
    assert wall.segments[0].rows.x.tolist() == pytest.approx(1000.0 + np.arange(10) * 1e-3)
    assert rel.segments[0].rows.x.tolist() == pytest.approx(np.arange(10) * 1e-3)


def test_layer_window_matches_the_reader(tmp_path: Path) -> None:
    sample = write_sample_run(tmp_path / "a")
    run = LiveRun(tmp_path / "a" / "run.sqlite")
    w = layer_window(run, "grad", "norm", width=1000)
    m = RunReader(tmp_path / "a").layer_stats("grad", "norm")
    assert w.layers == m.layers == LAYERS
    assert w.columns.size == m.steps.size  # one step per column at this width
    np.testing.assert_allclose(w.maxs, m.values)
    np.testing.assert_allclose(w.maxs[1], sample.grad_norm(1, m.steps))


def test_discovery_is_bounded_and_stays_inside(tmp_path: Path) -> None:
    for name in ("a", "b/c", "b/d/e"):
        RunWriter(tmp_path / "root" / name).close()
    RunWriter(tmp_path / "outside").close()
    os.symlink(tmp_path / "outside", tmp_path / "root" / "link")
    found = discover_runs(tmp_path / "root")
    assert [p.parent.relative_to(tmp_path / "root").as_posix() for p in found] == [
        "a",
        "b/c",
        "b/d/e",
    ]
    assert len(discover_runs(tmp_path / "root", max_runs=2)) == 2
    assert len(discover_runs(tmp_path / "root", max_depth=1)) == 1  # root/a/run.sqlite
    assert len(discover_runs(tmp_path / "root", max_depth=2)) == 2


def test_a_store_in_rollback_journal_mode_is_read(tmp_path: Path) -> None:
    """Network filesystems cannot use WAL: such stores are served too."""
    import sqlite3

    write_sample_run(tmp_path / "a")
    conn = sqlite3.connect(tmp_path / "a" / "run.sqlite")
    assert conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    conn.close()
    run = LiveRun(tmp_path / "a" / "run.sqlite")
    assert series_window(run, _loss(run)).points == 500


def test_a_run_written_after_its_close_marker_is_open_again(tmp_path: Path) -> None:
    """A resumed run writes after the close its first session recorded: live, not finished."""
    import sqlite3

    write_bulk(tmp_path / "r", {("train", "loss"): (np.arange(3), np.zeros(3))})
    run = LiveRun(tmp_path / "r" / "run.sqlite")
    d = run.digest()
    assert d.closed and d.status(time.time(), 60.0) == "finished"
    conn = sqlite3.connect(tmp_path / "r" / "run.sqlite", isolation_level=None)
    later = time.time() + 5
    conn.execute(
        "INSERT INTO chunks (series, first_step, last_step, n, steps, vals, wall_times) "
        "VALUES (1, 3, 3, 1, ?, ?, ?)",
        (np.array([3], "<i8").tobytes(), np.zeros(1).tobytes(), np.array([later]).tobytes()),
    )
    conn.close()
    d = run.digest(d)
    assert not d.closed and d.status(later, 60.0) == "live"


def test_a_run_never_closed_is_live_then_crashed(tmp_path: Path) -> None:
    w = RunWriter(tmp_path / "r", flush_interval=0.05)
    w.log_scalars(0, {"loss": 3.0})
    w.flush()  # written, but no close(): what a killed process leaves
    d = LiveRun(w.path).digest()
    assert not d.closed
    assert d.status(time.time(), 60.0) == "live"
    assert d.status(time.time() + 3600, 60.0) == "crashed"
    w.close()
    assert LiveRun(w.path).digest().status(time.time() + 3600, 60.0) == "finished"
