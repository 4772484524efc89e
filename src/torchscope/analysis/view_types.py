"""What a drawing shows, as plain data: nodes, boxes (clusters), edges, the colour scale.

The result of ``visible_graph``; renderers (DOT, the rich tree) read only these.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from torchscope.analysis.color_scale import ColorScale
from torchscope.model.graph import TensorMeta

__all__ = ["ViewCluster", "ViewEdge", "ViewNode", "VisibleGraph", "call_label"]


@dataclass
class ViewNode:
    """One drawn node: one call of a collapsed module, an op, or a graph input/output.

    Figures describe one copy and one call: ``repeat`` says how many identical copies it
    stands for (totals are ``repeat`` times the figures), ``call`` which call of a module
    called ``calls`` times it is (0: not a call). ``settings`` are the layer's (kernel,
    stride, heads…); ``varies`` the settings that differ between the rolled copies.
    """

    id: str
    kind: str  # "module" | "op" | "input" | "output"
    label: str
    type: str
    path: str
    cluster: str | None
    repeat: int = 1
    params: int = 0
    macs: int = 0
    activation_bytes: int = 0
    shapes: list[TensorMeta] = field(default_factory=list)
    value: float | None = None
    calls: int = 1
    call: int = 0
    settings: str = ""
    varies: list[str] = field(default_factory=list)


@dataclass
class ViewCluster:
    """One call of an expanded module drawn as a box around its children.

    ``repeat`` > 1 when rolled; figures are per copy, as on nodes.
    """

    id: str
    path: str
    label: str
    type: str
    parent: str | None
    repeat: int = 1
    params: int = 0
    macs: int = 0
    calls: int = 1
    call: int = 0
    varies: list[str] = field(default_factory=list)


@dataclass
class ViewEdge:
    """Tensors flowing between two visible nodes (``count`` edges merged into one)."""

    src: str
    dst: str
    tensors: list[TensorMeta]
    count: int = 1


@dataclass
class VisibleGraph:
    """What a drawing shows: nodes, nested clusters, merged edges and an optional colour scale."""

    model_type: str
    depth: int
    roll: bool
    hide_trivial: bool
    nodes: list[ViewNode]
    clusters: list[ViewCluster]
    edges: list[ViewEdge]
    color: ColorScale | None = None
    hidden_ops: int = 0
    total_params: int = 0
    total_macs: int = 0

    def node(self, node_id: str) -> ViewNode:
        """The node with this id."""
        return next(n for n in self.nodes if n.id == node_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def call_label(name: str, call: int, calls: int) -> str:
    """``pool (call 2)`` for one call of a module called more than once, else ``name``.

    >>> call_label("pool", 2, 2), call_label("fc", 1, 1)
    ('pool (call 2)', 'fc')
    """
    return f"{name} (call {call})" if calls > 1 and call > 0 else name
