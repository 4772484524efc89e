"""Distributions of weights, gradients and activations over steps, from stored histograms.

Like TensorBoard's distributions view: percentile bands of each tensor's histograms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from torchscope.render.figures import axes_grid
from torchscope.render.run_common import Run, new_figure, palette, reader_of, run_style
from torchscope.store.reader import RunReader

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DISTRIBUTION_PERCENTILES", "distributions", "histogram_percentiles"]

# TensorBoard's distribution bands: percentiles 0/7/16/31/50/69/84/93/100 (±0, 1.5, 1, 0.5 σ)
DISTRIBUTION_PERCENTILES = (0.0, 6.68, 15.87, 30.85, 50.0, 69.15, 84.13, 93.32, 100.0)
_KIND_TITLES = {"weight": "Weight", "grad": "Gradient", "activation": "Activation"}


def histogram_percentiles(
    edges: np.ndarray, counts: np.ndarray, percentiles: Sequence[float]
) -> np.ndarray:
    """Percentiles of the values a histogram counts, assuming each bin's values are uniform.

    Exact to within one bin width of the percentiles of the underlying samples. Percentile 0
    is the left edge of the first non-empty bin, 100 the right edge of the last; a histogram
    with no counts gives NaN.

    Example:
        >>> histogram_percentiles(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0]), [0, 50, 100])
        array([0.        , 1.33333333, 2.        ])
    """
    q = np.asarray(percentiles, dtype=np.float64) / 100.0
    counts = np.asarray(counts, dtype=np.float64)
    cum = np.cumsum(counts)
    if not len(cum) or cum[-1] <= 0:
        return np.full(q.shape, np.nan)
    target = q * cum[-1]
    first = np.searchsorted(cum, 0.0, side="right")  # first non-empty bin
    idx = np.where(target > 0, np.searchsorted(cum, target, side="left"), first)
    idx = np.minimum(idx, len(counts) - 1)  # rounding at q = 1
    before = cum[idx] - counts[idx]
    frac = np.clip((target - before) / np.where(counts[idx] > 0, counts[idx], 1.0), 0.0, 1.0)
    return edges[idx] + frac * (edges[idx + 1] - edges[idx])


def _spread(names: Sequence[str], most: int) -> list[str]:
    """At most ``most`` names, evenly spread over the list (first and last included)."""
    if len(names) <= most:
        return list(names)
    picks = np.unique(np.linspace(0, len(names) - 1, max(most, 1)).round().astype(int))
    return [names[i] for i in picks]


def _distribution_layers(
    reader: RunReader, kind: str, layers: Sequence[str] | None, most: int, biases: bool
) -> list[str]:
    known = [n for k, n in reader.histogram_names() if k == kind]
    if layers is not None:
        missing = [n for n in layers if n not in known]
        if missing:
            have = ", ".join(known) or "none"
            raise ValueError(f"{reader.name} has no {kind!r} histogram of {missing} (has: {have})")
        return list(layers)
    if not known:
        kinds = ", ".join(dict.fromkeys(k for k, _ in reader.histogram_names())) or "none"
        raise ValueError(f"{reader.name} has no {kind!r} histograms (has: {kinds})")
    no_bias = [n for n in known if not n.endswith(".bias")]
    return _spread(known if biases or not no_bias else no_bias, most)


def _draw_distribution(ax: Axes, reader: RunReader, kind: str, name: str, color: Any) -> None:
    """Shaded percentile bands (outer ones lighter) and the median, over steps."""
    hists = reader.histograms(kind, name)
    steps = np.array([h.step for h in hists], dtype=np.float64)
    bands = np.array(
        [histogram_percentiles(h.edges, h.counts, DISTRIBUTION_PERCENTILES) for h in hists]
    ).reshape(len(hists), len(DISTRIBUTION_PERCENTILES))
    if len(steps) == 1:  # one snapshot: a column one step wide instead of an invisible line
        steps, bands = np.array([steps[0] - 0.5, steps[0] + 0.5]), np.repeat(bands, 2, axis=0)
        ax.set_xticks([steps.mean()])
    if not np.isfinite(bands).any():
        ax.text(0.5, 0.5, "no values counted", ha="center", transform=ax.transAxes)
        return
    labels = ("min–max", "7–93%", "16–84%", "31–69%")
    n = len(DISTRIBUTION_PERCENTILES)
    for i, label in enumerate(labels):  # the pairs (0, 100), (7, 93)… from outside in
        lo, hi = bands[:, i], bands[:, n - 1 - i]
        ax.fill_between(steps, lo, hi, color=color, alpha=0.16 + 0.14 * i, linewidth=0, label=label)
    dark = tuple(0.55 * c for c in color)
    ax.plot(steps, bands[:, n // 2], color=dark, linewidth=1.4, label="median")


def distributions(
    run: Run,
    kind: str = "weight",
    layers: Sequence[str] | None = None,
    max_layers: int = 12,
    *,
    biases: bool = False,
) -> Figure:
    """How each tensor's values are distributed over steps: one panel of percentile bands each.

    ``kind`` is ``"weight"``, ``"grad"`` or ``"activation"``. Like TensorBoard's
    distributions view, each panel shades the ranges between the 0/7/16/31 and the
    69/84/93/100 percentiles of the stored histograms (±1.5, ±1, ±0.5 σ for a normal
    distribution), darker towards the median, which is drawn as a line. Bands suit
    histograms whose range changes from step to step better than a heatmap, whose rows
    would need one fixed set of bins. By default up to ``max_layers`` tensors are
    shown, spread evenly from input to output, ``*.bias`` tensors left out unless
    ``biases`` is true.

    Example:
        >>> distributions("runs/exp1", "grad").savefig("grads.png")  # doctest: +SKIP
    """
    reader = reader_of(run)
    names = _distribution_layers(reader, kind, layers, max_layers, biases)
    color = dict(zip(("weight", "grad", "activation"), palette(3))).get(kind, palette(4)[3])
    cols = 2 if len(names) == 4 else min(len(names), 3)
    with run_style():
        fig = new_figure(max(4.4 * cols, 7.5), 2.7 * math.ceil(len(names) / cols) + 0.7)
        for ax, name in zip(axes_grid(fig, len(names), cols), names):
            _draw_distribution(ax, reader, kind, name, color)
            ax.set_title(name, fontsize="medium")
            ax.set_xlabel("step")
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useOffset=False)
        handles, labels = fig.axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=5, fontsize="small")
        title = _KIND_TITLES.get(kind, kind.capitalize())
        fig.suptitle(f"{title} distributions · {reader.name}")
    return fig
