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

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from torchscope.analysis.color_scale import (
    COLOR_BY,
    ColorScale,
    check_color_by,
    color_scale,
    measure_of,
)
from torchscope.analysis.repeats import RunMap, crosses_copies, run_map
from torchscope.analysis.scopes import Scope, ScopeTree, call_scopes
from torchscope.analysis.settings import attention_heads, layer_settings
from torchscope.analysis.trivia import (
    TRIVIAL_OPS,
    constant_ops,
    contract,
    trivial_module,
    trivial_op,
)
from torchscope.model.graph import Edge, ModelGraph, ModuleNode, OpNode, TensorMeta

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
    context = _Context(graph, roll)
    if depth is None:
        depth = _auto_depth(context, hide_trivial)
    view = _Builder(context, depth, hide_trivial).build()
    if color is not None:
        _apply_colors(view, context.runs, color)
    return view


def auto_depth(graph: ModelGraph, roll: bool = True, hide_trivial: bool = True) -> int:
    """The deepest module level whose drawing has at most 30 nodes (at least 1)."""
    return _auto_depth(_Context(graph, roll), hide_trivial)


def _auto_depth(context: _Context, hide_trivial: bool) -> int:
    deepest = max((m.depth for m in context.graph.modules), default=0)
    best = 1
    for depth in range(1, deepest + 1):
        view = _Builder(context, depth, hide_trivial).build()
        if len(view.nodes) > _DEFAULT_NODE_BUDGET and depth > 1:
            break
        best = depth
    return best


class _Context:
    """What every depth's drawing shares: the call tree, the rolled runs, heads per scope."""

    def __init__(self, graph: ModelGraph, roll: bool) -> None:
        self.graph = graph
        self.roll = roll
        self.runs: RunMap = run_map(graph, roll)
        self.scopes: ScopeTree = call_scopes(graph)
        self.heads: dict[int, int] = {}
        for op in graph.ops:
            heads = attention_heads([op])
            scope = self.scopes.op_scope[op.id]
            while heads and scope >= 0 and scope not in self.heads:
                self.heads[scope] = heads
                scope = self.scopes.scopes[scope].parent


# ----- building the view


