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

from torchscope.render.class_plots import class_bars, confusion_matrices
from torchscope.render.figures import figure_text
from torchscope.render.run_common import Run, reader_of

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
    """Counts and row-normalised (recall per true class) confusion matrices side by side
    (``class_plots.confusion_matrices``); the title says the accuracy and its 95% interval.

    Example:
        >>> confusion_heatmap("runs/exp1", "val").savefig("confusion.png")  # doctest: +SKIP
    """
    c = _matrix(reader_of(run), split, step)
    return confusion_matrices(c.counts, c.labels, c.title("Confusion matrix"))


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
    rates = {"precision": precision, "recall": recall, "F1": f1}
    return class_bars(c.labels, m.support, rates, m.macro_f1, c.title("Per-class metrics"))
