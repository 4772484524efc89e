"""A ModelGraph read back from JSON, checked against its schema before anything uses it.

A graph ``.json`` may come from someone else: it is input, never trusted. Every key is
required with its type (integers are integers, not strings or booleans), references
between parts must resolve (a module's parent and children, an op's module and call, an
edge's two ends), and nothing else is accepted. The first problem found is raised as
``GraphFormatError`` with the place it was found (``modules[3].total_params``). Version 1
graphs (before per-call records) are still read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from torchscope.errors import GraphFormatError
from torchscope.model.graph import (
    SCHEMA_VERSION,
    CaptureFailure,
    Edge,
    GraphIO,
    ModelGraph,
    ModuleCall,
    ModuleNode,
    OpNode,
    ParamInfo,
    TensorMeta,
)

__all__ = ["graph_from_dict", "graph_from_json"]

T = TypeVar("T")
_READABLE_VERSIONS = (1, SCHEMA_VERSION)
_ENDPOINT = re.compile(r"(op|input|output)(0|[1-9][0-9]{0,8})")


def graph_from_json(text: str) -> ModelGraph:
    """The graph in ``text``; ``GraphFormatError`` for anything but a valid graph.

    Example:
        >>> graph_from_json('[1, 2]')
        Traceback (most recent call last):
        ...
        torchscope.errors.GraphFormatError: not a ModelGraph: expected a JSON object, got a list
    """
    try:
        data = json.loads(text)
    except RecursionError:
        raise GraphFormatError("not a ModelGraph: the JSON is nested too deeply") from None
    except ValueError as exc:
        raise GraphFormatError(f"not a ModelGraph: invalid JSON ({exc})") from None
    return graph_from_dict(data)


def graph_from_dict(data: Any) -> ModelGraph:
    """The graph described by ``data`` (as ``ModelGraph.to_dict`` writes it), validated."""
    top = _Object(data, "")
    version = top.integer("schema_version")
    if version not in _READABLE_VERSIONS:
        raise GraphFormatError(
            f"ModelGraph schema version {version!r} is not supported "
            f"(this torchscope reads versions {', '.join(map(str, _READABLE_VERSIONS))})"
        )
    modules = [_module(m) for m in top.objects("modules")]
    if not modules:
        raise GraphFormatError("not a ModelGraph: modules is empty (the root is missing)")
    calls = [_call(c) for c in top.objects("calls")] if version >= 2 else []
    ops = [_op(o, version) for o in top.objects("ops")]
    graph = ModelGraph(
        model_type=top.text("model_type"),
        device=top.text("device"),
        modules=modules,
        ops=ops,
        edges=[
            Edge(e.text("src"), e.text("dst"), e.tensor("tensor")) for e in top.objects("edges")
        ],
        inputs=[GraphIO(i.text("name"), i.tensor("tensor")) for i in top.objects("inputs")],
        outputs=[GraphIO(o.text("name"), o.tensor("tensor")) for o in top.objects("outputs")],
        params=[_param(p) for p in top.objects("params")],
        calls=calls,
        uncounted_ops=top.integer_map("uncounted_ops"),
        saved_activation_bytes=top.count("saved_activation_bytes"),
        output_bytes=top.count("output_bytes"),
        peak_activation_bytes=top.count("peak_activation_bytes"),
        training=top.boolean("training"),
        failure=_failure(top.optional_object("failure")),
    )
    top.done({"schema_version", "_by_path"} | ({"calls"} if version < 2 else set()))
    _check_references(graph)
    _check_tree(graph)
    return graph


class _Object:
    """One JSON object being read: typed getters that name the place of any mismatch."""

    def __init__(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            what = where or "not a ModelGraph"
            raise GraphFormatError(f"{what}: expected a JSON object, got {_kind(value)}")
        self.value, self.where = value, where
        self.read: set[str] = set()

    def _get(self, key: str) -> Any:
        if key not in self.value:
            raise GraphFormatError(f"{self._at(key)} is missing")
        self.read.add(key)
        return self.value[key]

    def _at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _bad(self, key: str, wanted: str, value: Any) -> GraphFormatError:
        return GraphFormatError(f"{self._at(key)} must be {wanted}, not {_kind(value)}")

    def _checked(self, key: str, ok: Callable[[Any], bool], wanted: str) -> Any:
        value = self._get(key)
        if not ok(value):
            raise self._bad(key, wanted, value)
        return value

    def text(self, key: str) -> str:
        return str(self._checked(key, _is_text, "a string"))

    def optional_text(self, key: str) -> str | None:
        value = self._get(key)
        return None if value is None else self.text(key)

    def integer(self, key: str) -> int:
        return int(self._checked(key, _is_integer, "an integer"))

    def count(self, key: str) -> int:
        value = self.integer(key)
        if value < 0:
            raise GraphFormatError(f"{self._at(key)} must not be negative, not {value}")
        return value

    def boolean(self, key: str) -> bool:
        return bool(self._checked(key, _is_boolean, "true or false"))

    def items(self, key: str) -> list[Any]:
        # to_dict keeps shapes as tuples
        return list(self._checked(key, lambda v: isinstance(v, (list, tuple)), "a list"))

    def _items_of(self, key: str, ok: Callable[[Any], bool], wanted: str) -> list[Any]:
        items = self.items(key)
        for i, item in enumerate(items):
            if not ok(item):
                raise self._bad(f"{key}[{i}]", wanted, item)
        return items

    def texts(self, key: str) -> list[str]:
        return self._items_of(key, _is_text, "a string")

    def counts(self, key: str) -> list[int]:
        return self._items_of(key, _is_count, "a non-negative integer")

    def objects(self, key: str) -> list[_Object]:
        return [_Object(item, f"{self._at(key)}[{i}]") for i, item in enumerate(self.items(key))]

    def optional_object(self, key: str) -> _Object | None:
        value = self._get(key)
        return None if value is None else _Object(value, self._at(key))

    def _map_of(self, key: str, ok: Callable[[Any], bool], wanted: str) -> dict[str, Any]:
        value = self._get(key)
        if not isinstance(value, dict) or not all(ok(v) for v in value.values()):
            raise self._bad(key, f"an object of {wanted}", value)
        return dict(value)

    def text_map(self, key: str) -> dict[str, str]:
        return self._map_of(key, _is_text, "strings")

    def integer_map(self, key: str) -> dict[str, int]:
        return self._map_of(key, _is_integer, "integers")

    def tensor(self, key: str) -> TensorMeta:
        return _tensor(_Object(self._get(key), self._at(key)))

    def tensors(self, key: str) -> list[TensorMeta]:
        return [_tensor(t) for t in self.objects(key)]

    def done(self, optional: frozenset[str] | set[str] = frozenset()) -> None:
        """Refuse keys the schema does not have (a typo must not pass silently)."""
        unknown = sorted(set(self.value) - self.read - optional)
        if unknown:
            raise GraphFormatError(f"{self._at(unknown[0])} is not part of the ModelGraph schema")

    def made(self, part: T) -> T:
        """``part``, built from this object's keys, once no other key is left (``done``)."""
        self.done()
        return part


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return _is_integer(value) and value >= 0


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if type(value) in (int, float):  # a number is shown: "not -1" says more than "not a int"
        return repr(value)[:40]
    return names.get(type(value), f"a {type(value).__name__}")


