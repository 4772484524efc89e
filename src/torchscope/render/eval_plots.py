"""Figures of an Evaluation (seaborn): confusion matrix (counts and normalised), per-class
precision/recall/F1 bars, reliability diagram, ROC and precision-recall curves, and for
regression predicted-vs-true and residuals.

Each function returns a ``matplotlib.figure.Figure`` and neither shows nor writes it
(``Evaluation.save`` does). Class and output names are figure text (``figure_text``:
never mathtext, shortened); every title says what the figure is from (split, step, n).

Example:
    >>> import torch, torchscope
    >>> batches = [(torch.randn(32, 4), torch.randint(0, 3, (32,)))]
    >>> ev = torchscope.evaluate(torch.nn.Linear(4, 3), batches, progress=False)
    >>> sorted(evaluation_figures(ev))
    ['class_metrics', 'confusion', 'precision_recall', 'reliability', 'roc']
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from torchscope.render.figures import figure, figure_text, palette, theme

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from torchscope.analysis.evaluation import Evaluation

__all__ = [
    "class_metrics_figure",
    "confusion_figure",
    "curves_figure",
    "evaluation_figures",
    "reliability_figure",
    "residuals_figure",
]

_ANNOTATE = 20  # write counts in the cells up to this many classes
_TICKS = 40  # name every class on the axes up to this many
_LEGEND = 10  # curves named in a legend; more are drawn without one


def _title(ev: Evaluation, what: str) -> str:
    step = "" if ev.step is None else f" · step {ev.step}"
    return f"{what} · {figure_text(ev.split, 30)}{step} · n = {ev.samples:,}"


def _names(labels: list[str], limit: int = 20) -> list[str]:
    return [figure_text(x, limit) for x in labels]


def confusion_figure(ev: Evaluation) -> Figure:
    """Counts and row-normalised (recall per true class) confusion matrices side by side."""
    import seaborn as sns

    if ev.confusion is None:
        raise ValueError("this evaluation has no confusion matrix")
    counts = np.asarray(ev.confusion, dtype=np.int64)
    k = len(counts)
    support = counts.sum(axis=1)
    normalised = np.full(counts.shape, np.nan)
    np.divide(counts, support[:, None], out=normalised, where=support[:, None] > 0)
    names = _names(ev.labels) if k <= _TICKS else False
    side = min(max(4.0, 0.42 * k + 2.2), 12.0)
    with theme():
        fig = figure(2 * side + 1, side, dpi=100)
        for ax, values, fmt, extra, what in (
            (fig.add_subplot(1, 2, 1), counts, "d", {}, "counts"),
            (fig.add_subplot(1, 2, 2), normalised, ".2f", {"vmin": 0, "vmax": 1}, "share of row"),
        ):
            sns.heatmap(
                values,
                ax=ax,
                annot=k <= _ANNOTATE,
                fmt=fmt,
                cmap="Blues",
                square=True,
                xticklabels=names,
                yticklabels=names,
                cbar_kws={"shrink": 0.7},
                annot_kws={"fontsize": 7 if k > 10 else 9},
                **extra,
            )
            ax.set_xlabel("predicted class")
            ax.set_ylabel("true class")
            ax.set_title(what)
        fig.suptitle(_title(ev, "Confusion matrix"))
    return fig


def class_metrics_figure(ev: Evaluation, max_classes: int = 60) -> Figure:
    """Precision, recall and F1 of each class (the first ``max_classes``) as grouped bars,
    with the macro F1 as a line; support is written under each class name."""
    import pandas as pd
    import seaborn as sns

    rows = ev.classes[:max_classes]
    names = [f"{figure_text(r.label, 16)}\n(n={r.support:,})" for r in rows]
    data = pd.DataFrame(
        [
            (name, metric, getattr(r, metric))
            for name, r in zip(names, rows)
            for metric in ("precision", "recall", "f1")
        ],
        columns=["class", "metric", "value"],
    )
    with theme():
        fig = figure(max(6.0, 0.55 * len(rows) + 2.5), 4.2, dpi=100)
        ax = fig.add_subplot()
        sns.barplot(data=data, x="class", y="value", hue="metric", ax=ax, palette=palette(3))
        macro = ev.metrics.get("macro_f1", float("nan"))
        if macro == macro:
            ax.axhline(
                macro, color="0.3", linestyle="--", linewidth=1, label=f"macro F1 {macro:.3f}"
            )
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("")
        ax.set_ylabel("score")
        ax.legend(loc="lower right", fontsize=8, frameon=True)
        if len(rows) > 12:
            ax.tick_params(axis="x", labelrotation=90)
        more = len(ev.classes) - len(rows)
        extra = f" (first {len(rows)} of {len(ev.classes)} classes)" if more > 0 else ""
        ax.set_title(_title(ev, "Per-class precision, recall, F1") + extra)
    return fig


def reliability_figure(ev: Evaluation) -> Figure:
    """Accuracy per confidence bin (bars) against the bin's mean confidence (red ticks) and
    the diagonal of perfect calibration; below, how many predictions fall in each bin."""
    c = ev.calibration
    if c is None:
        raise ValueError("this evaluation has no calibration")
    edges = np.asarray(c.edges)
    centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    accuracy = np.nan_to_num(np.asarray(c.accuracy, dtype=float))
    confidence = np.asarray(c.confidence, dtype=float)
    filled = np.asarray(c.counts) > 0
    with theme():
        fig = figure(5.2, 5.6, dpi=100)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        top.bar(
            centers,
            accuracy,
            width=width,
            color=palette(1)[0],
            edgecolor="white",
            label="accuracy in bin",
        )
        top.hlines(
            confidence[filled],
            edges[:-1][filled],
            edges[1:][filled],
            color="#c0392b",
            linewidth=2,
            label="mean confidence in bin",
        )
        top.plot([0, 1], [0, 1], color="0.3", linestyle="--", linewidth=1, label="perfect")
        top.set_ylim(0, 1.02)
        top.set_ylabel("accuracy")
        top.legend(loc="upper left", fontsize=8)
        top.set_title(_title(ev, f"Reliability · ECE {c.ece:.4f}"))
        bottom.bar(centers, c.counts, width=width, color="0.55", edgecolor="white")
        bottom.set_yscale("symlog", linthresh=1)
        bottom.set_xlim(0, 1)
        bottom.set_xlabel("confidence of the predicted label")
        bottom.set_ylabel("count")
    return fig


def _curve_axes(ax: Axes, ev: Evaluation, kind: str) -> None:
    colors = palette(len(ev.curves))
    named = len(ev.curves) <= _LEGEND
    for color, c in zip(colors, ev.curves):
        x, y = (c.fpr, c.tpr) if kind == "roc" else (c.recall, c.precision)
        area = c.roc_auc if kind == "roc" else c.average_precision
        label = f"{figure_text(c.label, 20)} ({area:.3f})" if named else None
        ax.plot(
            x,
            y,
            color=color,
            linewidth=1.4,
            label=label,
            drawstyle="default" if kind == "roc" else "steps-post",
        )
    if kind == "roc":
        ax.plot([0, 1], [0, 1], color="0.5", linestyle=":", linewidth=1)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
    else:
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    if kind == "roc" and ev.curves and min(c.roc_auc for c in ev.curves) >= 0.95:
        _corner_inset(ax, ev)
    if named and ev.curves:
        ax.legend(
            loc="lower right" if kind == "roc" else "best",
            fontsize=7,
            title="class (area)",
            title_fontsize=7,
        )


def _corner_inset(ax: Axes, ev: Evaluation) -> None:
    """A zoom on the top-left corner, where the ROC curves of a good model all crowd."""
    inset = ax.inset_axes((0.3, 0.47, 0.4, 0.38))  # above the legend, right of the corner
    for color, c in zip(palette(len(ev.curves)), ev.curves):
        inset.plot(c.fpr, c.tpr, color=color, linewidth=1.2)
    inset.set_xlim(-0.002, 0.1)
    inset.set_ylim(0.8, 1.005)
    inset.tick_params(labelsize=6)
    inset.set_title("zoom: FPR ≤ 0.1", fontsize=7)
    ax.indicate_inset_zoom(inset, edgecolor="0.4")


def curves_figure(ev: Evaluation, kind: str = "roc") -> Figure:
    """One-vs-rest ROC (``kind="roc"``) or precision-recall (``"pr"``) curves, one per class,
    the area of each in the legend and the macro average in the title."""
    if kind not in ("roc", "pr"):
        raise ValueError(f"kind must be 'roc' or 'pr', not {kind!r}")
    key, what = ("roc_auc", "ROC AUC") if kind == "roc" else ("average_precision", "AP")
    value = ev.metrics.get(key, float("nan"))
    average = (
        "" if value != value else f" · {'' if ev.task == 'binary' else 'macro '}{what} {value:.4f}"
    )
    with theme():
        fig = figure(5.4, 5.0, dpi=100)
        ax = fig.add_subplot()
        _curve_axes(ax, ev, kind)
        name = "ROC curves" if kind == "roc" else "Precision–recall curves"
        ax.set_title(_title(ev, name) + average, fontsize=10)
        drawable = sum(1 for r in ev.classes if not math.isnan(r.average_precision))
        if len(ev.curves) < drawable:  # only the first classes' curves were kept
            ax.text(
                0.99,
                0.01 if kind == "pr" else 0.5,
                f"{len(ev.curves)} of {drawable} classes drawn",
                transform=ax.transAxes,
                ha="right",
                fontsize=7,
                color="0.4",
            )
    return fig


def residuals_figure(ev: Evaluation, max_outputs: int = 3) -> Figure:
    """Per output: predicted against true (with y = x), and residuals against predicted."""
    import seaborn as sns

    r = ev.residuals
    if r is None:
        raise ValueError("this evaluation has no residuals")
    outputs = min(len(r.predicted), max_outputs)
    with theme():
        fig = figure(9.0, 3.6 * outputs, dpi=100)
        axes = fig.subplots(outputs, 2, squeeze=False)
        for j in range(outputs):
            pred, true = np.asarray(r.predicted[j]), np.asarray(r.target[j])
            name = figure_text(ev.labels[j], 24)
            left, right = axes[j]
            sns.scatterplot(x=true, y=pred, ax=left, s=10, alpha=0.5, linewidth=0)
            lo, hi = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
            left.plot([lo, hi], [lo, hi], color="0.3", linestyle="--", linewidth=1)
            left.set(xlabel=f"true {name}", ylabel=f"predicted {name}")
            sns.scatterplot(x=pred, y=pred - true, ax=right, s=10, alpha=0.5, linewidth=0)
            right.axhline(0, color="0.3", linestyle="--", linewidth=1)
            right.set(xlabel=f"predicted {name}", ylabel="residual (predicted − true)")
            row = ev.outputs[j]
            left.set_title(f"{name} · R² {row.r2:.4f}", fontsize=9)
            right.set_title(f"{name} · RMSE {row.rmse:.4g} · MAE {row.mae:.4g}", fontsize=9)
        sample = len(r.target[0]) if r.target else 0
        shown = f" (a sample of {sample:,})" if sample < r.total else ""
        fig.suptitle(_title(ev, "Regression") + shown)
    return fig


def evaluation_figures(ev: Evaluation) -> dict[str, Figure]:
    """Every figure the evaluation has data for, keyed by file stem."""
    if not ev.is_classification:
        return {"residuals": residuals_figure(ev)} if ev.residuals is not None else {}
    figures: dict[str, Figure] = {}
    if ev.confusion is not None:
        figures["confusion"] = confusion_figure(ev)
    if ev.classes:
        figures["class_metrics"] = class_metrics_figure(ev)
    if ev.calibration is not None and any(ev.calibration.counts):
        figures["reliability"] = reliability_figure(ev)
    if ev.curves:
        figures["roc"] = curves_figure(ev, "roc")
        figures["precision_recall"] = curves_figure(ev, "pr")
    return figures
