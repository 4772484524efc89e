"""Figures of an Evaluation draw its numbers: cells, bars, curves and points are checked."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

import torchscope
from torchscope.analysis.evaluation import Evaluation
from torchscope.render.eval_plots import (
    class_metrics_figure,
    confusion_figure,
    curves_figure,
    evaluation_figures,
    reliability_figure,
    residuals_figure,
)

matplotlib.use("Agg")

NAMES = ["cat", "$bad{math", "[red]x[/red]", "dog"]


@pytest.fixture(scope="module")
def ev() -> Evaluation:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(300, 6, generator=g)
    y = (x[:, :4].argmax(1) + (torch.rand(300, generator=g) < 0.3).long()) % 4
    model = nn.Linear(6, 4)
    with torch.no_grad():
        model.weight.zero_()
        model.weight[:, :4] = torch.eye(4) * 2
    batches = [(x[i : i + 50], y[i : i + 50]) for i in range(0, 300, 50)]
    return torchscope.evaluate(model, batches, labels=NAMES, progress=False, split="test", step=4)


def texts(fig: matplotlib.figure.Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_confusion_cells_are_the_counts(ev: Evaluation) -> None:
    fig = confusion_figure(ev)
    fig.canvas.draw()  # mathtext would fail here on an unescaped "$"
    counts, shares = fig.axes[:2]  # the colour bars come after them
    assert [t.get_text() for t in counts.texts] == [
        str(v) for row in ev.confusion or [] for v in row
    ]
    m = np.asarray(ev.confusion, dtype=float)
    expected = (m / m.sum(1, keepdims=True)).ravel()
    assert [float(t.get_text()) for t in shares.texts] == pytest.approx(expected, abs=0.005)
    ticks = [t.get_text() for t in counts.get_yticklabels()]
    assert ticks == ["cat", r"\$bad{math", "[red]x[/red]", "dog"]
    assert "test" in fig.get_suptitle() and "step 4" in fig.get_suptitle()
    assert "n = 300" in fig.get_suptitle()


def test_class_bars_are_precision_recall_f1(ev: Evaluation) -> None:
    fig = class_metrics_figure(ev)
    ax = fig.axes[0]
    heights = sorted(
        round(p.get_height(), 9) for p in ax.patches if p.get_width() > 0 and p.get_height() > 0
    )
    expected = sorted(
        round(v, 9) for r in ev.classes for v in (r.precision, r.recall, r.f1) if v > 0
    )
    assert heights == pytest.approx(expected)
    macro = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert macro and macro[0].get_ydata()[0] == pytest.approx(ev.metrics["macro_f1"])


def test_reliability_bars_are_bin_accuracies(ev: Evaluation) -> None:
    fig = reliability_figure(ev)
    top, bottom = fig.axes
    c = ev.calibration
    assert c is not None
    bars = top.patches[: len(c.counts)]
    assert [b.get_height() for b in bars] == pytest.approx(np.nan_to_num(c.accuracy))
    assert [b.get_height() for b in bottom.patches] == c.counts
    assert f"ECE {c.ece:.4f}" in top.get_title()


def test_curves_are_the_evaluation_curves(ev: Evaluation) -> None:
    roc, pr = curves_figure(ev, "roc"), curves_figure(ev, "pr")
    lines = roc.axes[0].lines[: len(ev.curves)]
    for line, curve in zip(lines, ev.curves):
        assert line.get_xdata().tolist() == curve.fpr and line.get_ydata().tolist() == curve.tpr
    labels = [t.get_text() for t in roc.axes[0].get_legend().get_texts()]
    assert labels[0] == f"cat ({ev.curves[0].roc_auc:.3f})"
    assert f"macro ROC AUC {ev.metrics['roc_auc']:.4f}" in roc.axes[0].get_title()
    pr_lines = pr.axes[0].lines[: len(ev.curves)]
    assert [line.get_ydata().tolist() for line in pr_lines] == [c.precision for c in ev.curves]
    assert not [t for t in roc.axes[0].texts if "drawn" in t.get_text()]  # every class drawn
    with pytest.raises(ValueError, match="kind"):
        curves_figure(ev, "det")


def test_residual_points_are_the_sample() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 2, generator=g)
    batches = [(x[i : i + 40], x[i : i + 40, :1] * 3) for i in range(0, 120, 40)]
    ev = torchscope.evaluate(nn.Linear(2, 1), batches, progress=False)
    fig = residuals_figure(ev)
    left, right = fig.axes
    r = ev.residuals
    assert r is not None
    offsets = left.collections[0].get_offsets()
    assert offsets[:, 0].tolist() == pytest.approx(r.target[0])
    assert offsets[:, 1].tolist() == pytest.approx(r.predicted[0])
    resid = right.collections[0].get_offsets()[:, 1]
    assert resid.tolist() == pytest.approx((np.array(r.predicted[0]) - r.target[0]).tolist())
    assert f"R² {ev.outputs[0].r2:.4f}" in left.get_title()
    assert list(evaluation_figures(ev)) == ["residuals"]


def test_save_writes_json_and_pngs(ev: Evaluation, tmp_path: Path) -> None:
    paths = ev.save(tmp_path / "eval")
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [
            "evaluation.json",
            "confusion.png",
            "class_metrics.png",
            "reliability.png",
            "roc.png",
            "precision_recall.png",
        ]
    )
    for p in paths:
        head = p.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if p.suffix == ".png" else head.startswith(b"{")
    assert Evaluation.from_dict(json.loads(paths[0].read_text())).to_dict() == ev.to_dict()
    only = ev.save(tmp_path / "one" / "eval.json")
    assert only == [tmp_path / "one" / "eval.json"]
    assert json.loads(only[0].read_text()) == ev.to_dict()


def test_figures_without_data_are_left_out() -> None:
    batches = [(torch.randn(30, 3), torch.randint(0, 3, (30,)))]
    ev = torchscope.evaluate(nn.Linear(3, 3), batches, curves=False, progress=False)
    assert sorted(ev.figures()) == ["class_metrics", "confusion", "reliability"]
    assert not math.isnan(ev.metrics["ece"])
