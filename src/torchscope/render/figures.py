"""Matplotlib building blocks shared by the figure modules: a figure, a grid of axes, the
seaborn theme and palette, and outside names made safe as figure text.

No pyplot: plain ``Figure`` objects, so drawing works in threads and servers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from torchscope.render.safe_text import shorten_middle, visible

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["axes_grid", "figure", "figure_text", "palette", "theme"]


def figure(width: float, height: float, dpi: float | None = None) -> Figure:
    """A constrained-layout figure of ``width`` × ``height`` inches (dpi from rcParams if None)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained", dpi=dpi)


def axes_grid(fig: Figure, n: int, cols: int) -> list[Axes]:
    """``n`` axes in rows of ``cols`` on ``fig``; the unused cells of the last row hidden."""
    cols = max(1, min(cols, n))
    rows = max(1, math.ceil(n / cols))
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


@contextmanager
def theme() -> Iterator[None]:
    """Seaborn's white grid at a notebook scale, for the figures drawn inside."""
    import seaborn as sns

    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85):
        yield


def palette(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours of seaborn's "deep" palette (at least one; it cycles past ten)."""
    import seaborn as sns

    return list(sns.color_palette("deep", max(n, 1)))


def figure_text(text: object, limit: int | None = 40) -> str:
    """An outside name as figure text: one line, never mathtext, cut in the middle.

    Matplotlib reads ``$…$`` as mathtext (a malformed one fails the whole figure), so
    dollars are escaped; control characters are shown as escapes.

    Example:
        >>> figure_text("cost in $")
        'cost in \\\\$'
    """
    clean = visible(text)
    return (clean if limit is None else shorten_middle(clean, limit)).replace("$", r"\$")
