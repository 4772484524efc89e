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

from torchscope.render.figures import axes_grid, figure
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
    "distributions",
    "ema",
    "gradient_flow",
    "histogram_percentiles",
    "learning_curves",
    "run_figures",
    "update_ratios",
]

Run = RunReader | str | Path
CURVE_BUCKETS = 2000  # decimation of long series: more buckets than a figure has pixels
HEATMAP_BUCKETS = 300
RATIO_BAND = (10**-3.5, 10**-2.5)  # half a decade either side of the 1e-3 rule of thumb
_MAX_LEGEND = 10  # more layers than this: colour by depth with a colour bar instead
# TensorBoard's distribution bands: percentiles 0/7/16/31/50/69/84/93/100 (±0, 1.5, 1, 0.5 σ)
DISTRIBUTION_PERCENTILES = (0.0, 6.68, 15.87, 30.85, 50.0, 69.15, 84.13, 93.32, 100.0)
_KIND_TITLES = {"weight": "Weight", "grad": "Gradient", "activation": "Activation"}


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
    return figure(width, height, dpi=100)


def _palette(n: int) -> list[tuple[float, float, float]]:
    import seaborn as sns

    return list(sns.color_palette("deep", max(n, 1)))


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
        for ax, name in zip(axes_grid(fig, len(names), 3), names):
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
        for ax, name in zip(axes_grid(fig, len(names), 3), names):
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
    reader = _reader(run)
    names = _distribution_layers(reader, kind, layers, max_layers, biases)
    color = dict(zip(("weight", "grad", "activation"), _palette(3))).get(kind, _palette(4)[3])
    cols = 2 if len(names) == 4 else min(len(names), 3)
    with _style():
        fig = _figure(max(4.4 * cols, 7.5), 2.7 * math.ceil(len(names) / cols) + 0.7)
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
    kinds = {k for k, _ in reader.histogram_names()}
    for kind in ("weight", "grad", "activation"):
        if kind in kinds:
            figures[f"{kind}_distributions"] = distributions(reader, kind)
    return figures
