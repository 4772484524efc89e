"""Figures of a training run, drawn from its store with matplotlib and seaborn.

Every function takes a RunReader (or a run directory) and returns a
``matplotlib.figure.Figure``; nothing is shown or written (``fig.savefig(path)`` does that).
No pyplot: figures are plain ``Figure`` objects, so this works in threads and servers.

Example:
    >>> from torchscope.render.run_plots import learning_curves
    >>> learning_curves("runs/exp1").savefig("curves.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from torchscope.store.reader import RunReader

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from torchscope.store.records import LayerMatrix, Series

__all__ = [
    "class_metrics_bars",
    "compare_runs",
    "confusion_heatmap",
    "dead_fractions",
    "ema",
    "gradient_flow",
    "learning_curves",
    "run_figures",
    "update_ratios",
]

Run = RunReader | str | Path
CURVE_BUCKETS = 2000  # decimation of long series: more buckets than a figure has pixels
HEATMAP_BUCKETS = 300
RATIO_BAND = (10**-3.5, 10**-2.5)  # half a decade either side of the 1e-3 rule of thumb
_MAX_LEGEND = 10  # more layers than this: colour by depth with a colour bar instead


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing); NaN/inf are skipped.

    Example:
        >>> ema(np.array([1.0, 3.0]), 0.5).tolist()
        [1.0, 2.333333333333333]
    """
    out = np.full(len(values), np.nan)
    finite = values[np.isfinite(values)]
    if len(finite) and finite.min() == finite.max():
        weight = 0.0  # a constant stays exactly constant (no rounding noise to zoom into)
    acc, norm = 0.0, 0.0
    for i, v in enumerate(values.tolist()):
        if math.isfinite(v):
            acc = weight * acc + (1 - weight) * v
            norm = weight * norm + (1 - weight)
        out[i] = acc / norm if norm > 0 else np.nan
    return out


def _auto_weight(n: int) -> float:
    """Smoothing that averages over about 2% of the points (none for short series)."""
    window = n / 50
    return 0.0 if window <= 1 else 1.0 - 1.0 / window


def _reader(run: Run) -> RunReader:
    return run if isinstance(run, RunReader) else RunReader(run)


@contextmanager
def _style() -> Iterator[None]:
    import seaborn as sns

    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85):
        yield


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained", dpi=100)


def _palette(n: int) -> list[tuple[float, float, float]]:
    import seaborn as sns

    return list(sns.color_palette("deep", max(n, 1)))


def _grid(fig: Figure, n: int, cols: int = 3) -> list[Axes]:
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def _draw_series(
    ax: Axes, s: Series, color: Any, label: str, smoothing: float | None, **line: Any
) -> None:
    """Raw points (or min/max band) faintly, the smoothed curve on top."""
    x = s.centers
    if s.decimated and s.mins is not None and s.maxs is not None:
        ax.fill_between(x, s.mins, s.maxs, color=color, alpha=0.18, linewidth=0)
    elif len(s) > 1:
        ax.plot(x, s.values, color=color, alpha=0.3, linewidth=0.8)
    weight = _auto_weight(len(s)) if smoothing is None else smoothing
    marker = "o" if len(s) <= 30 else None
    ax.plot(
        x,
        ema(s.values, weight),
        color=color,
        label=label,
        linewidth=1.8,
        marker=marker,
        markersize=4,
        **line,
    )


def _scale_y(ax: Axes, series: Sequence[Series]) -> None:
    """Log scale when every value is positive and they span more than two decades."""
    vals = np.concatenate([s.mins if s.mins is not None else s.values for s in series])
    vals = vals[np.isfinite(vals)]
    if len(vals) and vals.min() > 0 and vals.max() / vals.min() > 100:
        ax.set_yscale("log")
    else:
        ax.ticklabel_format(axis="y", useOffset=False)


def _curve_order(names: Iterable[str]) -> list[str]:
    """Losses first, then accuracy, then the rest in the order they were logged."""
    unique = list(dict.fromkeys(names))
    return sorted(unique, key=lambda n: 0 if "loss" in n else 1 if "acc" in n else 2)


def learning_curves(
    run: Run,
    names: Sequence[str] | None = None,
    *,
    smoothing: float | None = None,
    buckets: int = CURVE_BUCKETS,
) -> Figure:
    """One panel per scalar (loss, accuracy…), every split in it: smoothed, raw faintly.

    ``smoothing`` is the EMA weight in [0, 1); by default it averages over ~2% of the points.

    Example:
        >>> learning_curves("runs/exp1", ["loss", "accuracy"])  # doctest: +SKIP
    """
    reader = _reader(run)
    pairs = reader.scalar_names()
    names = _curve_order(n for _, n in pairs) if names is None else list(names)
    if not names:
        raise ValueError(f"{reader.name} has no scalars")
    splits = sorted(dict.fromkeys(s for s, _ in pairs), key=lambda sp: (sp != "train", sp))
    colors = dict(zip(splits, _palette(len(splits))))
    with _style():
        fig = _figure(4.6 * min(len(names), 3), 3.3 * math.ceil(len(names) / 3))
        for ax, name in zip(_grid(fig, len(names)), names):
            drawn = [
                reader.scalars(name, split=sp, buckets=buckets)
                for sp in splits
                if (sp, name) in pairs
            ]
            for s in drawn:
                _draw_series(ax, s, colors[s.split], s.split, smoothing)
            if not drawn:
                ax.text(0.5, 0.5, "not logged", ha="center", transform=ax.transAxes)
            else:
                _scale_y(ax, drawn)
            ax.set(title=name, xlabel="step")
            ax.legend(loc="best", fontsize="small")
        fig.suptitle(f"Learning curves · {reader.name}")
    return fig


