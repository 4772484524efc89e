"""The one display seam: result objects show themselves through renderers kept in render/.

A result class (``Summary``, ``ParamReport``, ``RunReader``…) inherits ``Displayable`` and
so renders in a terminal (``rich.print``/``console.print``), a notebook (``_repr_html_``)
and ``str()`` (plain text, no colour, at a fixed width) — without naming any render module.
render/ registers one function per type and medium on the generic functions below
(``functools.singledispatch``); the first call that finds no renderer imports
``torchscope.render.display``, which holds every registration, and dispatches again. So
analysis/ and store/ never import render/, and a new result type gets all three views by
registering its renderers there. Results that draw
figures (``ParamReport.figures()``/``.save()``) reach their figure code the same way:
``figures_of`` is registered per type and ``save_figures_of`` writes what it draws.

Example:
    >>> import torch, torchscope
    >>> s = torchscope.summary(torch.nn.Linear(4, 2), input_size=(1, 4))
    >>> "Linear" in str(s) and "<table" in s._repr_html_()
    True
"""

from __future__ import annotations

import functools
import importlib
import io
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

__all__ = [
    "TEXT_WIDTH",
    "Displayable",
    "figures_of",
    "html_of",
    "plain_text",
    "renderables_of",
    "save_figures_of",
]

TEXT_WIDTH = 120  # the width of str(result); golden files are stored at fixed widths too
_REGISTRY_MODULE = "torchscope.render.display"


def _on_first_use(generic: Callable[..., Any], what: str, value: Any, *args: Any, **kw: Any) -> Any:
    """A generic's fallback: the first time, import the registry and dispatch again."""
    if _REGISTRY_MODULE not in sys.modules:
        importlib.import_module(_REGISTRY_MODULE)
        return generic(value, *args, **kw)
    raise TypeError(f"no {what} renderer is registered for {type(value).__name__}")


@functools.singledispatch
def renderables_of(value: Any, width: int) -> Iterable[RenderableType]:
    """The rich renderables that draw ``value`` in a terminal ``width`` characters wide."""
    return _on_first_use(renderables_of, "terminal", value, width)


@functools.singledispatch
def html_of(value: Any) -> str:
    """``value`` as an HTML fragment for notebooks, every model- or run-derived string escaped."""
    return _on_first_use(html_of, "HTML", value)


@functools.singledispatch
def figures_of(value: Any, **options: Any) -> dict[str, Figure]:
    """Every matplotlib figure ``value`` can draw, keyed by file stem."""
    return _on_first_use(figures_of, "figure", value, **options)


def save_figures_of(value: Any, directory: str | Path, **options: Any) -> list[Path]:
    """Draw ``value``'s figures and write each to ``directory/<stem>.png``; the paths written.

    The writer is the registry's ``save_figures`` (a plotting backend, as pandas has one).
    """
    figures = figures_of(value, **options)
    registry = importlib.import_module(_REGISTRY_MODULE)
    return registry.save_figures(figures, Path(directory))


def plain_text(value: Any, width: int = TEXT_WIDTH) -> str:
    """What ``value`` prints in a terminal, as plain text (no colour, no trailing spaces)."""
    from rich.console import Console, Group

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(Group(*renderables_of(value, width)))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


class Displayable:
    """Mixin: terminal, notebook and ``str()`` views through the renderers of render/."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from renderables_of(self, options.max_width)

    def __str__(self) -> str:
        return plain_text(self)

    def _repr_html_(self) -> str:
        return html_of(self)
