"""``trace``, ``summary`` and ``draw``: a model's structure, captured and shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torchscope.model.graph import ModelGraph

if TYPE_CHECKING:
    from torchscope.analysis.summary import Summary
    from torchscope.render.graph_view import GraphView

__all__ = ["draw", "summary", "trace"]


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
    from torchscope.analysis.summary import summarize

    graph = model if isinstance(model, ModelGraph) else trace(model, *args, **kwargs)
    return summarize(graph, depth=depth, fold=fold)


def draw(
    model_or_graph: Any,
    *inputs: Any,
    depth: int | None = None,
    roll: bool = True,
    hide_trivial: bool = True,
    color_by: str | dict[str, float] | None = None,
    direction: str = "TB",
    title: str | None = None,
    **trace_kwargs: Any,
) -> GraphView:
    """Draw a model (or a captured ModelGraph): modules as nested boxes down to ``depth``.

    Args:
        model_or_graph: an ``nn.Module`` (traced with ``inputs``/``trace_kwargs`` exactly as
            ``torchscope.trace`` takes them) or a ``ModelGraph``.
        depth: deepest module level drawn as a box; deeper modules collapse into one node.
            ``None`` picks the deepest level that keeps the drawing to about 30 nodes.
        roll: draw runs of identical numbered blocks once with a ×N badge.
        hide_trivial: contract views, reshapes, dropout in eval and constant ops.
        color_by: ``"params"``, ``"macs"``, ``"activation"`` or a mapping of module name →
            value; nodes are coloured on that scale and a legend is added.
        direction: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).

    Example:
        >>> import torch, torchscope
        >>> net = torch.nn.Sequential(*[torch.nn.Linear(8, 8) for _ in range(4)])
        >>> view = torchscope.draw(net, input_size=(1, 8), depth=1)
        >>> [(n.label, n.repeat) for n in view.view.nodes if n.kind == "module"]
        [('0-3', 4)]
        >>> view.to_dot().startswith("digraph")
        True
    """
    from torchscope.analysis.visible_graph import COLOR_BY, visible_graph
    from torchscope.render.graph_view import GraphView

    direction = direction.upper()
    if direction not in ("TB", "LR"):
        raise ValueError(f"direction must be 'TB' or 'LR', not {direction!r}")
    if isinstance(color_by, str) and color_by not in COLOR_BY:
        raise ValueError(
            f"color_by must be one of {', '.join(COLOR_BY)} or a mapping, not {color_by!r}"
        )
    if isinstance(model_or_graph, ModelGraph):
        graph = model_or_graph
    else:
        graph = trace(model_or_graph, *inputs, **trace_kwargs)
    view = visible_graph(graph, depth, roll=roll, hide_trivial=hide_trivial, color_by=color_by)
    return GraphView(graph, view, direction=direction, color_by=color_by, title=title)
