"""Typed reads of what a matplotlib figure drew, for the figure tests' assertions.

Matplotlib types its getters loosely: ``get_offsets`` and ``get_xdata`` return any
array-like, ``Axes.patches`` holds ``Patch``es (no height), ``get_legend`` may be None and
``get_label`` is an ``object``. These return numpy arrays, rectangles and strings, and
fail the test where the figure lacks what it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.patches import Rectangle

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D

__all__ = ["label", "legend_texts", "offsets", "rectangles", "xdata", "ydata"]


def xdata(line: Line2D) -> np.ndarray:
    """The x values of a drawn line."""
    return np.asarray(line.get_xdata())


def ydata(line: Line2D) -> np.ndarray:
    """The y values of a drawn line."""
    return np.asarray(line.get_ydata())


def offsets(collection: Collection) -> np.ndarray:
    """The (x, y) points of a scatter, one row each."""
    return np.asarray(collection.get_offsets())


def rectangles(ax: Axes) -> list[Rectangle]:
    """The patches of ``ax`` (bars, spans), each checked to be a rectangle."""
    bars = []
    for patch in ax.patches:
        assert isinstance(patch, Rectangle), patch
        bars.append(patch)
    return bars


def legend_texts(ax: Axes) -> list[str]:
    """The entries of the legend of ``ax``, which must have one."""
    legend = ax.get_legend()
    assert legend is not None, "the axes have no legend"
    return [t.get_text() for t in legend.get_texts()]


def label(artist: Artist) -> str:
    """An artist's label (a legend entry's text)."""
    return str(artist.get_label())
