"""The per-class figures of a classifier, drawn once for an Evaluation and for a run.

``confusion_matrices``: counts and the row-normalised matrix (recall per true class) side
by side. Each row is labelled with its class's sample count; a class with no samples has
a blank row in the normalised matrix, marked "no samples", not a row of zeros. Cells carry
their values up to ``ANNOTATE`` classes and the axes name every class up to ``NAMED``.

``class_bars``: precision, recall and F1 of each class as grouped bars with the macro F1
as a dashed line; a rate given as NaN (nothing to divide by) is left out, not drawn as 0.

Example:
    >>> fig = confusion_matrices([[5, 1], [0, 0]], ["cat", "dog"], "Confusion matrix")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['cat (6)', 'dog (0)']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from torchscope.render.figures import figure, palette, theme

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ["ANNOTATE", "NAMED", "class_bars", "confusion_matrices"]

ANNOTATE = 20  # write the values in the cells up to this many classes
NAMED = 40  # name every class on the axes up to this many


def confusion_matrices(counts: ArrayLike, labels: Sequence[str], title: str) -> Figure:
    """Counts and row-normalised matrices of ``counts`` (rows true, columns predicted).

    ``labels`` are figure text already (``figures.figure_text``), one per class; ``title``
    goes above both matrices.
    """
    import seaborn as sns

    values = np.asarray(counts, dtype=np.int64)
    k = len(values)
    support = values.sum(axis=1)
    normalised = np.full(values.shape, np.nan)
    np.divide(values, support[:, None], out=normalised, where=support[:, None] > 0)
    named = k <= NAMED
    rows = [f"{label} ({n:,})" for label, n in zip(labels, support.tolist())] if named else False
    side = min(max(4.0, 0.42 * k + 2.2), 12.0)
    with theme():
        fig = figure(2 * side + 1, side, dpi=100)
        ax_counts, ax_norm = fig.subplots(1, 2)
        for ax, shown, fmt, extra in (
            (ax_counts, values, "d", {}),
            (ax_norm, normalised, ".2f", {"vmin": 0, "vmax": 1}),
        ):
            sns.heatmap(
                shown,
                ax=ax,
                annot=k <= ANNOTATE,
                fmt=fmt,
                cmap="Blues",
                square=True,
                xticklabels=list(labels) if named else False,
                yticklabels=rows,
                cbar_kws={"shrink": 0.8},
                annot_kws={"fontsize": 7 if k > 10 else 9},
                **extra,
            )
        for row in np.flatnonzero(support == 0):  # a blank row: say why
            ax_norm.text(k / 2, row + 0.5, "no samples", ha="center", va="center", color="0.4")
        for ax, what in ((ax_counts, "counts"), (ax_norm, "normalised by true class")):
            ax.set(title=what, xlabel="predicted class", ylabel="true class (samples)")
            ax.tick_params(axis="y", rotation=0)
        fig.suptitle(title)
    return fig


def class_bars(
    labels: Sequence[str],
    support: Sequence[int],
    rates: Mapping[str, ArrayLike],
    macro_f1: float,
    title: str,
) -> Figure:
    """Grouped bars of ``rates`` (name → one value per class, NaN not drawn) with each
    class's sample count under its name, and ``macro_f1`` as a dashed line (if defined).

    ``labels`` are figure text already (``figures.figure_text``).

    Example:
        >>> rates = {"precision": [1.0, float("nan")], "recall": [0.5, 0.0]}
        >>> fig = class_bars(["cat", "dog"], [2, 1], rates, 0.33, "Per-class metrics")
        >>> [float(p.get_height()) for p in fig.axes[0].patches]  # the NaN one left out
        [1.0, 0.5, 0.0]
    """
    k = len(labels)
    x = np.arange(k)
    width = 0.8 / max(len(rates), 1)
    counts = [int(n) for n in support]
    with theme():
        fig = figure(min(max(6.0, 0.55 * k + 2.5), 36.0), 4.2, dpi=100)
        ax = fig.subplots()
        for i, ((name, values), color) in enumerate(zip(rates.items(), palette(len(rates)))):
            vals = np.asarray(values, dtype=float)
            ok = np.isfinite(vals)
            offset = (i - (len(rates) - 1) / 2) * width
            ax.bar(x[ok] + offset, vals[ok], width, label=name, color=color)
        for empty in [i for i, n in enumerate(counts) if n == 0]:
            ax.text(
                empty, 0.02, "no samples", ha="center", rotation=90, color="0.4", fontsize="small"
            )
        if np.isfinite(macro_f1):
            ax.axhline(
                macro_f1, color="0.3", linestyle="--", linewidth=1, label=f"macro F1 {macro_f1:.3f}"
            )
        names = [f"{label}\nn={n:,}" for label, n in zip(labels, counts)]
        ax.set_xticks(x, names, rotation=90 if k > 12 else 0)
        ax.set(ylim=(0, 1.05), xlabel="class", ylabel="score", title=title)
        ax.legend(loc="lower right", fontsize="small", ncols=4)
    return fig
