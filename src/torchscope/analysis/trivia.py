"""What a drawing leaves out, and how edges pass through what it leaves out.

Views, reshapes, dtype casts, dropout in eval and constants (``arange`` for positions,
mask building) move or re-label data without computing on the input. The static graph
and the interactive viewer hide the same ones, with the edges through them re-routed
between what stays visible, so both pictures show one computation.
"""

from __future__ import annotations

from collections.abc import Iterable

from torchscope.model.graph import Edge, ModelGraph, OpNode

__all__ = [
    "TRIVIAL_OPS",
    "constant_ops",
    "contract",
    "trivial_module",
    "trivial_op",
]

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
_DROPOUT_MODULES = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"})


def trivial_module(module_type: str, training: bool) -> bool:
    """True for modules that pass data through: Identity, and dropout in eval mode."""
    return module_type == "Identity" or (not training and module_type in _DROPOUT_MODULES)


def trivial_op(op: OpNode, training: bool) -> bool:
    """True for an op that only moves or re-labels data (dropout: only in eval mode)."""
    if op.name in _DROPOUT_OPS:
        return not training
    return op.name in TRIVIAL_OPS and op.macs == 0


def constant_ops(graph: ModelGraph) -> set[int]:
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


def contract(edges: Iterable[Edge], hidden: set[str]) -> list[Edge]:
    """Edges between visible nodes only: a hidden node's inputs pass through to its outputs.

    The shape on a re-routed edge is the one arriving at the visible consumer. The walk
    back through hidden nodes is iterative, so a long chain of views cannot overflow.

    Example:
        >>> from torchscope.model.graph import TensorMeta
        >>> t = TensorMeta((2,), "float32")
        >>> [(e.src, e.dst) for e in contract([Edge("a", "v", t), Edge("v", "b", t)], {"v"})]
        [('a', 'b')]
    """
    edges = list(edges)
    incoming: dict[str, list[str]] = {}
    for e in edges:
        incoming.setdefault(e.dst, []).append(e.src)
    memo: dict[str, list[str]] = {}

    def visible_sources(start: str) -> list[str]:
        if start not in memo:
            found: set[str] = set()
            seen, todo = {start}, [start]
            while todo:
                for src in incoming.get(todo.pop(), ()):
                    if src in seen:
                        continue
                    seen.add(src)
                    if src in hidden:
                        todo.append(src)
                    else:
                        found.add(src)
            memo[start] = sorted(found)
        return memo[start]

    result: list[Edge] = []
    for e in edges:
        if e.dst in hidden:
            continue
        sources = visible_sources(e.src) if e.src in hidden else [e.src]
        result.extend(Edge(src, e.dst, e.tensor) for src in sources if src != e.dst)
    return result