def _confusion_or_raise(reader: RunReader, split: str, step: int | None) -> Any:
    c = reader.confusion(split, step)
    if c is None:
        at = "" if step is None else f" at step {step}"
        raise ValueError(f"{reader.name} has no confusion matrix for split {split!r}{at}")
    return c


def confusion_heatmap(run: Run, split: str = "val", step: int | None = None) -> Figure:
    """Counts and row-normalised (recall per true class) confusion matrices side by side.

    Example:
        >>> confusion_heatmap("runs/exp1", "val").savefig("confusion.png")  # doctest: +SKIP
    """
    import seaborn as sns

    reader = _reader(run)
    c = _confusion_or_raise(reader, split, step)
    n = len(c.matrix)
    rows = c.matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(c.matrix, rows, out=np.zeros(c.matrix.shape), where=rows > 0)
    annot = n <= 20
    side = min(max(4.0, 0.45 * n + 2), 11.0)
    with _style():
        fig = _figure(2 * side + 1, side)
        ax_counts, ax_norm = fig.subplots(1, 2)
        sns.heatmap(
            c.matrix,
            ax=ax_counts,
            annot=annot,
            fmt="d",
            cmap="rocket_r",
            square=True,
            xticklabels=c.labels,
            yticklabels=c.labels,
            cbar_kws={"shrink": 0.8},
        )
        sns.heatmap(
            normalised,
            ax=ax_norm,
            annot=annot,
            fmt=".2f",
            cmap="rocket_r",
            vmin=0,
            vmax=1,
            square=True,
            xticklabels=c.labels,
            yticklabels=c.labels,
            cbar_kws={"shrink": 0.8},
        )
        for ax, title in ((ax_counts, "counts"), (ax_norm, "normalised by true class")):
            ax.set(title=title, xlabel="predicted", ylabel="true")
            ax.tick_params(axis="y", rotation=0)
        accuracy = np.trace(c.matrix) / max(int(c.matrix.sum()), 1)
        fig.suptitle(f"Confusion matrix · {split} · step {c.step} · accuracy {accuracy:.3f}")
    return fig


def class_metrics_bars(run: Run, split: str = "val", step: int | None = None) -> Figure:
    """Per-class precision, recall and F1 as grouped bars, macro F1 as a dashed line.

    Example:
        >>> class_metrics_bars("runs/exp1").savefig("per_class.png")  # doctest: +SKIP
    """
    from torchscope.analysis.classification import classification_metrics

    reader = _reader(run)
    c = _confusion_or_raise(reader, split, step)
    m = classification_metrics(c.matrix, c.labels)
    metrics = {"precision": m.precision, "recall": m.recall, "F1": m.f1}
    n = len(m.labels)
    x = np.arange(n)
    width = 0.8 / len(metrics)
    with _style():
        fig = _figure(min(max(6.0, 0.55 * n + 2), 16.0), 3.8)
        ax = fig.subplots()
        for i, ((label, vals), color) in enumerate(zip(metrics.items(), _palette(3))):
            ax.bar(x + (i - 1) * width, vals, width, label=label, color=color)
        ax.axhline(
            m.macro_f1, color="0.3", linestyle="--", linewidth=1, label=f"macro F1 {m.macro_f1:.3f}"
        )
        ax.set_xticks(x, m.labels, rotation=45 if n > 12 else 0)
        ax.set(
            ylim=(0, 1.05),
            xlabel="class",
            ylabel="score",
            title=f"Per-class metrics · {split} · step {c.step}",
        )
        ax.legend(loc="lower right", fontsize="small", ncols=4)
    return fig


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
    ax.set_yticks([t + 0.5 for t in ticks], [layers[t] for t in ticks], fontsize="x-small")


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

    reader = _reader(run)
    m = _layer_matrix(reader, kind, stat, buckets, biases=biases)
    vals = np.ma.masked_invalid(m.values)
    positive = vals.compressed()[vals.compressed() > 0]
    log = len(positive) > 0 and positive.max() / positive.min() > 100 and vals.min() > 0
    norm = LogNorm(positive.min(), positive.max()) if log else Normalize()
    step_edges = _cell_edges(m.steps)
    with _style():
        fig = _figure(10.0, min(max(3.0, 0.16 * len(m.layers) + 1.5), 14.0))
        ax = fig.subplots()
        mesh = ax.pcolormesh(
            step_edges, np.arange(len(m.layers) + 1), vals, cmap="mako", norm=norm, shading="flat"
        )
        ax.invert_yaxis()
        _layer_ticks(ax, m.layers)
        ax.grid(False)
        ax.set(xlabel="step", title=f"{kind} {stat} per layer · {reader.name}")
        fig.colorbar(mesh, ax=ax, label=f"{kind} {stat}" + (" (log)" if log else ""), pad=0.01)
    return fig


