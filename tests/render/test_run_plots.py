"""Run figures: the drawn data equals the logged data and independent references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.image import imread
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from tests.store.sample_runs import LABELS, LAYERS, SampleRun, write_sample_run
from torchscope.render.run_plots import (
    class_metrics_bars,
    compare_runs,
    confusion_heatmap,
    dead_fractions,
    distributions,
    ema,
    gradient_flow,
    histogram_percentiles,
    learning_curves,
    run_figures,
    update_ratios,
)
from torchscope.store import RunReader, RunWriter


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    return write_sample_run(tmp_path_factory.mktemp("runs") / "sample")


def _line(ax: object, label: str) -> np.ndarray:
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]  # type: ignore[attr-defined]
    return np.asarray(line.get_ydata(), dtype=float)


def test_ema_equals_pandas_adjusted_ewm() -> None:
    x = np.random.default_rng(1).normal(size=300).cumsum()
    for weight in (0.0, 0.6, 0.95):
        expected = pd.Series(x).ewm(alpha=1 - weight, adjust=True).mean().to_numpy()
        np.testing.assert_allclose(ema(x, weight), expected, rtol=1e-12)
    with_nan = np.array([1.0, np.nan, 3.0])
    assert ema(with_nan, 0.5)[1] == 1.0  # a NaN is skipped, the curve carries on
    assert ema(np.full(7, 0.1), 0.9).tolist() == [0.1] * 7  # constants stay exact


def test_learning_curves_draw_raw_and_smoothed_per_split(sample: SampleRun) -> None:
    fig = learning_curves(sample.path, smoothing=0.0)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["loss", "accuracy", "lr"]  # losses first, then accuracy
    loss_ax = fig.axes[0]
    np.testing.assert_allclose(_line(loss_ax, "train"), sample.train_loss)
    np.testing.assert_allclose(_line(loss_ax, "val"), sample.val_loss)
    raw = [ln for ln in loss_ax.get_lines() if ln.get_alpha() == 0.3]
    np.testing.assert_allclose(raw[0].get_ydata(), sample.train_loss)  # raw, faint
    accuracy_ax = fig.axes[1]
    assert [t.get_text() for t in accuracy_ax.get_legend().get_texts()] == ["val"]
    assert "sample" in fig.get_suptitle()


def test_learning_curves_smooth_with_the_given_weight(sample: SampleRun) -> None:
    fig = learning_curves(sample.path, ["loss"], smoothing=0.9)
    expected = pd.Series(sample.train_loss).ewm(alpha=0.1, adjust=True).mean().to_numpy()
    np.testing.assert_allclose(_line(fig.axes[0], "train"), expected, rtol=1e-12)


def test_long_series_draw_a_min_max_band(sample: SampleRun) -> None:
    fig = learning_curves(sample.path, ["loss"], buckets=50, smoothing=0.0)
    ax = fig.axes[0]
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)][:1]
    v = band.get_paths()[0].vertices
    per_bucket = sample.train_loss.reshape(50, 10)  # 500 steps → 50 buckets of 10 steps
    np.testing.assert_allclose(v[1:51, 1], per_bucket.min(axis=1))
    np.testing.assert_allclose(v[52:102, 1][::-1], per_bucket.max(axis=1))
    np.testing.assert_allclose(_line(ax, "train"), per_bucket.mean(axis=1))


def test_confusion_heatmap_counts_and_normalised(sample: SampleRun) -> None:
    fig = confusion_heatmap(sample.path, "val")
    meshes = [c for ax in fig.axes[:2] for c in ax.collections if isinstance(c, QuadMesh)]
    counts, normalised = (np.asarray(m.get_array()).reshape(3, 3) for m in meshes)
    np.testing.assert_array_equal(counts, confusion_matrix(sample.y_true, sample.y_pred))
    expected = confusion_matrix(sample.y_true, sample.y_pred, normalize="true")
    np.testing.assert_allclose(normalised, expected)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == LABELS
    assert {t.get_text() for t in ax.texts} == {str(x) for x in counts.ravel()}
    accuracy = float((sample.y_true == sample.y_pred).mean())
    assert f"accuracy {accuracy:.3f}" in fig.get_suptitle()


def test_class_metrics_bars_equal_sklearn(sample: SampleRun) -> None:
    fig = class_metrics_bars(sample.path)
    ax = fig.axes[0]
    heights = np.array([p.get_height() for p in ax.patches]).reshape(3, 3)  # metric × class
    p, r, f, _ = precision_recall_fscore_support(sample.y_true, sample.y_pred, zero_division=0)
    np.testing.assert_allclose(heights, [p, r, f])
    macro = f1_score(sample.y_true, sample.y_pred, average="macro")
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("macro F1")]
    assert line.get_ydata()[0] == pytest.approx(macro)
    assert [t.get_text() for t in ax.get_xticklabels()] == LABELS


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


def test_many_layers_get_a_colour_bar_not_a_legend(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for s in range(3):
            w.log_layer_stats(s, "update_ratio", {f"l{i}": {"ratio": 1e-3} for i in range(30)})
    fig = update_ratios(tmp_path)
    assert len(fig.axes) == 2 and fig.axes[0].get_legend() is None  # plot + colour bar
    assert fig.axes[1].get_ylabel() == "layer index of 30 (input → output)"
    assert fig.axes[1].get_ylim() == (0, 29)


def test_compare_runs_overlays_every_run(tmp_path: Path) -> None:
    a = write_sample_run(tmp_path / "a", name="lr=0.1", n=100)
    b = write_sample_run(tmp_path / "b", name="lr=0.01", seed=1, n=100)
    fig = compare_runs([a.path, RunReader(b.path)])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["loss", "accuracy", "lr"]
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["lr=0.1 · train", "lr=0.1 · val", "lr=0.01 · train", "lr=0.01 · val"]
    assert _line(ax, "lr=0.01 · val").tolist() == pytest.approx(b.val_loss.tolist())
    with pytest.raises(ValueError, match="at least one run"):
        compare_runs([])


def test_missing_data_raises_a_clear_error(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        w.log_layer_stats(0, "grad", {"fc": {"std": 1.0}})
    with pytest.raises(ValueError, match="no confusion matrix for split 'val'"):
        confusion_heatmap(tmp_path)
    with pytest.raises(ValueError, match=r"no 'grad' statistic 'norm' \(has: std\)"):
        gradient_flow(tmp_path)
    with pytest.raises(ValueError, match="has no scalars"):
        learning_curves(tmp_path)
    assert run_figures(tmp_path) == {}


def test_run_figures_saved_as_non_trivial_pngs(sample: SampleRun, tmp_path: Path) -> None:
    figures = run_figures(sample.path)
    assert list(figures) == [
        "learning_curves", "confusion_val", "class_metrics_val",
        "gradient_flow", "update_ratios", "dead_fractions",
    ]  # fmt: skip
    for stem, fig in figures.items():
        assert isinstance(fig, Figure)
        path = tmp_path / f"{stem}.png"
        fig.savefig(path, dpi=60)
        pixels = imread(path)
        assert path.stat().st_size > 5_000 and pixels.shape[0] > 150
        colours = np.unique(pixels[..., :3].reshape(-1, 3), axis=0)
        assert len(colours) > 50  # drawn content, not a blank canvas


# -- distributions ---------------------------------------------------------------------------

_QS = [0, 6.68, 15.87, 30.85, 50, 69.15, 84.13, 93.32, 100]


def _histogram(x: np.ndarray, bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The monitor's binning: ``bins`` equal bins over [-max|x|, max|x|]."""
    lim = float(np.abs(x).max())
    counts, edges = np.histogram(x, bins=bins, range=(-lim, lim))
    return edges, counts.astype(np.float64)


