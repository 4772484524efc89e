"""A VisibleGraph as Graphviz DOT text, and DOT rendered to SVG/PNG/PDF by the system ``dot``.

The DOT is written by hand: HTML-like labels, one nested ``subgraph cluster_…`` per
expanded call, and rolled runs marked with a ×N badge, their figures labelled per copy
and in total. Every id is quoted and every text escaped and bounded in length, whatever
its source (a graph file can carry any string).
"""

from __future__ import annotations

import shutil
import subprocess
from html import escape

from torchscope.analysis.color_scale import MEASURE_NAMES, ColorScale
from torchscope.analysis.visible_graph import ViewCluster, ViewEdge, ViewNode, VisibleGraph
from torchscope.errors import GraphvizNotFound
from torchscope.model.graph import TensorMeta
from torchscope.render.color_ramp import PALETTE, value_color
from torchscope.render.safe_text import shorten_middle, visible
from torchscope.render.units import fmt_bytes, fmt_si

__all__ = [
    "DOT_FORMATS",
    "PALETTE",
    "figures",
    "find_dot",
    "graph_to_dot",
    "render_dot",
    "value_color",
]

DOT_FORMATS = ("svg", "png", "pdf")
_FONT = "Helvetica,Arial,sans-serif"
_INK = "#1f2937"
_MUTED = "#64748b"
_BADGE = "#d9480f"
_MODULE_FILL = "#e8eef8"
_OP_FILL = "#ffffff"
_INPUT_FILL = "#dcfce7"
_OUTPUT_FILL = "#e0f2fe"
_CLUSTER_FILLS = ("#f8fafc", "#f1f5f9", "#e9eef4")
_ROLLED_FILL = "#fff7ed"


def find_dot() -> str:
    """The path of the system ``dot`` program; raises GraphvizNotFound without it."""
    path = shutil.which("dot")
    if path is None:
        raise GraphvizNotFound()
    return path


