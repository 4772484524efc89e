"""Learning curves of a run and of several runs overlaid: scalars over steps, smoothed.

Each split (train, val, test…) gets its own colour, line style and marker, so a single
``test`` point is not hidden behind the last ``val`` point; raw points are drawn faintly
(or as a min/max band when the series was decimated) and the smoothed curve on top.
Smoothing restarts after a non-finite point, which is marked where it occurs
(``run_marks``). Every legend entry says how many points it holds over which steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from torchscope.render.figures import axes_grid, figure, figure_note, figure_text, palette, theme
from torchscope.render.run_choice import CurveChoice, choose_curves, curve_order
from torchscope.render.run_common import (
    NAME_CHARS,
    Run,
    reader_of,
    shorten,
    step_axis,
    steps_text,
)
from torchscope.render.run_marks import (
    HealthMarks,
    draw_health,
    draw_nonfinite,
    draw_resumes,
    health_marks,
    write_segments,
)
from torchscope.render.units import plural
from torchscope.store.reader import decimate
from torchscope.store.records import Series

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from torchscope.analysis.run_health import Spell
    from torchscope.store.reader import RunReader

__all__ = ["CURVE_BUCKETS", "compare_runs", "ema", "learning_curves", "split_style"]

CURVE_BUCKETS = 2000  # decimation of long series: more buckets than a figure has pixels
_SPLIT_STYLES = {"train": ("-", "o"), "val": ("--", "s"), "test": (":", "D")}
_OTHER_STYLES = [("-.", "^"), ((0, (5, 1, 1, 1, 1, 1)), "v"), ((0, (1, 3)), "P")]


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing), broken at non-finite.

    A NaN or ±inf gives NaN (a gap in the curve) and the average starts afresh after it:
    carrying the last value over a NaN loss drew a converged-looking flat line.

    Example:
        >>> ema(np.array([1.0, 3.0, np.nan, 5.0]), 0.5).round(6).tolist()
        [1.0, 2.333333, nan, 5.0]
    """
    out = np.full(len(values), np.nan)
    finite = values[np.isfinite(values)]
    if len(finite) and finite.min() == finite.max():
        weight = 0.0  # a constant stays exactly constant (no rounding noise to zoom into)
    acc, norm = 0.0, 0.0
    for i, v in enumerate(values.tolist()):
        if not math.isfinite(v):
            acc, norm = 0.0, 0.0
            continue
        acc = weight * acc + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out[i] = acc / norm
    return out


def split_style(split: str, splits: Sequence[str]) -> tuple[Any, str]:
    """(line style, marker) of a split: fixed for train/val/test, distinct for the others.

    Example:
        >>> split_style("val", ["train", "val"]), split_style("dev", ["train", "dev"])
        (('--', 's'), ('-.', '^'))
    """
    if split in _SPLIT_STYLES:
        return _SPLIT_STYLES[split]
    others = [s for s in splits if s not in _SPLIT_STYLES]
    return _OTHER_STYLES[others.index(split) % len(_OTHER_STYLES)]


def _auto_weight(n: int) -> float:
    """Smoothing that averages over about 2% of the points (none for short series)."""
    window = n / 50
    return 0.0 if window <= 1 else 1.0 - 1.0 / window


def _points_label(raw: Series) -> str:
    n = len(raw)
    return f"{n:,} {plural(n, 'pt')}, {steps_text(raw.steps.tolist())}"


def _draw_segment(ax: Axes, s: Series, color: Any, style: tuple[Any, str], **line: Any) -> None:
    """Raw points (or min/max band) faintly, the smoothed curve on top."""
    x = s.centers
    if s.decimated and s.mins is not None and s.maxs is not None:
        ax.fill_between(x, s.mins, s.maxs, color=color, alpha=0.18, linewidth=0)
    elif len(s) > 1:
        ax.plot(x, s.values, color=color, alpha=0.3, linewidth=0.8)
    smoothing = line.pop("smoothing")
    weight = _auto_weight(len(s)) if smoothing is None else smoothing
    few = len(s) <= 30
    ax.plot(
        x,
        ema(s.values, weight),
        color=color,
        linestyle=style[0],
        linewidth=1.8,
        marker=style[1] if few else None,
        markersize=7 if len(s) == 1 else 4.5,
        markeredgecolor="white" if few else None,
        markeredgewidth=0.6,
        **line,
    )


