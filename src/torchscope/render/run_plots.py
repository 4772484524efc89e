"""Figures of a training run, drawn from its store with matplotlib and seaborn.

``run_figures`` draws every figure a run has data for; the figures themselves live in
one module per kind (``run_curves``, ``run_classification``, ``run_layers``,
``run_distributions``) and are re-exported here. Every function takes a RunReader (or a
run directory) and returns a ``matplotlib.figure.Figure``; nothing is shown or written
(``fig.savefig(path)`` does that). No pyplot: figures are plain ``Figure`` objects, so
this works in threads and servers.

Example:
    >>> from torchscope.render.run_plots import learning_curves
    >>> learning_curves("runs/exp1").savefig("curves.png")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torchscope.render.file_names import safe_stem
from torchscope.render.run_choice import choose_curves
from torchscope.render.run_classification import class_metrics_bars, confusion_heatmap
from torchscope.render.run_common import Run, reader_of, shorten
from torchscope.render.run_curves import compare_runs, ema, learning_curves
from torchscope.render.run_distributions import distributions, histogram_percentiles
from torchscope.render.run_layers import dead_fractions, gradient_flow, update_ratios

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from torchscope.store.reader import RunReader

__all__ = [
    "class_metrics_bars",
    "compare_runs",
    "confusion_heatmap",
    "dead_fractions",
    "distributions",
    "ema",
    "gradient_flow",
    "histogram_percentiles",
    "learning_curves",
    "left_out",
    "run_figures",
    "update_ratios",
]

MAX_CONFUSION_SPLITS = 8  # each split draws two figures


def run_figures(run: Run, *, metric: str | None = None) -> dict[str, Figure]:
    """Every figure the run has data for, keyed by a file stem (``learning_curves``…).

    Stems hold names from the store (confusion splits) only through ``safe_stem``, so a
    stem is always one plain file-name component. ``metric`` (a regular expression)
    picks the scalars of the learning curves. At most ``MAX_CONFUSION_SPLITS`` splits get
    classification figures; ``left_out`` names what was not drawn.

    Example:
        >>> for stem, fig in run_figures("runs/exp1").items():  # doctest: +SKIP
        ...     fig.savefig(f"{stem}.png")
    """
    reader = reader_of(run)
    figures: dict[str, Figure] = {}
    if reader.scalar_names():
        figures["learning_curves"] = learning_curves(reader, metric=metric)
    for split in _confusion_splits(reader)[:MAX_CONFUSION_SPLITS]:
        stem = safe_stem(split)
        figures[f"confusion_{stem}"] = confusion_heatmap(reader, split)
        figures[f"class_metrics_{stem}"] = class_metrics_bars(reader, split)
    if "norm" in reader.layer_stat_names("grad"):
        figures["gradient_flow"] = gradient_flow(reader)
    if "ratio" in reader.layer_stat_names("update_ratio"):
        figures["update_ratios"] = update_ratios(reader)
    if "dead_fraction" in reader.layer_stat_names("activation"):
        figures["dead_fractions"] = dead_fractions(reader)
    kinds = {k for k, _ in reader.histogram_names()}
    for kind in ("weight", "grad", "activation"):
        if kind in kinds:
            figures[f"{kind}_distributions"] = distributions(reader, kind)
    return figures


def left_out(run: Run, *, metric: str | None = None) -> list[str]:
    """What ``run_figures`` leaves undrawn for the run, one line each (empty if nothing).

    Example:
        >>> left_out("runs/exp1")  # doctest: +SKIP
        ['learning curves: left out (at most 12 panels): acc_3, acc_4 and 9,986 more; …']
    """
    reader = reader_of(run)
    lines = []
    if reader.scalar_names():
        lines += [f"learning curves: {n}" for n in choose_curves(reader, metric=metric).notes()]
    empty = [shorten(s, 30) for s in reader.confusion_splits() if not _counts_samples(reader, s)]
    if empty:
        lines.append(
            f"classification: no samples counted in the latest matrix of {', '.join(empty[:6])}"
        )
    splits = _confusion_splits(reader)
    if len(splits) > MAX_CONFUSION_SPLITS:
        rest = [shorten(s, 30) for s in splits[MAX_CONFUSION_SPLITS:]]
        more = f" and {len(rest) - 6:,} more" if len(rest) > 6 else ""
        lines.append(
            f"classification: {len(rest):,} splits left out (at most {MAX_CONFUSION_SPLITS}): "
            + ", ".join(rest[:6])
            + more
        )
    return lines


def _confusion_splits(reader: RunReader) -> list[str]:
    """Splits whose latest confusion matrix counts samples ("val" and "test" first)."""
    order = {"val": 0, "test": 1}
    splits = sorted(reader.confusion_splits(), key=lambda s: (order.get(s, 2), s))
    return [s for s in splits if _counts_samples(reader, s)]


def _counts_samples(reader: RunReader, split: str) -> bool:
    c = reader.confusion(split)
    return c is not None and c.matrix.size > 0 and bool(c.matrix.sum() > 0)
