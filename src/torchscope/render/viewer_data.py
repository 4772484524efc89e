"""The data the interactive viewer reads: a compact JSON of modules, calls, ops and edges.

Python prepares everything the browser should not have to guess: the call tree (one
scope per call of a module, as the static graph draws it), rolled-up repeats, which ops
and modules are trivia (hidden as in the SVG, with edges re-routed past them), structure
signatures (identical layers share one cached layout), op kinds, and colour positions
on the one ramp the legend shows.

The keys are short because a 70B-parameter model has thousands of ops. What each means
(read by ``frontend/src/tree.js``, ``main.js``, ``details.js`` and ``render.js``)::

    top level   version 2; title; model_type; device; depth (levels open at first);
                modules, scopes, ops, edges, inputs, outputs; totals {params, macs};
                hidden (ops left out as trivia); legend (below)
    modules[i]  p path · t type · x extra_repr · st settings ("3→16, kernel 3×3")
                par parent module (-1 root) · np params (subtree) · tp trainable ·
                pb param bytes · nb buffers · mc MACs (all calls) · ab activation
                bytes (all calls) · c calls · i/o input/output shapes of the first call
                · k op kind (index into legend.kinds) · s structure signature id ·
                tied {alias: owner} · vr settings that differ across a rolled run
    scopes[j]   one call of a module (scopes[0] is the root): m module index ·
                c call number (0: a container or a module that never ran) ·
                par parent scope (-1) · ch child scopes in the order they ran ·
                ops visible ops run directly in it · r runs of identical children
                [[first, last] positions in ch] · o order (first op in its subtree) ·
                mc MACs of this call · ab activation bytes of this call ·
                out output shapes of this call · v colour position 0–1 · cv value
    ops[n]      n name · t target (torch.nn.functional.linear) · m module index ·
                sc scope index · i/o input/output shapes [[text, dtype]] · pr params
                used · mc MACs · ab activation bytes · a aten ops · u uncounted aten
                ops · k op kind · h 1 when hidden as trivia · v colour position · cv
    edges       [src, dst] between visible ops and graph inputs/outputs: op<N>,
                input<N>, output<N>; hidden ops contracted away
    inputs/outputs  [name, shape text, dtype]
    legend      {mode: "kind", kinds: [[name, colour]]} or {mode: "value", label,
                min, max, log, ramp: [colours], dark (first ramp step with white text)}
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torchscope.analysis.color_scale import (
    ColorScale,
    check_color_by,
    color_scale,
    measure_of,
)
from torchscope.analysis.repeats import structure_signatures
from torchscope.analysis.scopes import Scope, ScopeTree, call_scopes
from torchscope.analysis.settings import layer_settings
from torchscope.analysis.trivia import constant_ops, contract, trivial_module, trivial_op
from torchscope.render.color_ramp import DARK_FROM, PALETTE

if TYPE_CHECKING:
    from torchscope.model.graph import ModelGraph, ModuleNode, OpNode, TensorMeta

__all__ = ["OP_KINDS", "op_kind", "viewer_data"]


def _kind(name: str, color: str, ops: str) -> tuple[str, str, frozenset[str]]:
    return name, color, frozenset(ops.split())


# (kind, colour, op names): an op's kind is the first whose names contain its name.
OP_KINDS: list[tuple[str, str, frozenset[str]]] = [
    _kind(
        "matmul / conv",
        "#f28e8c",
        "linear matmul mm bmm addmm baddbmm einsum conv1d conv2d conv3d conv_transpose1d "
        "conv_transpose2d conv_transpose3d __matmul__ bilinear grouped_mm _grouped_mm",
    ),
    _kind(
        "attention",
        "#c39bd3",
        "scaled_dot_product_attention multi_head_attention_forward flex_attention",
    ),
    _kind(
        "normalization",
        "#f7c873",
        "layer_norm batch_norm group_norm instance_norm rms_norm normalize local_response_norm",
    ),
    _kind(
        "activation",
        "#8fd19e",
        "relu relu_ gelu silu sigmoid tanh softmax log_softmax elu leaky_relu hardtanh "
        "hardswish hardsigmoid mish softplus glu relu6 selu celu prelu",
    ),
    _kind("embedding", "#7fb8e6", "embedding embedding_bag one_hot"),
    _kind(
        "pooling",
        "#76d7c4",
        "max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d "
        "adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d "
        "interpolate upsample",
    ),
    _kind(
        "reduction",
        "#f5a97f",
        "mean sum max min amax amin argmax argmin norm var std prod logsumexp cumsum topk sort",
    ),
    _kind(
        "elementwise",
        "#e8e89a",
        "add sub mul div neg pow rsqrt sqrt exp log cos sin abs clamp where __add__ __mul__ "
        "__sub__ __truediv__ __radd__ __rmul__ __iadd__ __imul__ add_ mul_ masked_fill dropout "
        "reciprocal erf square __and__ __or__ eq ne lt gt le ge triu tril floor ceil round",
    ),
]
_OTHER_KIND = ("shape / memory", "#d5dbe3")


@functools.lru_cache(maxsize=4096)
def op_kind(name: str) -> int:
    """Index into :data:`OP_KINDS` (``len(OP_KINDS)`` for shape/memory and other ops).

    >>> OP_KINDS[op_kind("linear")][0]
    'matmul / conv'
    """
    for i, (_, _, names) in enumerate(OP_KINDS):
        if name in names:
            return i
    return len(OP_KINDS)


def _shapes(tensors: list[TensorMeta]) -> list[list[Any]]:
    return [[_short(t), t.dtype] for t in tensors]


@functools.lru_cache(maxsize=8192)
def _short(tensor: TensorMeta) -> str:
    """``[1, 128, 8192]``; the 80 layers of a model repeat the same few shapes."""
    return tensor.short()


def _module_kinds(graph: ModelGraph) -> dict[str, int]:
    """Per module, the op kind carrying most MACs in its subtree (else the most common)."""
    macs: dict[str, dict[int, int]] = {}
    for op in graph.ops:
        kind, path = op_kind(op.name), op.module
        while True:
            per_kind = macs.setdefault(path, {})
            per_kind[kind] = per_kind.get(kind, 0) + max(op.macs, 0) * 1000 + 1
            if not path:
                break
            path = path.rpartition(".")[0]
    return {path: max(per_kind, key=lambda k: per_kind[k]) for path, per_kind in macs.items()}


class _Colors:
    """Values and their 0–1 positions on one ColorScale over every module call and op."""

    def __init__(self, graph: ModelGraph, tree: ScopeTree, color_by: Any) -> None:
        self.scale: ColorScale | None = None
        self.scopes: dict[int, float] = {}
        self.ops: dict[int, float] = {}
        color = check_color_by(color_by if color_by != "kind" else None)
        if color is None:
            return
        name, attribute = measure_of(color)
        if isinstance(color, Mapping):
            for s in tree.scopes:
                if s.path in color:
                    self.scopes[s.index] = color[s.path]
            self.ops = {op.id: color[op.module] for op in graph.ops if op.module in color}
        else:
            numel = {p.name: p.numel for p in graph.params}
            numel.update({alias: p.numel for p in graph.params for alias in p.aliases})
            for s in tree.scopes:
                module = graph.module(s.path)
                figures = {"params": module.total_params, "macs": s.macs,
                           "activation_bytes": s.activation_bytes}  # fmt: skip
                self.scopes[s.index] = float(figures[str(attribute)])
            for op in graph.ops:
                figures = {"params": sum(numel.get(n, 0) for n in op.params), "macs": op.macs,
                           "activation_bytes": op.activation_bytes}  # fmt: skip
                self.ops[op.id] = float(figures[str(attribute)])
        self.scopes.pop(0, None)  # the root is the page, never a coloured node
        self.scale = color_scale(name, [*self.scopes.values(), *self.ops.values()])

    def mark(self, entry: dict[str, Any], value: float | None) -> None:
        """Add the position (``v``) and value (``cv``) to an entry that has one."""
        if self.scale is not None and value is not None and self.scale.shows(value):
            entry["v"] = round(self.scale.position(value), 4)
            entry["cv"] = value

    def legend(self) -> dict[str, Any]:
        if self.scale is None:
            kinds = [[name, color] for name, color, _ in OP_KINDS] + [list(_OTHER_KIND)]
            return {"mode": "kind", "kinds": kinds}
        s = self.scale
        return {"mode": "value", "label": s.name, "min": s.minimum, "max": s.maximum,
                "log": s.log, "ramp": list(PALETTE), "dark": DARK_FROM}  # fmt: skip


def _module_entry(
    m: ModuleNode, index: dict[str, int], sig: int, kind: int, varies: list[str]
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "p": m.path, "t": m.type, "x": m.extra_repr, "st": layer_settings(m.extra_repr),
        "par": -1 if m.parent is None else index[m.parent], "np": m.total_params,
        "tp": m.trainable_params, "pb": m.param_bytes, "nb": m.total_buffers, "mc": m.macs,
        "ab": m.activation_bytes, "c": m.calls, "i": _shapes(m.input_shapes),
        "o": _shapes(m.output_shapes), "k": kind, "s": sig,
    }  # fmt: skip
    if m.tied:
        entry["tied"] = m.tied
    if varies:
        entry["vr"] = varies
    return entry


def _op_entry(op: OpNode, index: dict[str, int], scope: int, hidden: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "n": op.name, "t": op.target, "m": index[op.module], "sc": scope,
        "i": _shapes(op.inputs), "o": _shapes(op.outputs), "pr": op.params, "mc": op.macs,
        "ab": op.activation_bytes, "a": op.aten, "k": op_kind(op.name),
    }  # fmt: skip
    if op.uncounted:
        entry["u"] = op.uncounted
    if hidden:
        entry["h"] = 1
    return entry


class _Scopes:
    """The scopes as the viewer gets them: trivia left out, runs of identical calls marked."""

    def __init__(self, graph: ModelGraph, tree: ScopeTree, signatures: dict[str, str]) -> None:
        self.graph, self.tree, self.signatures = graph, tree, signatures
        self.hidden_scopes = {s.index for s in tree.scopes if self._trivial(s)}
        constant = constant_ops(graph)
        self.hidden_ops = {
            op.id
            for op in graph.ops
            if op.id in constant
            or trivial_op(op, graph.training)
            or tree.op_scope[op.id] in self.hidden_scopes
        }
        self._keep_stand_ins()

    def _keep_stand_ins(self) -> None:
        """A shown module call whose every op is trivia keeps those ops visible.

        The static graph draws such a call (``nn.Flatten``, a rotary embedding building its
        tables) as a node with its edges; with all its ops hidden the viewer would draw the
        same node with no edge at all, beside the data flowing past it.
        """
        visible: set[int] = set()  # scopes with a visible op in their subtree
        for scope in reversed(self.tree.scopes):  # children come after their parents
            if scope.index in self.hidden_scopes:
                continue
            if any(c in visible for c in scope.children) or any(
                op not in self.hidden_ops for op in scope.ops
            ):
                visible.add(scope.index)
            elif scope.index != 0 and scope.ops:
                self.hidden_ops.difference_update(scope.ops)
                visible.add(scope.index)

    def _trivial(self, scope: Scope) -> bool:
        module = self.graph.module(scope.path)
        if scope.index == 0:
            return False
        unused = module.calls == 0 and math.isinf(scope.first)
        return unused or trivial_module(module.type, self.graph.training)

    def entry(self, scope: Scope, index: dict[str, int]) -> dict[str, Any]:
        children = [c for c in scope.children if c not in self.hidden_scopes]
        return {
            "m": index[scope.path], "c": scope.call if self.tree.exact else 0,
            "par": scope.parent, "ch": children,
            "ops": [i for i in scope.ops if i not in self.hidden_ops],
            "r": self._runs(children),
            "o": scope.first if math.isfinite(scope.first) else len(self.graph.ops) + scope.index,
            "mc": scope.macs, "ab": scope.activation_bytes, "out": _shapes(scope.outputs),
        }  # fmt: skip

    def _runs(self, children: list[int]) -> list[list[int]]:
        """Positions [first, last] of ≥2 consecutive calls of identical numbered siblings."""
        runs: list[list[int]] = []
        scopes, start = self.tree.scopes, 0
        for pos in range(1, len(children) + 1):
            if pos < len(children) and self._same(scopes[children[pos - 1]], scopes[children[pos]]):
                continue
            if pos - start > 1:
                runs.append([start, pos - 1])
            start = pos
        return runs

    def _same(self, a: Scope, b: Scope) -> bool:
        first, second = self.graph.module(a.path), self.graph.module(b.path)
        return (
            a.call == b.call
            and first.parent == second.parent
            and first.name.isdigit()
            and second.name.isdigit()
            and self.signatures[a.path] == self.signatures[b.path]
        )


def viewer_data(
    graph: ModelGraph,
    *,
    title: str | None = None,
    color_by: str | Mapping[str, float] | None = None,
    depth: int = 2,
) -> dict[str, Any]:
    """The compact JSON-ready dict the viewer reads (keys documented in this module).

    >>> from torchscope.model.graph import ModelGraph, ModuleNode
    >>> g = ModelGraph("Net", "meta", modules=[ModuleNode("", "Net", None)])
    >>> viewer_data(g)["modules"][0]["t"]
    'Net'
    """
    from torchscope.analysis.repeats import run_map

    signatures = structure_signatures(graph)
    sig_ids: dict[str, int] = {}
    for sig in signatures.values():
        sig_ids.setdefault(sig, len(sig_ids))
    index = {m.path: i for i, m in enumerate(graph.modules)}
    tree = call_scopes(graph)
    colors = _Colors(graph, tree, color_by)
    kinds = _module_kinds(graph)
    varies = run_map(graph, signatures=signatures).varies
    shown = _Scopes(graph, tree, signatures)
    scopes = []
    for scope in tree.scopes:
        entry = shown.entry(scope, index)
        colors.mark(entry, colors.scopes.get(scope.index))
        scopes.append(entry)
    ops = []
    for op in graph.ops:
        entry = _op_entry(op, index, tree.op_scope[op.id], op.id in shown.hidden_ops)
        colors.mark(entry, colors.ops.get(op.id))
        ops.append(entry)
    hidden = {f"op{i}" for i in shown.hidden_ops}
    return {
        "version": 2,
        "title": title or graph.model_type,
        "model_type": graph.model_type,
        "device": graph.device,
        "depth": depth,
        "modules": [
            _module_entry(
                m,
                index,
                sig_ids[signatures[m.path]],
                kinds.get(m.path, len(OP_KINDS)),
                varies.get(m.path, []),
            )
            for m in graph.modules
        ],
        "scopes": scopes,
        "ops": ops,
        "edges": [[e.src, e.dst] for e in contract(graph.edges, hidden)],
        "inputs": [[io.name, io.tensor.short(), io.tensor.dtype] for io in graph.inputs],
        "outputs": [[io.name, io.tensor.short(), io.tensor.dtype] for io in graph.outputs],
        "totals": {"params": graph.total_params, "macs": graph.total_macs},
        "hidden": len(shown.hidden_ops),
        "legend": colors.legend(),
    }