def _draw_curve(
    ax: Axes,
    raw: Series,
    color: Any,
    style: tuple[Any, str],
    label: str,
    smoothing: float | None,
    buckets: int,
    zorder: float,
) -> list[Spell]:
    """One series: each resumed segment in step order, its non-finite points marked."""
    segments = write_segments(raw)
    next_starts = [int(seg.steps[0]) for seg in segments[1:]] + [None]
    for i, (seg, next_start) in enumerate(zip(segments, next_starts)):
        drawn = (
            seg
            if len(seg) <= buckets
            else Series(seg.name, seg.split, **decimate(seg.steps, seg.values, buckets))
        )
        # steps the next launch logged again are fainter: the later launch is the run's
        superseded = next_start is not None and int(seg.steps[-1]) >= next_start
        _draw_segment(
            ax,
            drawn,
            color,
            style,
            smoothing=smoothing,
            zorder=zorder,
            alpha=0.45 if superseded else 1.0,
            label=f"{label} · {_points_label(raw)}" if i == len(segments) - 1 else None,
        )
    draw_resumes(ax, segments, label)
    return draw_nonfinite(ax, raw, color, label)


def _scale_y(ax: Axes, series: Sequence[Series]) -> None:
    """Log scale when every value is positive and they span more than two decades."""
    vals = np.concatenate([s.values for s in series])
    vals = vals[np.isfinite(vals)]
    if len(vals) and vals.min() > 0 and vals.max() / vals.min() > 100:
        ax.set_yscale("log")
    else:
        ax.ticklabel_format(axis="y", useOffset=False)


def _grid_size(n: int) -> tuple[float, float]:
    return 4.6 * min(n, 3), 3.3 * math.ceil(n / 3) + 0.4


def _splits_in_order(pairs: Sequence[tuple[str, str]]) -> list[str]:
    return sorted(dict.fromkeys(s for s, _ in pairs), key=lambda sp: (sp != "train", sp))


def _panel(
    ax: Axes, reader: RunReader, name: str, splits: Sequence[str], draw: Any
) -> tuple[list[Series], list[tuple[str, Spell]]]:
    """The panel of one scalar: ``draw(ax, raw, zorder)`` for each split it has.

    Returns the raw series drawn and their non-finite spells (labelled). Shorter series
    are drawn on top, so a one-point ``test`` stays visible over a longer ``val``.
    """
    have = set(reader.scalar_names())
    raws = [reader.scalars(name, split=sp) for sp in splits if (sp, name) in have]
    raws.sort(key=len, reverse=True)
    spells = []
    for rank, raw in enumerate(raws):
        what = f"{shorten(name, 30)} ({shorten(raw.split, 20)})"
        spells += [(what, s) for s in draw(ax, raw, 3 + rank / 10)]
    if not raws:
        ax.text(0.5, 0.5, "not logged", ha="center", transform=ax.transAxes)
    else:
        _scale_y(ax, raws)
    ax.set_title(figure_text(name, NAME_CHARS))
    step_axis(ax)
    return raws, spells


def _notes(spells: list[tuple[str, Spell]], health: HealthMarks, choice: CurveChoice) -> str:
    lines = [f"non-finite {what}: {s.detail} at {s.steps_text}" for what, s in spells[:4]]
    if len(spells) > 4:
        lines.append(f"non-finite values in {len(spells) - 4} more spells (marked ×)")
    return figure_note(lines + health.notes()[:4] + choice.notes())


