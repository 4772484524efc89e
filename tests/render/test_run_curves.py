"""Learning curves: the drawn data equals the logged data, and nothing hides a failure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D

from tests.corrupt_stores import edit_store
from tests.store.sample_runs import SampleRun, write_sample_run
from torchscope.render.run_choice import MAX_COMPARE_PANELS, MAX_CURVE_PANELS, choose_curves
from torchscope.render.run_curves import compare_runs, ema, learning_curves, split_style
from torchscope.store import RunReader, RunWriter


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    return write_sample_run(tmp_path_factory.mktemp("runs") / "sample")


def _lines(ax: Axes, prefix: str) -> list[Line2D]:
    return [ln for ln in ax.get_lines() if str(ln.get_label()).startswith(prefix)]


def _line(ax: Axes, prefix: str) -> np.ndarray:
    (line,) = _lines(ax, prefix)
    return np.asarray(line.get_ydata(), dtype=float)


def _panels(fig: object) -> list[Axes]:
    return [ax for ax in fig.axes if ax.get_visible()]  # type: ignore[attr-defined]


def test_ema_equals_pandas_adjusted_ewm() -> None:
    x = np.random.default_rng(1).normal(size=300).cumsum()
    for weight in (0.0, 0.6, 0.95):
        expected = pd.Series(x).ewm(alpha=1 - weight, adjust=True).mean().to_numpy()
        np.testing.assert_allclose(ema(x, weight), expected, rtol=1e-12)
    assert ema(np.full(7, 0.1), 0.9).tolist() == [0.1] * 7  # constants stay exact


def test_ema_restarts_after_a_non_finite_value() -> None:
    x = np.random.default_rng(2).normal(size=200)
    x[120] = np.nan
    x[150] = np.inf
    got = ema(x, 0.9)
    assert np.isnan(got[[120, 150]]).all()  # a gap, not the last value carried over
    for lo, hi in ((0, 120), (121, 150), (151, 200)):  # each stretch smoothed on its own
        expected = pd.Series(x[lo:hi]).ewm(alpha=0.1, adjust=True).mean().to_numpy()
        np.testing.assert_allclose(got[lo:hi], expected, rtol=1e-12)


def test_learning_curves_draw_raw_and_smoothed_per_split(sample: SampleRun) -> None:
    fig = learning_curves(sample.path, smoothing=0.0)
    # accuracy (0.5) and lr (0.01) never change: named in the note, not drawn as panels
    assert [ax.get_title() for ax in _panels(fig)] == ["loss"]
    assert "constant, not drawn: accuracy = 0.5, lr = 0.01" in fig.get_supxlabel()
    loss_ax = fig.axes[0]
    np.testing.assert_allclose(_line(loss_ax, "train ·"), sample.train_loss)
    np.testing.assert_allclose(_line(loss_ax, "val ·"), sample.val_loss)
    raw = [ln for ln in loss_ax.get_lines() if ln.get_alpha() == 0.3]
    np.testing.assert_allclose(raw[0].get_ydata(), sample.train_loss)  # raw, faint
    labels = [t.get_text() for t in loss_ax.get_legend().get_texts()]
    assert labels == ["train · 500 pts, steps 0–499", "val · 10 pts, steps 49–499"]
    assert fig.get_suptitle() == "Learning curves · sample · steps 0–499"
    asked = learning_curves(sample.path, ["loss", "lr"])  # named: drawn even if constant
    assert [ax.get_title() for ax in _panels(asked)] == ["loss", "lr"]


def test_learning_curves_smooth_with_the_given_weight(sample: SampleRun) -> None:
    fig = learning_curves(sample.path, ["loss"], smoothing=0.9)
    expected = pd.Series(sample.train_loss).ewm(alpha=0.1, adjust=True).mean().to_numpy()
    np.testing.assert_allclose(_line(fig.axes[0], "train ·"), expected, rtol=1e-12)


def test_long_series_draw_a_min_max_band(sample: SampleRun) -> None:
    fig = learning_curves(sample.path, ["loss"], buckets=50, smoothing=0.0)
    ax = fig.axes[0]
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)][:1]
    v = band.get_paths()[0].vertices
    per_bucket = sample.train_loss.reshape(50, 10)  # 500 steps → 50 buckets of 10 steps
    np.testing.assert_allclose(v[1:51, 1], per_bucket.min(axis=1))
    np.testing.assert_allclose(v[52:102, 1][::-1], per_bucket.max(axis=1))
    np.testing.assert_allclose(_line(ax, "train ·"), per_bucket.mean(axis=1))
    assert _lines(ax, "train ·")[0].get_label() == "train · 500 pts, steps 0–499"


def _write_nan_run(path: Path) -> None:
    """The issue's run: loss and gradient norm NaN from step 37 to 65, the event at 37."""
    rng = np.random.default_rng(0)
    with RunWriter(path, run_name="nan-at-37") as w:
        for s in range(66):
            ok = s < 37
            loss = 2.0 * np.exp(-s / 15) + 0.42 + 0.01 * rng.random() if ok else float("nan")
            grad = 2.19 + 0.05 * rng.random() if ok else float("nan")
            w.log_scalars(s, {"loss": loss, "grad_norm": grad, "lr": 1e-3})
        w.log_event(37, "nonfinite", {"module": "fc2", "phase": "forward"})


