"""``torchscope profile``, run in-process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fixtures import single_torch_thread
from torchscope.cli import main

__all__ = ["single_torch_thread"]

STACK = ["tests.models:Stack", "--input-size", "2,16", "--warmup", "1", "--repeat", "2"]


def test_json_has_totals_and_modules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", *STACK, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "Stack" and out["repeat"] == 2 and out["backward"] is True
    assert out["total_ms"] > 0 and out["outside_ms"] >= 0
    names = [m["name"] for m in out["modules"]]
    # the ModuleList is never called: it has no row of its own
    assert names[:4] == ["", "layers.0", "layers.0.0", "layers.0.1"]
    first, second = (next(m for m in out["modules"] if m["name"] == n) for n in names[1:3])
    assert first["macs"] == second["macs"] == 2 * 16 * 16
    assert first["backward_macs"] == 2 * 16 * 16  # the first layer's input needs no gradient
    wanted = {"name", "forward_ms", "backward_ms", "macs", "achieved_flops", "peak_bytes"}
    assert all(wanted <= set(m) for m in out["modules"])
    run = next(r for r in out["rows"] if r["repeat"] > 1)
    assert (run["label"], run["paths"]) == ("layers.0-4", [f"layers.{i}" for i in range(5)])


def test_table_html_report_and_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, graph = tmp_path / "p.html", tmp_path / "g.dot"
    argv = ["profile", *STACK, "--no-backward", "-o", str(report), "--graph", str(graph)]
    assert main([*argv, "--width", "140"]) == 0
    captured = capsys.readouterr()
    assert "Stack on cpu (float32), forward:" in captured.out
    assert "layers.0-4 (Sequential) ×5" in captured.out
    assert report.read_text().startswith("<!doctype html>")
    assert graph.read_text().startswith("digraph")
    assert f"wrote {report}" in captured.err


def test_bad_output_suffix_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", *STACK, "-o", "x.png"]) != 0
    assert "give a .html path" in capsys.readouterr().err


def test_peak_tflops_gives_mfu(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", *STACK, "--json", "--peak-tflops", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["peak"]["tflops"] == 1.0 and out["peak"]["source"] == "given"
    assert out["mfu"] == pytest.approx(out["achieved_flops"] / 1e12)


def test_the_profiler_writes_nothing_of_its_own_on_stderr(tmp_path: Path) -> None:
    # kineto's "USDT: profiler_start" lines go straight to file descriptor 2, so a fresh
    # process is the only honest place to look for them
    import subprocess
    import sys

    command = [sys.executable, "-m", "torchscope", "profile", "torch.nn:Linear", "--init",
               "in_features=8", "out_features=8", "--input-size", "2,8", "--warmup", "1",
               "--repeat", "2"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "KINETO_LOG_LEVEL"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Linear on cpu (float32)" in done.stdout
    assert "profiler_start" not in done.stderr and "USDT" not in done.stderr
