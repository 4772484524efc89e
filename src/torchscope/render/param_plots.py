"""Figures of parameters: histograms, per-layer profiles along depth, weight heatmaps,
spectra (ESD and power-law fits), importance rankings and checkpoint diffs.

Every function returns a ``matplotlib.figure.Figure`` and neither shows nor writes it
(``save_figures`` does). No pyplot: the figures are plain ``Figure`` objects.

Example:
    >>> import torch, torchscope
    >>> from torchscope.render.param_plots import histogram_grid
    >>> fig = histogram_grid(torchscope.inspect_params(torch.nn.Linear(8, 4)))
    >>> len([ax for ax in fig.axes if ax.has_data()])
    2
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from torchscope.render.figures import axes_grid, figure

if TYPE_CHECKING:
    import torch
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from torchscope.analysis.importance import Importance
    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport
    from torchscope.analysis.spectral import LayerSpectrum, SpectralReport

__all__ = [
    "depth_profile",
    "diff_chart",
    "esd_grid",
    "histogram_grid",
    "importance_chart",
    "report_figures",
    "save_figures",
    "spectral_figure",
    "weight_heatmap",
]

ALPHA_BAND = (2.0, 6.0)
_PROFILE_LABELS = {
    "l2_norm": "L2 norm",
    "std": "std",
    "zero_frac": "zero fraction",
    "mean_abs": "mean |w|",
    "near_zero_frac": "near-zero fraction",
}


def _grid(n: int, cols: int, size: tuple[float, float] = (3.2, 2.2)) -> tuple[Figure, list[Axes]]:
    cols = max(1, min(cols, n))
    rows = max(1, math.ceil(n / cols))
    fig = figure(size[0] * cols, size[1] * rows)
    return fig, axes_grid(fig, n, cols)


def _short(name: str, keep: int = 3) -> str:
    parts = name.split(".")
    return ".".join(parts[-keep:]) if len(parts) > keep else name


def histogram_grid(
    report: ParamReport,
    *,
    log: bool = False,
    tensors: Sequence[str] | None = None,
    max_panels: int = 24,
    cols: int = 4,
) -> Figure:
    """One histogram per tensor (the largest ``max_panels`` unless ``tensors`` names them),
    linear or log counts."""
    chosen = (
        [report.tensor(n) for n in tensors]
        if tensors
        else sorted(report.tensors, key=lambda t: -t.numel)[:max_panels]
    )
    chosen.sort(key=lambda t: report.tensors.index(t))
    fig, axes = _grid(len(chosen), cols)
    for ax, t in zip(axes, chosen):
        lo, hi = t.hist_range
        edges = np.linspace(lo, hi if hi > lo else lo + 1e-12, len(t.hist) + 1)
        ax.stairs(t.hist, edges, fill=True, alpha=0.8)
        ax.set_title(_short(t.name), fontsize=8)
        ax.tick_params(labelsize=7)
        if log:
            ax.set_yscale("log")
        ax.text(
            0.98,
            0.95,
            f"μ {t.mean:.3g}\nσ {t.std:.3g}",
            transform=ax.transAxes,
            fontsize=6,
            ha="right",
            va="top",
        )
    fig.suptitle(f"Value histograms ({'log' if log else 'linear'} counts)")
    return fig


def depth_profile(
    report: ParamReport, metrics: Sequence[str] = ("l2_norm", "std", "zero_frac")
) -> Figure:
    """Bars of per-tensor metrics along the model's depth (tensors in order), one row each;
    weights (2+ dimensions) in one colour, vectors in another."""
    tensors = report.tensors
    fig = figure(max(8.0, 0.06 * len(tensors) + 4), 2.0 * len(metrics) + 0.6)
    axes = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
    x = np.arange(len(tensors))
    colours = ["tab:blue" if len(t.shape) >= 2 else "tab:orange" for t in tensors]
    for ax, metric in zip(axes, metrics):
        ax.bar(x, [getattr(t, metric) for t in tensors], color=colours, width=0.9)
        ax.set_ylabel(_PROFILE_LABELS.get(metric, metric), fontsize=8)
        if metric == "l2_norm":
            ax.set_yscale("log")
    step = max(1, len(tensors) // 40)
    axes[-1].set_xticks(
        x[::step], [_short(t.name, 2) for t in tensors[::step]], rotation=90, fontsize=6
    )
    fig.suptitle("Per-tensor statistics along depth (blue: weights, orange: vectors)")
    return fig


def weight_heatmap(tensor: torch.Tensor, name: str = "", max_size: int = 256) -> Figure:
    """A 2-D weight (conv kernels as out × in·kh·kw) as an image; larger matrices are shown
    as the RMS of blocks so that at most ``max_size`` × ``max_size`` cells remain."""
    import torch.nn.functional as F

    w = tensor.detach().float().cpu()
    w = w.reshape(w.shape[0], -1) if w.ndim >= 2 else w.reshape(1, -1)
    fig = figure(6.5, 5.0)
    ax = fig.subplots()
    rows, cols = w.shape
    if rows > max_size or cols > max_size:
        size = (min(rows, max_size), min(cols, max_size))
        cells = F.adaptive_avg_pool2d((w * w)[None, None], size)[0, 0].sqrt().numpy()
        image = ax.imshow(cells, aspect="auto", cmap="viridis", interpolation="nearest")
        note = f"block RMS, {rows}×{cols} → {size[0]}×{size[1]}"
    else:
        limit = float(w.abs().max()) or 1.0
        image = ax.imshow(
            w.numpy(),
            aspect="auto",
            cmap="RdBu_r",
            vmin=-limit,
            vmax=limit,
            interpolation="nearest",
        )
        note = f"{rows}×{cols}"
    fig.colorbar(image, ax=ax)
    ax.set_xlabel("input (× kernel position)")
    ax.set_ylabel("output unit")
    ax.set_title(f"{name or 'weight'} ({note})", fontsize=9)
    return fig


def _esd_axes(ax: Axes, layer: LayerSpectrum) -> None:
    """Log-log density of one ESD, the fitted power law from xmin, and the xmin line."""
    evals = layer.evals[layer.evals > 0]
    if len(evals) < 2:
        return
    bins = np.logspace(np.log10(evals.min()), np.log10(evals.max()), 60).tolist()
    ax.hist(evals, bins=bins, density=True, alpha=0.6, color="tab:blue", label="ESD")
    if layer.status == "ok":
        tail = np.logspace(np.log10(layer.xmin), np.log10(layer.evals.max()), 50)
        weight = layer.num_pl_spikes / len(layer.evals)
        pdf = weight * (layer.alpha - 1) / layer.xmin * (tail / layer.xmin) ** (-layer.alpha)
        ax.plot(tail, pdf, "r--", label=f"α = {layer.alpha:.2f}")
        ax.axvline(layer.xmin, color="red", lw=0.8, label="xmin")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title(_short(layer.name), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6)


def spectral_figure(spectral: SpectralReport, layer: str | None = None) -> Figure:
    """Alpha of every layer along depth (band: 2–6) and the ESD of one layer with its fit
    (default: the layer with the largest alpha-weighted value)."""
    fig = figure(12, 4.2)
    left, right = fig.subplots(1, 2, width_ratios=[1.6, 1])
    layers = spectral.layers
    alphas = [x.alpha if x.status == "ok" else np.nan for x in layers]
    colours = ["tab:red" if x.warning else "tab:green" for x in layers]
    left.axhspan(*ALPHA_BAND, color="tab:green", alpha=0.08)
    left.scatter(range(len(layers)), alphas, c=colours, s=14)
    left.set_yscale("log")
    left.set_xlabel("layer (in order)")
    left.set_ylabel("alpha")
    left.set_title("Power-law exponent per layer (shaded: 2 ≤ alpha ≤ 6)", fontsize=9)
    if layers:
        chosen = (
            spectral.layer(layer)
            if layer
            else max(layers, key=lambda x: x.alpha_weighted if x.status == "ok" else -np.inf)
        )
        _esd_axes(right, chosen)
    return fig


def esd_grid(spectral: SpectralReport, max_panels: int = 12, cols: int = 4) -> Figure:
    """Log-log ESDs with their power-law fits, for up to ``max_panels`` layers spread over
    the model's depth."""
    layers = spectral.layers
    pick = np.unique(np.linspace(0, len(layers) - 1, min(max_panels, len(layers))).astype(int))
    fig, axes = _grid(len(pick), cols, size=(3.4, 2.6))
    for ax, i in zip(axes, pick):
        _esd_axes(ax, layers[i])
    fig.suptitle("Empirical spectral densities and power-law tails")
    return fig


