"""The call tree of a forward pass: one scope per call of a module, nested as they ran.

A module called twice (a UNet's one ``pool`` after ``enc1`` and after ``enc2``, a block's
one ``act`` after ``bn1`` and ``bn2``) is one module of the model but two steps of the
computation. Drawing it as one node joins two distant places and draws cycles the model
does not have; drawing one node per call (``pool (call 2)``) keeps a feed-forward model
acyclic, because every scope is one interval of time and data only flows forward in time.

A scope sits inside the call that ran it. When that caller is an ancestor in the module
tree, the containers between them (a ``ModuleList`` that is never called itself) become
scopes of their own (call 0), so the boxes still follow the module tree; a module called
from outside its own subtree (T5's ``shared`` embedding, called by the encoder and the
decoder) is drawn inside the call that ran it. Modules that never ran get a call-0 scope
under their parent's first scope, so every module has at least one scope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from torchscope.model.graph import ModelGraph, ModuleCall, TensorMeta

__all__ = ["Scope", "ScopeTree", "call_scopes"]


@dataclass
class Scope:
    """One call of a module (``call`` ≥ 1), or a container or unused module (``call`` 0).

    ``ops`` ran directly in it (innermost); ``macs`` and ``activation_bytes`` cover its
    whole subtree, so they are the figures of this one call.
    """

    index: int
    path: str
    call: int
    parent: int
    children: list[int] = field(default_factory=list)
    ops: list[int] = field(default_factory=list)
    inputs: list[TensorMeta] = field(default_factory=list)
    outputs: list[TensorMeta] = field(default_factory=list)
    first: float = math.inf  # the first op in its subtree: the order of siblings
    macs: int = 0
    activation_bytes: int = 0


@dataclass
class ScopeTree:
    """All scopes (the root first, parents before children) and the scope of every op.

    ``exact`` is False for a version-1 graph, which recorded no calls: each module that ran
    has one scope standing for all its calls.
    """

    scopes: list[Scope]
    op_scope: list[int]
    exact: bool = True

    @property
    def root(self) -> Scope:
        return self.scopes[0]


def call_scopes(graph: ModelGraph) -> ScopeTree:
    """The call tree of ``graph``; children of each scope in the order they first ran.

    Example:
        >>> import torch, torchscope
        >>> act = torch.nn.ReLU()
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 4), act, torch.nn.Linear(4, 4), act)
        >>> tree = call_scopes(torchscope.trace(net, input_size=(1, 4)))
        >>> [(s.path, s.call) for s in tree.scopes[1:]]
        [('0', 1), ('1', 1), ('2', 1), ('1', 2)]
    """
    return _Builder(graph).build()


class _Builder:
    def __init__(self, graph: ModelGraph) -> None:
        self.graph = graph
        self.scopes = [Scope(0, "", 1, -1)]
        self.containers: dict[tuple[str, int], int] = {}
        self.first_scope = {"": 0}  # module path → its first scope

    def build(self) -> ScopeTree:
        records, op_calls, exact = _records(self.graph)
        of_call: list[int] = []
        for record in records:
            of_call.append(self._call_scope(record, of_call))
        for module in self.graph.modules:  # pre-order: a parent has a scope before its child
            if module.path not in self.first_scope and module.parent is not None:
                self._new(module.path, 0, self.first_scope.get(module.parent, 0))
        op_scope = [of_call[c] if c >= 0 else 0 for c in op_calls]
        for op, scope in zip(self.graph.ops, op_scope):
            self.scopes[scope].ops.append(op.id)
        self._sum_subtrees()
        return ScopeTree(self.scopes, op_scope, exact)

    def _call_scope(self, record: ModuleCall, of_call: list[int]) -> int:
        if not record.module:
            root = self.scopes[0]
            root.inputs, root.outputs = record.inputs, record.outputs
            return 0
        enclosing = of_call[record.parent] if record.parent >= 0 else 0
        parent = self._containers_between(enclosing, record.module)
        scope = self._new(record.module, record.number, parent)
        self.scopes[scope].inputs = record.inputs
        self.scopes[scope].outputs = record.outputs
        return scope

    def _containers_between(self, enclosing: int, path: str) -> int:
        """The scope a call of ``path`` hangs under, inside the call that ran it.

        Modules of the tree between the running ancestor and ``path`` (containers that are
        not running) become call-0 scopes, one per enclosing scope.
        """
        above = self.scopes[enclosing].path
        if above and not path.startswith(above + "."):
            return enclosing  # called from outside its own subtree: drawn where it ran
        between = []
        parent = self.graph.module(path).parent
        while parent is not None and parent != above:
            between.append(parent)
            parent = self.graph.module(parent).parent
        scope = enclosing
        for container in reversed(between):
            key = (container, scope)
            if key not in self.containers:
                self.containers[key] = self._new(container, 0, scope)
            scope = self.containers[key]
        return scope

    def _new(self, path: str, call: int, parent: int) -> int:
        index = len(self.scopes)
        self.scopes.append(Scope(index, path, call, parent))
        self.scopes[parent].children.append(index)
        self.first_scope.setdefault(path, index)
        return index

    def _sum_subtrees(self) -> None:
        ops = self.graph.ops
        for scope in reversed(self.scopes):  # children come after their parents
            for i in scope.ops:
                scope.macs += ops[i].macs
                scope.activation_bytes += ops[i].activation_bytes
                scope.first = min(scope.first, i)
            if scope.parent >= 0:
                above = self.scopes[scope.parent]
                above.macs += scope.macs
                above.activation_bytes += scope.activation_bytes
                above.first = min(above.first, scope.first)
        for scope in self.scopes:
            scope.children.sort(key=lambda c: (self.scopes[c].first, c))


def _records(graph: ModelGraph) -> tuple[list[ModuleCall], list[int], bool]:
    """The graph's call records and each op's call; made up from the tree for version 1.

    A version-1 graph knows only how often each module ran: each module that ran gets one
    record inside its nearest running ancestor, and each op the record of its module.
    """
    if graph.calls or not graph.ops or any(op.call >= 0 for op in graph.ops):
        return graph.calls, [op.call for op in graph.ops], True
    records: list[ModuleCall] = []
    index: dict[str, int] = {}
    for module in graph.modules:
        if module.calls == 0 and module.parent is not None:
            continue
        parent = module.parent
        while parent is not None and parent not in index:
            parent = graph.module(parent).parent
        index[module.path] = len(records)
        above = index[parent] if parent is not None else -1
        records.append(ModuleCall(module.path, 1, above, module.input_shapes, module.output_shapes))
    op_calls = []
    for op in graph.ops:
        path: str | None = op.module
        while path is not None and path not in index:
            path = graph.module(path).parent
        op_calls.append(index[path] if path is not None else -1)
    return records, op_calls, False