def test_nan_run_marks_every_non_finite_step(tmp_path: Path) -> None:
    _write_nan_run(tmp_path)
    fig = learning_curves(tmp_path, smoothing=0.6)
    loss_ax, grad_ax = _panels(fig)
    assert [loss_ax.get_title(), grad_ax.get_title()] == ["loss", "grad_norm"]
    nan_steps = list(range(37, 66))
    for ax in (loss_ax, grad_ax):
        (marks,) = _lines(ax, "train non-finite")
        assert marks.get_label() == "train non-finite ×29"
        assert np.asarray(marks.get_xdata()).tolist() == nan_steps  # one × per NaN step
        assert marks.get_marker() == "x"
        smoothed = _line(ax, "train ·")
        assert np.isfinite(smoothed[:37]).all() and np.isnan(smoothed[37:]).all()
    # the grad norm curve is not drawn on at its last value (2.19) past step 36
    (event,) = _lines(loss_ax, "first non-finite")
    assert event.get_label() == "first non-finite: fc2, forward"
    assert list(event.get_xdata()) == [37, 37]
    assert _lines(grad_ax, "first non-finite") == []  # labelled once per figure
    assert len([ln for ln in grad_ax.get_lines() if list(ln.get_xdata()) == [37, 37]]) == 1
    note = fig.get_supxlabel()
    assert "non-finite loss (train): NaN at steps 37–65" in note
    assert "first non-finite value at step 37: fc2, forward" in note


def test_nan_run_figure_is_saved(tmp_path: Path) -> None:
    _write_nan_run(tmp_path / "run")
    learning_curves(tmp_path / "run").savefig(tmp_path / "nan.png", dpi=60)
    assert (tmp_path / "nan.png").stat().st_size > 10_000


