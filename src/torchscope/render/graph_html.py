"""The interactive graph viewer: one self-contained, offline HTML file per ModelGraph.

The page is the bundled frontend (``frontend/`` built into ``render/assets/``) plus the
graph as JSON. Python prepares everything the browser should not have to guess: op kinds
and their colours, rolled-up repeats (runs of identical numbered siblings), structure
signatures (so identical layers share one cached layout) and the colour scale.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from torchscope.errors import ViewerBundleMissing

if TYPE_CHECKING:
    from torchscope.model.graph import ModelGraph, ModuleNode, OpNode, TensorMeta

__all__ = ["OP_KINDS", "graph_to_html", "op_kind", "viewer_data"]


def _kind(name: str, colour: str, ops: str) -> tuple[str, str, frozenset[str]]:
    return name, colour, frozenset(ops.split())


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


def op_kind(name: str) -> int:
    """Index into :data:`OP_KINDS` (``len(OP_KINDS)`` for shape/memory and other ops).

    >>> OP_KINDS[op_kind("linear")][0]
    'matmul / conv'
    """
    for i, (_, _, names) in enumerate(OP_KINDS):
        if name in names:
            return i
    return len(OP_KINDS)


@dataclass(frozen=True)
class _ColourScale:
    label: str
    module_values: dict[str, float]
    op_values: dict[int, float]


def _shapes(tensors: list[TensorMeta]) -> list[list[Any]]:
    return [[t.short(), t.dtype] for t in tensors]


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


def _colour_scale(
    graph: ModelGraph, color_by: str | dict[str, float] | None
) -> _ColourScale | None:
    """Numeric values to colour modules and ops by, or None for colouring by op kind."""
    if color_by is None or color_by == "kind":
        return None
    if isinstance(color_by, dict):
        values = {str(k): float(v) for k, v in color_by.items() if math.isfinite(float(v))}
        op_values = {op.id: values[op.module] for op in graph.ops if op.module in values}
        return _ColourScale("value", values, op_values)
    numel = {p.name: p.numel for p in graph.params}
    for p in graph.params:
        for alias in p.aliases:
            numel[alias] = p.numel
    pick: dict[str, tuple[Any, Any]] = {
        "params": (lambda m: m.total_params, lambda o: sum(numel.get(n, 0) for n in o.params)),
        "macs": (lambda m: m.macs, lambda o: o.macs),
        "activation": (lambda m: m.activation_bytes, lambda o: o.activation_bytes),
    }
    if color_by not in pick:
        raise ValueError(
            f"color_by must be one of {sorted(pick)}, 'kind', None or a dict of module "
            f"name → value, not {color_by!r}"
        )
    of_module, of_op = pick[color_by]
    return _ColourScale(
        color_by,
        {m.path: float(of_module(m)) for m in graph.modules},
        {op.id: float(of_op(op)) for op in graph.ops},
    )


def _legend(scale: _ColourScale | None) -> dict[str, Any]:
    if scale is None:
        kinds = [[name, colour] for name, colour, _ in OP_KINDS] + [list(_OTHER_KIND)]
        return {"mode": "kind", "kinds": kinds}
    values = [v for v in (*scale.module_values.values(), *scale.op_values.values()) if v > 0]
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    return {
        "mode": "value",
        "label": scale.label,
        "min": low,
        "max": high,
        "log": bool(low > 0 and high / low > 100),
    }


def _repeat_runs(
    graph: ModelGraph, node: ModuleNode, signatures: dict[str, str]
) -> list[list[int]]:
    """Runs of ≥2 consecutive identical numbered children, as [first, last] child positions."""
    from torchscope.analysis.repeats import repeated_runs

    children = [graph.module(c) for c in node.children]
    runs, position = [], 0
    for run in repeated_runs(children, signatures):
        if len(run) > 1:
            runs.append([position, position + len(run) - 1])
        position += len(run)
    return runs


def _module_entry(
    graph: ModelGraph,
    m: ModuleNode,
    index: dict[str, int],
    sig_ids: dict[str, int],
    *,
    signatures: dict[str, str],
    kinds: dict[str, int],
    scale: _ColourScale | None,
) -> dict[str, Any]:
    parent = -1 if m.parent is None else index[m.parent]
    entry: dict[str, Any] = {
        "p": m.path, "t": m.type, "x": m.extra_repr, "par": parent,
        "ch": [index[c] for c in m.children], "ops": m.ops, "s": sig_ids[signatures[m.path]],
        "np": m.total_params, "tp": m.trainable_params, "pb": m.param_bytes,
        "nb": m.total_buffers, "mc": m.macs, "ab": m.activation_bytes, "c": m.calls,
        "i": _shapes(m.input_shapes), "o": _shapes(m.output_shapes),
        "k": kinds.get(m.path, len(OP_KINDS)), "r": _repeat_runs(graph, m, signatures),
    }  # fmt: skip
    if m.tied:
        entry["tied"] = m.tied
    if scale is not None and m.path in scale.module_values:
        entry["v"] = scale.module_values[m.path]
    return entry


def _op_entry(op: OpNode, index: dict[str, int], scale: _ColourScale | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "n": op.name, "t": op.target, "m": index[op.module], "i": _shapes(op.inputs),
        "o": _shapes(op.outputs), "pr": op.params, "mc": op.macs, "ab": op.activation_bytes,
        "a": op.aten, "k": op_kind(op.name),
    }  # fmt: skip
    if op.uncounted:
        entry["u"] = op.uncounted
    if scale is not None and op.id in scale.op_values:
        entry["v"] = scale.op_values[op.id]
    return entry


def viewer_data(
    graph: ModelGraph,
    *,
    title: str | None = None,
    color_by: str | dict[str, float] | None = None,
    depth: int = 2,
) -> dict[str, Any]:
    """The compact JSON-ready dict the viewer reads: modules, ops, edges, runs, legend.

    >>> from torchscope.model.graph import ModelGraph, ModuleNode
    >>> g = ModelGraph("Net", "meta", modules=[ModuleNode("", "Net", None)])
    >>> viewer_data(g)["modules"][0]["t"]
    'Net'
    """
    from torchscope.analysis.repeats import structure_signatures

    signatures = structure_signatures(graph)
    sig_ids: dict[str, int] = {}
    for sig in signatures.values():
        sig_ids.setdefault(sig, len(sig_ids))
    index = {m.path: i for i, m in enumerate(graph.modules)}
    scale = _colour_scale(graph, color_by)
    kinds = _module_kinds(graph)
    return {
        "version": 1,
        "title": title or graph.model_type,
        "model_type": graph.model_type,
        "device": graph.device,
        "depth": depth,
        "modules": [
            _module_entry(graph, m, index, sig_ids, signatures=signatures, kinds=kinds, scale=scale)
            for m in graph.modules
        ],
        "ops": [_op_entry(op, index, scale) for op in graph.ops],
        "edges": [[e.src, e.dst] for e in graph.edges],
        "inputs": [[io.name, io.tensor.short(), io.tensor.dtype] for io in graph.inputs],
        "outputs": [[io.name, io.tensor.short(), io.tensor.dtype] for io in graph.outputs],
        "totals": {"params": graph.total_params, "macs": graph.total_macs},
        "legend": _legend(scale),
    }


def _script_json(data: dict[str, Any]) -> str:
    """JSON safe inside ``<script>``: no ``<``, ``>`` or ``&`` can end the element."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _bundle() -> tuple[str, str]:
    """The built viewer JS and CSS from the package's assets folder."""
    from importlib.resources import files

    assets = files("torchscope.render").joinpath("assets")
    try:
        js = assets.joinpath("viewer.js").read_text(encoding="utf-8")
        css = assets.joinpath("viewer.css").read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise ViewerBundleMissing(
            "the interactive viewer's frontend bundle is not built: run `make frontend` "
            "(or `make install`) in the torchscope source tree, which needs node and npm"
        ) from None
    # Inline safety: nothing in the bundle may close its <script>/<style> element.
    return js.replace("</script", "<\\/script"), css.replace("</style", "<\\/style")


def graph_to_html(
    graph: ModelGraph,
    *,
    title: str | None = None,
    color_by: str | dict[str, float] | None = None,
    depth: int = 2,
) -> str:
    """One self-contained HTML page (no network needed) with the interactive graph viewer.

    Args:
        color_by: ``None``/``"kind"`` colours ops by kind; ``"params"``, ``"macs"``,
            ``"activation"`` or a dict of module name → value colours by that value.
        depth: modules shallower than this start expanded.

    >>> import torchscope, torch
    >>> html = graph_to_html(torchscope.trace(torch.nn.Linear(4, 2), torch.randn(1, 4)))
    >>> html.startswith("<!DOCTYPE html>")
    True
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    js, css = _bundle()
    data = viewer_data(graph, title=title, color_by=color_by, depth=depth)
    env = Environment(
        loader=PackageLoader("torchscope.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    template = env.get_template("graph_viewer.html.j2")
    return template.render(title=data["title"], css=css, js=js, data=_script_json(data))