def learning_curves(
    run: Run,
    names: Sequence[str] | None = None,
    *,
    metric: str | None = None,
    smoothing: float | None = None,
    buckets: int = CURVE_BUCKETS,
) -> Figure:
    """One panel per scalar (loss, accuracy…), every split in it: smoothed, raw faintly.

    By default every scalar that changes gets a panel (losses first, at most
    ``run_choice.MAX_CURVE_PANELS``); ``metric`` is a regular expression that picks
    scalar names instead, ``names`` names them exactly. Constant scalars and those past
    the limit are listed in the figure's note, not drawn. ``smoothing`` is the EMA
    weight in [0, 1); by default it averages over ~2% of the points.

    Example:
        >>> learning_curves("runs/exp1", ["loss", "accuracy"])  # doctest: +SKIP
    """
    reader = reader_of(run)
    choice = choose_curves(reader, names, metric=metric)
    splits = _splits_in_order(reader.scalar_names())
    colors = dict(zip(splits, palette(len(splits))))
    health = health_marks(reader)

    def draw(ax: Axes, raw: Series, zorder: float) -> list[Spell]:
        style = split_style(raw.split, splits)
        color = colors[raw.split]
        label = figure_text(raw.split, 20)
        return _draw_curve(ax, raw, color, style, label, smoothing, buckets, zorder)

    spells: list[tuple[str, Spell]] = []
    steps: list[int] = []
    with theme():
        fig = figure(*_grid_size(len(choice.shown)), dpi=100)
        for i, (ax, name) in enumerate(zip(axes_grid(fig, len(choice.shown), 3), choice.shown)):
            raws, found = _panel(ax, reader, name, splits, draw)
            spells += found
            steps += [int(s.steps[end]) for s in raws if len(s) for end in (0, -1)]
            draw_health(ax, health, legend=i == 0)
            ax.legend(loc="best", fontsize="x-small")
        fig.suptitle(
            f"Learning curves · {figure_text(reader.name, NAME_CHARS)} · {steps_text(steps)}"
        )
        note = _notes(spells, health, choice)
        if note:
            fig.supxlabel(note, fontsize="small", color="0.25")
    return fig


def compare_runs(
    runs: Sequence[Run],
    names: Sequence[str] | None = None,
    *,
    metric: str | None = None,
    smoothing: float | None = None,
    buckets: int = CURVE_BUCKETS,
) -> Figure:
    """Several runs overlaid: one panel per scalar, a colour per run, a line style per split.

    By default the panels are the scalars every run logged (at most
    ``run_choice.MAX_COMPARE_PANELS``, loss first); ``metric`` (a regular expression)
    or ``names`` choose others.

    Example:
        >>> compare_runs(["runs/lr1e-3", "runs/lr1e-4"], ["loss"])  # doctest: +SKIP
    """
    readers = [reader_of(r) for r in runs]
    if not readers:
        raise ValueError("compare_runs needs at least one run")
    choice = _common_curves(readers, names, metric)
    colors = palette(len(readers))
    splits = _splits_in_order([p for r in readers for p in r.scalar_names()])
    spells: list[tuple[str, Spell]] = []
    with theme():
        fig = figure(*_grid_size(len(choice.shown)), dpi=100)
        for ax, name in zip(axes_grid(fig, len(choice.shown), 3), choice.shown):
            for reader, color in zip(readers, colors):
                run_name = figure_text(reader.name, 30)
                run_short = shorten(reader.name, 30)

                def draw(
                    ax: Axes, raw: Series, zorder: float, c: Any = color, run: str = run_name
                ) -> list[Spell]:
                    style = split_style(raw.split, splits)
                    label = f"{run} · {figure_text(raw.split, 20)}"
                    return _draw_curve(ax, raw, c, style, label, smoothing, buckets, zorder)

                _, found = _panel(ax, reader, name, splits, draw)
                spells += [(f"{run_short}: {what}", s) for what, s in found]
            ax.legend(fontsize="x-small", loc="best")
        fig.suptitle(f"Run comparison · {len(readers)} runs")
        note = _notes(spells, HealthMarks([], []), choice)
        if note:
            fig.supxlabel(note, fontsize="small", color="0.25")
    return fig


def _common_curves(
    readers: Sequence[RunReader], names: Sequence[str] | None, metric: str | None
) -> CurveChoice:
    """The panels of a comparison: scalars every run logged, chosen like ``choose_curves``."""
    from torchscope.render.run_choice import MAX_COMPARE_PANELS

    if names is not None:
        return choose_curves(readers[0], names, limit=MAX_COMPARE_PANELS)
    common = set.intersection(*({n for _, n in r.scalar_names()} for r in readers))
    first = curve_order(n for _, n in readers[0].scalar_names() if n in common)
    if not first:
        raise ValueError("the runs have no scalar in common")
    return choose_curves(readers[0], None, metric=metric, limit=MAX_COMPARE_PANELS, among=first)
