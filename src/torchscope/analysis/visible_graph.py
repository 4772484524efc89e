"""The graph as drawn: which calls are boxes or collapsed nodes, which ops show, and the
tensor edges between what is visible.

A ``ModelGraph`` holds every op of a forward pass (4,745 for an 80-layer Llama). Drawing
needs far less: calls of modules above ``depth`` become nested clusters, calls at
``depth`` become one node each, runs of identical numbered siblings are drawn once with a
repeat count, and trivial ops (views, reshapes, dropout in eval, constants) are
contracted away with their edges re-routed between what stays visible.

What is drawn is the call tree (see ``scopes``): a module called twice is two nodes
(``pool (call 2)``), so the drawing of a feed-forward model has no cycle.
"""

from __future__ import annotations

from collections.abc import Mapping

from torchscope.analysis.color_scale import (
    COLOR_BY,
    ColorScale,
    check_color_by,
    color_scale,
    measure_of,
)
from torchscope.analysis.repeats import RunMap
from torchscope.analysis.trivia import TRIVIAL_OPS
from torchscope.analysis.view_builder import Context, build_view
from torchscope.analysis.view_types import (
    ViewCluster,
    ViewEdge,
    ViewNode,
    VisibleGraph,
    call_label,
)
from torchscope.model.graph import ModelGraph

__all__ = [
    "COLOR_BY",
    "TRIVIAL_OPS",
    "ColorScale",
    "ViewCluster",
    "ViewEdge",
    "ViewNode",
    "VisibleGraph",
    "auto_depth",
    "call_label",
    "visible_graph",
]

_DEFAULT_NODE_BUDGET = 30


def visible_graph(
    graph: ModelGraph,
    depth: int | None = None,
    roll: bool = True,
    hide_trivial: bool = True,
    color_by: str | Mapping[str, float] | None = None,
) -> VisibleGraph:
    """The drawable view of ``graph``: modules deeper than ``depth`` collapsed into nodes.

    ``depth=None`` picks the deepest level that keeps the drawing readable (see
    ``auto_depth``). ``color_by`` is ``"params"``, ``"macs"``, ``"activation"`` or a mapping
    of module name → value.

    Example:
        >>> import torch, torchscope
        >>> from torchscope.analysis.visible_graph import visible_graph
        >>> g = torchscope.trace(torch.nn.Sequential(torch.nn.Linear(4, 2)), input_size=(1, 4))
        >>> [n.label for n in visible_graph(g, depth=1).nodes]
        ['args[0]', '0', 'tensor']
    """
    color = check_color_by(color_by)
    context = Context(graph, roll)
    if depth is None:
        depth = _auto_depth(context, hide_trivial)
    view = build_view(context, depth, hide_trivial)
    if color is not None:
        _apply_colors(view, context.runs, color)
    return view


def auto_depth(graph: ModelGraph, roll: bool = True, hide_trivial: bool = True) -> int:
    """The deepest module level whose drawing has at most 30 nodes (at least 1)."""
    return _auto_depth(Context(graph, roll), hide_trivial)


def _auto_depth(context: Context, hide_trivial: bool) -> int:
    deepest = max((m.depth for m in context.graph.modules), default=0)
    best = 1
    for depth in range(1, deepest + 1):
        view = build_view(context, depth, hide_trivial)
        if len(view.nodes) > _DEFAULT_NODE_BUDGET and depth > 1:
            break
        best = depth
    return best


# ----- colours


def _apply_colors(view: VisibleGraph, runs: RunMap, color_by: str | dict[str, float]) -> None:
    """Set each node's ``value`` and the view's colour scale (see ``color_scale``)."""
    name, attribute = measure_of(color_by)
    if attribute is None:
        assert isinstance(color_by, dict)
        values = _mapped_values(view, runs.canon, color_by)
    else:
        values = {
            n.id: float(getattr(n, attribute)) for n in view.nodes if n.kind in ("module", "op")
        }
    for node in view.nodes:
        node.value = values.get(node.id)
    view.color = color_scale(name, values.values())


def _mapped_values(
    view: VisibleGraph, canon: dict[str, str], mapping: dict[str, float]
) -> dict[str, float]:
    """A module node's value from the mapping: the mean over the copies it stands for."""
    gathered: dict[str, list[float]] = {}
    for path, value in mapping.items():
        gathered.setdefault(canon.get(path, path), []).append(float(value))
    return {
        n.id: sum(gathered[n.path]) / len(gathered[n.path])
        for n in view.nodes
        if n.kind == "module" and n.path in gathered
    }
