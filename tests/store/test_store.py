"""RunWriter → SQLite file → RunReader round trips, on real files."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from torchscope.errors import StoreError
from torchscope.store import RunReader, RunWriter, find_runs
from torchscope.store.reader import decimate


def _naive_buckets(steps: np.ndarray, values: np.ndarray, n: int) -> list[tuple[float, ...]]:
    """Reference decimation: a Python loop over points, bucket = (s - lo) * n // span."""
    lo, span = int(steps.min()), int(steps.max() - steps.min() + 1)
    groups: dict[int, list[tuple[int, float]]] = {}
    for s, v in zip(steps.tolist(), values.tolist()):
        groups.setdefault((s - lo) * n // span, []).append((s, v))
    out: list[tuple[float, ...]] = []
    for b in sorted(groups):
        ss = [s for s, _ in groups[b]]
        vs = [v for _, v in groups[b]]
        fin = [v for v in vs if math.isfinite(v)]
        real = [v for v in vs if not math.isnan(v)]
        mean = sum(fin) / len(fin) if fin else math.nan
        out.append(
            (
                min(ss),
                max(ss),
                mean,
                min(real, default=math.nan),
                max(real, default=math.nan),
                len(vs),
            )
        )
    return out


def test_everything_logged_reads_back(tmp_path: Path) -> None:
    with RunWriter(tmp_path / "exp", run_name="baseline") as w:
        for step in range(5):
            w.log_scalars(step, {"loss": 1.0 / (step + 1), "lr": 0.1}, wall_time=100.0 + step)
        w.log_scalars(4, {"loss": 0.9, "acc": 0.5}, split="val")
        w.log_layer_stats(0, "grad", {"fc1": {"norm": 1.0, "std": 0.1}, "fc2": {"norm": 2.0}})
        w.log_layer_stats(3, "grad", {"fc1": {"norm": 3.0}})
        w.log_histogram(2, "weight", "fc1.weight", [-1.0, 0.0, 1.0], [4, 6])
        w.log_confusion(4, "val", [[5, 1], [2, 7]], labels=["cat", "dog"])
        w.log_event(3, "nonfinite", {"module": "fc2", "phase": "forward"})
        w.set_meta("config", {"lr": 0.1, "layers": [20, 30]})
        w.set_meta("config", {"lr": 0.2})
    r = RunReader(tmp_path / "exp")
    assert r.name == "baseline"
    assert r.scalar_names() == [("train", "loss"), ("train", "lr"), ("val", "loss"), ("val", "acc")]
    loss = r.scalars("loss")
    assert loss.steps.tolist() == [0, 1, 2, 3, 4] and not loss.decimated
    np.testing.assert_allclose(loss.values, [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert loss.wall_times is not None and loss.wall_times.tolist() == [100, 101, 102, 103, 104]
    assert r.scalars("loss", split="val").values.tolist() == [0.9]
    assert r.layer_kinds() == ["grad"] and r.layer_stat_names("grad") == ["norm", "std"]
    g = r.layer_stats("grad", "norm")
    assert g.layers == ["fc1", "fc2"] and g.steps.tolist() == [0, 3]
    np.testing.assert_array_equal(g.values, [[1.0, 3.0], [2.0, np.nan]])
    (h,) = r.histograms("weight", "fc1.weight")
    assert (h.step, h.edges.tolist(), h.counts.tolist()) == (2, [-1, 0, 1], [4, 6])
    assert r.histogram_names() == [("weight", "fc1.weight")]
    c = r.confusion("val")
    assert c is not None and c.step == 4 and c.labels == ["cat", "dog"]
    assert c.matrix.tolist() == [[5, 1], [2, 7]] and r.confusion("train") is None
    (e,) = r.events("nonfinite")
    assert (e.step, e.payload) == (3, {"module": "fc2", "phase": "forward"})
    assert r.events("other") == []
    assert r.meta()["config"] == {"lr": 0.2} and isinstance(r.meta()["started"], float)
    assert r.meta_value("config") == {"lr": 0.2} and r.meta_value("missing", 3) == 3


def test_decimation_matches_a_python_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    steps = np.cumsum(rng.integers(0, 4, size=5000))  # irregular spacing, repeated steps
    values = rng.normal(size=5000)
    values[[10, 11, 12, 300]] = [np.nan, np.inf, -np.inf, np.nan]
    with RunWriter(tmp_path, flush_interval=0.05) as w:
        for i, (s, v) in enumerate(zip(steps.tolist(), values.tolist())):
            w.log_scalars(s, {"x": v})
            if i % 1700 == 0:
                w.flush()  # several chunks
    series = RunReader(tmp_path).scalars("x", buckets=97)
    assert series.decimated and series.last_steps is not None and series.counts is not None
    assert series.mins is not None and series.maxs is not None
    got = list(
        zip(
            series.steps.tolist(),
            series.last_steps.tolist(),
            series.values.tolist(),
            series.mins.tolist(),
            series.maxs.tolist(),
            series.counts.tolist(),
        )
    )
    expected = _naive_buckets(steps, values, 97)
    assert len(got) == len(expected) == 97
    for g, x in zip(got, expected):
        assert g[:2] == x[:2] and g[5] == x[5]
        np.testing.assert_allclose(g[2:5], x[2:5], rtol=1e-12)
    assert int(series.counts.sum()) == 5000


def test_decimation_leaves_out_empty_buckets() -> None:
    d = decimate(np.array([0, 1, 2, 97, 98, 99]), np.array([1.0, 5, 3, 2, 2, 8]), 10)
    assert d["steps"].tolist() == [0, 97] and d["last_steps"].tolist() == [2, 99]
    assert d["mins"].tolist() == [1, 2] and d["maxs"].tolist() == [5, 8]
    assert d["values"].tolist() == [3, 4] and d["counts"].tolist() == [3, 3]
    # many points on few distinct steps: buckets past the last step are simply empty
    d = decimate(np.array([0, 0, 0, 0, 0, 1]), np.array([1.0, 2, 3, 4, 5, 6]), 4)
    assert d["steps"].tolist() == [0, 1] and d["counts"].tolist() == [5, 1]
    assert d["maxs"].tolist() == [5, 6]
    with pytest.raises(ValueError, match="at least 1"):
        decimate(np.arange(3), np.ones(3), 0)


def test_short_series_is_not_decimated(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for s in range(10):
            w.log_scalars(s, {"loss": float(s)})
    loss = RunReader(tmp_path).scalars("loss", buckets=10)
    assert not loss.decimated and loss.values.tolist() == list(range(10))


def test_out_of_order_steps_are_sorted_stably(tmp_path: Path) -> None:
    # a resumed run logs steps 5..7 again: every point is kept, in step order, also when
    # the reader has cached the first part (incremental read of newer chunks)
    w = RunWriter(tmp_path)
    r = RunReader(tmp_path)
    for s in range(10):
        w.log_scalars(s, {"loss": float(s)})
    w.flush()
    assert r.scalars("loss").values.tolist() == list(range(10))
    for s in range(5, 8):
        w.log_scalars(s, {"loss": 100.0 + s})
    w.close()
    loss = r.scalars("loss")
    assert loss.steps.tolist() == [0, 1, 2, 3, 4, 5, 5, 6, 6, 7, 7, 8, 9]
    assert loss.values.tolist() == [0, 1, 2, 3, 4, 5, 105, 6, 106, 7, 107, 8, 9]
    assert loss.wall_times is not None and len(loss.wall_times) == 13
    with pytest.raises(ValueError, match="read-only"):
        loss.values[0] = 1.0  # the reader's cache cannot be changed through a result
    assert RunReader(tmp_path).scalars("loss").values.tolist() == loss.values.tolist()


def test_layer_stats_bucket_means(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for s in range(100):
            stats = {"a": {"norm": float(s)}}
            if s % 2 == 0:
                stats["b"] = {"norm": 1.0 if s != 50 else math.nan}
            w.log_layer_stats(s, "grad", stats)
    m = RunReader(tmp_path).layer_stats("grad", "norm", buckets=4)
    assert m.steps.tolist() == [0, 25, 50, 75] and m.layers == ["a", "b"]
    np.testing.assert_allclose(m.row("a"), [12, 37, 62, 87])  # mean of 0..24, 25..49, …
    np.testing.assert_allclose(m.row("b"), [1, 1, 1, 1])  # the NaN is left out of the mean


def test_reader_follows_a_live_writer(tmp_path: Path) -> None:
    w = RunWriter(tmp_path, flush_interval=60)
    r = RunReader(tmp_path)
    w.log_scalars(0, {"loss": 1.0})
    w.flush()
    assert r.scalars("loss").values.tolist() == [1.0]
    w.log_scalars(1, {"loss": 0.5})
    assert r.scalars("loss").values.tolist() == [1.0]  # queued, not committed yet
    w.flush()
    assert r.scalars("loss").values.tolist() == [1.0, 0.5]
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        w.log_scalars(2, {"loss": 0.1})


def test_bad_inputs_fail_on_the_calling_thread(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        with pytest.raises(TypeError, match="'loss' is a str"):
            w.log_scalars(0, {"loss": "high"})  # type: ignore[dict-item]
        with pytest.raises(TypeError, match="not JSON serializable"):
            w.set_meta("model", object())
        with pytest.raises(ValueError, match="3 edges for 3 counts"):
            w.log_histogram(0, "weight", "w", [0, 1, 2], [1, 2, 3])
        with pytest.raises(ValueError, match=r"grad 'bad' of 'fc' is a list, not a number"):
            w.log_layer_stats(0, "grad", {"fc": {"norm": 1.0, "bad": [1, 2]}})  # type: ignore[dict-item]
        with pytest.raises(KeyError, match="no scalar 'loss'"):
            RunReader(tmp_path).scalars("loss")
    assert w.errors == []


def test_nonfinite_values_and_numpy_scalars_are_kept(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        w.log_scalars(0, {"loss": np.float32(0.5)})
        w.log_scalars(1, {"loss": math.nan})
        w.log_scalars(2, {"loss": math.inf})
        w.log_event(1, "nonfinite", {"value": math.nan, "module": "fc1"})
    r = RunReader(tmp_path)
    assert str(r.scalars("loss").values.tolist()) == "[0.5, nan, inf]"
    assert math.isnan(r.events()[0].payload["value"])
    d = json.loads(r.scalars("loss").to_json())
    assert d["values"] == [0.5, None, None]


def test_reader_rejects_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no torchscope run store"):
        RunReader(tmp_path / "nothing")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(StoreError, match=r"other\.sqlite: not a torchscope run store"):
        RunReader(other)
    foreign = tmp_path / "foreign" / "run.sqlite"
    foreign.parent.mkdir()
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(StoreError, match="not a torchscope run store"):
        RunWriter(tmp_path / "foreign", resume=True)  # never writes into a stranger's file
    assert sqlite3.connect(foreign).execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]


def test_find_runs(tmp_path: Path) -> None:
    for name in ["b", "a", "nested/c"]:
        RunWriter(tmp_path / name).close()
    (tmp_path / "empty").mkdir()
    assert find_runs(tmp_path) == [tmp_path / "a", tmp_path / "b", tmp_path / "nested/c"]
    assert find_runs(tmp_path / "a") == [tmp_path / "a"]
    assert find_runs(tmp_path / "a" / "run.sqlite") == [tmp_path / "a" / "run.sqlite"]


def test_a_closed_writer_records_its_wall_time_unless_given(tmp_path: Path) -> None:
    """`torchscope runs` read a closed RunWriter's run as "still running" (no wall time)."""
    before = time.time()
    with RunWriter(tmp_path / "a") as w:
        w.log_scalars(0, {"loss": 1.0})
    took = time.time() - before
    assert 0 <= RunReader(tmp_path / "a").meta()["wall_time_s"] <= took
    with RunWriter(tmp_path / "b") as w:
        w.set_meta("wall_time_s", 12.5)  # the Monitor records its own
    assert RunReader(tmp_path / "b").meta()["wall_time_s"] == 12.5


def test_exit_without_close_commits_what_was_queued(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom torchscope.store import RunWriter\n"
        "w = RunWriter(sys.argv[1], flush_interval=3600)\n"
        "for s in range(100): w.log_scalars(s, {'loss': s / 10})\n"
    )  # no close(), no flush(), a timer that never fires: the atexit hook commits
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=env)
    assert RunReader(tmp_path).scalars("loss").values.tolist() == [s / 10 for s in range(100)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_closing_the_writer_leaves_the_parent_alone(tmp_path: Path) -> None:
    w = RunWriter(tmp_path)
    w.log_scalars(0, {"loss": 1.0})
    pid = os.fork()
    if pid == 0:  # e.g. a DataLoader worker that inherited the writer
        w.close()
        os._exit(0)
    os.waitpid(pid, 0)
    w.log_scalars(1, {"loss": 0.5})
    w.close()
    assert RunReader(tmp_path).scalars("loss").values.tolist() == [1.0, 0.5]


def test_records_are_json_with_nan_as_null(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for s in range(20):
            w.log_scalars(s, {"loss": math.nan if s == 3 else float(s)})
            w.log_layer_stats(s, "grad", {"fc": {"norm": math.inf if s == 0 else 1.0}})
        w.log_histogram(0, "weight", "fc", [0.0, 1.0], [2.0])
        w.log_confusion(0, "val", [[1, 0], [0, 1]])
    r = RunReader(tmp_path)
    d = json.loads(r.scalars("loss", buckets=4).to_json())
    assert d["steps"] == [0, 5, 10, 15] and d["last_steps"] == [4, 9, 14, 19]
    assert d["values"][0] == pytest.approx((0 + 1 + 2 + 4) / 4) and d["counts"] == [5] * 4
    m = json.loads(json.dumps(r.layer_stats("grad", "norm").to_dict()))
    assert m["layers"] == ["fc"] and m["values"][0][:2] == [None, 1.0]
    assert r.histograms("weight", "fc")[0].to_dict()["counts"] == [2.0]
    c = r.confusion("val")
    assert c is not None and c.to_dict() == {
        "step": 0, "split": "val", "matrix": [[1, 0], [0, 1]], "labels": ["0", "1"],
        "segment": 0,
    }  # fmt: skip


def test_tensor_values_are_converted_on_the_writer_thread(tmp_path: Path) -> None:
    import torch

    with RunWriter(tmp_path) as w:
        w.log_scalars(0, {"loss": torch.tensor(0.25), "n": 3})
        w.log_layer_stats(0, "grad", {"fc": {"norm": torch.tensor(2.0)}})
    r = RunReader(tmp_path)
    assert r.scalars("loss").values.tolist() == [0.25] and r.scalars("n").values.tolist() == [3]
    assert r.layer_stats("grad", "norm").values.tolist() == [[2.0]]


def test_reading_while_the_writer_commits_every_10_ms(tmp_path: Path) -> None:
    import threading

    w = RunWriter(tmp_path, flush_interval=0.01)
    w.log_scalars(0, {"loss": 0.0})
    w.flush()
    stop = threading.Event()
    committed = threading.Semaphore(0)  # released after each explicit commit of the trainer

    def train() -> None:
        step = 1
        while not stop.is_set():
            w.log_scalars(step, {"loss": float(step)})
            w.log_layer_stats(step, "grad", {f"l{i}": {"norm": float(step)} for i in range(20)})
            if step % 50 == 0:
                w.flush()  # the 10 ms timer commits in between, while the reader reads
                committed.release()
            step += 1

    thread = threading.Thread(target=train)
    thread.start()
    r = RunReader(tmp_path)
    lengths = [1]
    deadline = time.monotonic() + 60
    try:
        while len(set(lengths)) < 5 and time.monotonic() < deadline:
            committed.acquire(timeout=max(deadline - time.monotonic(), 0))
            s = r.scalars("loss")
            assert s.steps.tolist() == list(range(len(s)))  # always a complete prefix
            lengths.append(len(s))
            m = r.layer_stats("grad", "norm")
            assert len(m.layers) in (0, 20) and (m.values == m.steps).all()
    finally:
        stop.set()
        thread.join()
        w.close()
    assert lengths == sorted(lengths) and len(set(lengths)) == 5


def test_chunks_grow_across_commits_and_a_live_reader_reads_each_point_once(
    tmp_path: Path,
) -> None:
    from torchscope.store.batch import GROW_LIMIT

    w = RunWriter(tmp_path, flush_interval=3600)
    live = RunReader(tmp_path)
    for step in range(300):
        w.log_scalars(step, {"loss": float(step)})
        w.log_layer_stats(step, "grad", {"fc": {"norm": 2.0 * step}})
        if step % 10 == 9:  # a commit every 10 points, as a 0.2 s timer would make them
            w.flush()
            assert live.scalars("loss").values.tolist() == [float(s) for s in range(step + 1)]
            grads = live.layer_stats("grad", "norm")
            assert grads.values.tolist() == [[2.0 * s for s in range(step + 1)]]
    w.log_scalars(300, {"loss": 300.0, "big": 1.0})
    for step in range(301, 301 + GROW_LIMIT + 5):
        w.log_scalars(step, {"big": 1.0})  # one commit of more points than a chunk grows to
    w.close()
    conn = sqlite3.connect(tmp_path / "run.sqlite")
    sizes = conn.execute("SELECT series, n FROM chunks ORDER BY id").fetchall()
    conn.close()
    # 30 commits of 10 points: chunks grew to 120 points (12 commits), then a new one
    assert [n for sid, n in sizes if sid == 1] == [120, 120, 61]
    assert [n for sid, n in sizes if sid == 2] == [120, 120, 60]
    assert [n for sid, n in sizes if sid == 3] == [GROW_LIMIT + 6]
    for r in (live, RunReader(tmp_path)):  # the reader that followed, and a fresh one
        loss = r.scalars("loss")
        assert loss.steps.tolist() == list(range(301)) and loss.values.tolist() == list(range(301))
        assert loss.wall_times is not None and len(loss.wall_times) == 301
        assert len(r.scalars("big")) == GROW_LIMIT + 6


def test_a_resumed_writer_never_grows_the_chunks_of_an_earlier_segment(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        w.log_scalars(0, {"loss": 1.0})
    with RunWriter(tmp_path, resume=True) as w:
        w.log_scalars(0, {"loss": 2.0})
    conn = sqlite3.connect(tmp_path / "run.sqlite")
    assert conn.execute("SELECT n, segment FROM chunks ORDER BY id").fetchall() == [(1, 0), (1, 1)]
    conn.close()
