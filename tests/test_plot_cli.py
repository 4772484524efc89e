"""``torchscope plot``, run in-process on real run stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.image import imread

from tests.store.sample_runs import write_sample_run
from torchscope.cli import main
from torchscope.store import RunWriter

_STEMS = [
    "learning_curves", "confusion_val", "class_metrics_val",
    "gradient_flow", "update_ratios", "dead_fractions",
]  # fmt: skip


def test_plot_one_run_writes_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_sample_run(tmp_path / "exp1", n=60)
    out = tmp_path / "plots"
    assert main(["plot", str(run.path), "-o", str(out), "--dpi", "50"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / f"{stem}.png") for stem in _STEMS]
    for path in printed:
        assert imread(path).shape[1] > 200


def test_plot_a_folder_of_runs_adds_a_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_sample_run(tmp_path / "runs" / "a", n=40)
    write_sample_run(tmp_path / "runs" / "b", seed=1, n=40)
    out = tmp_path / "plots"
    assert main(["plot", str(tmp_path / "runs"), "-o", str(out), "--format", "svg"]) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 2 * len(_STEMS) + 1
    assert str(out / "a" / "gradient_flow.svg") in printed
    assert str(out / "b" / "learning_curves.svg") in printed
    assert printed[-1] == str(out / "compare.svg")
    assert (out / "compare.svg").read_text().lstrip().startswith("<?xml")


def test_plot_a_run_with_only_scalars(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with RunWriter(tmp_path / "run") as w:
        for s in range(5):
            w.log_scalars(s, {"loss": 1.0 / (s + 1)})
    assert main(["plot", str(tmp_path / "run"), "-o", str(tmp_path / "p")]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "p" / "learning_curves.png")]


def test_plot_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", str(tmp_path / "nowhere"), "-o", str(tmp_path / "p")]) == 2
    assert "no torchscope run under" in capsys.readouterr().err
    RunWriter(tmp_path / "empty").close()
    assert main(["plot", str(tmp_path / "empty"), "-o", str(tmp_path / "p")]) == 1
    assert "no data to plot" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
