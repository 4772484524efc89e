"""Figures of parameters: histograms, per-tensor profiles along depth, weight heatmaps,
importance rankings and checkpoint diffs (spectra: ``render.spectral_plots``).

Every function returns a ``matplotlib.figure.Figure`` in the house style
(``render.figures.theme``) and neither shows nor writes it (``save_figures`` does). Each
figure says what it is drawn from (how many tensors of how many, which measure) and draws
nothing it cannot support: a constant tensor is one labelled bar, a metric that is zero
everywhere says so instead of an empty panel.

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

from torchscope.render.figures import (
    axes_grid,
    figure,
    integer_ticks,
    log_ticks,
    palette,
    plain,
    short_names,
    theme,
    wrap_name,
)

if TYPE_CHECKING:
    import torch
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from torchscope.analysis.importance import Importance
    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport
    from torchscope.analysis.param_stats import TensorStats

__all__ = [
    "depth_profile",
    "diff_chart",
    "histogram_grid",
    "importance_chart",
    "report_figures",
    "save_figures",
    "weight_heatmap",
]

_PROFILE_LABELS = {
    "l2_norm": "L2 norm (log)",
    "std": "std",
    "zero_frac": "fraction exactly 0",
    "mean_abs": "mean |w|",
    "near_zero_frac": "fraction near 0",
}
_LOG_METRICS = {"l2_norm"}
_MAX_TICKS = 40  # tick labels along a model's depth; more would overlap
_TITLE_CHARS = 46  # characters per title line in a 3.2-inch panel at 8 pt


def _grid(n: int, cols: int, size: tuple[float, float]) -> tuple[Figure, list[Axes]]:
    cols = max(1, min(cols, n))
    fig = figure(size[0] * cols, size[1] * max(1, math.ceil(n / cols)))
    return fig, axes_grid(fig, n, cols)


def _note(ax: Axes, text: str, color: object = "0.35") -> None:
    """A sentence in the middle of an axes that has nothing to draw (or a warning)."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=color)


# --- histograms -------------------------------------------------------------------------


def histogram_grid(
    report: ParamReport,
    *,
    log: bool = False,
    tensors: Sequence[str] | None = None,
    max_panels: int = 24,
    cols: int = 4,
) -> Figure:
    """One histogram per tensor (the largest ``max_panels`` unless ``tensors`` names them),
    linear or log counts, titled with the tensor's full name; flagged tensors in red."""
    chosen = (
        [report.tensor(n) for n in tensors]
        if tensors
        else sorted(report.tensors, key=lambda t: -t.numel)[:max_panels]
    )
    chosen.sort(key=lambda t: report.tensors.index(t))
    flags: dict[str, list[str]] = {}
    for f in report.flags:
        if f.severity != "info":
            flags.setdefault(f.tensor, []).append(f.check)
    with theme():
        fig, axes = _grid(len(chosen), cols, (3.3, 2.5))
        for i, (ax, t) in enumerate(zip(axes, chosen)):
            _histogram(ax, t, log, flags.get(t.name, []))
            if i % cols == 0:
                ax.set_ylabel("count (log)" if log else "count", fontsize=8)
            if i >= len(chosen) - cols:
                ax.set_xlabel("value", fontsize=8)
        what = f"the {len(chosen)} largest of {len(report.tensors)} tensors"
        if tensors or len(chosen) == len(report.tensors):
            what = f"{len(chosen)} tensors"
        bins = len(chosen[0].hist) if chosen else 0
        scale = "log" if log else "linear"
        fig.suptitle(f"Value histograms of {what} ({bins} bins, {scale} counts)")
    return fig


