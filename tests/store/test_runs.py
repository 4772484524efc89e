"""A run is one run: a second writer on a taken directory starts a new run beside it, and a
resumed run keeps its repeated steps, marked by segment (issue 10)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from torchscope.errors import LogValueError
from torchscope.store import RunReader, RunWriter, find_runs
from torchscope.store.layout import claim_run_dir


def _launch(logdir: Path, losses: list[float], **options: object) -> Path:
    with RunWriter(logdir, **options) as w:  # type: ignore[arg-type]
        for step, loss in enumerate(losses):
            w.log_scalars(step, {"loss": loss})
    return w.logdir


def test_two_launches_on_one_logdir_leave_two_runs_each_intact(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logdir = tmp_path / "exp"
    first = _launch(logdir, [3.0, 2.0, 1.0])
    with caplog.at_level(logging.WARNING, logger="torchscope.store"):
        second = _launch(logdir, [30.0, 20.0, 10.0, 5.0])
    assert (first, second) == (logdir, tmp_path / "exp-2")
    (notice,) = caplog.messages  # one line, saying where the new run went
    assert notice == (
        f"torchscope: {logdir} already holds a run; this run is written to {second} "
        "(resume=True continues that run instead)"
    )
    assert find_runs(tmp_path) == [logdir, second]
    a, b = RunReader(first), RunReader(second)
    assert a.scalars("loss").steps.tolist() == [0, 1, 2]  # one value per step, no zig-zag
    assert a.scalars("loss").values.tolist() == [3.0, 2.0, 1.0]
    assert b.scalars("loss").values.tolist() == [30.0, 20.0, 10.0, 5.0]
    assert (a.name, b.name) == ("exp", "exp-2")
    assert [s.index for s in a.segments()] == [0] and [s.index for s in b.segments()] == [0]
    third = _launch(logdir, [7.0])
    assert third == tmp_path / "exp-3" and len(find_runs(tmp_path)) == 3


def test_runs_beside_one_another_are_listed_in_natural_order(tmp_path: Path) -> None:
    for _ in range(11):
        RunWriter(tmp_path / "exp").close()
    names = [p.name for p in find_runs(tmp_path)]
    assert names == ["exp", *[f"exp-{n}" for n in range(2, 12)]]


def test_a_directory_named_like_the_next_run_is_skipped(tmp_path: Path) -> None:
    RunWriter(tmp_path / "exp").close()
    (tmp_path / "exp-2").write_text("not a directory")
    RunWriter(tmp_path / "exp-3").close()  # a run of its own that happens to use the name
    assert claim_run_dir(tmp_path / "exp") == tmp_path / "exp-4"
    assert (tmp_path / "exp-2").read_text() == "not a directory"


def test_concurrent_launches_never_share_a_run(tmp_path: Path) -> None:
    got: list[Path] = []
    lock = threading.Lock()

    def launch() -> None:
        path = claim_run_dir(tmp_path / "exp")
        with lock:
            got.append(path)

    threads = [threading.Thread(target=launch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got, key=lambda p: p.name) == sorted(
        [tmp_path / "exp", *[tmp_path / f"exp-{n}" for n in range(2, 9)]], key=lambda p: p.name
    )


def test_a_resumed_run_keeps_repeated_steps_marked_by_segment(tmp_path: Path) -> None:
    logdir = tmp_path / "exp"
    _launch(logdir, [10.0, 9.0, 8.0, 7.0, 6.0])  # steps 0..4, then a crash and a restart
    with RunWriter(logdir, resume=True) as w:  # from the checkpoint of step 2
        assert w.logdir == logdir and w.segment == 1
        for step in range(2, 6):
            w.log_scalars(step, {"loss": 100.0 + step})
            w.log_layer_stats(step, "grad", {"fc": {"norm": float(step)}})
        w.log_event(2, "note", {"text": "resumed"})
    assert find_runs(tmp_path) == [logdir]
    r = RunReader(logdir)
    s = r.scalars("loss")
    assert s.steps.tolist() == [0, 1, 2, 2, 3, 3, 4, 4, 5]  # every point kept, step order
    assert s.values.tolist() == [10, 9, 8, 102, 7, 103, 6, 104, 105]  # earlier write first
    assert s.segments is not None and s.segments.tolist() == [0, 0, 0, 1, 0, 1, 0, 1, 1]
    assert r.scalars("loss", segment=1).values.tolist() == [102, 103, 104, 105]
    assert r.scalars("loss", segment=0).steps.tolist() == [0, 1, 2, 3, 4]
    d = r.scalars("loss", buckets=3, segment=0)  # decimating one segment mixes no other
    assert d.counts is not None and d.counts.tolist() == [2, 2, 1]
    assert d.maxs is not None and d.maxs.tolist() == [10, 8, 6]
    segments = r.segments()
    assert [(g.index, g.first_step, g.last_step, g.points) for g in segments] == [
        (0, 0, 4, 5),
        (1, 2, 5, 8),  # 4 losses + 4 grad norms
    ]
    assert segments[1].started >= segments[0].started
    assert r.events()[0].segment == 1
    assert r.layer_stats("grad", "norm", segment=0).layers == ["fc"]
    assert r.layer_stats("grad", "norm", segment=0).steps.tolist() == []
    assert r.name == "exp"  # a resume keeps the run's name and start time
    assert r.meta()["started"] == pytest.approx(segments[0].started)


def test_runs_carry_a_name_tags_and_a_note(tmp_path: Path) -> None:
    with RunWriter(
        tmp_path / "a", name="lr=0.1", tags=["sweep", "cnn", "sweep"], note="first\ttry\nbaseline"
    ):
        pass
    r = RunReader(tmp_path / "a")
    assert (r.name, r.tags, r.note) == ("lr=0.1", ["sweep", "cnn"], "first\ttry\nbaseline")
    RunWriter(tmp_path / "b").close()
    r = RunReader(tmp_path / "b")
    assert (r.name, r.tags, r.note) == ("b", [], None)
    with RunWriter(tmp_path / "a", resume=True, tags=["resumed"]):
        pass
    r = RunReader(tmp_path / "a")
    assert (r.name, r.tags) == ("lr=0.1", ["resumed"])  # given again: the latest value wins
    with RunWriter(tmp_path / "c", run_name="older spelling") as w:
        assert w.logdir.name == "c"
    assert RunReader(tmp_path / "c").name == "older spelling"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "a\x1b]0;pwned\x07"}, r"run name 'a\\x1b\]0;pwned\\x07' holds .*'\\x1b'"),
        ({"tags": "sweep"}, "tags must be a list of names"),
        ({"tags": ["ok", ""]}, "tag is empty"),
        ({"note": "fine\x00"}, r"note holds the non-printable character '\\x00'"),
        ({"name": 7}, "run name 7 is a int, not a str"),
    ],
)
def test_bad_names_tags_and_notes_are_refused_before_anything_is_created(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(LogValueError, match=message):
        RunWriter(tmp_path / "x", **options)  # type: ignore[arg-type]
    assert not (tmp_path / "x").exists()


_SCHEMA_1 = """
CREATE TABLE series (id INTEGER PRIMARY KEY, family TEXT NOT NULL, scope TEXT NOT NULL,
    name TEXT NOT NULL, UNIQUE (family, scope, name));
