"""Every error torchscope raises on bad input or a missing tool, under one base class.

Users catch ``TorchscopeError``; each subclass also derives from the built-in exception a
caller would expect (``ValueError`` for bad input, ``RuntimeError`` for a failed run), so
code written against those keeps working.

Example:
    >>> import torchscope
    >>> issubclass(torchscope.CheckpointError, torchscope.TorchscopeError)
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "CheckpointError",
    "GraphvizNotFound",
    "LogValueError",
    "SpecError",
    "StoreError",
    "TorchscopeError",
    "TraceError",
    "ViewerBundleMissing",
]


class TorchscopeError(Exception):
    """Base class of every error torchscope raises on purpose."""


class TraceError(TorchscopeError, RuntimeError):
    """A forward pass failed; ``partial`` holds the graph captured up to the failure."""

    def __init__(self, message: str, partial: Any = None) -> None:
        super().__init__(message)
        self.partial = partial


class SpecError(TorchscopeError, ValueError):
    """A model spec (``pkg.mod:Name``, ``file.py:Name``, ``hf:Class``) could not be loaded."""


class CheckpointError(TorchscopeError, ValueError):
    """A checkpoint could not be read; the message names the file and what is wrong."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"cannot read checkpoint {path}: {problem}")
        self.path = str(path)
        self.problem = problem


class StoreError(TorchscopeError, ValueError):
    """A run store could not be read; the message names the file and what is wrong."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"cannot read run store {path}: {problem}")
        self.path = str(path)
        self.problem = problem


class LogValueError(TorchscopeError, ValueError, TypeError):
    """A logging call got a step, name or value the store cannot keep; raised at the call.

    Nothing else is lost: the item is refused before it is queued. Also a ``TypeError``,
    for values of the wrong type (a string where a number belongs).
    """


class GraphvizNotFound(TorchscopeError, RuntimeError):
    """The system Graphviz ``dot`` program is missing (needed for SVG, PNG and PDF only)."""

    def __init__(self) -> None:
        super().__init__(
            "Graphviz's `dot` program was not found on PATH; it is needed for .svg, .png and "
            ".pdf output. Install it with `apt-get install graphviz` (Debian/Ubuntu), "
            "`brew install graphviz` (macOS) or `conda install graphviz`, or save as .html, "
            ".dot or .json instead."
        )


class ViewerBundleMissing(TorchscopeError, FileNotFoundError):
    """The frontend bundle was not built into the package (``make frontend``)."""
