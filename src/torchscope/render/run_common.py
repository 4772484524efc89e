"""What every run figure shares beyond the house style (``figures``): the reader of a
run, names shortened for a figure, the step axis and its text.

The figure modules (``run_curves``, ``run_classification``, ``run_layers``,
``run_distributions``) draw in ``figures.theme()`` on ``figures.figure`` objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from torchscope.render.figures import integer_ticks
from torchscope.render.safe_text import shorten_middle
from torchscope.store.reader import RunReader

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "NAME_CHARS",
    "Run",
    "reader_of",
    "shorten",
    "spread",
    "step_axis",
    "steps_text",
]

Run = RunReader | str | Path
NAME_CHARS = 60  # a run's, a scalar's or a place's name in a title: cut in the middle past this


def reader_of(run: Run) -> RunReader:
    """The run's reader: ``run`` itself, or a reader opened on a directory or store file."""
    return run if isinstance(run, RunReader) else RunReader(run)


def shorten(text: object, limit: int = NAME_CHARS) -> str:
    """``text`` in at most ``limit`` cells, cut in the middle (``safe_text.shorten_middle``).

    Example:
        >>> shorten("transformer.h.0.attn.c_attn.weight", 24)
        'trans…attn.c_attn.weight'
    """
    return shorten_middle(str(text), limit)


def step_axis(ax: Axes) -> None:
    """Label the x axis "step" with whole-number ticks only (steps are integers)."""
    ax.set_xlabel("step")
    integer_ticks(ax, "x")


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
