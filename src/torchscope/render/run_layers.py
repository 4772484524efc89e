"""Per-layer statistics of a run over steps: gradient flow, update/weight ratios, dead units."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from torchscope.render.figures import figure, figure_note, figure_text, theme
from torchscope.render.run_common import NAME_CHARS, Run, reader_of, step_axis, steps_text
from torchscope.render.run_marks import draw_health, health_marks
from torchscope.render.units import plural
from torchscope.store.reader import RunReader

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from torchscope.store.records import LayerMatrix

__all__ = ["HEATMAP_BUCKETS", "RATIO_BAND", "dead_fractions", "gradient_flow", "update_ratios"]

HEATMAP_BUCKETS = 300
RATIO_BAND = (10**-3.5, 10**-2.5)  # half a decade either side of the 1e-3 rule of thumb
_MAX_LEGEND = 10  # more layers than this: colour by depth with a colour bar instead


def _layer_matrix(
    reader: RunReader, kind: str, stat: str, buckets: int | None, *, biases: bool = True
) -> LayerMatrix:
    """The statistic's matrix; without ``biases``, rows named ``*.bias`` are left out."""
    m = reader.layer_stats(kind, stat, buckets=buckets)
    if not m.layers:
        have = ", ".join(reader.layer_stat_names(kind)) or "none"
        raise ValueError(f"{reader.name} has no {kind!r} statistic {stat!r} (has: {have})")
    keep = [i for i, name in enumerate(m.layers) if biases or not name.endswith(".bias")]
    if 0 < len(keep) < len(m.layers):
        m = type(m)(m.kind, m.stat, [m.layers[i] for i in keep], m.steps, m.values[keep])
    return m


def _cell_edges(steps: np.ndarray) -> np.ndarray:
    """Cell boundaries around each step: midpoints, extended by half a gap at both ends."""
    x = steps.astype(np.float64)
    if len(x) == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5])
    mid = (x[1:] + x[:-1]) / 2
    return np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])


def _layer_ticks(ax: Axes, layers: Sequence[str], max_ticks: int = 40) -> None:
    every = max(1, math.ceil(len(layers) / max_ticks))
    ticks = list(range(0, len(layers), every))
    names = [figure_text(layers[t], 40) for t in ticks]
    ax.set_yticks([t + 0.5 for t in ticks], names, fontsize="x-small")


def _title(what: str, reader: RunReader, m: LayerMatrix) -> str:
    """What the figure shows, of which run, over which steps and how many layers."""
    layers = f"{len(m.layers)} {plural(len(m.layers), 'layer')}"
    run_name = figure_text(reader.name, NAME_CHARS)
    return f"{what} · {run_name} · {steps_text(m.steps.tolist())} · {layers}"


def _health(fig: Figure, ax: Axes, reader: RunReader) -> None:
    """The run's health events on the time axis, named in a note under the figure."""
    marks = health_marks(reader)
    draw_health(ax, marks, legend=False)
    if marks.notes():
        fig.supxlabel(figure_note(marks.notes()[:4]), fontsize="small", color="0.25")


def gradient_flow(
    run: Run,
    *,
    kind: str = "grad",
    stat: str = "norm",
    buckets: int = HEATMAP_BUCKETS,
    biases: bool = False,
) -> Figure:
    """Heatmap of a per-layer statistic (gradient norm by default): layers × steps.

    Layers run top to bottom in the order the model logged them (input to output); the
    colour scale is logarithmic when the values span more than two decades. Parameters
    named ``*.bias`` are left out unless ``biases`` is true.

    Example:
        >>> gradient_flow("runs/exp1").savefig("gradient_flow.png")  # doctest: +SKIP
    """
    from matplotlib.colors import LogNorm, Normalize

    reader = reader_of(run)
    m = _layer_matrix(reader, kind, stat, buckets, biases=biases)
    vals = np.ma.masked_invalid(m.values)
    positive = vals.compressed()[vals.compressed() > 0]
    log = len(positive) > 0 and positive.max() / positive.min() > 100 and vals.min() > 0
    norm = LogNorm(positive.min(), positive.max()) if log else Normalize()
    step_edges = _cell_edges(m.steps)
    with theme():
        fig = figure(10.0, min(max(3.0, 0.16 * len(m.layers) + 1.5), 14.0), dpi=100)
        ax = fig.subplots()
        mesh = ax.pcolormesh(
            step_edges, np.arange(len(m.layers) + 1), vals, cmap="mako", norm=norm, shading="flat"
        )
        ax.invert_yaxis()
        _layer_ticks(ax, m.layers)
        ax.grid(False)
        ax.set_title(_title(f"{kind} {stat} per layer", reader, m))
        step_axis(ax)
        _health(fig, ax, reader)
        fig.colorbar(mesh, ax=ax, label=f"{kind} {stat}" + (" (log)" if log else ""), pad=0.01)
    return fig


