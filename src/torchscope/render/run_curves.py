"""Learning curves of a run and of several runs overlaid: scalars over steps, smoothed.

Each split (train, val, test…) gets its colour; raw points are drawn faintly (or as a
min/max band when the series was decimated) and the smoothed curve on top.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from torchscope.render.figures import axes_grid
from torchscope.render.run_common import Run, new_figure, palette, reader_of, run_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from torchscope.store.records import Series

__all__ = ["CURVE_BUCKETS", "compare_runs", "ema", "learning_curves"]

CURVE_BUCKETS = 2000  # decimation of long series: more buckets than a figure has pixels


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing); NaN/inf are skipped.

    Example:
        >>> ema(np.array([1.0, 3.0]), 0.5).round(6).tolist()
        [1.0, 2.333333]
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
    reader = reader_of(run)
    pairs = reader.scalar_names()
    names = _curve_order(n for _, n in pairs) if names is None else list(names)
    if not names:
        raise ValueError(f"{reader.name} has no scalars")
    splits = sorted(dict.fromkeys(s for s, _ in pairs), key=lambda sp: (sp != "train", sp))
    colors = dict(zip(splits, palette(len(splits))))
    with run_style():
        fig = new_figure(4.6 * min(len(names), 3), 3.3 * math.ceil(len(names) / 3))
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
    readers = [reader_of(r) for r in runs]
    if not readers:
        raise ValueError("compare_runs needs at least one run")
    if names is None:
        common = set.intersection(*({n for _, n in r.scalar_names()} for r in readers))
        first = [n for _, n in readers[0].scalar_names() if n in common]
        names = _curve_order(first)[:6]
    if not names:
        raise ValueError("the runs have no scalar in common")
    colors = palette(len(readers))
    with run_style():
        fig = new_figure(4.6 * min(len(names), 3), 3.3 * math.ceil(len(names) / 3))
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
