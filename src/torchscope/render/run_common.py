"""What every run figure shares: the reader of a run, the seaborn style and the palette.

The figure modules (``run_curves``, ``run_classification``, ``run_layers``,
``run_distributions``) draw on plain ``Figure`` objects made here, so they work in
threads and servers (no pyplot).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from torchscope.render.figures import figure
from torchscope.render.safe_text import shorten_middle, visible
from torchscope.store.reader import RunReader

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Run",
    "figure_note",
    "figure_text",
    "new_figure",
    "palette",
    "reader_of",
    "run_style",
    "shorten",
    "spread",
    "step_axis",
    "steps_text",
]

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


def shorten(text: object, limit: int = 60) -> str:
    """``text`` in at most ``limit`` cells, cut in the middle (``safe_text.shorten_middle``).

    Example:
        >>> shorten("transformer.h.0.attn.c_attn.weight", 24)
        'trans…attn.c_attn.weight'
    """
    return shorten_middle(str(text), limit)


def figure_text(text: object, limit: int | None = 60) -> str:
    """A name from a store as figure text: never mathtext, control characters visible, short.

    Matplotlib reads ``$…$`` as mathtext (a malformed one fails the whole figure), so
    dollars are escaped; control characters are shown as escapes (``safe_text.visible``);
    a name longer than ``limit`` is shortened in the middle.

    Example:
        >>> figure_text("cost in $ \\x1b[31m")
        'cost in \\\\$ \\\\x1b[31m'
    """
    clean = visible(text)
    return (clean if limit is None else shorten_middle(clean, limit)).replace("$", r"\$")


def figure_note(lines: Sequence[str]) -> str:
    """Lines of a note under a figure, each as ``figure_text`` (newlines between them kept)."""
    return "\n".join(figure_text(line, None) for line in lines)


def step_axis(ax: Axes) -> None:
    """Label the x axis "step" with whole-number ticks only (steps are integers)."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def steps_text(steps: Iterable[int]) -> str:
    """``step 7``, ``steps 0–499`` or ``no steps`` for a sorted sequence of steps.

    Example:
        >>> steps_text([0, 10, 20]), steps_text([7]), steps_text([])
        ('steps 0–20', 'step 7', 'no steps')
    """
    seq = [int(s) for s in steps]
    if not seq:
        return "no steps"
    first, last = min(seq), max(seq)
    return f"step {first}" if first == last else f"steps {first}–{last}"


def spread(names: Sequence[str], most: int) -> list[str]:
    """At most ``most`` names, evenly spread over the list (first and last included).

    Example:
        >>> spread([f"l{i}" for i in range(10)], 3)
        ['l0', 'l4', 'l9']
    """
    import numpy as np

    if len(names) <= most:
        return list(names)
    picks = np.unique(np.linspace(0, len(names) - 1, max(most, 1)).round().astype(int))
    return [names[i] for i in picks]
