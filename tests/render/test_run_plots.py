"""run_figures: every figure a run has data for, under file stems that are always safe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from tests.corrupt_stores import edit_store
from tests.render.test_run_distributions import _write_histogram_run
from tests.store.sample_runs import SampleRun, write_sample_run
from torchscope.render import run_plots
from torchscope.render.run_plots import (
    MAX_CONFUSION_SPLITS,
    confusion_heatmap,
    gradient_flow,
    learning_curves,
    left_out,
    run_figures,
)
from torchscope.store import RunWriter


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    return write_sample_run(tmp_path_factory.mktemp("runs") / "sample")


def test_run_plots_exports_every_figure() -> None:
    for name in run_plots.__all__:
        assert callable(getattr(run_plots, name))
    assert {"learning_curves", "compare_runs", "distributions", "run_figures"} <= set(
        run_plots.__all__
    )


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


def test_store_names_never_become_paths(tmp_path: Path) -> None:
    hostile = ["/../../escaped/owned", "..", "a/b", "a_b", "CON", "x", ".hidden"]
    with RunWriter(tmp_path) as w:
        for split in hostile:
            w.log_confusion(0, split, [[1, 0], [0, 1]])
    # a store made elsewhere may hold what the writer refuses: an escape sequence
    edit_store(tmp_path, "UPDATE confusion SET split = ? WHERE split = 'x'", "\x1b[2Jx")
    stems = [s.removeprefix("confusion_") for s in run_figures(tmp_path) if "confusion" in s]
    assert len(stems) == len(set(stems)) == len(hostile)  # distinct names, distinct stems
    for stem in stems:
        assert "/" not in stem and "\\" not in stem and ".." not in stem
        assert stem[0].isalnum() and stem.isascii() and stem.isprintable()
    assert "escaped_owned-5e6a735b" in stems and "a_b" in stems


def test_left_out_names_what_is_not_drawn(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        for s in range(3):
            w.log_scalars(s, {f"m{i:02d}": float(i * s) for i in range(1, 20)})
        for i in range(MAX_CONFUSION_SPLITS + 2):
            w.log_confusion(0, f"split{i}", [[1, 0], [0, 1]])
        w.log_confusion(0, "empty", [[0, 0], [0, 0]])
    notes = left_out(tmp_path)
    assert notes == [
        "learning curves: left out (at most 12 panels): m13, m14, m15, m16, m17, m18 and 1 more; "
        "choose scalars by name or pattern (torchscope plot --metric REGEX)",
        "classification: no samples counted in the latest matrix of empty",
        "classification: 2 splits left out (at most 8): split8, split9",
    ]
    figures = run_figures(tmp_path)
    assert sum(stem.startswith("confusion_") for stem in figures) == MAX_CONFUSION_SPLITS
    assert "confusion_empty" not in figures
    assert left_out(tmp_path, metric="m0")[0].startswith("classification:")  # curves all shown
