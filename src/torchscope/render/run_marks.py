"""What the curves of a run must not hide: non-finite points, health events and resumes.

A smoothed curve carries on over a NaN, so the learning-curve figures mark every
non-finite point where it occurs (an ``x`` on the panel's top edge, a red span behind
the curve), draw the run's health events on the time axis (the monitor's first
non-finite value, spells of an exploding or vanishing gradient norm) and say where a
resumed run restarted. Each mark carries a legend label that says what it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from torchscope.analysis.run_health import Spell, gradient_spells, nonfinite_spells
from torchscope.render.run_common import figure_text, shorten
from torchscope.store.records import Series

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from torchscope.store.reader import RunReader

__all__ = [
    "HealthMarks",
    "draw_health",
    "draw_nonfinite",
    "draw_resumes",
    "health_marks",
    "write_segments",
]

NONFINITE_COLOR = "crimson"
_SPELL_COLORS = {"exploding": "darkorange", "vanishing": "royalblue"}
_MAX_MARKERS = 2000  # more non-finite points than this: spans only, one marker per spell
GRAD_NORM = "grad_norm"  # the total gradient norm the Monitor logs (train split)


def write_segments(raw: Series) -> list[Series]:
    """A series cut where a resumed run started again, each part in step order.

    The store returns points sorted by step; a run resumed from step 50 after reaching 100
    then holds steps 50–100 twice, interleaved, which draws a zig-zag. The store's
    segment of each point (one per launch) separates the passes; a store without
    segments is cut where the written order (by wall time) goes back to an earlier step.

    Example:
        >>> s = Series("loss", "train", np.array([0, 1, 1, 2]), np.array([5.0, 4.0, 3.0, 2.0]),
        ...            wall_times=np.array([0.0, 1.0, 3.0, 4.0]))
        >>> [seg.steps.tolist() for seg in write_segments(s)]
        [[0, 1], [1, 2]]
    """
    launches = raw.segments  # per point (None from a Series built by hand)
    if launches is not None and len(launches) and launches.min() != launches.max():
        parts = [np.flatnonzero(launches == k) for k in np.unique(launches)]
    elif len(raw) > 1 and raw.wall_times is not None and bool((np.diff(raw.steps) == 0).any()):
        order = np.argsort(raw.wall_times, kind="stable")
        written = raw.steps[order]
        parts = np.split(order, np.flatnonzero(written[1:] <= written[:-1]) + 1)
        parts = [np.sort(p) for p in parts]  # indices into step order: each part sorted
    else:
        return [raw]
    walls = raw.wall_times
    return [
        Series(
            raw.name,
            raw.split,
            raw.steps[p],
            raw.values[p],
            wall_times=None if walls is None else walls[p],
        )
        for p in parts
    ]


def _top(ax: Axes) -> Any:
    """x in data coordinates, y in axes coordinates (1 = the panel's top edge)."""
    return ax.get_xaxis_transform()


def draw_nonfinite(ax: Axes, raw: Series, color: Any, label: str) -> list[Spell]:
    """Mark the series' non-finite points; returns their spells (for the figure's note)."""
    bad = ~np.isfinite(raw.values)
    if not bad.any():
        return []
    spells = nonfinite_spells(raw.steps, raw.values)
    for s in spells:
        if s.first_step == s.last_step:
            ax.axvline(s.first_step, color=NONFINITE_COLOR, alpha=0.25, linewidth=1, zorder=1)
        else:
            ax.axvspan(s.first_step, s.last_step, color=NONFINITE_COLOR, alpha=0.1, zorder=1)
    steps = raw.steps[bad] if bad.sum() <= _MAX_MARKERS else [s.first_step for s in spells]
    n = int(bad.sum())
    ax.plot(
        steps,
        np.full(len(steps), 0.97),
        linestyle="none",
        marker="x",
        markersize=6,
        markeredgewidth=1.6,
        color=color,
        transform=_top(ax),
        clip_on=False,
        zorder=6,
        label=f"{label} non-finite ×{n:,}",
    )
    return spells


def draw_resumes(ax: Axes, segments: list[Series], label: str) -> None:
    """A dotted line where each later segment of a resumed series starts."""
    for seg in segments[1:]:
        ax.axvline(
            int(seg.steps[0]),
            color="0.35",
            linestyle=":",
            linewidth=1.2,
            zorder=1.5,
            label=f"{label} resumed at step {int(seg.steps[0])}",
        )


@dataclass(frozen=True)
class HealthMarks:
    """Health events of a run to draw on every curve's time axis."""

    first_nonfinite: list[tuple[int, str]]  # (step, "module, phase") from the store's events
    gradient: list[Spell]  # spells of the total gradient norm

    def notes(self) -> list[str]:
        """One line per event, for the figure's note."""
        lines = [
            f"first non-finite value at step {s}: {where}" for s, where in self.first_nonfinite
        ]
        lines += [f"{s.kind} {GRAD_NORM} at {s.steps_text} ({s.detail})" for s in self.gradient]
        return lines


def health_marks(reader: RunReader) -> HealthMarks:
    """The run's non-finite events and gradient-norm spells."""
    firsts = []
    for e in reader.events("nonfinite"):
        where = ", ".join(str(e.payload.get(k)) for k in ("module", "phase") if k in e.payload)
        firsts.append((int(e.step), shorten(where or "unknown place")))
    spells: list[Spell] = []
    if ("train", GRAD_NORM) in reader.scalar_names():
        s = reader.scalars(GRAD_NORM, split="train")
        spells = gradient_spells(s.steps, s.values, most=20)
    return HealthMarks(firsts, spells)


def draw_health(ax: Axes, marks: HealthMarks, *, legend: bool = True) -> None:
    """The run's health events on one panel's time axis, each kind labelled once.

    ``legend=False`` leaves them out of the panel's legend (another panel names them).
    """
    for i, (step, where) in enumerate(marks.first_nonfinite):
        label = f"first non-finite: {figure_text(where)}" if i == 0 and legend else None
        ax.axvline(step, color=NONFINITE_COLOR, linestyle="--", linewidth=1.2, label=label)
    labelled: set[str] = set()
    for s in marks.gradient:
        label = None if s.kind in labelled or not legend else f"{s.kind} {GRAD_NORM}"
        labelled.add(s.kind)
        color = _SPELL_COLORS[s.kind]
        if s.first_step == s.last_step:
            ax.axvline(s.first_step, color=color, alpha=0.6, linewidth=1.5, label=label, zorder=1)
        else:
            ax.axvspan(s.first_step, s.last_step, color=color, alpha=0.2, label=label, zorder=1)