def _histogram(ax: Axes, t: TensorStats, log: bool, flagged: list[str]) -> None:
    from matplotlib.ticker import MaxNLocator

    bad = palette(4)[3]
    ax.set_title(wrap_name(t.name, _TITLE_CHARS), fontsize=8, color=bad if flagged else "black")
    ax.tick_params(labelsize=7)
    ax.ticklabel_format(axis="x", useOffset=False)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    if not t.finite_count:
        _note(ax, "no finite values")
        return
    # values near a float dtype's limits are drawn in units of a power of ten (matplotlib's
    # tick arithmetic overflows on spans past 1.8e308)
    magnitude = max(abs(t.hist_range[0]), abs(t.hist_range[1]))
    unit = 10.0 ** math.floor(math.log10(magnitude)) if magnitude > 1e30 else 1.0
    lo, hi = t.hist_range[0] / unit, t.hist_range[1] / unit
    if hi <= lo:  # constant: one bar, centred on the value
        width = max(abs(lo), 1.0) * 0.02
        ax.bar([lo], [t.finite_count], width=width, color=palette(1)[0])
        ax.set_xlim(lo - 10 * width, lo + 10 * width)
        text = f"every value {t.hist_range[0]:.4g}"
    else:
        edges = np.linspace(lo, hi, len(t.hist) + 1)
        ax.stairs(t.hist, edges, fill=True, alpha=0.85, color=palette(1)[0])
        text = f"mean {t.mean:.3g}\nstd {t.std:.3g}"
    if unit != 1.0:
        text += f"\nvalues in units of {unit:.0e}"
    if log:
        ax.set_yscale("log")
    else:
        integer_ticks(ax, "y")
    if flagged:
        text += "\n" + ", ".join(flagged)
    ax.text(0.98, 0.95, text, transform=ax.transAxes, fontsize=6.5, ha="right", va="top",
            color=bad if flagged else "0.2",
            bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0})  # fmt: skip


# --- along depth ------------------------------------------------------------------------


def _depth_ticks(ax: Axes, names: Sequence[str]) -> None:
    """Tick labels for items in model order: unique short names, at most ``_MAX_TICKS``."""
    step = max(1, math.ceil(len(names) / _MAX_TICKS))
    x = np.arange(len(names))[::step]
    ax.set_xticks(x, short_names(names)[::step], rotation=90, fontsize=6.5)
    ax.set_xlim(-0.7, len(names) - 0.3)
    ax.grid(axis="x", visible=False)


def depth_profile(
    report: ParamReport, metrics: Sequence[str] = ("l2_norm", "std", "zero_frac")
) -> Figure:
    """Per-tensor metrics along the model's depth (tensors in order), one row each: bars
    from zero on linear scales, dots on log scales (a bar's length means nothing there);
    weights (2+ dimensions) and vectors in two colours."""
    from matplotlib.patches import Patch

    tensors = report.tensors
    colors = palette(2)
    with theme():
        fig = figure(max(8.0, 0.07 * len(tensors) + 4), 2.0 * len(metrics) + 1.6)
        axes = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
        x = np.arange(len(tensors))
        shade = [colors[0] if len(t.shape) >= 2 else colors[1] for t in tensors]
        for ax, metric in zip(axes, metrics):
            values = np.array([getattr(t, metric) for t in tensors], dtype=float)
            _profile_row(ax, x, values, shade, metric)
            _mark_non_finite(ax, x, values)
        _depth_ticks(axes[-1], [t.name for t in tensors])
        axes[-1].set_xlabel(f"tensor (model order, {len(tensors)} tensors)")
        legend = [Patch(color=colors[0], label="weights (2+ dims)"),
                  Patch(color=colors[1], label="vectors (biases, norm scales)")]  # fmt: skip
        fig.legend(handles=legend, fontsize=8, loc="outside lower center", ncols=2)
        fig.suptitle(plain(f"Per-tensor statistics along depth: {report.source}"))
    return fig


