"""Matplotlib building blocks shared by the figure modules: the house style, a figure, a
grid of axes, and labels for long dotted names.

The style is seaborn's ``whitegrid`` at the ``notebook`` scale (0.85) with its ``deep``
palette, for the run plots and the parameter plots alike: draw inside ``theme()``. No
pyplot: plain ``Figure`` objects, so drawing works in threads and servers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from torchscope.render.safe_text import shorten_middle, visible

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "axes_grid",
    "figure",
    "figure_text",
    "integer_ticks",
    "log_ticks",
    "palette",
    "plain",
    "short_names",
    "theme",
    "wrap_name",
]

Color = tuple[float, float, float]
MAX_LABEL = 200  # characters of a name drawn at most (a hostile name may be 100,000 long)


@contextmanager
def theme() -> Iterator[None]:
    """The house style, for figures created (and drawn) inside the block.

    Example:
        >>> with theme():
        ...     fig = figure(4, 3)
        ...     ax = fig.subplots()
        >>> ax.xaxis.get_gridlines()[0].get_visible()  # whitegrid
        True
    """
    import seaborn as sns

    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85):
        yield


def palette(n: int) -> list[Color]:
    """``n`` colours of seaborn's ``deep`` palette (blue, orange, green, red, purple, …)."""
    import seaborn as sns

    return list(sns.color_palette("deep", max(n, 1)))


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


def integer_ticks(ax: Axes, which: str = "x") -> None:
    """Ticks at whole numbers only (layer indices, counts), never 2.5."""
    from matplotlib.ticker import MaxNLocator

    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(MaxNLocator(integer=True))


def log_ticks(ax: Axes, which: str = "x") -> None:
    """Plain-number labels on a log axis, call after plotting: 1, 2, 5 per decade over two
    decades or less (where decades alone leave no label), one per decade beyond, and no
    minor labels (they overlapped)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    decades = math.log10(hi / lo) if lo > 0 and hi > 0 else math.inf
    subs = (1.0,) if decades > 2 else (1.0, 2.0, 5.0) if decades > 0.8 else (1, 2, 3, 4, 5, 6, 8)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=5))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    axis.set_minor_formatter(NullFormatter())


def plain(text: str) -> str:
    """``text`` as literal matplotlib text: ``$`` escaped, so that a name never starts a
    mathtext formula (``$\\frac$`` in a tensor name made saving a figure raise), and cut in
    the middle past ``MAX_LABEL`` characters.

    Example:
        >>> print(plain("a$b$.weight"))
        a\\$b\\$.weight
    """
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL // 2] + "…" + text[-(MAX_LABEL // 2 - 1) :]
    return text.replace("$", r"\$")


def short_names(names: Sequence[str], limit: int = 36) -> list[str]:
    """Labels for dotted names, unique among them: each name's shortest distinguishing tail
    (never starting at a bare index), with middle parts elided past ``limit`` characters
    while the labels stay unique; ``plain`` text for matplotlib.

    Example:
        >>> short_names(["transformer.h.0.mlp.c_fc.weight", "transformer.h.1.mlp.c_fc.weight",
        ...              "transformer.wte.weight"])
        ['h.0.mlp.c_fc.weight', 'h.1.mlp.c_fc.weight', 'wte.weight']
    """
    parts = [name.split(".") for name in names]
    tails = [_unique_tail(p, parts) for p in parts]
    labels = [_elided(tail, limit) for tail in tails]
    counts = Counter(labels)
    labels = [lab if counts[lab] == 1 else ".".join(t) for lab, t in zip(labels, tails)]
    # a single part too long to elide by parts (a hostile name) is cut by characters
    cut = [lab if len(lab) <= 2 * limit else f"{lab[:limit]}…{lab[-limit:]}" for lab in labels]
    return [plain(lab) for lab in cut]


def _unique_tail(name: list[str], every: list[list[str]]) -> list[str]:
    for k in range(1, len(name) + 1):
        tail = name[-k:]
        if sum(p[-k:] == tail for p in every) == 1:
            while k < len(name) and name[-k].isdigit():
                k += 1
            return name[-k:]
    return name  # a repeated name: nothing distinguishes it


def _elided(tail: list[str], limit: int) -> str:
    text = ".".join(tail)
    if len(text) <= limit or len(tail) < 3:
        return text
    shortest = text
    for keep in range(len(tail) - 2, 0, -1):  # the first part, …, the last `keep` parts
        if tail[-keep].isdigit():  # "….1.conv" would hide what the index counts
            continue
        shortest = f"{tail[0]}.….{'.'.join(tail[-keep:])}"
        if len(shortest) <= limit:
            break
    return shortest


def wrap_name(name: str, width: int) -> str:
    """A dotted name broken after dots into lines of at most ``width`` characters (a part
    longer than that stays whole), as ``plain`` text for matplotlib.

    Example:
        >>> print(wrap_name("resnet.encoder.stages.1.layers.0.layer.1.convolution.weight", 30))
        resnet.encoder.stages.1.
        layers.0.layer.1.convolution.
        weight
    """
    name = plain(name)
    lines = [""]
    for i, part in enumerate(name.split(".")):
        piece = part + ("." if i < name.count(".") else "")
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(lines)


def figure_text(text: object, limit: int | None = 40) -> str:
    """An outside name as one line of figure text: control characters shown as escapes,
    cut in the middle past ``limit`` cells, ``$`` escaped as in ``plain``.

    Example:
        >>> figure_text("cost in $")
        'cost in \\\\$'
    """
    clean = visible(text)
    return plain(clean if limit is None else shorten_middle(clean, limit))
