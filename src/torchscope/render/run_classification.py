"""Classification figures of a run: the confusion matrix and per-class metrics of a split."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from torchscope.render.run_common import Run, new_figure, palette, reader_of, run_style
from torchscope.store.reader import RunReader

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["class_metrics_bars", "confusion_heatmap"]


def _confusion_or_raise(reader: RunReader, split: str, step: int | None) -> Any:
    c = reader.confusion(split, step)
    if c is None:
        at = "" if step is None else f" at step {step}"
        raise ValueError(f"{reader.name} has no confusion matrix for split {split!r}{at}")
    return c


def confusion_heatmap(run: Run, split: str = "val", step: int | None = None) -> Figure:
    """Counts and row-normalised (recall per true class) confusion matrices side by side.

    Example:
        >>> confusion_heatmap("runs/exp1", "val").savefig("confusion.png")  # doctest: +SKIP
    """
    import seaborn as sns

    reader = reader_of(run)
    c = _confusion_or_raise(reader, split, step)
    n = len(c.matrix)
    rows = c.matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(c.matrix, rows, out=np.zeros(c.matrix.shape), where=rows > 0)
    annot = n <= 20
    side = min(max(4.0, 0.45 * n + 2), 11.0)
    with run_style():
        fig = new_figure(2 * side + 1, side)
        ax_counts, ax_norm = fig.subplots(1, 2)
        sns.heatmap(
            c.matrix,
            ax=ax_counts,
            annot=annot,
            fmt="d",
            cmap="rocket_r",
            square=True,
            xticklabels=c.labels,
            yticklabels=c.labels,
            cbar_kws={"shrink": 0.8},
        )
        sns.heatmap(
            normalised,
            ax=ax_norm,
            annot=annot,
            fmt=".2f",
            cmap="rocket_r",
            vmin=0,
            vmax=1,
            square=True,
            xticklabels=c.labels,
            yticklabels=c.labels,
            cbar_kws={"shrink": 0.8},
        )
        for ax, title in ((ax_counts, "counts"), (ax_norm, "normalised by true class")):
            ax.set(title=title, xlabel="predicted", ylabel="true")
            ax.tick_params(axis="y", rotation=0)
        accuracy = np.trace(c.matrix) / max(int(c.matrix.sum()), 1)
        fig.suptitle(f"Confusion matrix · {split} · step {c.step} · accuracy {accuracy:.3f}")
    return fig


def class_metrics_bars(run: Run, split: str = "val", step: int | None = None) -> Figure:
    """Per-class precision, recall and F1 as grouped bars, macro F1 as a dashed line.

    Example:
        >>> class_metrics_bars("runs/exp1").savefig("per_class.png")  # doctest: +SKIP
    """
    from torchscope.analysis.classification import classification_metrics

    reader = reader_of(run)
    c = _confusion_or_raise(reader, split, step)
    m = classification_metrics(c.matrix, c.labels)
    metrics = {"precision": m.precision, "recall": m.recall, "F1": m.f1}
    n = len(m.labels)
    x = np.arange(n)
    width = 0.8 / len(metrics)
    with run_style():
        fig = new_figure(min(max(6.0, 0.55 * n + 2), 16.0), 3.8)
        ax = fig.subplots()
        for i, ((label, vals), color) in enumerate(zip(metrics.items(), palette(3))):
            ax.bar(x + (i - 1) * width, vals, width, label=label, color=color)
        ax.axhline(
            m.macro_f1, color="0.3", linestyle="--", linewidth=1, label=f"macro F1 {m.macro_f1:.3f}"
        )
        ax.set_xticks(x, m.labels, rotation=45 if n > 12 else 0)
        ax.set(
            ylim=(0, 1.05),
            xlabel="class",
            ylabel="score",
            title=f"Per-class metrics · {split} · step {c.step}",
        )
        ax.legend(loc="lower right", fontsize="small", ncols=4)
    return fig
