"""The public functions, thin over capture → analysis."""

from __future__ import annotations

from typing import Any

from torchscope.analysis.summary import Summary, summarize
from torchscope.model.graph import ModelGraph

__all__ = ["summary", "trace"]


def trace(model: Any, *args: Any, **kwargs: Any) -> ModelGraph:
    """Run one forward pass and return its ModelGraph (see ``torchscope.capture.trace``).

    Example:
        >>> import torch, torchscope
        >>> torchscope.trace(torch.nn.Linear(4, 2), input_size=(1, 4)).total_params
        10
    """
    from torchscope.capture.trace import trace as _trace

    return _trace(model, *args, **kwargs)


def summary(
    model: Any,
    *args: Any,
    depth: int = 4,
    fold: bool = True,
    **kwargs: Any,
) -> Summary:
    """Summarise a model (or an already captured ModelGraph): module table and totals.

    Takes the same inputs as ``trace`` (positional inputs, ``input_size=``, ``device=``,
    ``dtype=``, keyword inputs). Raises ``TraceError`` when the forward fails; its
    ``partial`` graph can still be summarised.

    Example:
        >>> import torch, torchscope
        >>> s = torchscope.summary(torch.nn.Linear(4, 2), input_size=(1, 4))
        >>> s.totals.total_params, s.totals.macs
        (10, 8)
    """
    graph = model if isinstance(model, ModelGraph) else trace(model, *args, **kwargs)
    return summarize(graph, depth=depth, fold=fold)
