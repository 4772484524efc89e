"""Per-layer figures: the drawn matrices equal the logged statistics; titles say their span."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import LogNorm

from tests.render.artists import xdata, ydata
from tests.store.sample_runs import LAYERS, SampleRun, write_sample_run
from torchscope.render.run_layers import dead_fractions, gradient_flow, update_ratios
from torchscope.store import RunWriter


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    return write_sample_run(tmp_path_factory.mktemp("runs") / "sample")


def _line(ax: Axes, label: str) -> np.ndarray:
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return ydata(line).astype(float)


def test_gradient_flow_heatmap_holds_the_layer_matrix(sample: SampleRun) -> None:
    fig = gradient_flow(sample.path)
    ax = fig.axes[0]
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    steps = np.arange(0, 500, 10)
    expected = np.stack([sample.grad_norm(i, steps) for i in range(3)])
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(3, 50), expected)
    assert isinstance(mesh.norm, LogNorm)  # norms span three decades
    assert [t.get_text() for t in ax.get_yticklabels()] == LAYERS
    assert ax.yaxis_inverted()  # first layer on top


def test_gradient_flow_buckets_long_runs(sample: SampleRun) -> None:
    fig = gradient_flow(sample.path, buckets=5)
    (mesh,) = [c for c in fig.axes[0].collections if isinstance(c, QuadMesh)]
    values = np.asarray(mesh.get_array()).reshape(3, 5)
    steps = np.arange(0, 500, 10).reshape(5, 10)  # 5 buckets of 100 steps
    np.testing.assert_allclose(values[1], sample.grad_norm(1, steps).mean(axis=1))


def test_bias_rows_are_left_out_unless_asked(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for s in range(4):
            stats = {n: {"norm": 1.0 + s, "ratio": 1e-3} for n in ("fc.weight", "fc.bias", "out")}
            w.log_layer_stats(s, "grad", stats)
            w.log_layer_stats(s, "update_ratio", stats)
    ticks = [t.get_text() for t in gradient_flow(tmp_path).axes[0].get_yticklabels()]
    assert ticks == ["fc.weight", "out"]
    with_biases = gradient_flow(tmp_path, biases=True).axes[0].get_yticklabels()
    assert [t.get_text() for t in with_biases] == ["fc.weight", "fc.bias", "out"]
    lines = [ln.get_label() for ln in update_ratios(tmp_path).axes[0].get_lines()]
    assert "fc.bias" not in lines and "fc.weight" in lines


def test_update_ratios_lines_and_band(sample: SampleRun) -> None:
    fig = update_ratios(sample.path)
    ax = fig.axes[0]
    for i, layer in enumerate(LAYERS):
        np.testing.assert_allclose(_line(ax, layer), sample.update_ratio(i))
    assert ax.get_yscale() == "log"
    (band,) = [p for p in ax.patches if p.get_label() == "rule-of-thumb band"]
    y0, y1 = band.get_extents().y0, band.get_extents().y1
    assert y0 < y1
    assert any(np.allclose(ln.get_ydata(), 1e-3) for ln in ax.get_lines())


def test_dead_fractions_only_layers_that_have_them(sample: SampleRun) -> None:
    ax = dead_fractions(sample.path).axes[0]
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == LAYERS[:2]
    np.testing.assert_allclose(_line(ax, LAYERS[1]), 0.2)


def test_many_layers_get_a_color_bar_not_a_legend(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for s in range(3):
            w.log_layer_stats(s, "update_ratio", {f"l{i}": {"ratio": 1e-3} for i in range(30)})
    fig = update_ratios(tmp_path)
    assert len(fig.axes) == 2 and fig.axes[0].get_legend() is None  # plot + colour bar
    assert fig.axes[1].get_ylabel() == "layer index of 30 (input → output)"
    assert fig.axes[1].get_ylim() == (0, 29)


def test_titles_say_which_steps_and_layers(sample: SampleRun) -> None:
    assert gradient_flow(sample.path).axes[0].get_title() == (
        "grad norm per layer · sample · steps 0–490 · 3 layers"
    )
    assert update_ratios(sample.path).axes[0].get_title() == (
        "Update / weight ratio · sample · steps 0–490 · 3 layers"
    )
    assert dead_fractions(sample.path).axes[0].get_title() == (
        "Dead units per layer · sample · steps 0–490 · 2 layers"
    )


def test_layer_figures_show_the_runs_health_events(tmp_path: Path) -> None:
    with RunWriter(tmp_path, run_name="r") as w:
        for s in range(5):
            w.log_layer_stats(s, "grad", {"a": {"norm": 1.0}, "b": {"norm": 2.0}})
            w.log_layer_stats(s, "update_ratio", {"a": {"ratio": 1e-3}})
        w.log_event(3, "nonfinite", {"module": "b", "phase": "backward"})
    for fig in (gradient_flow(tmp_path), update_ratios(tmp_path)):
        ax = fig.axes[0]
        assert any(xdata(ln).tolist() == [3, 3] for ln in ax.get_lines())
        assert fig.get_supxlabel() == "first non-finite value at step 3: b, backward"
    ax = update_ratios(tmp_path).axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "a"]
    assert line.get_marker() == "o"  # five points: each visible, not only the line


def test_a_single_step_is_drawn_as_points(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        w.log_layer_stats(7, "activation", {"a": {"dead_fraction": 0.25}})
    ax = dead_fractions(tmp_path).axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "a"]
    assert line.get_marker() == "o" and xdata(line).tolist() == [7]
    assert ax.get_title().endswith("step 7 · 1 layer")