@pytest.mark.parametrize("shape", ["normal", "bimodal", "skewed"])
def test_histogram_percentiles_equal_numpy_within_one_bin(shape: str) -> None:
    rng = np.random.default_rng(3)
    x = {
        "normal": rng.normal(0.1, 0.02, 20_000),
        "bimodal": np.concatenate([rng.normal(-1, 0.05, 5000), rng.normal(1, 0.05, 15000)]),
        "skewed": rng.exponential(0.3, 20_000),
    }[shape]
    edges, counts = _histogram(x)
    got = histogram_percentiles(edges, counts, _QS)
    width = edges[1] - edges[0]
    np.testing.assert_allclose(got, np.percentile(x, _QS), atol=width)
    assert got[0] <= x.min() and got[-1] >= x.max()  # the outer band holds every value


def test_histogram_percentiles_edge_cases() -> None:
    edges = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    got = histogram_percentiles(edges, np.array([0.0, 2.0, 0.0, 2.0]), [0, 25, 50, 75, 100])
    # empty bins hold nothing: min and max are the outer edges of the non-empty bins
    np.testing.assert_allclose(got, [1.0, 1.5, 2.0, 3.5, 4.0])
    assert np.isnan(histogram_percentiles(edges, np.zeros(4), [0, 50])).all()
    np.testing.assert_allclose(histogram_percentiles(edges[:2], np.array([5.0]), [50]), [0.5])