def _profile_row(ax: Axes, x: np.ndarray, values: np.ndarray, shade: list, metric: str) -> None:
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(_PROFILE_LABELS.get(metric, metric), fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    finite = np.isfinite(values)
    values = _scaled_axis(ax, values, finite)
    if metric in _LOG_METRICS:
        shown = finite & (values > 0)
        if shown.any():
            ax.scatter(x[shown], values[shown], c=[shade[i] for i in np.flatnonzero(shown)], s=12)
            ax.set_yscale("log")
            log_ticks(ax, "y")
        if (finite & (values == 0)).any():
            ax.text(0.01, 0.95, f"{int((values == 0).sum())} tensors at 0 not shown",
                    transform=ax.transAxes, fontsize=7, va="top", color="0.35")  # fmt: skip
        return
    ax.bar(x, np.where(finite, values, 0.0), color=shade, width=0.85)
    if not (finite & (values != 0)).any():
        others = " other" if not finite.all() else ""
        _note(ax, f"{_PROFILE_LABELS.get(metric, metric)}: 0 for every{others} tensor")
        ax.set_ylim(0, 1)
    elif (values[finite] >= 0).all():
        ax.set_ylim(bottom=0)


def _mark_non_finite(ax: Axes, x: np.ndarray, values: np.ndarray) -> None:
    """A red ✕ at the foot of the axes where a tensor's value is NaN or Inf, and a note:
    a missing bar or dot must not read as a small or absent value."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    ax.scatter(x[bad], np.full(int(bad.sum()), 0.04), marker="x", color="#c0392b", s=28,
               transform=ax.get_xaxis_transform(), clip_on=False, zorder=5)  # fmt: skip
    ax.text(0.99, 0.95, f"✕ {int(bad.sum())} NaN/Inf, not drawn", transform=ax.transAxes,
            ha="right", va="top", fontsize=7, color="#c0392b")  # fmt: skip


def _scaled_axis(ax: Axes, values: np.ndarray, finite: np.ndarray) -> np.ndarray:
    """``values`` divided by a power of ten named on the axis when they come near float64's
    maximum, where matplotlib's own tick arithmetic overflows (std 1.7e308 crashed it)."""
    peak = float(np.abs(values[finite]).max(initial=0.0))
    if peak < 1e300:
        return values
    exponent = math.floor(math.log10(peak))
    ax.set_ylabel(f"{ax.get_ylabel()} (×1e{exponent})", fontsize=8)
    return values / 10.0**exponent


# --- heatmap ----------------------------------------------------------------------------


def weight_heatmap(tensor: torch.Tensor, name: str = "", max_size: int = 256) -> Figure:
    """A 2-D weight (conv kernels as out × in·kh·kw) as an image; larger matrices are shown
    as the RMS of blocks so that at most ``max_size`` × ``max_size`` cells remain."""
    import torch.nn.functional as F

    w = tensor.detach().float().cpu()
    w = w.reshape(w.shape[0], -1) if w.ndim >= 2 else w.reshape(1, -1)
    rows, cols = w.shape
    with theme():
        fig = figure(6.5, 5.0)
        ax = fig.subplots()
        ax.grid(False)
        if rows > max_size or cols > max_size:
            size = (min(rows, max_size), min(cols, max_size))
            cells = F.adaptive_avg_pool2d((w * w)[None, None], size)[0, 0].sqrt().numpy()
            image = ax.imshow(cells, aspect="auto", cmap="viridis", interpolation="nearest")
            note, label = f"block RMS, {rows}×{cols} → {size[0]}×{size[1]}", "RMS of block"
        else:
            limit = float(w.abs().max()) or 1.0
            image = ax.imshow(w.numpy(), aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                              interpolation="nearest")  # fmt: skip
            note, label = f"{rows}×{cols}", "value"
        fig.colorbar(image, ax=ax, label=label)
        ax.set_xlabel("input (× kernel position)")
        ax.set_ylabel("output unit")
        ax.set_title(wrap_name(f"{name or 'weight'} ({note})", 70), fontsize=9)
    return fig


# --- importance and diffs ---------------------------------------------------------------

_MEASURES = {
    "magnitude": ("Σ|w|", "mean |w|"),
    "taylor": ("Σ|w·∂L/∂w|", "mean |w·∂L/∂w|"),
}


def importance_chart(importances: Sequence[Importance], top: int = 20) -> Figure:
    """The ``top`` layers by each importance method, twice: by the summed score (which grows
    with a layer's size) and by the score per value (which does not)."""
    with theme():
        fig = figure(11.5, (0.24 * top + 1.3) * len(importances))
        axes = fig.subplots(len(importances), 2, squeeze=False)
        color = palette(1)[0]
        for (left, right), imp in zip(axes, importances):
            summed, per_value = _MEASURES.get(imp.method, ("score", "score per value"))
            names = [r.name or "(top level)" for r in imp.layers]
            label = dict(zip(names, short_names(names, limit=40)))  # unique among all layers
            rows = imp.layers[:top][::-1]
            left.barh([label[r.name or "(top level)"] for r in rows], [100 * r.share for r in rows],
                      color=color)  # fmt: skip
            left.set_xlabel(f"share of total {summed} (%)")
            left.set_title(f"{imp.method}: {summed} per layer (grows with size)", fontsize=9)
            rows = imp.by_value()[:top][::-1]
            right.barh([label[r.name or "(top level)"] for r in rows], [r.per_value for r in rows],
                       color=color)  # fmt: skip
            right.set_xlabel(f"{per_value} over the layer's values")
            right.set_title(f"{imp.method}: {per_value} per value (size-independent)", fontsize=9)
            for ax in (left, right):
                ax.tick_params(axis="y", labelsize=7)
                ax.grid(axis="y", visible=False)
        suffix = f" of {len(importances[0].layers)} layers" if importances else ""
        fig.suptitle(f"Layer importance: the top {top}{suffix}")
    return fig


def diff_chart(diff: ParamDiff) -> Figure:
    """Relative change ‖b−a‖/‖a‖ per layer (module) along depth, and per tensor, on linear
    scales (a log scale made 0.63 look like nothing beside 1.12); infinite changes (‖a‖ = 0)
    are marked at the top."""
    modules, changes = diff.modules, diff.changes
    with theme():
        fig = figure(max(8.0, 0.12 * len(modules) + 4), 6.0)
        top, bottom = fig.subplots(2, 1)
        values = np.array([m.rel_change for m in modules], dtype=float)
        x = np.arange(len(modules))
        top.bar(x, np.where(np.isfinite(values), values, 0.0), color=palette(5)[4], width=0.85)
        _mark_infinite(top, x, values)
        top.set_ylabel("‖b−a‖ / ‖a‖ per layer")
        top.set_ylim(bottom=0)
        _depth_ticks(top, [m.name or "(top level)" for m in modules])
        _label_largest(top, x, values, [m.name or "(top level)" for m in modules])
        changed = int(np.count_nonzero(values != 0))
        top.set_title(f"{changed} of {len(modules)} layers changed", fontsize=9)
        per_tensor = np.array([c.rel_change for c in changes], dtype=float)
        xs = np.arange(len(changes))
        bottom.scatter(xs, np.where(np.isfinite(per_tensor), per_tensor, np.nan), s=10,
                       color=palette(5)[4])  # fmt: skip
        _mark_infinite(bottom, xs, per_tensor)
        bottom.set_ylim(bottom=0)
        bottom.set_xlabel(f"tensor (model order, {len(changes)} compared)")
        bottom.set_ylabel("per tensor")
        integer_ticks(bottom)
        fig.suptitle(plain(f"Relative change: {diff.a} → {diff.b}"))
    return fig


def _mark_infinite(ax: Axes, x: np.ndarray, values: np.ndarray) -> None:
    """Infinite changes (from all-zero weights) as red triangles along the top edge."""
    where = np.isinf(values)
    if where.any():
        ax.scatter(x[where], np.ones(int(where.sum())), marker="^", color=palette(4)[3],
                   transform=ax.get_xaxis_transform(), clip_on=False,
                   label="infinite (‖a‖ = 0)", zorder=3)  # fmt: skip
        ax.legend(fontsize=7, loc="upper left")


def _label_largest(ax: Axes, x: np.ndarray, values: np.ndarray, names: list[str]) -> None:
    """The largest changes named and valued above their bars (tick labels skip some)."""
    labels = short_names(names, limit=30)
    finite = np.where(np.isfinite(values), values, 0.0)
    for i in np.argsort(-finite, kind="stable")[:8]:
        if finite[i] > 0:
            text = f"{labels[i]}\n{finite[i]:.3g}"
            ax.annotate(text, (x[i], finite[i]), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)  # fmt: skip
    if finite.max(initial=0) > 0:
        ax.set_ylim(0, finite.max() * 1.25)  # room for the labels


# --- all of a report --------------------------------------------------------------------


def report_figures(report: ParamReport, log: bool = False) -> dict[str, Figure]:
    """Every figure a report has data for, keyed by file stem."""
    from torchscope.render.spectral_plots import esd_grid, spectral_figure

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
    """Write each figure to ``out_dir/<stem>.<fmt>``; returns the paths written. A stem
    (it may hold a tensor name from a checkpoint) keeps letters, digits, ``._-`` only."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, fig in figures.items():
        path = out / f"{_safe_stem(stem)}.{fmt}"
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths


def _safe_stem(stem: str) -> str:
    """A file name that stays in its folder: no separators, no leading dot, bounded."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".")[:150] or "figure"
