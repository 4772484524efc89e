"""Building a VisibleGraph: the call tree cut at a depth, rolled, with trivia contracted.

``_Builder`` walks the call tree (``scopes``): a call of a module above the depth becomes
a box, a call at the depth one node standing for everything inside it, a container
(``ModuleList``) no box at all. Rolled copies share the first copy's boxes and nodes
through a key (canonical path, call, enclosing key). Ops outside collapsed calls become
nodes of their own; every captured edge is mapped to the nodes drawing its ends.
"""

from __future__ import annotations

import re
from typing import Any

from torchscope.analysis.repeats import RunMap, crosses_copies, run_map
from torchscope.analysis.scopes import Scope, ScopeTree, call_scopes
from torchscope.analysis.settings import attention_heads, layer_settings
from torchscope.analysis.trivia import constant_ops, contract, trivial_module, trivial_op
from torchscope.analysis.view_types import (
    ViewCluster,
    ViewEdge,
    ViewNode,
    VisibleGraph,
    call_label,
)
from torchscope.model.graph import Edge, ModelGraph, ModuleNode, OpNode, TensorMeta

__all__ = ["Context", "build_view"]


class Context:
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


def build_view(context: Context, depth: int, hide_trivial: bool) -> VisibleGraph:
    """The drawing of ``context``'s graph with calls above ``depth`` as boxes."""
    return _Builder(context, depth, hide_trivial).build()


class _Builder:
    def __init__(self, context: Context, depth: int, hide_trivial: bool) -> None:
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