CREATE TABLE chunks (id INTEGER PRIMARY KEY, series INTEGER NOT NULL, first_step INTEGER NOT NULL,
    last_step INTEGER NOT NULL, n INTEGER NOT NULL, steps BLOB NOT NULL, vals BLOB NOT NULL,
    wall_times BLOB NOT NULL);
CREATE TABLE histograms (id INTEGER PRIMARY KEY, step INTEGER NOT NULL, kind TEXT NOT NULL,
    name TEXT NOT NULL, edges BLOB NOT NULL, counts BLOB NOT NULL, wall_time REAL NOT NULL);
CREATE TABLE confusion (id INTEGER PRIMARY KEY, step INTEGER NOT NULL, split TEXT NOT NULL,
    matrix TEXT NOT NULL, labels TEXT, wall_time REAL NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY, step INTEGER NOT NULL, kind TEXT NOT NULL,
    payload TEXT NOT NULL, wall_time REAL NOT NULL);
CREATE TABLE meta (id INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL,
    wall_time REAL NOT NULL);
PRAGMA user_version=1;
PRAGMA application_id=1953719152;
"""


def _schema_1_run(path: Path) -> None:
    """A store as the previous torchscope (schema 1, no segments) wrote it: loss at 0..2."""
    path.mkdir()
    conn = sqlite3.connect(path / "run.sqlite")
    conn.executescript(_SCHEMA_1)
    conn.execute("INSERT INTO series VALUES (1, 'scalar', 'train', 'loss')")
    steps, vals = np.arange(3, dtype="<i8"), np.array([3.0, 2.0, 1.0], "<f8")
    conn.execute(
        "INSERT INTO chunks VALUES (1, 1, 0, 2, 3, ?, ?, ?)",
        (steps.tobytes(), vals.tobytes(), np.zeros(3, "<f8").tobytes()),
    )
    conn.execute("INSERT INTO events VALUES (1, 1, 'nonfinite', '{\"module\": \"fc\"}', 5.0)")
    conn.execute("INSERT INTO meta VALUES (1, 'started', '123.0', 123.0)")
    conn.commit()
    conn.close()


def test_a_schema_1_store_reads_as_one_segment_and_is_upgraded_on_resume(tmp_path: Path) -> None:
    _schema_1_run(tmp_path / "old")
    r = RunReader(tmp_path / "old")
    assert r.scalars("loss").segments is not None
    assert r.scalars("loss").segments.tolist() == [0, 0, 0]
    assert [(g.index, g.started, g.points) for g in r.segments()] == [(0, 123.0, 3)]
    assert r.events()[0].segment == 0
    r.close()
    with RunWriter(tmp_path / "old", resume=True) as w:
        assert w.segment == 1
        w.log_scalars(1, {"loss": 50.0})
    r = RunReader(tmp_path / "old")
    s = r.scalars("loss")
    assert s.steps.tolist() == [0, 1, 1, 2] and s.values.tolist() == [3, 2, 50, 1]
    assert s.segments is not None and s.segments.tolist() == [0, 0, 1, 0]
    first, resumed = r.segments()
    assert (first.index, first.started, resumed.index, resumed.points) == (0, 123.0, 1, 1)


def test_a_second_run_in_the_current_directory_goes_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "work"
    here.mkdir()
    monkeypatch.chdir(here)
    assert claim_run_dir(Path(".")) == here
    assert claim_run_dir(Path(".")) == tmp_path / "work-2"