def render_dot(dot: str, fmt: str) -> bytes:
    """DOT text laid out and drawn by Graphviz as ``svg``, ``png`` or ``pdf`` bytes.

    Example:
        >>> render_dot("digraph { a -> b }", "svg")[:5]
        b'<?xml'
    """
    if fmt not in DOT_FORMATS:
        raise ValueError(f"Graphviz output format must be one of {DOT_FORMATS}, not {fmt!r}")
    args = [find_dot(), f"-T{fmt}"]
    if fmt == "png":
        args.append("-Gdpi=110")
    done = subprocess.run(args, input=dot.encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"Graphviz failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def graph_to_dot(view: VisibleGraph, direction: str = "TB", title: str | None = None) -> str:
    """The DOT text of a visible graph: ``direction`` is ``TB`` (top to bottom) or ``LR``.

    Example:
        >>> import torch, torchscope
        >>> from torchscope.analysis.visible_graph import visible_graph
        >>> g = torchscope.trace(torch.nn.Linear(4, 2), input_size=(1, 4))
        >>> graph_to_dot(visible_graph(g)).startswith("digraph")
        True
    """
    if direction not in ("TB", "LR"):
        raise ValueError(f"direction must be TB or LR, not {direction!r}")
    lines = [
        "digraph torchscope {",
        f'  graph [rankdir={direction}, fontname="{_FONT}", fontsize=13, fontcolor="{_INK}", '
        'nodesep=0.3, ranksep=0.35, newrank=true, labelloc=t, pad=0.3, bgcolor="white", '
        f"label=<{_title(view, title)}>];",
        f'  node [fontname="{_FONT}", fontsize=11, fontcolor="{_INK}", shape=box, '
        f'style="rounded,filled", color="#64748b", penwidth=1, margin="0.12,0.05"];',
        f'  edge [fontname="{_FONT}", fontsize=9, fontcolor="{_MUTED}", color="#94a3b8", '
        "arrowsize=0.6, penwidth=1.1];",
    ]
    children: dict[str | None, list[ViewCluster]] = {}
    for cluster in view.clusters:
        children.setdefault(cluster.parent, []).append(cluster)
    members: dict[str | None, list[ViewNode]] = {}
    for node in view.nodes:
        members.setdefault(node.cluster, []).append(node)
    _write_scope(lines, None, children, members, view, indent=1)
    lines.extend(_edge_line(edge) for edge in view.edges)
    if view.color is not None:
        rolled = any(n.repeat > 1 for n in view.nodes) or any(c.repeat > 1 for c in view.clusters)
        lines.append(_legend(view.color, rolled))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _write_scope(
    lines: list[str],
    scope: str | None,
    children: dict[str | None, list[ViewCluster]],
    members: dict[str | None, list[ViewNode]],
    view: VisibleGraph,
    indent: int,
) -> None:
    pad = "  " * indent
    for node in members.get(scope, []):
        lines.append(pad + _node_line(node, view.color))
    for cluster in children.get(scope, []):
        lines.append(f'{pad}subgraph "{_quote(cluster.id)}" {{')
        lines.append(pad + "  " + _cluster_attributes(cluster, indent))
        _write_scope(lines, cluster.id, children, members, view, indent + 1)
        lines.append(pad + "}")


_NAME_LIMIT = 80  # Graphviz refuses strings over 16,384 characters; a node stays readable


def _text(value: str, limit: int = _NAME_LIMIT) -> str:
    """Foreign text for an HTML-like label: controls made visible (Graphviz's XML parser
    refuses them), bounded by shortening the middle, escaped."""
    return escape(shorten_middle(visible(value), limit))


def _title(view: VisibleGraph, title: str | None) -> str:
    head = _text(title or view.model_type, 120)
    facts = (
        f"{fmt_si(view.total_params)} params · {fmt_si(view.total_macs)} MACs · depth {view.depth}"
    )
    return f'<B>{head}</B><BR/><FONT POINT-SIZE="10" COLOR="{_MUTED}">{escape(facts)}</FONT>'


def figures(params: int, macs: int, repeat: int, calls: int = 1) -> list[str]:
    """The figure lines of a node or box: per copy and in total for a rolled run.

    >>> figures(272, 512, 5)
    ['each: 272 params · 512 MACs', 'all 5: 1.36 K params · 2.56 K MACs']
    >>> figures(272, 0, 1, calls=2)
    ['272 params, shared by 2 calls']
    """

    def line(p: int, m: int) -> str:
        shared = f", shared by {calls} calls" if calls > 1 and p else ""
        parts = [f"{fmt_si(p)} params{shared}"] if p else []
        return " · ".join(parts + ([f"{fmt_si(m)} MACs"] if m else []))

    one = line(params, macs)
    if repeat <= 1 or not one:
        return [one] if one else []
    return [f"each: {one}", f"all {repeat}: {line(params * repeat, macs * repeat)}"]


def _small_rows(texts: list[str], muted: str, span: int) -> list[str]:
    return [
        f'<TR><TD COLSPAN="{span}" ALIGN="LEFT"><FONT POINT-SIZE="9" COLOR="{muted}">'
        f"{_text(text, 100)}</FONT></TD></TR>"
        for text in texts
    ]


def _cluster_attributes(cluster: ViewCluster, indent: int) -> str:
    rolled = cluster.repeat > 1
    fill = _ROLLED_FILL if rolled else _CLUSTER_FILLS[(indent - 1) % len(_CLUSTER_FILLS)]
    border = "#f08c00" if rolled else "#cbd5e1"
    facts = figures(cluster.params, cluster.macs, cluster.repeat, cluster.calls)
    varies = [f"varies: {v}" for v in cluster.varies]
    label = _table(
        [
            f'<TR><TD ALIGN="LEFT"><B>{_text(cluster.label)}</B>  '
            f'<FONT COLOR="{_MUTED}">{_text(cluster.type)}</FONT></TD>'
            + (_badge(cluster.repeat) if rolled else "")
            + "</TR>",
            *_small_rows(facts + varies, _MUTED, 3 if rolled else 1),
        ]
    )
    width = 2 if rolled else 1
    return (
        f'style="rounded,filled"; fillcolor="{fill}"; color="{border}"; penwidth={width}; '
        f"labeljust=l; fontsize=12; label=<{label}>;"
    )


def _badge(repeat: int) -> str:
    """A gap cell and an orange ×N cell: two columns of the label's first row."""
    return (
        '<TD WIDTH="6"></TD>'
        f'<TD BGCOLOR="{_BADGE}" STYLE="rounded" CELLPADDING="3" VALIGN="MIDDLE">'
        f'<FONT COLOR="#ffffff" POINT-SIZE="11"><B>×{repeat}</B></FONT></TD>'
    )


def _node_line(node: ViewNode, scale: ColorScale | None) -> str:
    fill, ink = {
        "module": (_MODULE_FILL, _INK),
        "op": (_OP_FILL, _INK),
        "input": (_INPUT_FILL, _INK),
        "output": (_OUTPUT_FILL, _INK),
    }[node.kind]
    if scale is not None and node.value is not None:
        fill, ink = value_color(scale, node.value)
    labeller = {"module": _module_label, "op": _op_label}.get(node.kind, _io_label)
    label = labeller(node, ink, scale)
    extra = ", peripheries=2" if node.repeat > 1 and node.kind == "module" else ""
    if node.kind == "op":
        extra += ', fontsize=10, color="#94a3b8", margin="0.08,0.03"'
    if node.kind in ("input", "output"):
        extra += ', shape=box, style="filled", color="#94a3b8"'
    if ink != _INK:
        extra += f', fontcolor="{ink}"'
    return f'"{_quote(node.id)}" [label=<{label}>, fillcolor="{fill}"{extra}];'


def _muted(node: ViewNode, ink: str, scale: ColorScale | None) -> str:
    """Small text's colour: grey on the plain fill, darker or lighter on a value's colour."""
    if ink != _INK:
        return "#e2e8f0"
    return "#334155" if scale is not None and node.value is not None else _MUTED


def _module_label(node: ViewNode, ink: str, scale: ColorScale | None) -> str:
    muted = _muted(node, ink, scale)
    head = (
        f'<TD ALIGN="LEFT"><B>{_text(node.label)}</B>  '
        f'<FONT COLOR="{muted}">{_text(node.type)}</FONT></TD>'
        + (_badge(node.repeat) if node.repeat > 1 else "")
    )
    small = [node.settings] if node.settings else []
    small += figures(node.params, node.macs, node.repeat, node.calls)
    if scale is not None and scale.name not in MEASURE_NAMES and node.value is not None:
        # a mapping's value (a built-in measure is among the figures already)
        small.append(f"{scale.name} {_fmt_value(scale, node.value)}")
    if node.shapes:
        small.append("→ " + _shapes(node.shapes))
    small += [f"varies: {v}" for v in node.varies]
    span = 3 if node.repeat > 1 else 1
    return _table([f"<TR>{head}</TR>", *_small_rows(small, muted, span)])


def _op_label(node: ViewNode, ink: str, scale: ColorScale | None) -> str:
    rows = [f"<TR><TD>{_text(node.label)}</TD></TR>"]
    if node.macs:
        muted = _muted(node, ink, scale)
        rows.append(
            f'<TR><TD><FONT POINT-SIZE="8" COLOR="{muted}">{escape(fmt_si(node.macs))} MACs'
            "</FONT></TD></TR>"
        )
    return _table(rows)


def _io_label(node: ViewNode, ink: str, scale: ColorScale | None) -> str:
    name = shorten_middle(visible(node.label), _NAME_LIMIT)
    name += f"  ×{node.repeat}" if node.repeat > 1 else ""
    tensor = node.shapes[0]
    text = f"{_shape(tensor.shape)} {shorten_middle(visible(tensor.dtype), 40)}"
    return _table(
        [
            f"<TR><TD><B>{escape(name)}</B></TD></TR>",
            f'<TR><TD><FONT POINT-SIZE="9" COLOR="{_MUTED}">{_text(text, 100)}</FONT></TD></TR>',
        ]
    )


def _table(rows: list[str]) -> str:
    return (
        f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(rows)}</TABLE>'
    )


