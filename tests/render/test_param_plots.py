"""Parameter figures and text: what each draws, that it says what it is drawn from, and
that files are written."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from torch import nn

from tests.render.artists import label, legend_texts, offsets, rectangles
from torchscope._api import diff, inspect_params
from torchscope._display import plain_text
from torchscope.render.figures import short_names
from torchscope.render.param_plots import (
    depth_profile,
    diff_chart,
    histogram_grid,
    importance_chart,
    save_figures,
    weight_heatmap,
)
from torchscope.render.spectral_plots import esd_grid, spectral_figure


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(40, 64), nn.ReLU(), nn.Linear(64, 32), nn.LayerNorm(32))


def _drawn(fig: Figure) -> list[Axes]:
    return [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    return buffer.getvalue()


def _integer_locator(axis: Axis) -> bool:
    ticks = axis.get_major_locator().tick_values(-0.4, 3.4)
    return bool(np.all(ticks == np.round(ticks)))


def test_histogram_grid_draws_each_tensors_counts_under_its_full_name() -> None:
    report = inspect_params(_net())
    fig = histogram_grid(report, log=True)
    axes = _drawn(fig)
    assert len(axes) == len(report.tensors) == 6
    first = report.tensor("0.weight")
    heights = [np.asarray(p.get_path().vertices)[:, 1].max() for p in axes[0].patches]
    assert max(heights) == max(first.hist) and axes[0].get_yscale() == "log"
    assert [ax.get_title() for ax in axes][:2] == ["0.weight", "0.bias"]
    assert "6 tensors (64 bins, log counts)" in fig.get_suptitle()
    assert axes[0].get_ylabel() == "count (log)" and axes[-1].get_xlabel() == "value"


def test_repeated_layers_get_distinct_titles() -> None:
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(n_layer=3, n_embd=32, n_head=2, vocab_size=100)
    report = inspect_params(transformers.GPT2LMHeadModel(config))
    titles = [ax.get_title().replace("\n", "") for ax in _drawn(histogram_grid(report))]
    assert "transformer.h.2.mlp.c_fc.weight" in titles and len(set(titles)) == len(titles)
    assert all(title in {t.name for t in report.tensors} for title in titles)


def test_a_constant_tensor_is_one_bar_at_its_value() -> None:
    report = inspect_params(nn.LayerNorm(16))
    fig = histogram_grid(report, tensors=["weight"])
    (ax,) = _drawn(fig)
    (bar,) = rectangles(ax)
    assert bar.get_x() + bar.get_width() / 2 == pytest.approx(1.0) and bar.get_height() == 16
    lo, hi = ax.get_xlim()
    assert lo < 1.0 < hi and lo > 0  # around the value, no "1e-12+1" offset, no negatives
    assert any("every value 1" in t.get_text() for t in ax.texts)
    assert _integer_locator(ax.yaxis)


def test_extreme_values_are_drawn() -> None:
    big = torch.finfo(torch.float64).max
    report = inspect_params({"w": torch.tensor([[-big, big], [big, 0.0]], dtype=torch.float64)})
    fig = histogram_grid(report)
    assert len(_png(fig)) > 1000 and sum(report.tensor("w").hist) == 4


def test_flagged_tensors_are_marked_in_red() -> None:
    net = _net()
    with torch.no_grad():
        net.get_parameter("2.weight").mul_(1000)
    report = inspect_params(net)
    fig = histogram_grid(report, tensors=["0.weight", "2.weight"])
    fine, scaled = _drawn(fig)
    assert any("large_scale" in t.get_text() for t in scaled.texts)
    assert not any("large_scale" in t.get_text() for t in fine.texts)
    assert scaled.title.get_color() != fine.title.get_color()


def test_depth_profile_dots_on_log_scales_and_bars_from_zero() -> None:
    report = inspect_params(_net())
    fig = depth_profile(report, metrics=("l2_norm", "zero_frac"))
    l2, zeros = fig.axes[:2]
    points = offsets(l2.collections[0])
    nonzero = [t.l2_norm for t in report.tensors if t.l2_norm > 0]
    assert list(points[:, 1]) == pytest.approx(nonzero) and l2.get_yscale() == "log"
    assert any("1 tensors at 0 not shown" in t.get_text() for t in l2.texts)  # LayerNorm bias
    assert [p.get_height() for p in rectangles(zeros)] == [t.zero_frac for t in report.tensors]
    assert zeros.get_ylim()[0] == 0
    assert zeros.get_xlabel() == "tensor (model order, 6 tensors)"


def test_depth_profile_marks_a_nan_statistic_instead_of_leaving_a_gap() -> None:
    weights = {f"l{i}.weight": torch.ones(4, 4) * (i + 1) for i in range(4)}
    weights["l2.weight"][:] = float("nan")  # no finite value: std and L2 norm are NaN
    report = inspect_params(weights)
    fig = depth_profile(report, metrics=("l2_norm", "std"))
    for ax in fig.axes[:2]:
        (marks,) = [o for o in map(offsets, ax.collections) if o[:, 1].tolist() == [0.04]]
        assert marks[:, 0].tolist() == [2]  # at l2.weight, in red
        assert any(t.get_text() == "✕ 1 NaN/Inf, not drawn" for t in ax.texts)


def test_depth_profile_draws_statistics_near_the_float64_maximum() -> None:
    big = torch.finfo(torch.float64).max
    report = inspect_params({"w": torch.tensor([[-big, big], [big, -big]], dtype=torch.float64)})
    fig = depth_profile(report, metrics=("std",))
    assert len(_png(fig)) > 1000  # matplotlib's tick arithmetic overflowed on 1.8e308
    (ax,) = fig.axes[:1]
    assert ax.get_ylabel() == "std (×1e308)"
    assert rectangles(ax)[0].get_height() == pytest.approx(report.tensor("w").std / 1e308)
    # two L2 norms within a decade of 1e308: the log axis fell back to linear ticks, which
    # overflowed too ("arange: cannot compute length")
    near = {"a": torch.tensor([1e308, 2e307], dtype=torch.float64), "b": torch.tensor([9e307])}
    report = inspect_params({k: v.double() for k, v in near.items()})
    fig = depth_profile(report, metrics=("l2_norm",))
    assert len(_png(fig)) > 1000
    assert fig.axes[0].get_ylabel() == "L2 norm (log) (×1e308)"


def test_a_metric_zero_everywhere_says_so_instead_of_an_empty_panel() -> None:
    report = inspect_params(nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8)))
    (ax,) = depth_profile(report, metrics=("zero_frac",)).axes[:1]
    assert ax.get_ylim() == (0, 1)
    assert [t.get_text() for t in ax.texts] == ["fraction exactly 0: 0 for every tensor"]


def test_heatmaps_show_small_weights_as_they_are_and_big_ones_downsampled() -> None:
    small = torch.randn(8, 12)
    image = _drawn(weight_heatmap(small, "w"))[0].images[0]
    np.testing.assert_allclose(np.asarray(image.get_array()), small.numpy())
    big = torch.randn(1000, 3000)
    fig = weight_heatmap(big, "big", max_size=100)
    ax = _drawn(fig)[0]
    cells = ax.images[0].get_array()
    assert cells is not None and cells.shape == (100, 100) and "block RMS" in ax.get_title()
    assert float(cells.mean()) == pytest.approx(1.0, rel=0.05)  # RMS of N(0, 1) blocks
    assert not ax.xaxis.get_gridlines()[0].get_visible()  # no grid over the image


def test_spectral_figures_show_alpha_the_fitted_tail_and_unreliable_fits() -> None:
    net = nn.Sequential(*[nn.Linear(100, 100) for _ in range(3)], nn.Linear(100, 20))
    report = inspect_params(net, spectral=True)
    assert report.spectral is not None
    layers = report.spectral.layers
    left, right = _drawn(spectral_figure(report.spectral))
    dots = left.collections[-1]
    assert list(offsets(dots)[:, 1]) == pytest.approx([x.alpha for x in layers])
    faces = np.asarray(dots.get_facecolor())
    assert [f[3] == 0 for f in faces] == [bool(x.fit_warning) for x in layers] == [0, 0, 0, 1]
    assert _integer_locator(left.xaxis) and "hollow" in legend_texts(left)[-1]
    assert any(label(line).startswith("power law α = ") for line in right.lines)
    assert right.get_xlabel() == "eigenvalue λ of WᵀW" and right.get_ylabel() == "density"
    grid = esd_grid(report.spectral)
    assert len(_drawn(grid)) == 4
    few = _drawn(grid)[3]
    assert few.get_title() == "3.weight"
    assert legend_texts(few)[-1] == "fit on 20 eigenvalues (< 50): unreliable"


def test_importance_ranks_by_sum_and_by_value() -> None:
    net = _net()
    report = inspect_params(
        net, batch=(torch.randn(8, 40), torch.randn(8, 32)), loss_fn=nn.functional.mse_loss
    )
    fig = importance_chart(report.importance)
    summed, per_value, taylor, taylor_per_value = _drawn(fig)
    widths = [p.get_width() for p in rectangles(summed)]
    assert widths == sorted(widths) and widths
    magnitude = report.importance[0]
    expected = [r.per_value for r in magnitude.by_value()][::-1]
    assert [p.get_width() for p in rectangles(per_value)] == pytest.approx(expected)
    assert "size-independent" in per_value.get_title() and "taylor" in taylor.get_title()
    assert "mean |w·∂L/∂w|" in taylor_per_value.get_title()
    names = [r.name for r in magnitude.layers]  # labels tell every layer apart, not just the shown
    shown = [t.get_text() for t in per_value.get_yticklabels()]
    assert sorted(shown) == sorted(short_names(names, limit=40))  # all 3 layers shown


def test_diff_chart_is_linear_and_names_the_changed_layers() -> None:
    net = _net()
    factor = {"0": 2.12, "2": 1.63, "3": 1.0}  # layer 3 (LayerNorm) unchanged
    tuned = {k: v * factor[k.split(".")[0]] for k, v in net.state_dict().items()}
    d = diff(net, tuned)
    top, bottom = _drawn(diff_chart(d))
    heights = [p.get_height() for p in rectangles(top)]
    assert [m.name for m in d.modules] == ["0", "2", "3"]
    assert heights == pytest.approx([1.12, 0.63, 0.0])  # a log scale showed 0.63 as nothing
    assert top.get_yscale() == bottom.get_yscale() == "linear" and top.get_ylim()[0] == 0
    labels = {t.get_text() for t in top.texts}
    assert labels >= {"2\n0.63", "0\n1.12"} and "2 of 3 layers changed" in top.get_title()
    assert _integer_locator(bottom.xaxis)


def test_figures_use_the_house_style() -> None:
    report = inspect_params(_net(), spectral=True)
    for fig in report.figures().values():
        ax = _drawn(fig)[0]
        lines = [*ax.xaxis.get_gridlines(), *ax.yaxis.get_gridlines()]
        assert any(line.get_visible() for line in lines), fig.get_suptitle()  # whitegrid
        assert ax.get_facecolor()[:3] == (1.0, 1.0, 1.0)


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


def test_figure_names_from_a_checkpoint_stay_in_the_folder(tmp_path: Path) -> None:
    fig = weight_heatmap(torch.randn(4, 4), "w")
    (path,) = save_figures({"heatmap_../../../escaped/w": fig}, tmp_path / "out")
    assert path.parent == tmp_path / "out" and path.name == "heatmap_.._.._.._escaped_w.png"


def test_text_report_names_tensors_flags_and_totals() -> None:
    net = _net()
    with torch.no_grad():
        net.get_parameter("2.weight")[3] = 0.0
        net.get_parameter("0.weight")[0, 0] = float("nan")
    text = plain_text(inspect_params(net, spectral=True), width=120)
    assert "Parameters of Sequential" in text and "0.weight" in text and "f32 64×40" in text
    assert "error: 0.weight: non_finite: 1 NaN and 0 Inf of 2560 values" in text
    assert "warning: 2.weight: dead_units: 1 of 32 rows" in text
    assert "Layer (spectral)" in text and "Importance by magnitude" in text
    assert all(len(line) <= 120 for line in text.splitlines())
    narrow = plain_text(inspect_params(net), width=80)
    assert all(len(line) <= 80 for line in narrow.splitlines()) and "Zero %" in narrow


def test_text_names_skipped_weights_unreliable_fits_and_per_value_importance() -> None:
    net = nn.Sequential(nn.Linear(40, 64), nn.Linear(64, 4))
    text = plain_text(inspect_params(net, spectral=True), width=120).replace("\n", " ")
    assert "Skipped (spectral): 1.weight (4 eigenvalues < 8)" in text
    assert "1 fitted on < 50 eigenvalues (unreliable)" in text and "< 50 evals" in text
    assert "Per value" in text and "grows with a layer's size" in text


def test_infinite_changes_are_marked_not_dropped() -> None:
    a = {"z.weight": torch.zeros(4, 4), "k.weight": torch.ones(4, 4)}
    b = {"z.weight": torch.ones(4, 4), "k.weight": torch.ones(4, 4)}
    top, _ = _drawn(diff_chart(diff(a, b)))
    marks = [c for c in top.collections if c.get_label() == "infinite (‖a‖ = 0)"]
    assert len(marks) == 1 and len(offsets(marks[0])) == 1
    assert "1 of 2 layers changed" in top.get_title()


def test_hostile_tensor_names_are_drawn_as_text() -> None:
    names = ["$\\frac$.weight", "a$\\undefinedcmd{x}$b.weight", "x" * 100_000 + ".weight"]
    report = inspect_params({name: torch.randn(4, 4) for name in names})
    for stem, fig in report.figures().items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nor did a huge label collapse the layout
            assert len(_png(fig)) > 1000, stem  # saving parsed no mathtext from a name
    titles = [ax.get_title() for ax in _drawn(histogram_grid(report))]
    assert titles[0] == "\\$\\frac\\$.weight" and max(len(t) for t in titles) < 250
