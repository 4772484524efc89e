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

from torchscope.render.run_classification import class_metrics_bars, confusion_heatmap
from torchscope.render.run_common import Run, reader_of
from torchscope.render.run_curves import compare_runs, ema, learning_curves
from torchscope.render.run_distributions import distributions, histogram_percentiles
from torchscope.render.run_layers import dead_fractions, gradient_flow, update_ratios

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
    "run_figures",
    "update_ratios",
]


def run_figures(run: Run) -> dict[str, Figure]:
    """Every figure the run has data for, keyed by a file stem (``learning_curves``…).

    Example:
        >>> for stem, fig in run_figures("runs/exp1").items():  # doctest: +SKIP
        ...     fig.savefig(f"{stem}.png")
    """
    reader = reader_of(run)
    figures: dict[str, Figure] = {}
    if reader.scalar_names():
        figures["learning_curves"] = learning_curves(reader)
    for split in reader.confusion_splits():
        figures[f"confusion_{split}"] = confusion_heatmap(reader, split)
        figures[f"class_metrics_{split}"] = class_metrics_bars(reader, split)
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
