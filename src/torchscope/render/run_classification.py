"""Classification figures of a run: the confusion matrix and per-class metrics of a split.

Each figure says what it is from: the split, the step and the number of samples n the
matrix counts, with a 95% interval on the accuracy (a matrix of the last 3-sample batch
reads "n = 3 · accuracy 1.000 (95% CI 0.44–1.00)", not "accuracy 1.000"). Rates a class
cannot support (recall of a class with no samples, precision of one never predicted)
are left blank instead of drawn as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from torchscope.render.run_common import (
    Run,
    figure_text,
    new_figure,
    palette,
    reader_of,
    run_style,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from torchscope.store.reader import RunReader

__all__ = ["class_metrics_bars", "confusion_heatmap", "wilson_interval"]

_Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (95% by default); (0, 1) when ``n`` is 0.

    Example:
        >>> [round(x, 3) for x in wilson_interval(3, 3)]
        [0.439, 1.0]
    """
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class _Matrix:
    """A stored confusion matrix, checked: square counts, one label per class."""

    step: int
    split: str
    counts: np.ndarray
    labels: list[str]

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def title(self, what: str) -> str:
        correct = int(np.trace(self.counts))
        lo, hi = wilson_interval(correct, self.n)
        accuracy = f"accuracy {correct / self.n:.3f} (95% CI {lo:.2f}–{hi:.2f})"
        split = figure_text(self.split, 30)
        return f"{what} · {split} · step {self.step} · n = {self.n:,} · {accuracy}"


def _matrix(reader: RunReader, split: str, step: int | None) -> _Matrix:
    """The confusion matrix of a split, validated; ValueError when missing or malformed."""
    c = reader.confusion(split, step)
    where = f"{reader.name}: confusion matrix of split {split!r}"
    if c is None:
        at = "" if step is None else f" at step {step}"
        raise ValueError(f"{reader.name} has no confusion matrix for split {split!r}{at}")
    counts = np.asarray(c.matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"{where} is not a square matrix (shape {counts.shape})")
    if not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        raise ValueError(f"{where} holds values that are not counts")
    if counts.sum() == 0:
        raise ValueError(f"{where} at step {c.step} counts no samples")
    labels = [figure_text(label, 24) for label in c.labels]
    if len(labels) != len(counts):
        raise ValueError(f"{where} has {len(labels)} labels for {len(counts)} classes")
    return _Matrix(int(c.step), c.split, counts, labels)


def confusion_heatmap(run: Run, split: str = "val", step: int | None = None) -> Figure:
    """Counts and row-normalised (recall per true class) confusion matrices side by side.

    Rows are labelled with their class's sample count; a class with no samples has a
    blank row in the normalised matrix.

    Example:
        >>> confusion_heatmap("runs/exp1", "val").savefig("confusion.png")  # doctest: +SKIP
    """
    import seaborn as sns

    c = _matrix(reader_of(run), split, step)
    k = len(c.counts)
    support = c.counts.sum(axis=1)
    normalised = np.full(c.counts.shape, np.nan)
    np.divide(c.counts, support[:, None], out=normalised, where=support[:, None] > 0)
    rows = [f"{label} ({n:,})" for label, n in zip(c.labels, support.tolist())]
    annot = k <= 20
    side = min(max(4.0, 0.45 * k + 2), 11.0)
    with run_style():
        fig = new_figure(2 * side + 1, side)
        ax_counts, ax_norm = fig.subplots(1, 2)
        for ax, values, fmt, extra in (
            (ax_counts, c.counts, "d", {}),
            (ax_norm, normalised, ".2f", {"vmin": 0, "vmax": 1}),
        ):
            sns.heatmap(
                values,
                ax=ax,
                annot=annot,
                fmt=fmt,
                cmap="rocket_r",
                square=True,
                xticklabels=c.labels,
                yticklabels=rows,
                cbar_kws={"shrink": 0.8},
                **extra,
            )
        for row in np.flatnonzero(support == 0):  # a blank row: say why
            ax_norm.text(k / 2, row + 0.5, "no samples", ha="center", va="center", color="0.4")
        for ax, title in ((ax_counts, "counts"), (ax_norm, "normalised by true class")):
            ax.set(title=title, xlabel="predicted", ylabel="true (samples)")
            ax.tick_params(axis="y", rotation=0)
        fig.suptitle(c.title("Confusion matrix"))
    return fig


def class_metrics_bars(run: Run, split: str = "val", step: int | None = None) -> Figure:
    """Per-class precision, recall and F1 as grouped bars, macro F1 as a dashed line.

    A rate with nothing to divide by (recall of a class with no samples, precision of a
    class never predicted) is not drawn; the class's sample count is under its name.

    Example:
        >>> class_metrics_bars("runs/exp1").savefig("per_class.png")  # doctest: +SKIP
    """
    from torchscope.analysis.classification import classification_metrics

    c = _matrix(reader_of(run), split, step)
    m = classification_metrics(c.counts, c.labels)
    support = np.asarray(m.support)
    predicted = c.counts.sum(axis=0)
    precision = np.where(predicted > 0, m.precision, np.nan)
    recall = np.where(support > 0, m.recall, np.nan)
    f1 = np.where(np.isfinite(precision) & np.isfinite(recall), m.f1, np.nan)
    metrics = {"precision": precision, "recall": recall, "F1": f1}
    k = len(m.labels)
    x = np.arange(k)
    width = 0.8 / len(metrics)
    with run_style():
        fig = new_figure(min(max(6.0, 0.55 * k + 2), 16.0), 3.8)
        ax = fig.subplots()
        for i, ((label, vals), color) in enumerate(zip(metrics.items(), palette(3))):
            ok = np.isfinite(vals)
            ax.bar(x[ok] + (i - 1) * width, vals[ok], width, label=label, color=color)
        for empty in np.flatnonzero(support == 0).tolist():
            ax.text(
                empty, 0.02, "no samples", ha="center", rotation=90, color="0.4", fontsize="small"
            )
        ax.axhline(
            m.macro_f1, color="0.3", linestyle="--", linewidth=1, label=f"macro F1 {m.macro_f1:.3f}"
        )
        names = [f"{label}\nn={n:,}" for label, n in zip(m.labels, support.tolist())]
        ax.set_xticks(x, names, rotation=45 if k > 12 else 0)
        ax.set(ylim=(0, 1.05), xlabel="class", ylabel="score", title=c.title("Per-class metrics"))
        ax.legend(loc="lower right", fontsize="small", ncols=4)
    return fig