def importance_chart(importances: Sequence[Importance], top: int = 20) -> Figure:
    """The ``top`` layers by each importance method, as ranked horizontal bars."""
    fig = figure(5.5 * len(importances), 0.28 * top + 1.2)
    axes = fig.subplots(1, len(importances), squeeze=False)[0]
    for ax, imp in zip(axes, importances):
        rows = imp.layers[:top][::-1]
        ax.barh([_short(r.name or "(top)") for r in rows], [100 * r.share for r in rows])
        ax.set_xlabel("share of total (%)")
        what = "Σ|w|" if imp.method == "magnitude" else "Σ|w·∂L/∂w|"
        ax.set_title(f"Layer importance: {imp.method} ({what})", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    return fig


def diff_chart(diff: ParamDiff) -> Figure:
    """Relative change ‖b−a‖/‖a‖ per layer (module) along depth, and per tensor."""
    modules = diff.modules
    fig = figure(max(8.0, 0.12 * len(modules) + 4), 5.5)
    top, bottom = fig.subplots(2, 1)
    x = np.arange(len(modules))
    top.bar(x, [max(m.rel_change, 1e-12) for m in modules], color="tab:purple")
    top.set_yscale("log")
    top.set_ylabel("‖b−a‖ / ‖a‖")
    step = max(1, len(modules) // 40)
    top.set_xticks(
        x[::step], [_short(m.name or "(top)", 2) for m in modules[::step]], rotation=90, fontsize=6
    )
    top.set_title(f"Change per layer: {diff.a} → {diff.b}", fontsize=9)
    changes = diff.changes
    bottom.plot([max(c.rel_change, 1e-12) for c in changes], ".", ms=3)
    bottom.set_yscale("log")
    bottom.set_xlabel("tensor (in order)")
    bottom.set_ylabel("per tensor")
    return fig


def report_figures(report: ParamReport, log: bool = False) -> dict[str, Figure]:
    """Every figure a report has data for, keyed by file stem."""
    figures: dict[str, Figure] = {}
    if report.tensors:
        figures["histograms"] = histogram_grid(report, log=log)
        figures["depth_profile"] = depth_profile(report)
    if report.spectral is not None and report.spectral.layers:
        figures["spectral"] = spectral_figure(report.spectral)
        figures["esd"] = esd_grid(report.spectral)
    if report.importance and report.importance[0].layers:
        figures["importance"] = importance_chart(report.importance)
    return figures


def save_figures(
    figures: dict[str, Figure], out_dir: str | Path, fmt: str = "png", dpi: int = 120
) -> list[Path]:
    """Write each figure to ``out_dir/<stem>.<fmt>``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, fig in figures.items():
        path = out / f"{stem}.{fmt}"
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths
