"""Figures of a Profile: a roofline of the modules and the time of each layer.

Plain ``Figure`` objects from ``render.figures`` (no pyplot); ``save_figures`` writes them.
Module names are drawn as plain text (matplotlib's mathtext is off for them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torchscope.render.figures import figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from torchscope.analysis.profile import ModuleProfile, Profile

__all__ = ["layer_modules", "layer_time_figure", "profile_figures", "roofline_figure"]

_LABELLED = 6  # the slowest points of the roofline get their names


def _points(p: Profile) -> list[ModuleProfile]:
    """Leaf-most modules with a rate to plot: no child that has MACs of its own."""
    with_rate = [m for m in p.modules if m.intensity and m.forward_flops_per_s]
    names = {m.name for m in with_rate}
    return [
        m for m in with_rate if not any(n.startswith(m.name + ".") or not m.name for n in names)
    ]


def roofline_figure(p: Profile) -> Figure:
    """Achieved forward FLOP/s against arithmetic intensity, under the device's roof."""
    fig = figure(6.4, 4.2)
    ax = fig.add_subplot()
    points = _points(p)
    if points:
        xs = [m.intensity or 0.0 for m in points]
        ys = [m.forward_flops_per_s or 0.0 for m in points]
        sizes = [20 + 200 * m.forward_ms / max(x.forward_ms for x in points) for m in points]
        ax.scatter(xs, ys, s=sizes, alpha=0.6, color="tab:blue", edgecolors="none")
        slowest = sorted(points, key=lambda m: m.forward_ms, reverse=True)[:_LABELLED]
        for m in slowest:
            ax.annotate(m.name, (m.intensity or 0.0, m.forward_flops_per_s or 0.0), fontsize=7,
                        xytext=(4, 2), textcoords="offset points", usetex=False,
                        parse_math=False)  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        _roof(ax, p, min(xs), max(xs))
    else:
        ax.text(0.5, 0.5, "no module with counted MACs", ha="center", transform=ax.transAxes)
    ax.set_xlabel("arithmetic intensity (FLOP per byte moved)")
    ax.set_ylabel("achieved FLOP/s (forward)")
    ax.set_title(f"Roofline, {p.device_name or p.device}", loc="left", fontsize=10)
    return fig


def _roof(ax: object, p: Profile, lo: float, hi: float) -> None:
    if p.peak is None:
        return
    import numpy as np

    xs = np.logspace(np.log10(lo / 4), np.log10(hi * 4), 100)
    roof = np.full_like(xs, p.peak.flops)
    if p.peak.bandwidth_tbs:
        roof = np.minimum(roof, xs * p.peak.bandwidth_tbs * 1e12)
    ax.plot(xs, roof, color="tab:red", lw=1, label=f"peak ({p.peak.source})")  # type: ignore[attr-defined]
    ax.legend(fontsize=7, loc="lower right")  # type: ignore[attr-defined]


def layer_modules(p: Profile) -> list[ModuleProfile]:
    """The layers to chart: the copies of the longest folded run, else the top-level modules."""
    runs = [r for r in p.rows if r.repeat > 1 and not r.per_copy]
    by_name = {m.name: m for m in p.modules}
    # a stored profile is outside data: a row naming no module is skipped, not a KeyError
    if runs:
        longest = max(runs, key=lambda r: r.repeat)
        return [by_name[n] for n in longest.paths if n in by_name]
    firsts = [r.paths[0] for r in p.rows if r.depth == 1 and r.paths]
    return [by_name[n] for n in firsts if n in by_name]


def layer_time_figure(p: Profile) -> Figure:
    """Forward and backward time of each layer, stacked bars in model order."""
    layers = layer_modules(p)
    fig = figure(6.4, max(2.4, 0.22 * len(layers) + 1.2))
    ax = fig.add_subplot()
    names = [m.name or "(root)" for m in layers]
    ys = list(range(len(layers)))
    fwd = [m.forward_ms for m in layers]
    ax.barh(ys, fwd, color="tab:blue", label="forward")
    if p.backward:
        ax.barh(ys, [m.backward_ms for m in layers], left=fwd, color="tab:orange",
                label="backward")  # fmt: skip
    ax.set_yticks(ys, labels=names, fontsize=7)
    for label in ax.get_yticklabels():
        label.set_parse_math(False)
    ax.invert_yaxis()
    ax.set_xlabel("ms per step (median)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Time per layer", loc="left", fontsize=10)
    return fig


def profile_figures(p: Profile) -> dict[str, Figure]:
    """Every figure of a profile, keyed by file stem."""
    return {"roofline": roofline_figure(p), "layer_times": layer_time_figure(p)}