def test_exploding_gradient_spells_are_drawn_on_the_time_axis(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for s in range(100):
            grad = 60.0 if 70 <= s <= 72 else 1.0 + 0.01 * (s % 3)
            w.log_scalars(s, {"loss": 1.0 / (s + 1), "grad_norm": grad})
    fig = learning_curves(tmp_path)
    ax = fig.axes[0]
    (span,) = [p for p in ax.patches if p.get_label() == "exploding grad_norm"]
    assert (span.get_x(), span.get_x() + span.get_width()) == (70, 72)
    assert "exploding grad_norm at steps 70–72" in fig.get_supxlabel()


def test_a_single_test_point_is_not_hidden_behind_val(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for s in range(0, 100, 10):
            w.log_scalars(s, {"loss": 1.0 - s / 200, "accuracy": s / 100}, split="val")
        w.log_scalars(90, {"accuracy": 0.9}, split="test")  # the same point as the last val
    ax = _panels(learning_curves(tmp_path))[1]
    assert ax.get_title() == "accuracy"
    (test,) = _lines(ax, "test ·")
    (val,) = _lines(ax, "val ·")
    assert test.get_label() == "test · 1 pt, step 90"
    assert test.get_marker() == "D" and val.get_marker() == "s"
    assert test.get_zorder() > val.get_zorder()  # drawn on top
    assert test.get_linestyle() != val.get_linestyle()


def test_split_styles_are_distinct() -> None:
    splits = ["train", "val", "test", "dev", "holdout"]
    styles = [split_style(s, splits) for s in splits]
    assert len({str(ls) for ls, _ in styles}) == len(splits)
    assert len({marker for _, marker in styles}) == len(splits)


def test_a_resumed_run_draws_each_launch_in_order(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for s in range(101):  # the first launch reaches step 100…
            w.log_scalars(s, {"loss": 2.0 - s / 100}, wall_time=1000.0 + s)
        for s in range(50, 151):  # …the second resumes from the checkpoint of step 50
            w.log_scalars(s, {"loss": 1.6 - s / 200}, wall_time=5000.0 + s)
    ax = learning_curves(tmp_path, ["loss"], smoothing=0.0).axes[0]
    smoothed = [ln for ln in ax.get_lines() if ln.get_linewidth() == 1.8]
    assert [ln.get_xdata()[[0, -1]].tolist() for ln in smoothed] == [[0, 100], [50, 150]]
    for ln in smoothed:
        assert (np.diff(ln.get_xdata()) > 0).all()  # no zig-zag between the two launches
    np.testing.assert_allclose(smoothed[1].get_ydata(), 1.6 - np.arange(50, 151) / 200)
    (resume,) = _lines(ax, "train resumed")
    assert resume.get_label() == "train resumed at step 50" and list(resume.get_xdata()) == [50, 50]
    assert smoothed[1].get_label() == "train · 202 pts, steps 0–150"  # the latest launch
    assert smoothed[0].get_alpha() < smoothed[1].get_alpha()  # steps 50–100 logged again


def _write_many(path: Path, n: int) -> None:
    with RunWriter(path) as w:
        for s in range(3):
            w.log_scalars(s, {f"metric_{i:05d}": float(i + s) for i in range(n)})
            w.log_scalars(s, {"lr": 0.1})


def test_many_scalars_draw_a_bounded_number_of_panels(tmp_path: Path) -> None:
    _write_many(tmp_path, 2000)
    fig = learning_curves(tmp_path)
    titles = [ax.get_title() for ax in _panels(fig)]
    assert titles == [f"metric_{i:05d}" for i in range(MAX_CURVE_PANELS)]
    assert len(fig.axes) == MAX_CURVE_PANELS
    note = fig.get_supxlabel()
    assert "left out (at most 12 panels): metric_00012, metric_00013" in note
    assert f"and {2000 - 12 - 6 + 1:,} more" in note  # 1,989 names left out after the six named
    choice = choose_curves(RunReader(tmp_path))
    assert len(choice.left_out) == 2000 + 1 - MAX_CURVE_PANELS


def test_metric_pattern_chooses_the_panels(tmp_path: Path) -> None:
    _write_many(tmp_path, 30)
    fig = learning_curves(tmp_path, metric=r"_0001[57]$")
    assert [ax.get_title() for ax in _panels(fig)] == ["metric_00015", "metric_00017"]
    assert fig.get_supxlabel() == ""  # nothing left out, nothing constant
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks())  # 3 steps: no 0.25
    with pytest.raises(ValueError, match=r"no scalar of .* matches 'nope'"):
        learning_curves(tmp_path, metric="nope")
    with pytest.raises(ValueError, match="not a regular expression"):
        learning_curves(tmp_path, metric="(")


def test_hostile_names_are_text_not_mathtext(tmp_path: Path) -> None:
    names = [r"$\frac{$", "cost $a$ and $b$", "title", "x" * 500]
    with RunWriter(tmp_path) as w:
        for s in range(3):
            w.log_scalars(s, {n: float(s * (i + 1)) for i, n in enumerate(names)}, split="$val$")
    # a store made elsewhere may hold what the writer refuses: an OSC sequence in a name
    edit_store(tmp_path, "UPDATE series SET name = ? WHERE name = 'title'", "\x1b]0;owned\x07t")
    fig = learning_curves(tmp_path)
    titles = [ax.get_title() for ax in _panels(fig)]
    assert titles[:2] == [r"\$\frac{\$", r"cost \$a\$ and \$b\$"]
    assert titles[2] == "\\x1b]0;owned\\x07t" and len(titles[3]) == 60  # escapes shown
    fig.savefig(tmp_path / "hostile.png", dpi=40)  # mathtext would raise on the first title
    assert (tmp_path / "hostile.png").stat().st_size > 1000


def _write_split_run(path: Path, name: str, scale: float, test: bool) -> np.ndarray:
    """Train every step, val every 10, optionally one test point; the val losses returned."""
    val = scale * (1.0 + 1.0 / (1 + np.arange(0, 100, 10)))
    with RunWriter(path, run_name=name) as w:
        for s in range(100):
            w.log_scalars(s, {"loss": scale / (1 + s), "lr": 0.01})
        for s, v in zip(range(0, 100, 10), val.tolist()):
            w.log_scalars(s, {"loss": v}, split="val")
        if test:
            w.log_scalars(99, {"loss": 0.3}, split="test")
    return val


def test_compare_runs_overlays_every_run_with_a_style_per_split(tmp_path: Path) -> None:
    _write_split_run(tmp_path / "a", "lr=0.1", 1.0, test=False)
    val_b = _write_split_run(tmp_path / "b", "lr=0.01", 2.0, test=True)
    fig = compare_runs([tmp_path / "a", RunReader(tmp_path / "b")])
    assert [ax.get_title() for ax in _panels(fig)] == ["loss"]
    assert "constant, not drawn: lr = 0.01" in fig.get_supxlabel()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "lr=0.1 · train · 100 pts, steps 0–99",
        "lr=0.1 · val · 10 pts, steps 0–90",
        "lr=0.01 · train · 100 pts, steps 0–99",
        "lr=0.01 · val · 10 pts, steps 0–90",
        "lr=0.01 · test · 1 pt, step 99",
    ]
    styles = {str(ln.get_label()).split(" · ")[1]: ln.get_linestyle() for ln in _lines(ax, "lr=")}
    assert len(set(styles.values())) == 3  # train, val and test each their own line style
    np.testing.assert_allclose(_line(ax, "lr=0.01 · val"), ema(val_b, 0.0), rtol=1e-12)
    assert fig.get_suptitle() == "Run comparison · 2 runs"
    assert MAX_COMPARE_PANELS == 6
    with pytest.raises(ValueError, match="at least one run"):
        compare_runs([])