def _tensor(t: _Object) -> TensorMeta:
    return t.made(TensorMeta(tuple(t.counts("shape")), t.text("dtype")))


_MODULE_COUNTS = (
    "depth", "own_params", "total_params", "trainable_params", "total_buffers", "param_bytes",
    "buffer_bytes", "calls", "own_macs", "macs", "own_activation_bytes", "activation_bytes",
)  # fmt: skip


def _module(m: _Object) -> ModuleNode:
    return m.made(
        ModuleNode(
            path=m.text("path"),
            type=m.text("type"),
            parent=m.optional_text("parent"),
            children=m.texts("children"),
            extra_repr=m.text("extra_repr"),
            tied=m.text_map("tied"),
            input_shapes=m.tensors("input_shapes"),
            output_shapes=m.tensors("output_shapes"),
            ops=m.counts("ops"),
            **{key: m.count(key) for key in _MODULE_COUNTS},
        )
    )


def _call(c: _Object) -> ModuleCall:
    return c.made(
        ModuleCall(
            module=c.text("module"),
            number=c.count("number"),
            parent=c.integer("parent"),
            inputs=c.tensors("inputs"),
            outputs=c.tensors("outputs"),
        )
    )


def _op(o: _Object, version: int) -> OpNode:
    return o.made(
        OpNode(
            id=o.count("id"),
            name=o.text("name"),
            target=o.text("target"),
            module=o.text("module"),
            inputs=o.tensors("inputs"),
            outputs=o.tensors("outputs"),
            params=o.texts("params"),
            macs=o.count("macs"),
            activation_bytes=o.count("activation_bytes"),
            aten=o.texts("aten"),
            uncounted=o.texts("uncounted"),
            call=o.integer("call") if version >= 2 else -1,
        )
    )


