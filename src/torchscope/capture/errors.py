"""Errors raised while capturing a model, carrying what was captured up to the failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torchscope.model.graph import ModelGraph

__all__ = ["SpecError", "TraceError"]


class TraceError(RuntimeError):
    """A forward pass failed; ``partial`` holds the graph captured up to the failure."""

    def __init__(self, message: str, partial: ModelGraph | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class SpecError(ValueError):
    """A model spec (``pkg.mod:Name``, ``file.py:Name``, ``hf:Class``) could not be loaded."""
