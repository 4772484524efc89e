"""Distribution figures: percentile bands from stored histograms, checked against numpy."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from torchscope.render.run_distributions import distributions, histogram_percentiles
from torchscope.store import RunWriter

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
    assert fig.get_suptitle() == (
        "Weight distributions · hists · steps 0–30, 4 snapshots · 2 of 3 tensors"
    )
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
    # one snapshot: its histogram, not flat bands one step wide, and the title says so
    assert one.get_title() == "fc1.weight\none snapshot, step 5"
    assert one.get_lines() == [] and one.get_xlabel() == "value"
    bars = one.patches
    assert len(bars) == 64 and sum(b.get_height() for b in bars) == 4000
    assert [t.get_text() for t in empty.texts] == ["no values counted"]
    assert fig.get_suptitle() == (
        "Gradient distributions · hists · step 5, 1 snapshot · 2 of 2 tensors"
    )
    assert fig.legends == []  # no panel draws bands: no band legend


def test_a_resumed_run_keeps_the_last_histogram_per_step(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for step, shift in ((0, 0.0), (1, 1.0), (2, 2.0), (1, 10.0), (2, 11.0), (3, 12.0)):
            w.log_histogram(step, "weight", "w", [shift - 1, shift, shift + 1], [1.0, 1.0])
    ax = distributions(tmp_path).axes[0]
    (median,) = [ln for ln in ax.get_lines() if ln.get_label() == "median"]
    assert median.get_xdata().tolist() == [0, 1, 2, 3]  # in order: no zig-zag
    assert median.get_ydata().tolist() == [0.0, 10.0, 11.0, 12.0]  # the later launch's


def test_malformed_histograms_are_refused(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        w.log_histogram(0, "weight", "w", [0.0, 1.0, 2.0], [1.0, 1.0])
    conn = sqlite3.connect(tmp_path / "run.sqlite")  # past the writer's own checks
    with conn:
        conn.execute("UPDATE histograms SET counts = ?", (np.array([1.0]).tobytes(),))
    conn.close()
    # the store refuses it as it reads (StoreError is a ValueError), before any drawing
    with pytest.raises(ValueError, match=r"histogram 1 \(weight 'w'\) has 3 edges for 1 counts"):
        distributions(tmp_path)


def test_distributions_spread_layers_and_errors(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for i in range(20):
            w.log_histogram(0, "activation", f"l{i}", [-1.0, 0.0, 1.0], [1.0, 2.0])
    fig = distributions(tmp_path, "activation", max_layers=5)
    titles = [ax.get_title().split("\n")[0] for ax in fig.axes if ax.get_visible()]
    assert titles == ["l0", "l5", "l10", "l14", "l19"]
    chosen = distributions(tmp_path, "activation", ["l3", "l1"])
    titles = [ax.get_title() for ax in chosen.axes if ax.get_visible()]
    assert titles == ["l3\none snapshot, step 0", "l1\none snapshot, step 0"]
    with pytest.raises(ValueError, match=r"no 'activation' histogram of \['nope'\]"):
        distributions(tmp_path, "activation", ["nope"])
    with pytest.raises(ValueError, match=r"no 'weight' histograms \(has: activation\)"):
        distributions(tmp_path)
    with pytest.raises(ValueError, match=r"\(has: l0, l1, .*, l7 and 12 more\)"):
        distributions(tmp_path, "activation", ["nope"])