def _param(p: _Object) -> ParamInfo:
    return p.made(
        ParamInfo(
            name=p.text("name"),
            shape=tuple(p.counts("shape")),
            dtype=p.text("dtype"),
            trainable=p.boolean("trainable"),
            is_buffer=p.boolean("is_buffer"),
            aliases=p.texts("aliases"),
        )
    )


def _failure(f: _Object | None) -> CaptureFailure | None:
    if f is None:
        return None
    return f.made(
        CaptureFailure(
            module=f.text("module"),
            module_type=f.text("module_type"),
            input_shapes=f.tensors("input_shapes"),
            error_type=f.text("error_type"),
            message=f.text("message"),
            op=f.text("op"),
        )
    )


def _check_references(graph: ModelGraph) -> None:
    """Every name and index one part uses for another resolves, so no reader can trip."""
    paths = [m.path for m in graph.modules]
    known = set(paths)
    if len(known) != len(paths):
        raise GraphFormatError("modules: two modules share one path")
    if graph.modules[0].parent is not None:
        raise GraphFormatError("modules[0] must be the root (its parent null)")
    for i, m in enumerate(graph.modules):
        _resolve(f"modules[{i}].parent", m.parent, known, allow_none=i == 0)
        for child in m.children:
            _resolve(f"modules[{i}].children", child, known)
        if any(op >= len(graph.ops) for op in m.ops):
            raise GraphFormatError(f"modules[{i}].ops names an op the graph does not have")
    for i, call in enumerate(graph.calls):
        _resolve(f"calls[{i}].module", call.module, known)
        if not -1 <= call.parent < i:
            raise GraphFormatError(
                f"calls[{i}].parent must name an earlier call, not {call.parent}"
            )
    for i, op in enumerate(graph.ops):
        if op.id != i:
            raise GraphFormatError(
                f"ops[{i}].id must be {i} (ops are listed in order), not {op.id}"
            )
        _resolve(f"ops[{i}].module", op.module, known)
        if not -1 <= op.call < len(graph.calls):
            raise GraphFormatError(f"ops[{i}].call names a call the graph does not have")
    sizes = {"op": len(graph.ops), "input": len(graph.inputs), "output": len(graph.outputs)}
    for i, edge in enumerate(graph.edges):
        for end, value in (("src", edge.src), ("dst", edge.dst)):
            match = _ENDPOINT.fullmatch(value)
            if match is None or int(match.group(2)) >= sizes[match.group(1)]:
                raise GraphFormatError(
                    f"edges[{i}].{end} is {_shown(value)}, which is not a node of the graph "
                    "(op<N>, input<N> or output<N>)"
                )


def _check_tree(graph: ModelGraph) -> None:
    """The modules form one tree in pre-order, as a capture writes them: each parent listed
    before its children, depths counted from the root, children naming their parent. A
    cycle (a module its own parent) or a depth of 10^9 sent the readers into endless loops.
    """
    if graph.modules[0].depth != 0:
        raise GraphFormatError(f"modules[0].depth must be 0, not {graph.modules[0].depth}")
    index = {m.path: i for i, m in enumerate(graph.modules)}
    for i, m in enumerate(graph.modules[1:], start=1):
        parent = index[m.parent] if m.parent is not None else -1
        if not 0 <= parent < i:
            raise GraphFormatError(
                f"modules[{i}].parent must name a module listed before it, not {_shown(m.parent)}"
            )
        if m.depth != graph.modules[parent].depth + 1:
            raise GraphFormatError(
                f"modules[{i}].depth must be its parent's depth + 1, not {m.depth}"
            )
    for i, m in enumerate(graph.modules):
        for child in m.children:
            if graph.modules[index[child]].parent != m.path:
                raise GraphFormatError(
                    f"modules[{i}].children names {_shown(child)}, whose parent is another module"
                )


def _resolve(where: str, name: str | None, known: set[str], allow_none: bool = False) -> None:
    if name is None and allow_none:
        return
    if name not in known:
        raise GraphFormatError(f"{where} names {_shown(name)}, which is not a module of the graph")


def _shown(value: Any, limit: int = 60) -> str:
    """A foreign value in an error message: quoted, and cut to a readable length."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
