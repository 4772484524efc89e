"""``torchscope runs``, run in-process on real run stores."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.corrupt_stores import CORRUPTIONS, corrupt_store, edit_store
from tests.store.sample_runs import write_sample_run
from torchscope.cli import main
from torchscope.store import RunWriter


def test_runs_prints_an_overview_per_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_sample_run(tmp_path / "runs" / "a", name="lr=0.1", n=60)
    write_sample_run(tmp_path / "runs" / "b", name="lr=0.01", seed=1, n=40)
    assert main(["runs", str(tmp_path / "runs"), "--width", "120"]) == 0
    out = capsys.readouterr().out
    assert out.index("Run lr=0.1") < out.index("Run lr=0.01")
    assert re.search(r"steps +0 – 59\s", out) and re.search(r"steps +0 – 39\s", out)
    loss = next(ln.split() for ln in out.splitlines() if ln.split()[:2] == ["train", "loss"])
    assert loss[2] == "60" and float(loss[4]) == pytest.approx(a.train_loss[-1], rel=1e-3)


def test_runs_tables_fit_the_width_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At --width 80 a 500-character scalar name squeezed the table's columns away: the
    overview was laid out for 120 columns whatever the width."""
    with RunWriter(tmp_path / "r") as w:
        for s in range(3):
            w.log_scalars(s, {"x" * 500: float(s), "loss": 1.0 / (s + 1)})
    assert main(["runs", str(tmp_path / "r"), "--width", "80"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 80
    header = next(ln for ln in lines if "points" in ln)
    assert header.split() == ["split", "name", "points", "first", "last", "min", "max"]
    row = next(ln.split() for ln in lines if ln.split()[:2] == ["train", "loss"])
    assert row[2:] == ["3", "1", "0.3333", "0.3333", "1"]


def test_runs_json_is_one_object_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_sample_run(tmp_path / "a", n=30)
    with RunWriter(tmp_path / "b", run_name="<b>") as w:
        w.log_scalars(3, {"loss": 0.5})
        w.log_event(3, "nonfinite", {"module": "fc", "phase": "forward"})
    assert main(["runs", str(tmp_path / "a"), str(tmp_path / "b" / "run.sqlite"), "--json"]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    loss = next(r for r in first["scalars"] if (r["split"], r["name"]) == ("train", "loss"))
    assert loss["points"] == 30 and loss["last"] == pytest.approx(a.train_loss[-1])
    assert loss["min"] == pytest.approx(a.train_loss.min())
    assert second["name"] == "<b>" and (second["first_step"], second["last_step"]) == (3, 3)
    assert second["events"][0]["payload"] == {"module": "fc", "phase": "forward"}


def test_runs_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_sample_run(tmp_path / "ok", n=10)
    assert main(["runs", str(tmp_path / "ok"), str(tmp_path / "nowhere")]) == 2
    captured = capsys.readouterr()
    assert "no torchscope run under" in captured.err and "nowhere" in captured.err
    assert captured.out == ""  # nothing printed when a path is wrong
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "run.sqlite").write_text("not a database")
    assert main(["runs", str(tmp_path / "junk")]) == 2
    assert "error:" in capsys.readouterr().err


def test_runs_help_explains(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["runs", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--json" in out and "JSON Lines" in out and "non-finite" in out


def _write_sweep(root: Path) -> None:
    for i, lr in enumerate([0.1, 0.01]):
        with RunWriter(root / f"lr{i}", run_name=f"lr={lr}") as w:
            w.set_meta("tags", ["sweep", "adam"] if i else ["sweep"])
            w.set_meta("note", "the baseline" if i == 0 else None)
            w.set_meta("config", {"lr": lr, "batch_size": 32, "seed": 0})
            for s in range(10 * (i + 1)):
                w.log_scalars(s, {"loss": 1.0 / (s + 1)})
            if i:
                w.set_meta("wall_time_s", 75.0)
                w.log_event(4, "nonfinite", {"module": "fc", "phase": "forward"})
    _kill_after_writing(root / "lr0")


def _kill_after_writing(run_dir: Path) -> None:
    """The run as a killed process leaves it: no wall time (close() records one)."""
    with contextlib.closing(sqlite3.connect(run_dir / "run.sqlite")) as db, db:
        db.execute("DELETE FROM meta WHERE key = 'wall_time_s'")


def test_runs_lists_several_runs_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_sweep(tmp_path)
    assert main(["runs", str(tmp_path), "--width", "100"]) == 0
    out = capsys.readouterr().out
    table = out[: out.index("Run lr=0.1")]
    rows = {ln.split()[0]: ln.split()[1:] for ln in table.splitlines() if ln.split()}
    assert rows["lr=0.1"] == ["lr=0.01"]  # the header: one column per run
    assert rows["tags"] == ["sweep", "sweep,", "adam"]
    assert rows["note"] == ["the", "baseline", "-"]
    assert rows["status"] == ["no", "end", "recorded", "finished"]
    assert rows["launches"] == ["1", "1"]
    assert rows["steps"] == ["0", "–", "9", "0", "–", "19"]
    assert rows["non-finite"] == ["-", "from", "step", "4"]
    assert rows["wall"] == ["time", "-", "1m", "15s"]
    assert ["≠", "lr", "0.1", "0.01"] in [ln.split() for ln in table.splitlines()]
    assert rows["batch_size"] == ["32", "32"] and rows["seed"] == ["0", "0"]
    assert table.index("≠ lr") < table.index("batch_size")


def test_runs_json_carries_tags_note_and_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_sweep(tmp_path)
    assert main(["runs", str(tmp_path), "--json"]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["tags"] == ["sweep"] and first["note"] == "the baseline"
    assert second["tags"] == ["sweep", "adam"] and second["note"] is None
    assert (first["status"], second["status"]) == ("no end recorded", "finished")
    assert first["launches"] == second["launches"] == 1


def test_runs_side_by_side_shows_hostile_names_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(2):
        with RunWriter(tmp_path / f"r{i}", run_name=f"[red]r{i}[/red]") as w:
            w.log_scalars(0, {"loss": 1.0})
        # a store made elsewhere may hold what the writer refuses: escape sequences
        meta = [
            ("run_name", json.dumps(f"[red]r{i}[/red]\x1b]0;t\x07")),
            ("tags", json.dumps(["\x1b[2J[bold]x"])),
            ("config", json.dumps({"\x1b[31mkey": "[link=https://x]v[/link]"})),
        ]
        for key, value in meta:
            edit_store(
                tmp_path / f"r{i}",
                "INSERT INTO meta (key, value, wall_time) VALUES (?, ?, 0)",
                key,
                value,
            )
    assert main(["runs", str(tmp_path), "--width", "200"]) == 0
    table = capsys.readouterr().out.split("\nRun ")[0]
    assert "\x1b" not in table and "\x07" not in table
    assert "[red]r0[/red]\\x1b]0;t\\x07" in table and "\\x1b[2J[bold]x" in table
    assert "[link=https://x]v[/link]" in table


@pytest.mark.parametrize("case", sorted(set(CORRUPTIONS) - {"histogram counts short"}))
def test_runs_on_a_corrupt_store_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    # (a shortened histogram blob is the store's to refuse: run_text reads it unchecked)
    run = corrupt_store(tmp_path, case)
    for extra in ([], ["--json"]):
        assert main(["runs", str(run), *extra]) == 2
        captured = capsys.readouterr()
        assert captured.err.startswith("error: cannot read ") and str(run) in captured.err
        assert captured.err.count("\n") == 1 and captured.out == ""
