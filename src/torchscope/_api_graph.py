"""``torchscope.draw``: a model's structure as a GraphView (static image or interactive page)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torchscope.model.graph import ModelGraph

if TYPE_CHECKING:
    from torchscope.render.graph_view import GraphView

__all__ = ["draw"]


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
    from torchscope.analysis.graph_view import COLOR_BY, visible_graph
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
        from torchscope._api import trace

        graph = trace(model_or_graph, *inputs, **trace_kwargs)
    view = visible_graph(graph, depth, roll=roll, hide_trivial=hide_trivial, color_by=color_by)
    return GraphView(graph, view, direction=direction, color_by=color_by, title=title)