class _Builder:
    def __init__(self, context: _Context, depth: int, hide_trivial: bool) -> None:
        graph = context.graph
        self.context = context
        self.graph = graph
        self.depth = depth
        self.hide = hide_trivial
        self.runs = context.runs
        self.scopes = context.scopes.scopes
        self.param_sizes = {p.name: p.numel for p in graph.params}
        self.view = VisibleGraph(
            graph.model_type, depth, context.roll, hide_trivial, [], [], [],
            total_params=graph.total_params, total_macs=graph.total_macs,
        )  # fmt: skip
        self.node_of: dict[int, ViewNode] = {}  # collapsed scope → the node drawing it
        self.box_of: dict[int, str | None] = {}  # expanded scope → its cluster (None: top)
        self.keys: dict[int, tuple[Any, ...]] = {0: ()}  # scope → key shared by rolled copies
        self.drawn: dict[tuple[Any, ...], ViewNode | str | None] = {}
        self.module_nodes: list[tuple[ViewNode, ModuleNode]] = []
        self.op_nodes: dict[int, ViewNode] = {}
        self.used: set[str] = set()
        self.hidden: set[str] = set()
        self.cluster_paths: dict[str, str] = {}
        self.first_op: dict[str, int] = {}  # visible node → the first op drawn by it

    def build(self) -> VisibleGraph:
        self._place()
        raw = self._raw_edges()
        self._hide_unused_modules()
        self.view.edges = _merge_edges(contract(raw, self.hidden))
        self.view.nodes = sorted(
            (n for n in self.view.nodes if n.id not in self.hidden), key=self._order
        )
        self.view.hidden_ops = sum(1 for i in self.op_nodes.values() if i.id in self.hidden)
        self._drop_empty_clusters()
        return self.view

    def _order(self, node: ViewNode) -> tuple[int, int]:
        """Inputs first, then modules and ops as the forward pass reached them, outputs last."""
        rank = {"input": 0, "output": 2}.get(node.kind, 1)
        return rank, self.first_op.get(node.id, len(self.graph.ops))

    # calls of modules → clusters and nodes

    def _place(self) -> None:
        self._io_nodes("input", [(i.name, i.tensor) for i in self.graph.inputs])
        root = self.scopes[0]
        if self.depth <= 0 or not self.graph.root.children:
            self.node_of[0] = self._module_node(root, self.graph.root, None)
        else:
            self.box_of[0] = None
            self._place_children(root, None)
        self._io_nodes("output", [(o.name, o.tensor) for o in self.graph.outputs])

    def _place_children(self, scope: Scope, cluster: str | None) -> None:
        for index in scope.children:
            child = self.scopes[index]
            canon = self.runs.canon.get(child.path, child.path)
            key = self.keys[index] = (canon, child.call, self.keys[scope.index])
            if key not in self.drawn:  # the first copy of a rolled run draws every copy
                self.drawn[key] = self._draw(child, self.graph.module(canon), cluster)
            drawn = self.drawn[key]
            if isinstance(drawn, ViewNode):
                self.node_of[index] = drawn
            else:
                self.box_of[index] = drawn
                self._place_children(child, drawn)

    def _draw(self, scope: Scope, module: ModuleNode, cluster: str | None) -> ViewNode | str | None:
        """A node for a collapsed call, a box for an expanded one, nothing for a container."""
        if not (module.depth < self.depth and module.children):
            return self._module_node(scope, module, cluster)
        if scope.call == 0:  # a container that is not running (ModuleList): no box of its own
            return cluster
        return self._cluster(scope, module, cluster)

    def _label(self, module: ModuleNode, cluster: str | None, call: int) -> str:
        """The call's name relative to its enclosing box: ``h.0-11`` inside ``transformer``."""
        repeat = self.runs.repeat.get(module.path, 1)
        label = self.runs.label[module.path] if repeat > 1 else module.path
        base = self.cluster_paths.get(cluster, "") if cluster else ""
        label = label[len(base) + 1 :] if base and label.startswith(base + ".") else label
        return call_label(label, call, module.calls if self.context.scopes.exact else 1)

    def _cluster(self, scope: Scope, module: ModuleNode, parent: str | None) -> str:
        cluster = ViewCluster(
            id=f"cluster_{len(self.view.clusters)}",
            path=module.path,
            label=self._label(module, parent, scope.call),
            type=module.type,
            parent=parent,
            repeat=self.runs.repeat.get(module.path, 1),
            params=module.total_params,
            macs=scope.macs,
            calls=module.calls,
            call=scope.call,
            varies=self.runs.varies.get(module.path, []),
        )
        self.view.clusters.append(cluster)
        self.cluster_paths[cluster.id] = module.path
        return cluster.id

    def _module_node(self, scope: Scope, module: ModuleNode, cluster: str | None) -> ViewNode:
        node = ViewNode(
            id=f"m{len(self.module_nodes)}",
            kind="module",
            label=self._label(module, cluster, scope.call) if module.path else module.type,
            type=module.type,
            path=module.path,
            cluster=cluster,
            repeat=self.runs.repeat.get(module.path, 1),
            params=module.total_params,
            macs=scope.macs,
            activation_bytes=scope.activation_bytes,
            shapes=list(scope.outputs or module.output_shapes),
            calls=max(module.calls, 1),
            call=scope.call,
            settings=layer_settings(module.extra_repr, self.context.heads.get(scope.index)),
            varies=self.runs.varies.get(module.path, []),
        )
        self.module_nodes.append((node, module))
        self.view.nodes.append(node)
        if self.hide and trivial_module(module.type, self.graph.training):
            self.hidden.add(node.id)
        return node

    def _io_nodes(self, kind: str, items: list[tuple[str, TensorMeta]]) -> None:
        for i, (name, tensor) in enumerate(items):
            node = ViewNode(f"{kind}{i}", kind, name, tensor.dtype, "", None, shapes=[tensor])
            self.view.nodes.append(node)

    # ops and edges

    def _raw_edges(self) -> list[Edge]:
        constant = constant_ops(self.graph) if self.hide else set()
        ends: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = {}
        for op in self.graph.ops:
            target = self._op_target(op, constant)
            self.first_op.setdefault(target, op.id)
            ends[f"op{op.id}"] = (target, self.runs.membership.get(op.module, ()))
        known = {n.id for n in self.view.nodes}
        outputs = self._output_targets(
            {e.dst: ends.get(e.src, (e.src, ()))[0] for e in self.graph.edges}
        )
        edges = []
        for e in self.graph.edges:
            src, src_runs = ends.get(e.src, (e.src, ()))
            dst, dst_runs = ends.get(e.dst, (outputs.get(e.dst, e.dst), ()))
            if src not in known or dst not in known:
                continue  # an end the graph does not have: never drawn, never written
            if src == dst or crosses_copies(src_runs, dst_runs):
                continue
            edges.append(Edge(src, dst, e.tensor))
        return edges

    def _op_target(self, op: OpNode, constant: set[int]) -> str:
        """The visible node an op belongs to: its collapsed call, or a node of its own."""
        scope = self.context.scopes.op_scope[op.id]
        while scope not in self.box_of:
            node = self.node_of.get(scope)
            if node is not None:
                self.used.add(node.id)
                return node.id
            scope = self.scopes[scope].parent
        path = self.runs.canon.get(op.module, op.module)
        rep = self._canonical_op(op, path)
        node = self.op_nodes.get(rep.id)
        if node is None:
            node = self.op_nodes[rep.id] = _op_node(rep, self.box_of[scope], self.param_sizes)
            self.view.nodes.append(node)
            if self.hide and (rep.id in constant or trivial_op(rep, self.graph.training)):
                self.hidden.add(node.id)
        return node.id

    def _canonical_op(self, op: OpNode, canonical_module: str) -> OpNode:
        """The op at the same place in the first copy of a rolled run."""
        if op.module == canonical_module:
            return op
        own = self.graph.module(op.module).ops
        rep = self.graph.module(canonical_module).ops
        return self.graph.ops[rep[own.index(op.id)]]

    def _output_targets(self, producers: dict[str, str]) -> dict[str, str]:
        """``output<i>`` → the node drawing it: rolled copies' outputs share one node.

        Outputs merge when their names differ only in numbers and one visible node (a
        rolled copy) produces them all, like the 80 layers' key/value caches.
        """
        if not self.view.roll:
            return {}
        groups: dict[tuple[str, tuple[int, ...], str], list[ViewNode]] = {}
        for node in self.view.nodes:
            if node.kind == "output":
                pattern = re.sub(r"\d+", "*", node.label)
                key = (pattern, node.shapes[0].shape, producers.get(node.id, node.id))
                groups.setdefault(key, []).append(node)
        targets: dict[str, str] = {}
        for (pattern, _, _), members in groups.items():
            if len(members) > 1:
                members[0].label, members[0].repeat = pattern, len(members)
                for extra in members[1:]:
                    targets[extra.id] = members[0].id
                    self.hidden.add(extra.id)
        return targets

    def _hide_unused_modules(self) -> None:
        """Modules that never ran (no op inside them) are left out when hiding trivia."""
        if not self.hide:
            return
        for node, module in self.module_nodes:
            if node.id not in self.used and module.calls == 0:
                self.hidden.add(node.id)

    def _drop_empty_clusters(self) -> None:
        used = {n.cluster for n in self.view.nodes}
        parents = {c.id: c.parent for c in self.view.clusters}
        for cid in list(used):
            while cid is not None:
                used.add(cid)
                cid = parents[cid]
        self.view.clusters = [c for c in self.view.clusters if c.id in used]


def _op_node(op: OpNode, cluster: str | None, sizes: dict[str, int]) -> ViewNode:
    return ViewNode(
        id=f"op{op.id}",
        kind="op",
        label=op.name,
        type=op.target,
        path=op.module,
        cluster=cluster,
        params=sum(sizes.get(p, 0) for p in op.params),
        macs=op.macs,
        activation_bytes=op.activation_bytes,
        shapes=list(op.outputs),
    )


def _merge_edges(edges: list[Edge]) -> list[ViewEdge]:
    merged: dict[tuple[str, str], ViewEdge] = {}
    for e in edges:
        edge = merged.get((e.src, e.dst))
        if edge is None:
            merged[(e.src, e.dst)] = ViewEdge(e.src, e.dst, [e.tensor])
            continue
        edge.count += 1
        if e.tensor not in edge.tensors:
            edge.tensors.append(e.tensor)
    return list(merged.values())


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
