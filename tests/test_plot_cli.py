"""``torchscope plot``, run in-process on real run stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.image import imread

from tests.corrupt_stores import CORRUPTIONS, corrupt_store, edit_store
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


def test_plot_never_writes_outside_its_output_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with RunWriter(tmp_path / "runs" / "x") as w:
        w.log_confusion(0, "/../../escaped/owned", [[1, 0], [0, 1]])
        w.log_confusion(0, "../../../../../../../../tmp/owned2", [[1, 0], [0, 1]])
    out = tmp_path / "deep" / "plots"
    assert main(["plot", str(tmp_path / "runs" / "x"), "-o", str(out), "--dpi", "30"]) == 0
    written = sorted(p for p in tmp_path.rglob("*.png"))
    assert written and all(p.is_relative_to(out) and p.parent == out for p in written)
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/owned2.png").exists()
    names = {p.name for p in written}
    assert "confusion_escaped_owned-5e6a735b.png" in names
    assert sorted(capsys.readouterr().out.split()) == [str(p) for p in written]


def test_plot_a_run_with_10000_scalars_draws_the_first_panels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with RunWriter(tmp_path / "run") as w:  # the run: 10,000 names × 3 steps
        for s in range(3):
            w.log_scalars(s, {f"m{i:05d}": float(i + s) for i in range(10_000)})
    out = tmp_path / "p"
    assert main(["plot", str(tmp_path / "run"), "-o", str(out), "--dpi", "30"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split() == [str(out / "learning_curves.png")]
    assert "note: learning curves: left out (at most 12 panels): m00012" in captured.err
    assert "and 9,982 more" in captured.err and "--metric REGEX" in captured.err
    assert main(["plot", str(tmp_path / "run"), "-o", str(out), "--metric", "m0999[89]$"]) == 0
    assert "left out" not in capsys.readouterr().err


def test_plot_metric_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with RunWriter(tmp_path / "run") as w:
        w.log_scalars(0, {"loss": 1.0})
    assert main(["plot", str(tmp_path / "run"), "-o", str(tmp_path / "p"), "--metric", "("]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: --metric '(' is not a regular expression") and err.count("\n") == 1
    )
    assert main(["plot", str(tmp_path / "run"), "-o", str(tmp_path / "p"), "--metric", "acc"]) == 2
    err = capsys.readouterr().err
    assert "no scalar of run matches 'acc' (has: loss)" in err and "Traceback" not in err
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_plot_a_corrupt_store_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    run = corrupt_store(tmp_path, case)
    assert main(["plot", str(run), "-o", str(tmp_path / "p"), "--dpi", "30"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: cannot read ") and str(run) in captured.err
    assert captured.err.count("\n") == 1
    assert captured.out == "" and not (tmp_path / "p").exists()


def test_plot_notes_show_hostile_names_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with RunWriter(tmp_path / "run") as w:
        for s in range(3):
            w.log_scalars(s, {f"[red]m{i}[/red]": float(s + i) for i in range(14)})
    # a store made elsewhere may hold what the writer refuses: an OSC sequence in a name
    edit_store(tmp_path / "run", "UPDATE series SET name = '\x1b]0;owned\x07' || name")
    assert main(["plot", str(tmp_path / "run"), "-o", str(tmp_path / "p"), "--dpi", "30"]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b]0;owned\\x07[red]m12[/red]" in err  # escapes made visible, brackets as text
