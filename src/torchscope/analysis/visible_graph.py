"""The graph as drawn: which modules are clusters or collapsed nodes, which ops show, and
the tensor edges between what is visible.

A ``ModelGraph`` holds every op of a forward pass (4,745 for an 80-layer Llama). Drawing
needs far less: modules above ``depth`` become nested clusters, modules at ``depth``
become one node each, runs of identical numbered siblings are drawn once with a repeat
count, and trivial ops (views, reshapes, dropout in eval, constants) are contracted away
with their edges re-routed between what stays visible.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from torchscope.analysis.repeats import RunMap, crosses_copies, run_map
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
    "visible_graph",
]

COLOR_BY = ("params", "macs", "activation")

# Ops that move or re-label data without computing: contracted away when hiding trivia.
TRIVIAL_OPS = frozenset(
    {
        "view", "reshape", "view_as", "reshape_as", "flatten", "unflatten", "squeeze",
        "unsqueeze", "transpose", "permute", "t", "T", "mT", "contiguous", "expand",
        "expand_as", "to", "type", "float", "half", "double", "bfloat16", "int", "long",
        "bool", "clone", "detach", "split", "chunk", "unbind", "__getitem__", "narrow",
        "select", "movedim", "swapaxes", "type_as", "identity",
    }
)  # fmt: skip
_DROPOUT_OPS = frozenset(
    {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"}
)
_TRIVIAL_MODULES = frozenset(
    {"Identity", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"}
)
_DEFAULT_NODE_BUDGET = 30


@dataclass
class ViewNode:
    """One drawn node: a collapsed module, an op, or a graph input/output.

    Figures describe one copy; ``repeat`` says how many identical copies it stands for.
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


@dataclass
class ViewCluster:
    """An expanded module drawn as a box around its children; ``repeat`` > 1 when rolled."""

    id: str
    path: str
    label: str
    type: str
    parent: str | None
    repeat: int = 1
    params: int = 0
    macs: int = 0


@dataclass
class ViewEdge:
    """Tensors flowing between two visible nodes (``count`` edges merged into one)."""

    src: str
    dst: str
    tensors: list[TensorMeta]
    count: int = 1


@dataclass
class ColorScale:
    """How node values map to a 0–1 position: linear or logarithmic between min and max."""

    name: str
    minimum: float
    maximum: float
    log: bool

    def position(self, value: float) -> float:
        """Where ``value`` sits on the scale, clipped to 0–1."""
        lo, hi, v = self.minimum, self.maximum, value
        if self.log:
            if v <= 0:
                return 0.0
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(v)
        if hi <= lo:
            return 1.0
        return min(1.0, max(0.0, (v - lo) / (hi - lo)))


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


