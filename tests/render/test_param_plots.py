"""Parameter figures and text: what each draws, and that files are written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from torchscope._api import diff, inspect_params
from torchscope._display import plain_text
from torchscope.render.param_plots import (
    depth_profile,
    diff_chart,
    esd_grid,
    histogram_grid,
    importance_chart,
    spectral_figure,
    weight_heatmap,
)


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(40, 64), nn.ReLU(), nn.Linear(64, 32), nn.LayerNorm(32))


def _drawn(fig) -> list:  # type: ignore[no-untyped-def]
    return [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]


def test_histogram_grid_draws_each_tensors_counts() -> None:
    report = inspect_params(_net())
    fig = histogram_grid(report, log=True)
    axes = _drawn(fig)
    assert len(axes) == len(report.tensors) == 6
    first = report.tensor("0.weight")
    heights = [p.get_path().vertices[:, 1].max() for p in axes[0].patches]
    assert max(heights) == max(first.hist) and axes[0].get_yscale() == "log"
    assert axes[0].get_title() == "0.weight"


def test_depth_profile_has_one_bar_per_tensor_and_metric() -> None:
    report = inspect_params(_net())
    fig = depth_profile(report, metrics=("l2_norm", "zero_frac"))
    top, bottom = _drawn(fig)
    assert [p.get_height() for p in top.patches] == pytest.approx(
        [t.l2_norm for t in report.tensors]
    )
    assert [p.get_height() for p in bottom.patches] == [t.zero_frac for t in report.tensors]


def test_heatmaps_show_small_weights_as_they_are_and_big_ones_downsampled() -> None:
    small = torch.randn(8, 12)
    image = _drawn(weight_heatmap(small, "w"))[0].images[0]
    np.testing.assert_allclose(image.get_array(), small.numpy())
    big = torch.randn(1000, 3000)
    fig = weight_heatmap(big, "big", max_size=100)
    ax = _drawn(fig)[0]
    cells = ax.images[0].get_array()
    assert cells.shape == (100, 100) and "block RMS" in ax.get_title()
    assert float(cells.mean()) == pytest.approx(1.0, rel=0.05)  # RMS of N(0, 1) blocks


def test_spectral_figures_show_alpha_and_the_fitted_tail() -> None:
    report = inspect_params(nn.Sequential(*[nn.Linear(100, 100) for _ in range(4)]), spectral=True)
    assert report.spectral is not None
    left, right = _drawn(spectral_figure(report.spectral))
    offsets = left.collections[-1].get_offsets()
    assert list(offsets[:, 1]) == pytest.approx([x.alpha for x in report.spectral.layers])
    assert any(line.get_label().startswith("α = ") for line in right.lines)
    assert len(_drawn(esd_grid(report.spectral))) == 4


def test_importance_and_diff_charts_rank_layers() -> None:
    net = _net()
    report = inspect_params(
        net, batch=(torch.randn(8, 40), torch.randn(8, 32)), loss_fn=nn.functional.mse_loss
    )
    magnitude, taylor = _drawn(importance_chart(report.importance))
    widths = [p.get_width() for p in magnitude.patches]
    assert widths == sorted(widths) and magnitude.patches
    assert "taylor" in taylor.get_title()
    tuned = {k: v + 0.1 if k.startswith("2.") else v for k, v in net.state_dict().items()}
    top, _ = _drawn(diff_chart(diff(net, tuned)))
    heights = [p.get_height() for p in top.patches]
    assert heights[1] > 1e-3 and heights[0] == heights[2] == 1e-12  # only layer 2 changed


def test_save_writes_every_figure(tmp_path: Path) -> None:
    report = inspect_params(_net(), spectral=True)
    paths = report.save(tmp_path / "figs")
    assert {p.name for p in paths} >= {
        "histograms.png",
        "depth_profile.png",
        "importance.png",
        "spectral.png",
        "esd.png",
    }
    assert all(p.stat().st_size > 5000 for p in paths)
    report.save(tmp_path / "r.json")
    assert '"tensors"' in (tmp_path / "r.json").read_text()


def test_text_report_names_tensors_flags_and_totals() -> None:
    net = _net()
    with torch.no_grad():
        net[2].weight[3] = 0.0
        net[0].weight[0, 0] = float("nan")
    text = plain_text(inspect_params(net, spectral=True), width=120)
    assert "Parameters of Sequential" in text and "0.weight" in text and "f32 64×40" in text
    assert "error: 0.weight: non_finite: 1 NaN and 0 Inf of 2560 values" in text
    assert "warning: 2.weight: dead_units: 1 of 32 rows" in text
    assert "Layer (spectral)" in text and "Importance by magnitude" in text
    assert all(len(line) <= 120 for line in text.splitlines())
    narrow = plain_text(inspect_params(net), width=80)
    assert all(len(line) <= 80 for line in narrow.splitlines()) and "Zero %" in narrow
