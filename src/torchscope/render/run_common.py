"""What every run figure shares: the reader of a run, the seaborn style and the palette.

The figure modules (``run_curves``, ``run_classification``, ``run_layers``,
``run_distributions``) draw on plain ``Figure`` objects made here, so they work in
threads and servers (no pyplot).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from torchscope.render.figures import figure
from torchscope.store.reader import RunReader

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Run", "new_figure", "palette", "reader_of", "run_style"]

Run = RunReader | str | Path


def reader_of(run: Run) -> RunReader:
    """The run's reader: ``run`` itself, or a reader opened on a directory or store file."""
    return run if isinstance(run, RunReader) else RunReader(run)


@contextmanager
def run_style() -> Iterator[None]:
    """Seaborn's white grid at a notebook scale, for the figures drawn inside."""
    import seaborn as sns

    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A constrained-layout figure of ``width`` × ``height`` inches at 100 dpi."""
    return figure(width, height, dpi=100)


def palette(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours of seaborn's "deep" palette (at least one)."""
    import seaborn as sns

    return list(sns.color_palette("deep", max(n, 1)))