def visible_graph(
    graph: ModelGraph,
    depth: int | None = None,
    roll: bool = True,
    hide_trivial: bool = True,
    color_by: str | dict[str, float] | None = None,
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
    runs = run_map(graph, roll)
    if depth is None:
        depth = _auto_depth(graph, runs, roll, hide_trivial)
    view = _Builder(graph, runs, depth, roll, hide_trivial).build()
    if color_by is not None:
        _apply_colors(view, runs, color_by)
    return view


def auto_depth(graph: ModelGraph, roll: bool = True, hide_trivial: bool = True) -> int:
    """The deepest module level whose drawing has at most 30 nodes (at least 1)."""
    return _auto_depth(graph, run_map(graph, roll), roll, hide_trivial)


def _auto_depth(graph: ModelGraph, runs: RunMap, roll: bool, hide_trivial: bool) -> int:
    deepest = max((m.depth for m in graph.modules), default=0)
    best = 1
    for depth in range(1, deepest + 1):
        view = _Builder(graph, runs, depth, roll, hide_trivial).build()
        if len(view.nodes) > _DEFAULT_NODE_BUDGET and depth > 1:
            break
        best = depth
    return best


# ----- building the view


class _Builder:
    def __init__(
        self, graph: ModelGraph, runs: RunMap, depth: int, roll: bool, hide_trivial: bool
    ) -> None:
        self.graph = graph
        self.depth = depth
        self.hide = hide_trivial
        self.runs = runs
        self.param_sizes = {p.name: p.numel for p in graph.params}
        self.view = VisibleGraph(
            graph.model_type, depth, roll, hide_trivial, [], [], [],
            total_params=graph.total_params, total_macs=graph.total_macs,
        )  # fmt: skip
        self.owner: dict[str, str | None] = {}  # expanded module → its cluster id (None: top)
        self.module_node: dict[str, ViewNode] = {}  # collapsed module → its node
        self.op_nodes: dict[int, ViewNode] = {}
        self.used: set[str] = set()
        self.hidden: set[str] = set()
        self.cluster_paths: dict[str, str] = {}
        self.first_op: dict[str, int] = {}  # visible node → the first op drawn by it

    def build(self) -> VisibleGraph:
        self._place_modules()
        raw = self._raw_edges()
        self._hide_unused_modules()
        self.view.edges = _merge_edges(_contract(raw, self.hidden))
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

    # modules → clusters and nodes

    def _place_modules(self) -> None:
        self._io_nodes("input", [(i.name, i.tensor) for i in self.graph.inputs])
        root = self.graph.root
        if self.depth <= 0 or not root.children:
            self._module_node(root, None)
        else:
            self.owner[""] = None
            self._place_children(root, None)
        self._io_nodes("output", [(o.name, o.tensor) for o in self.graph.outputs])

    def _place_children(self, module: ModuleNode, cluster: str | None) -> None:
        for path in module.children:
            if self.runs.canon[path] != path:
                continue  # a later copy of a rolled run: drawn by its first copy
            child = self.graph.module(path)
            if not (child.depth < self.depth and child.children):
                self._module_node(child, cluster)
            elif child.calls == 0:  # a plain container (ModuleList): no box of its own
                self.owner[path] = cluster
                self._place_children(child, cluster)
            else:
                cid = self._cluster(child, cluster)
                self.owner[path] = cid
                self._place_children(child, cid)

    def _label(self, module: ModuleNode, cluster: str | None) -> str:
        """The module's name relative to its enclosing box: ``h.0-11`` inside ``transformer``."""
        repeat = self.runs.repeat.get(module.path, 1)
        label = self.runs.label[module.path] if repeat > 1 else module.path
        base = self.cluster_paths.get(cluster, "") if cluster else ""
        return label[len(base) + 1 :] if base and label.startswith(base + ".") else label

    def _cluster(self, module: ModuleNode, parent: str | None) -> str:
        repeat = self.runs.repeat.get(module.path, 1)
        cluster = ViewCluster(
            id=f"cluster_{len(self.view.clusters)}",
            path=module.path,
            label=self._label(module, parent),
            type=module.type,
            parent=parent,
            repeat=repeat,
            params=module.total_params,
            macs=module.macs,
        )
        self.view.clusters.append(cluster)
        self.cluster_paths[cluster.id] = module.path
        return cluster.id

    def _module_node(self, module: ModuleNode, cluster: str | None) -> None:
        repeat = self.runs.repeat.get(module.path, 1)
        node = ViewNode(
            id=f"m{len(self.module_node)}",
            kind="module",
            label=self._label(module, cluster) if module.path else module.type,
            type=module.type,
            path=module.path,
            cluster=cluster,
            repeat=repeat,
            params=module.total_params,
            macs=module.macs,
            activation_bytes=module.activation_bytes,
            shapes=list(module.output_shapes),
            calls=max(module.calls, 1),
        )
        self.module_node[module.path] = node
        self.view.nodes.append(node)
        if self.hide and module.type in _trivial_module_types(self.graph.training):
            self.hidden.add(node.id)

    def _io_nodes(self, kind: str, items: list[tuple[str, TensorMeta]]) -> None:
        for i, (name, tensor) in enumerate(items):
            node = ViewNode(f"{kind}{i}", kind, name, tensor.dtype, "", None, shapes=[tensor])
            self.view.nodes.append(node)

    # ops and edges

    def _raw_edges(self) -> list[Edge]:
        constant = _constant_ops(self.graph) if self.hide else set()
        ends: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = {}
        for op in self.graph.ops:
            target = self._op_target(op, constant)
            self.first_op.setdefault(target, op.id)
            ends[f"op{op.id}"] = (target, self._membership(op.module))
        outputs = self._output_targets(
            {e.dst: ends.get(e.src, (e.src, ()))[0] for e in self.graph.edges}
        )
        edges = []
        for e in self.graph.edges:
            src, src_runs = ends.get(e.src, (e.src, ()))
            dst, dst_runs = ends.get(e.dst, (outputs.get(e.dst, e.dst), ()))
            if src == dst or crosses_copies(src_runs, dst_runs):
                continue
            edges.append(Edge(src, dst, e.tensor))
        return edges

    def _membership(self, path: str) -> tuple[tuple[str, int], ...]:
        return self.runs.membership.get(path, ())

    def _op_target(self, op: OpNode, constant: set[int]) -> str:
        """The visible node an op belongs to: its collapsed module, or a node of its own."""
        path = self.runs.canon.get(op.module, op.module)
        while path not in self.owner:
            if path in self.module_node or not path:
                collapsed = self.module_node[path]
                self.used.add(collapsed.id)
                return collapsed.id
            path = path.rpartition(".")[0]
        rep = self._canonical_op(op, path)
        node = self.op_nodes.get(rep.id)
        if node is None:
            node = self.op_nodes[rep.id] = _op_node(rep, self.owner[path], self.param_sizes)
            self.view.nodes.append(node)
            if self.hide and (rep.id in constant or _trivial_op(rep, self.graph.training)):
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
        for path, node in self.module_node.items():
            if node.id not in self.used and self.graph.module(path).calls == 0:
                self.hidden.add(node.id)

    def _drop_empty_clusters(self) -> None:
        used = {n.cluster for n in self.view.nodes}
        parents = {c.id: c.parent for c in self.view.clusters}
        for cid in list(used):
            while cid is not None:
                used.add(cid)
                cid = parents[cid]
        self.view.clusters = [c for c in self.view.clusters if c.id in used]


def _trivial_module_types(training: bool) -> frozenset[str]:
    return frozenset({"Identity"}) if training else _TRIVIAL_MODULES


def _trivial_op(op: OpNode, training: bool) -> bool:
    if op.name in _DROPOUT_OPS:
        return not training
    return op.name in TRIVIAL_OPS and op.macs == 0


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


def _constant_ops(graph: ModelGraph) -> set[int]:
    """Ops whose result depends on no input and no parameter (``arange``, mask building)."""
    fed: set[str] = {e.dst for e in graph.edges if e.src.startswith("input")}
    sources: dict[str, list[str]] = {}
    for e in graph.edges:
        sources.setdefault(e.dst, []).append(e.src)
    live: set[str] = set()
    for op in graph.ops:  # execution order: producers come first
        key = f"op{op.id}"
        if op.params or key in fed or any(s in live for s in sources.get(key, ())):
            live.add(key)
    return {op.id for op in graph.ops if f"op{op.id}" not in live}


def _contract(edges: list[Edge], hidden: set[str]) -> list[Edge]:
    """Edges between visible nodes only: a hidden node's inputs pass through to its outputs.

    The shape on a re-routed edge is the one arriving at the visible consumer.
    """
    incoming: dict[str, list[Edge]] = {}
    for e in edges:
        incoming.setdefault(e.dst, []).append(e)
    memo: dict[str, set[str]] = {}

    def visible_sources(node: str, seen: frozenset[str]) -> set[str]:
        if node not in hidden:
            return {node}
        if node not in memo:
            found: set[str] = set()
            for e in incoming.get(node, ()):
                if e.src not in seen:
                    found |= visible_sources(e.src, seen | {node})
            memo[node] = found
        return memo[node]

    result = []
    for e in edges:
        if e.dst in hidden:
            continue
        for src in sorted(visible_sources(e.src, frozenset())):
            if src != e.dst:
                result.append(Edge(src, e.dst, e.tensor))
    return result


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
    """Set each node's ``value`` and the view's colour scale."""
    if isinstance(color_by, dict):
        name = "value"
        values = _mapped_values(view, runs.canon, color_by)
    elif color_by in COLOR_BY:
        name = {"params": "parameters", "macs": "MACs", "activation": "activation bytes"}[color_by]
        attribute = {"params": "params", "macs": "macs", "activation": "activation_bytes"}
        values = {
            n.id: float(getattr(n, attribute[color_by]))
            for n in view.nodes
            if n.kind in ("module", "op")
        }
    else:
        raise ValueError(
            f"color_by must be one of {', '.join(COLOR_BY)} or a mapping of module name → "
            f"value, not {color_by!r}"
        )
    for node in view.nodes:
        node.value = values.get(node.id)
    view.color = _scale(name, [v for v in values.values() if v is not None])


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


def _scale(name: str, values: list[float]) -> ColorScale | None:
    if not values:
        return None
    positive = [v for v in values if v > 0]
    lo, hi = min(values), max(values)
    log = bool(positive) and lo >= 0 and max(positive) / min(positive) > 100
    if log:
        lo = min(positive)
    return ColorScale(name, lo, hi, log)
