"""Classification figures: counts and rates equal scikit-learn's, each titled with its n."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from scipy.stats import binomtest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from tests.store.sample_runs import LABELS, SampleRun, write_sample_run
from torchscope.render.run_classification import (
    class_metrics_bars,
    confusion_heatmap,
    wilson_interval,
)
from torchscope.store import RunWriter


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    return write_sample_run(tmp_path_factory.mktemp("runs") / "sample")


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
    correct = int((sample.y_true == sample.y_pred).sum())
    lo, hi = binomtest(correct, 200).proportion_ci(method="wilson")
    assert fig.get_suptitle() == (
        f"Confusion matrix · val · step 499 · n = 200 · accuracy {correct / 200:.3f} "
        f"(95% CI {lo:.2f}–{hi:.2f})"
    )
    support = np.bincount(sample.y_true, minlength=3)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        f"{label} ({n})" for label, n in zip(LABELS, support)
    ]


def test_class_metrics_bars_equal_sklearn(sample: SampleRun) -> None:
    fig = class_metrics_bars(sample.path)
    ax = fig.axes[0]
    heights = np.array([p.get_height() for p in ax.patches]).reshape(3, 3)  # metric × class
    p, r, f, _ = precision_recall_fscore_support(sample.y_true, sample.y_pred, zero_division=0)
    np.testing.assert_allclose(heights, [p, r, f])
    macro = f1_score(sample.y_true, sample.y_pred, average="macro")
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("macro F1")]
    assert line.get_ydata()[0] == pytest.approx(macro)
    support = np.bincount(sample.y_true, minlength=3)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        f"{label}\nn={n}" for label, n in zip(LABELS, support)
    ]
    assert "· n = 200 · accuracy" in ax.get_title()


def test_wilson_interval_equals_scipy() -> None:
    for k, n in ((0, 1), (3, 3), (141, 200), (5, 1000)):
        expected = binomtest(k, n).proportion_ci(method="wilson")
        assert wilson_interval(k, n) == pytest.approx((expected.low, expected.high), abs=1e-12)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_a_three_sample_matrix_says_so(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as w:
        w.log_confusion(40, "val", [[2, 0, 0], [0, 1, 0], [0, 0, 0]], ["a", "b", "c"])
    fig = confusion_heatmap(tmp_path)
    assert fig.get_suptitle() == (
        "Confusion matrix · val · step 40 · n = 3 · accuracy 1.000 (95% CI 0.44–1.00)"
    )
    normalised = np.asarray(fig.axes[1].collections[0].get_array(), dtype=float)
    # class c has no samples: its recall row is blank (masked), not a row of zeros
    assert np.ma.getmaskarray(fig.axes[1].collections[0].get_array()).reshape(3, 3)[2].all()
    assert normalised.reshape(3, 3)[0, 0] == 1.0
    bars = class_metrics_bars(tmp_path).axes[0]
    heights = {(round(p.get_x() + p.get_width() / 2), p.get_label()) for p in bars.patches}
    # precision, recall and F1 of a and b; nothing for c, never predicted and never true
    assert len(bars.patches) == 6 and not any(x == 2 for x, _ in heights)
    assert [t.get_text() for t in bars.get_xticklabels()] == ["a\nn=2", "b\nn=1", "c\nn=0"]


@pytest.mark.parametrize(
    ("matrix", "labels", "message"),
    [
        ([[1, 2, 3]], None, "not a square matrix"),
        ([[0, 0], [0, 0]], None, "counts no samples"),
        ([[1, -1], [0, 1]], None, "not counts|a negative count"),
        ([[1, 0], [0, 1]], ["only one"], "1 labels for 2 classes"),
    ],
)
def test_malformed_matrices_are_refused(
    tmp_path: Path, matrix: list[list[int]], labels: list[str] | None, message: str
) -> None:
    with RunWriter(tmp_path) as w:
        w.log_confusion(0, "val", [[1, 0], [0, 1]])
    conn = sqlite3.connect(tmp_path / "run.sqlite")  # past the writer's own checks
    with conn:
        conn.execute(
            "UPDATE confusion SET matrix = ?, labels = ?",
            (json.dumps(matrix), None if labels is None else json.dumps(labels)),
        )
    conn.close()
    for draw in (confusion_heatmap, class_metrics_bars):
        with pytest.raises(ValueError, match=message):
            draw(tmp_path)