def _layer_lines(ax: Axes, m: LayerMatrix, fig: Figure) -> None:
    """One line per layer: a legend for a few layers, colour by depth for many."""
    import seaborn as sns

    many = len(m.layers) > _MAX_LEGEND
    colors = sns.color_palette("viridis" if many else "deep", len(m.layers))
    marker = "o" if len(m.steps) <= 30 else None  # a line of one point draws nothing
    for row, layer, color in zip(m.values, m.layers, colors):
        ok = np.isfinite(row)
        label = figure_text(layer, 40)
        ax.plot(
            m.steps[ok],
            row[ok],
            color=color,
            label=label,
            linewidth=1.2,
            alpha=0.85,
            marker=marker,
            markersize=3,
        )
    if many:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import ListedColormap, Normalize

        sm = ScalarMappable(Normalize(0, len(m.layers) - 1), ListedColormap(colors))
        bar = fig.colorbar(sm, ax=ax, pad=0.01)
        bar.set_label(f"layer index of {len(m.layers)} (input → output)", fontsize="small")
    else:
        ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))


def update_ratios(
    run: Run,
    *,
    stat: str = "ratio",
    band: tuple[float, float] = RATIO_BAND,
    buckets: int = HEATMAP_BUCKETS,
    biases: bool = False,
) -> Figure:
    """Update/weight ratio ‖ΔW‖/‖W‖ per layer over steps, log scale, with the 1e-3 band.

    Parameters named ``*.bias`` are left out unless ``biases`` is true.

    Example:
        >>> update_ratios("runs/exp1").savefig("update_ratios.png")  # doctest: +SKIP
    """
    reader = reader_of(run)
    m = _layer_matrix(reader, "update_ratio", stat, buckets, biases=biases)
    with theme():
        fig = figure(10.0, 4.6, dpi=100)
        ax = fig.subplots()
        ax.axhspan(*band, color="0.85", alpha=0.6, zorder=0, label="rule-of-thumb band")
        ax.axhline(1e-3, color="0.4", linestyle="--", linewidth=1, zorder=0.5)
        _layer_lines(ax, m, fig)
        if np.nanmin(np.where(m.values > 0, m.values, np.nan), initial=np.inf) < np.inf:
            ax.set_yscale("log")
        title = _title("Update / weight ratio", reader, m)
        ax.set(ylabel="‖ΔW‖ / ‖W‖", title=title)
        step_axis(ax)
        _health(fig, ax, reader)
    return fig


def dead_fractions(
    run: Run, *, stat: str = "dead_fraction", buckets: int = HEATMAP_BUCKETS
) -> Figure:
    """Fraction of dead units (never active on the sampled batch) per layer over steps.

    Example:
        >>> dead_fractions("runs/exp1").savefig("dead_units.png")  # doctest: +SKIP
    """
    reader = reader_of(run)
    m = _layer_matrix(reader, "activation", stat, buckets)
    keep = [i for i, row in enumerate(m.values) if np.isfinite(row).any()]
    m = type(m)(m.kind, m.stat, [m.layers[i] for i in keep], m.steps, m.values[keep])
    with theme():
        fig = figure(10.0, 4.2, dpi=100)
        ax = fig.subplots()
        _layer_lines(ax, m, fig)
        ax.set(
            ylabel="dead fraction",
            ylim=(-0.02, 1.02),
            title=_title("Dead units per layer", reader, m),
        )
        step_axis(ax)
        _health(fig, ax, reader)
    return fig
