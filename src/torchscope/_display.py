"""The one display seam: result objects show themselves through renderers kept in render/.

A result class (``Summary``, ``ParamReport``, ``RunReader``…) inherits ``Displayable`` and
so renders in a terminal (``rich.print``/``console.print``), a notebook (``_repr_html_``)
and ``str()`` (plain text, no colour, at a fixed width) — without naming any render module.
render/ registers one function per type and medium on the generic functions below
(``functools.singledispatch``); the first display imports ``torchscope.render.display``,
which holds every registration. So analysis/ and store/ never import render/, and a new
result type gets all three views by registering its renderers there.

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
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

__all__ = ["TEXT_WIDTH", "Displayable", "html_of", "plain_text", "renderables_of"]

TEXT_WIDTH = 120  # the width of str(result); golden files are stored at fixed widths too
_REGISTRY_MODULE = "torchscope.render.display"


@functools.singledispatch
def renderables_of(value: Any, width: int) -> Iterable[RenderableType]:
    """The rich renderables that draw ``value`` in a terminal ``width`` characters wide."""
    raise TypeError(f"no terminal renderer is registered for {type(value).__name__}")


@functools.singledispatch
def html_of(value: Any) -> str:
    """``value`` as an HTML fragment for notebooks, every model- or run-derived string escaped."""
    raise TypeError(f"no HTML renderer is registered for {type(value).__name__}")


def _registered() -> None:
    """Import the module that registers every renderer (once; later calls are a dict lookup)."""
    importlib.import_module(_REGISTRY_MODULE)


def plain_text(value: Any, width: int = TEXT_WIDTH) -> str:
    """What ``value`` prints in a terminal, as plain text (no colour, no trailing spaces)."""
    from rich.console import Console, Group

    _registered()
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(Group(*renderables_of(value, width)))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


class Displayable:
    """Mixin: terminal, notebook and ``str()`` views through the renderers of render/."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        _registered()
        yield from renderables_of(self, options.max_width)

    def __str__(self) -> str:
        return plain_text(self)

    def _repr_html_(self) -> str:
        _registered()
        return html_of(self)