def _edge_line(edge: ViewEdge) -> str:
    label = _shapes(edge.tensors)
    return f'  "{_quote(edge.src)}" -> "{_quote(edge.dst)}" [label="{_quote(" " + label + " ")}"];'


def _shape(shape: tuple[int, ...]) -> str:
    return shorten_middle("×".join(str(d) for d in shape), 60) if shape else "scalar"


def _shapes(tensors: list[TensorMeta]) -> str:
    texts = [_shape(t.shape) for t in tensors[:2]]
    return ", ".join(texts) + (", …" if len(tensors) > 2 else "")


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _fmt_value(scale: ColorScale, value: float) -> str:
    """A value in its scale's unit: bytes, SI counts, or plain numbers for user mappings."""
    if scale.name == "activation bytes":
        return fmt_bytes(value)
    if scale.name in ("parameters", "MACs") or abs(value) >= 1000:
        return fmt_si(value)
    return f"{value:.3g}"


def _legend(scale: ColorScale, rolled: bool) -> str:
    kind = "log scale" if scale.log else "linear"
    if rolled:
        kind += ", per copy of a ×N block"
    cells = "".join(f'<TD BGCOLOR="{c}" WIDTH="18" HEIGHT="12"></TD>' for c in PALETTE)
    n = len(PALETTE)
    return (
        '  legend [shape=plain, style="", label=<<TABLE BORDER="1" COLOR="#cbd5e1" '
        'CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">'
        f'<TR><TD COLSPAN="{n}" ALIGN="LEFT"><B>{_text(scale.name)}</B> '
        f'<FONT COLOR="{_MUTED}" POINT-SIZE="9">({kind})</FONT></TD></TR>'
        f"<TR>{cells}</TR>"
        f'<TR><TD COLSPAN="{n // 2}" ALIGN="LEFT"><FONT POINT-SIZE="9">'
        f"{escape(_fmt_value(scale, scale.minimum))}</FONT></TD>"
        f'<TD COLSPAN="{n - n // 2}" ALIGN="RIGHT"><FONT POINT-SIZE="9">'
        f"{escape(_fmt_value(scale, scale.maximum))}</FONT></TD></TR></TABLE>>];"
    )