def _write_histogram_run(path: Path) -> dict[str, dict[int, np.ndarray]]:
    """Weights and gradients whose range changes per step; the samples are returned."""
    rng = np.random.default_rng(0)
    samples: dict[str, dict[int, np.ndarray]] = {}
    with RunWriter(path, run_name="hists") as w:
        for step in (0, 10, 20, 30):
            for i, name in enumerate(["fc1.weight", "fc1.bias", "fc2.weight"]):
                x = rng.normal(0.05 * i, 0.1 * (1 + step / 10), 4000)
                samples.setdefault(name, {})[step] = x
                w.log_histogram(step, "weight", name, *_histogram(x))
        w.log_histogram(5, "grad", "fc1.weight", *_histogram(rng.normal(0, 1e-3, 4000)))
        w.log_histogram(5, "grad", "fc2.weight", [-1.0, 0.0, 1.0], [0.0, 0.0])  # nothing counted
    return samples


def test_distributions_bands_and_median_follow_the_samples(tmp_path: Path) -> None:
    samples = _write_histogram_run(tmp_path)
    fig = distributions(tmp_path, "weight")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["fc1.weight", "fc2.weight"]  # no bias by default
    assert fig.get_suptitle() == "Weight distributions · hists"
    for ax, name in zip(axes, ["fc1.weight", "fc2.weight"]):
        (median,) = [ln for ln in ax.get_lines() if ln.get_label() == "median"]
        assert median.get_xdata().tolist() == [0, 10, 20, 30]
        per_step = samples[name]
        expected = [np.median(per_step[s]) for s in (0, 10, 20, 30)]
        widths = [2 * np.abs(per_step[s]).max() / 64 for s in (0, 10, 20, 30)]
        assert np.all(np.abs(median.get_ydata() - expected) <= widths)
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert [b.get_label() for b in bands] == ["min–max", "7–93%", "16–84%", "31–69%"]
        top = bands[0].get_paths()[0].vertices[:, 1].max()  # the outer band reaches the max
        assert (
            max(per_step[s].max() for s in per_step)
            <= top
            <= max(np.abs(per_step[s]).max() for s in per_step)
        )
        assert [b.get_alpha() for b in bands] == sorted(b.get_alpha() for b in bands)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["min–max", "7–93%", "16–84%", "31–69%", "median"]
    with_bias = distributions(tmp_path, "weight", biases=True)
    assert [ax.get_title() for ax in with_bias.axes] == ["fc1.weight", "fc1.bias", "fc2.weight"]


def test_distributions_of_a_single_step_and_empty_counts(tmp_path: Path) -> None:
    _write_histogram_run(tmp_path)
    fig = distributions(tmp_path, "grad")
    one, empty = fig.axes[:2]
    (median,) = [ln for ln in one.get_lines() if ln.get_label() == "median"]
    assert median.get_xdata().tolist() == [4.5, 5.5]  # a column one step wide around step 5
    assert [t.get_text() for t in empty.texts] == ["no values counted"]
    assert fig.get_suptitle().startswith("Gradient distributions")


def test_distributions_spread_layers_and_errors(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for i in range(20):
            w.log_histogram(0, "activation", f"l{i}", [-1.0, 0.0, 1.0], [1.0, 2.0])
    fig = distributions(tmp_path, "activation", max_layers=5)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == [
        "l0", "l5", "l10", "l14", "l19"
    ]  # fmt: skip
    chosen = distributions(tmp_path, "activation", ["l3", "l1"])
    assert [ax.get_title() for ax in chosen.axes if ax.get_visible()] == ["l3", "l1"]
    with pytest.raises(ValueError, match=r"no 'activation' histogram of \['nope'\]"):
        distributions(tmp_path, "activation", ["nope"])
    with pytest.raises(ValueError, match=r"no 'weight' histograms \(has: activation\)"):
        distributions(tmp_path)


def test_run_figures_add_distributions_when_histograms_are_stored(
    sample: SampleRun, tmp_path: Path
) -> None:
    _write_histogram_run(tmp_path)
    figures = run_figures(tmp_path)
    assert list(figures) == ["weight_distributions", "grad_distributions"]
    assert not any(k.endswith("_distributions") for k in run_figures(sample.path))
    figures["weight_distributions"].savefig(tmp_path / "w.png", dpi=60)
    pixels = imread(tmp_path / "w.png")
    assert len(np.unique(pixels[..., :3].reshape(-1, 3), axis=0)) > 50