def _layer_lines(ax: Axes, m: LayerMatrix, fig: Figure) -> None:
    """One line per layer: a legend for a few layers, colour by depth for many."""
    import seaborn as sns

    many = len(m.layers) > _MAX_LEGEND
    colors = sns.color_palette("viridis" if many else "deep", len(m.layers))
    for row, layer, color in zip(m.values, m.layers, colors):
        ok = np.isfinite(row)
        ax.plot(m.steps[ok], row[ok], color=color, linewidth=1.2, alpha=0.85, label=layer)
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
    reader = _reader(run)
    m = _layer_matrix(reader, "update_ratio", stat, buckets, biases=biases)
    with _style():
        fig = _figure(10.0, 4.6)
        ax = fig.subplots()
        ax.axhspan(*band, color="0.85", alpha=0.6, zorder=0, label="rule-of-thumb band")
        ax.axhline(1e-3, color="0.4", linestyle="--", linewidth=1, zorder=0.5)
        _layer_lines(ax, m, fig)
        if np.nanmin(np.where(m.values > 0, m.values, np.nan), initial=np.inf) < np.inf:
            ax.set_yscale("log")
        ax.set(xlabel="step", ylabel="‖ΔW‖ / ‖W‖", title=f"Update / weight ratio · {reader.name}")
    return fig


def dead_fractions(
    run: Run, *, stat: str = "dead_fraction", buckets: int = HEATMAP_BUCKETS
) -> Figure:
    """Fraction of dead units (never active on the sampled batch) per layer over steps.

    Example:
        >>> dead_fractions("runs/exp1").savefig("dead_units.png")  # doctest: +SKIP
    """
    reader = _reader(run)
    m = _layer_matrix(reader, "activation", stat, buckets)
    keep = [i for i, row in enumerate(m.values) if np.isfinite(row).any()]
    m = type(m)(m.kind, m.stat, [m.layers[i] for i in keep], m.steps, m.values[keep])
    with _style():
        fig = _figure(10.0, 4.2)
        ax = fig.subplots()
        _layer_lines(ax, m, fig)
        ax.set(
            xlabel="step",
            ylabel="dead fraction",
            ylim=(-0.02, 1.02),
            title=f"Dead units per layer · {reader.name}",
        )
    return fig


def compare_runs(
    runs: Sequence[Run],
    names: Sequence[str] | None = None,
    *,
    smoothing: float | None = None,
    buckets: int = CURVE_BUCKETS,
) -> Figure:
    """Several runs overlaid: one panel per scalar, one colour per run, val dashed.

    By default the panels are the scalars every run logged (at most six, loss first).

    Example:
        >>> compare_runs(["runs/lr1e-3", "runs/lr1e-4"], ["loss"])  # doctest: +SKIP
    """
    readers = [_reader(r) for r in runs]
    if not readers:
        raise ValueError("compare_runs needs at least one run")
    if names is None:
        common = set.intersection(*({n for _, n in r.scalar_names()} for r in readers))
        first = [n for _, n in readers[0].scalar_names() if n in common]
        names = _curve_order(first)[:6]
    if not names:
        raise ValueError("the runs have no scalar in common")
    colors = _palette(len(readers))
    with _style():
        fig = _figure(4.6 * min(len(names), 3), 3.3 * math.ceil(len(names) / 3))
        for ax, name in zip(_grid(fig, len(names)), names):
            drawn: list[Series] = []
            for reader, color in zip(readers, colors):
                for split in sorted(
                    {sp for sp, n in reader.scalar_names() if n == name},
                    key=lambda sp: (sp != "train", sp),
                ):
                    s = reader.scalars(name, split=split, buckets=buckets)
                    style = "-" if split == "train" else "--"
                    _draw_series(
                        ax, s, color, f"{reader.name} · {split}", smoothing, linestyle=style
                    )
                    drawn.append(s)
            if drawn:
                _scale_y(ax, drawn)
            ax.set(title=name, xlabel="step")
            ax.legend(fontsize="x-small", loc="best")
        fig.suptitle("Run comparison")
    return fig


def run_figures(run: Run) -> dict[str, Figure]:
    """Every figure the run has data for, keyed by a file stem (``learning_curves``…).

    Example:
        >>> for stem, fig in run_figures("runs/exp1").items():  # doctest: +SKIP
        ...     fig.savefig(f"{stem}.png")
    """
    reader = _reader(run)
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
    return figures
