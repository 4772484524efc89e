"""Matplotlib building blocks shared by the figure modules: a figure and a grid of axes.

No pyplot: plain ``Figure`` objects, so drawing works in threads and servers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["axes_grid", "figure"]


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
