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
    "GraphFormatError",
    "GraphvizNotFound",
    "InputError",
    "LogValueError",
    "MissingDependency",
    "NothingToCompare",
    "OutputPathError",
    "PortInUse",
    "SpecError",
    "StoreError",
    "TorchscopeError",
    "TraceError",
    "UsageError",
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


class InputError(TorchscopeError, ValueError):
    """Example inputs cannot be made as asked (shape, dtype, value range or a size limit)."""


class UsageError(TorchscopeError, ValueError):
    """A command line the ``torchscope`` command cannot parse (unknown option, bad value)."""


class CheckpointError(TorchscopeError, ValueError):
    """A checkpoint could not be read; the message names the file and what is wrong."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"cannot read checkpoint {path}: {problem}")
        self.path = str(path)
        self.problem = problem


class NothingToCompare(TorchscopeError, ValueError):
    """Two sources compared share no tensor name, even with wrapper prefixes stripped."""


class GraphFormatError(TorchscopeError, ValueError):
    """A ModelGraph JSON does not match the schema; the message names the first problem."""


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


class OutputPathError(TorchscopeError, ValueError):
    """A file would be written outside the output folder it belongs in (a hostile name)."""

    def __init__(self, path: str | Path, root: str | Path) -> None:
        super().__init__(f"refusing to write {path}: it lies outside the output folder {root}")
        self.path = str(path)
        self.root = str(root)


class MissingDependency(TorchscopeError, ImportError):
    """An optional package a feature needs is not installed; the message says how to add it."""


class PortInUse(TorchscopeError, OSError):
    """The dashboard's port is taken; the message says which and what to do."""


class ViewerBundleMissing(TorchscopeError, FileNotFoundError):
    """The frontend bundle was not built into the package (``make frontend``)."""
