"""Distributions of weights, gradients and activations over steps, from stored histograms.

Like TensorBoard's distributions view: percentile bands of each tensor's histograms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from torchscope.render.figures import axes_grid, figure, figure_text, palette, theme
from torchscope.render.run_common import (
    NAME_CHARS,
    Run,
    reader_of,
    shorten,
    spread,
    step_axis,
    steps_text,
)
from torchscope.render.units import plural
from torchscope.store.reader import RunReader
from torchscope.store.records import Histogram

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


def _distribution_layers(
    reader: RunReader, kind: str, layers: Sequence[str] | None, most: int, biases: bool
) -> list[str]:
    known = [n for k, n in reader.histogram_names() if k == kind]
    if layers is not None:
        missing = [n for n in layers if n not in known]
        if missing:
            have = _some(known)
            raise ValueError(f"{reader.name} has no {kind!r} histogram of {missing} (has: {have})")
        return list(layers)
    if not known:
        kinds = _some(list(dict.fromkeys(k for k, _ in reader.histogram_names())))
        raise ValueError(f"{reader.name} has no {kind!r} histograms (has: {kinds})")
    no_bias = [n for n in known if not n.endswith(".bias")]
    return spread(known if biases or not no_bias else no_bias, most)


def _some(names: Sequence[str], most: int = 8) -> str:
    more = f" and {len(names) - most:,} more" if len(names) > most else ""
    return (", ".join(shorten(n, 40) for n in names[:most]) or "none") + more


def _snapshots(reader: RunReader, kind: str, name: str) -> list[Histogram]:
    """The tensor's histograms in step order, the last written kept where a step repeats.

    A resumed run logs some steps twice; keeping one per step (as the per-layer
    statistics do) draws the bands in order instead of zig-zagging between passes.
    Raises ValueError for a histogram whose edges and counts do not fit together.
    """
    by_step: dict[int, Histogram] = {}
    for h in reader.histograms(kind, name):
        edges, counts = h.edges, h.counts
        if (
            len(edges) != len(counts) + 1
            or not np.isfinite(edges).all()
            or bool((np.diff(edges) < 0).any())
            or not np.isfinite(counts).all()
            or bool((counts < 0).any())
        ):
            what = f"{reader.name}: {kind} histogram of {shorten(name, 40)} at step {h.step}"
            raise ValueError(f"{what} is malformed ({len(edges)} edges, {len(counts)} counts)")
        by_step[h.step] = h
    return [by_step[s] for s in sorted(by_step)]


def _draw_snapshot(ax: Axes, h: Histogram, color: Any) -> None:
    """A tensor with one snapshot: its histogram itself (bands over one step say nothing)."""
    widths = np.diff(h.edges)
    ax.bar(h.edges[:-1], h.counts, widths, align="edge", color=color, alpha=0.7, linewidth=0)
    ax.set_xlabel("value")
    ax.set_ylabel("count")


def _draw_distribution(ax: Axes, hists: Sequence[Histogram], color: Any) -> None:
    """Shaded percentile bands (outer ones lighter) and the median, over steps."""
    steps = np.array([h.step for h in hists], dtype=np.float64)
    bands = np.array(
        [histogram_percentiles(h.edges, h.counts, DISTRIBUTION_PERCENTILES) for h in hists]
    ).reshape(len(hists), len(DISTRIBUTION_PERCENTILES))
    step_axis(ax)
    labels = ("min–max", "7–93%", "16–84%", "31–69%")
    n = len(DISTRIBUTION_PERCENTILES)
    for i, label in enumerate(labels):  # the pairs (0, 100), (7, 93)… from outside in
        lo, hi = bands[:, i], bands[:, n - 1 - i]
        ax.fill_between(steps, lo, hi, color=color, alpha=0.16 + 0.14 * i, linewidth=0, label=label)
    dark = tuple(0.55 * c for c in color)
    ax.plot(steps, bands[:, n // 2], color=dark, linewidth=1.4, label="median")


def _panel(ax: Axes, hists: Sequence[Histogram], name: str, color: Any) -> None:
    """One tensor: bands over its snapshots, its histogram if it has one, or a word why not."""
    counted = [h for h in hists if h.counts.sum() > 0]
    title = figure_text(name, 50)
    if not counted:
        ax.text(0.5, 0.5, "no values counted", ha="center", transform=ax.transAxes)
        ax.set(xticks=[], yticks=[])
    elif len(counted) == 1:
        _draw_snapshot(ax, counted[0], color)
        title += f"\none snapshot, step {counted[0].step}"
    else:
        _draw_distribution(ax, counted, color)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useOffset=False)
    if 0 < len(counted) < len(hists):
        title += f" ({len(hists) - len(counted)} empty snapshots left out)"
    ax.set_title(title, fontsize="medium")


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
    would need one fixed set of bins. A tensor with a single snapshot is drawn as its
    histogram instead (bands one step wide would look like a constant). By default up to
    ``max_layers`` tensors are shown, spread evenly from input to output, ``*.bias``
    tensors left out unless ``biases`` is true; the title says how many of how many.

    Example:
        >>> distributions("runs/exp1", "grad").savefig("grads.png")  # doctest: +SKIP
    """
    reader = reader_of(run)
    names = _distribution_layers(reader, kind, layers, max_layers, biases)
    color = dict(zip(("weight", "grad", "activation"), palette(3))).get(kind, palette(4)[3])
    cols = 2 if len(names) == 4 else min(len(names), 3)
    snapshots = {name: _snapshots(reader, kind, name) for name in names}
    steps = sorted({h.step for hists in snapshots.values() for h in hists})
    with theme():
        fig = figure(max(4.4 * cols, 7.5), 2.9 * math.ceil(len(names) / cols) + 0.7, dpi=100)
        axes = axes_grid(fig, len(names), cols)
        for ax, name in zip(axes, names):
            _panel(ax, snapshots[name], name, color)
        handles, labels = _band_legend(axes)
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=5, fontsize="small")
        title = _KIND_TITLES.get(kind, figure_text(kind, 20).capitalize())
        shown = f"{len(names)} of {len(_known(reader, kind))} tensors"
        run_name = figure_text(reader.name, NAME_CHARS)
        fig.suptitle(
            f"{title} distributions · {run_name} · {steps_text(steps)}, "
            f"{len(steps)} {plural(len(steps), 'snapshot')} · {shown}"
        )
    return fig


def _known(reader: RunReader, kind: str) -> list[str]:
    return [n for k, n in reader.histogram_names() if k == kind]


def _band_legend(axes: Sequence[Axes]) -> tuple[list[Any], list[str]]:
    """The legend of the first panel that draws bands (none when every panel is a histogram)."""
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            return handles, labels
    return [], []
