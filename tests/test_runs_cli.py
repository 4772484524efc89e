"""``torchscope runs``, run in-process on real run stores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

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
