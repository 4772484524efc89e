"""Figures of weight spectra: the power-law exponent alpha along depth, and empirical
spectral densities (ESDs) with their fitted tails, in the house style.

A fit on too few eigenvalues (``LayerSpectrum.fit_warning``) is drawn hollow and dotted and
says so in its panel; failed fits are counted, not drawn.

Example:
    >>> import torch, torchscope
    >>> from torchscope.render.spectral_plots import spectral_figure
    >>> net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Linear(64, 64))
    >>> fig = spectral_figure(torchscope.inspect_params(net, spectral=True).spectral)
    >>> fig.axes[0].get_ylabel()
    'alpha (log scale)'
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from torchscope.analysis.spectral import ALPHA_RANGE
from torchscope.render.figures import (
    axes_grid,
    figure,
    integer_ticks,
    log_ticks,
    palette,
    theme,
    wrap_name,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from torchscope.analysis.spectral import LayerSpectrum, SpectralReport

__all__ = ["esd_axes", "esd_grid", "spectral_figure"]


def esd_axes(ax: Axes, layer: LayerSpectrum, title_chars: int = 46) -> None:
    """Log-log density of one ESD, its fitted power law from xmin, and the xmin line."""
    ax.set_title(wrap_name(layer.name, title_chars), fontsize=8)
    ax.set_xlabel("eigenvalue λ of WᵀW", fontsize=8)
    ax.set_ylabel("density", fontsize=8)
    ax.tick_params(labelsize=7)
    evals = layer.evals[layer.evals > 0]
    if len(evals) < 2 or evals.min() == evals.max():
        ax.text(0.5, 0.5, "too few distinct eigenvalues", transform=ax.transAxes, ha="center")
        return
    count = int(np.clip(2 * math.sqrt(len(evals)), 8, 50))  # bins that each hold a few values
    bins = np.logspace(np.log10(evals.min()), np.log10(evals.max()), count + 1)
    colors = palette(4)
    ax.hist(evals, bins=bins.tolist(), density=True, alpha=0.75, color=colors[0],
            label=f"ESD ({len(layer.evals)} eigenvalues)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    if layer.status == "ok":
        _fit_lines(ax, layer, colors[3])
    else:
        ax.text(0.03, 0.05, "power-law fit failed", transform=ax.transAxes, fontsize=7)
    log_ticks(ax, "x")
    log_ticks(ax, "y")
    # below the axes: inside, it covered bars in small panels
    legend = ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    if layer.fit_warning:
        legend.get_texts()[-1].set_color(colors[3])


def _fit_lines(ax: Axes, layer: LayerSpectrum, color: object) -> None:
    tail = np.logspace(np.log10(layer.xmin), np.log10(layer.evals.max()), 50)
    weight = layer.num_pl_spikes / len(layer.evals)
    pdf = weight * (layer.alpha - 1) / layer.xmin * (tail / layer.xmin) ** (-layer.alpha)
    style = ":" if layer.fit_warning else "--"
    ax.plot(tail, pdf, style, color=color, label=f"power law α = {layer.alpha:.2f}")
    ax.axvline(layer.xmin, color=color, lw=0.8, alpha=0.7,
               label=f"xmin {layer.xmin:.3g} (tail: {layer.num_pl_spikes})")  # fmt: skip
    if layer.fit_warning:  # a legend entry, so that it never covers the data
        ax.plot([], [], " ", label=layer.fit_warning)


def spectral_figure(spectral: SpectralReport, layer: str | None = None) -> Figure:
    """Alpha of every layer along depth (band: 2–6, WeightWatcher's well-trained range) and
    the ESD of one layer with its fit (default: the largest alpha-weighted value)."""
    with theme():
        fig = figure(12.5, 5.0)
        left, right = fig.subplots(1, 2, width_ratios=[1.6, 1])
        _alpha_axes(left, spectral)
        layers = spectral.layers
        if layers:
            chosen = (
                spectral.layer(layer)
                if layer
                else max(layers, key=lambda x: x.alpha_weighted if x.status == "ok" else -np.inf)
            )
            esd_axes(right, chosen)
    return fig


def _alpha_axes(ax: Axes, spectral: SpectralReport) -> None:
    from matplotlib.lines import Line2D

    layers = spectral.layers
    good, bad = palette(4)[2], palette(4)[3]
    alphas = [x.alpha if x.status == "ok" else np.nan for x in layers]
    edges = [bad if x.warning else good for x in layers]
    faces = ["none" if x.fit_warning else c for x, c in zip(layers, edges)]
    ax.axhspan(*ALPHA_RANGE, color=good, alpha=0.08)
    ax.scatter(range(len(layers)), alphas, facecolors=faces, edgecolors=edges, s=22)
    ax.set_yscale("log")
    log_ticks(ax, "y")
    integer_ticks(ax, "x")
    ax.set_xlabel(f"layer (model order, {len(layers)} fitted weights)")
    ax.set_ylabel("alpha (log scale)")
    failed = sum(x.status != "ok" for x in layers)
    few = sum(bool(x.fit_warning) for x in layers)
    ax.set_title(
        "Power-law exponent per layer"
        + (f"; {failed} fits failed (not drawn)" if failed else "")
        + (f"; {len(spectral.skipped)} weights skipped" if spectral.skipped else ""),
        fontsize=9,
    )
    marks = [
        Line2D([], [], ls="", marker="o", color=good, label="2 ≤ alpha ≤ 6"),
        Line2D([], [], ls="", marker="o", color=bad, label="outside 2–6"),
    ]
    if few:
        label = f"hollow: < 50 eigenvalues, unreliable ({few})"
        marks.append(Line2D([], [], ls="", marker="o", mfc="none", color="0.3", label=label))
    ax.legend(handles=marks, fontsize=7, loc="upper right")


def esd_grid(spectral: SpectralReport, max_panels: int = 12, cols: int = 4) -> Figure:
    """Log-log ESDs with their power-law fits, for up to ``max_panels`` layers spread over
    the model's depth."""
    layers = spectral.layers
    pick = np.unique(np.linspace(0, len(layers) - 1, min(max_panels, len(layers))).astype(int))
    with theme():
        cols = max(1, min(cols, len(pick)))
        fig = figure(3.6 * cols, 3.5 * max(1, math.ceil(len(pick) / cols)))
        for ax, i in zip(axes_grid(fig, len(pick), cols), pick):
            esd_axes(ax, layers[i])
        what = f"{len(pick)} of {len(layers)} layers, spread over depth"
        if len(pick) == len(layers):
            what = f"{len(layers)} layers"
        fig.suptitle(f"Empirical spectral densities and power-law tails ({what})")
    return fig
