"""GraphView: a drawn model graph that saves itself as DOT, SVG, PNG, PDF, HTML or JSON.

It displays itself through the display seam like every result (terminal: a tree of boxes
and nodes; notebook: the SVG, or the viewer without Graphviz); ``str()`` and ``repr()``
stay one line, since the tree of a large model runs to thousands of lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchscope._display import Displayable
from torchscope.analysis.visible_graph import VisibleGraph
from torchscope.model.graph import ModelGraph
from torchscope.render.safe_text import shorten_middle, visible
from torchscope.render.units import fmt_si

if TYPE_CHECKING:
    from rich.text import Text
    from rich.tree import Tree

__all__ = ["SAVE_FORMATS", "GraphView", "notebook_html", "view_tree"]

SAVE_FORMATS = ("dot", "gv", "svg", "png", "pdf", "html", "json")


@dataclass
class GraphView(Displayable):
    """A model's structure as drawn: ``.save("model.svg")``, ``.to_dot()``, inline in Jupyter.

    ``graph`` is everything captured; ``view`` is what the drawing shows (clusters,
    collapsed nodes, rolled repeats, merged edges).
    """

    graph: ModelGraph
    view: VisibleGraph
    direction: str = "TB"
    color_by: str | dict[str, float] | None = None
    title: str | None = None
    _svg: str | None = field(default=None, repr=False, compare=False)

    def to_dot(self) -> str:
        """The Graphviz DOT text of the drawing."""
        from torchscope.render.dot import graph_to_dot

        return graph_to_dot(self.view, self.direction, self.title)

    def render(self, fmt: str) -> bytes:
        """The drawing as ``svg``, ``png`` or ``pdf`` bytes (needs the system Graphviz)."""
        from torchscope.render.dot import render_dot

        if fmt == "svg" and self._svg is not None:
            return self._svg.encode()
        data = render_dot(self.to_dot(), fmt)
        if fmt == "svg":
            self._svg = data.decode()
        return data

    def to_html(self) -> str:
        """The interactive viewer: one self-contained HTML page that works offline."""
        from torchscope.render.graph_html import graph_to_html

        color = self.color_by
        return graph_to_html(self.graph, title=self.title, color_by=color, depth=self.view.depth)

    def save(self, path: str | Path) -> Path:
        """Write the drawing; the format comes from the extension (see SAVE_FORMATS).

        ``.svg``/``.png``/``.pdf`` need Graphviz's ``dot`` (GraphvizNotFound says how to
        install it); ``.dot``, ``.html`` and ``.json`` (the ModelGraph) do not.
        """
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in SAVE_FORMATS:
            raise ValueError(
                f"cannot tell the format of {str(path)!r}: use one of "
                + ", ".join(f".{f}" for f in SAVE_FORMATS)
            )
        if fmt in ("dot", "gv"):
            path.write_text(self.to_dot(), encoding="utf-8")
        elif fmt == "json":
            path.write_text(self.graph.to_json(indent=None), encoding="utf-8")
        elif fmt == "html":
            path.write_text(self.to_html(), encoding="utf-8")
        else:
            path.write_bytes(self.render(fmt))
        return path

    def to_dict(self) -> dict[str, Any]:
        """What the drawing shows as plain data: nodes, clusters, edges, colour scale."""
        return {"direction": self.direction, "title": self.title, **self.view.to_dict()}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def _repr_svg_(self) -> str | None:
        """The SVG for a notebook; None (never an error) when Graphviz cannot draw it."""
        from torchscope.errors import GraphvizNotFound

        try:
            return self.render("svg").decode()
        except (GraphvizNotFound, RuntimeError):
            return None

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        v = self.view
        rolled = [f"{_bounded(c.label)} ×{c.repeat}" for c in v.clusters if c.repeat > 1]
        rolled += [
            f"{_bounded(n.label)} ×{n.repeat}"
            for n in v.nodes
            if n.kind == "module" and n.repeat > 1
        ]
        extra = f", rolled: {', '.join(rolled)}" if rolled else ""
        return visible(
            f"GraphView({_bounded(v.model_type)}, depth {v.depth}: {len(v.nodes)} nodes, "
            f"{len(v.clusters)} boxes, {len(v.edges)} edges{extra})"
        )


def notebook_html(graph: GraphView) -> str:
    """The static SVG in a scrolling box, or the interactive viewer without Graphviz."""
    svg = graph._repr_svg_()
    if svg is not None:
        body = svg[svg.find("<svg") :]
        return f'<div style="max-height:900px;overflow:auto">{body}</div>'
    try:
        page = graph.to_html()
    except ImportError:
        from torchscope.errors import GraphvizNotFound

        return f"<pre>{escape(str(GraphvizNotFound()))}</pre>"
    return (
        f'<iframe srcdoc="{escape(page, quote=True)}" style="width:100%;height:700px;'
        'border:1px solid #cbd5e1" sandbox="allow-scripts"></iframe>'
    )


def view_tree(view: VisibleGraph) -> Tree:
    """A rich Tree of the drawing: boxes (clusters) with their nodes, repeats marked; every
    name shown as text (never markup, no control sequences)."""
    from rich.tree import Tree

    root = Tree(
        _entry(view.model_type, "bold", "")
        + f" · {fmt_si(view.total_params)} params · {fmt_si(view.total_macs)} MACs"
        + f" · depth {view.depth}"
    )
    branches: dict[str | None, Tree] = {None: root}
    for cluster in view.clusters:  # parents are listed before their children
        entry = _entry(cluster.label, "bold", cluster.type, cluster.repeat)
        branches[cluster.id] = branches[cluster.parent].add(entry)
    for node in view.nodes:
        if node.kind in ("module", "op"):
            kind = node.type if node.kind == "module" else "op"
            branches[node.cluster].add(_entry(node.label, "", kind, node.repeat))
    return root


def _entry(label: str, style: str, kind: str, repeat: int = 1) -> Text:
    """``label kind ×N`` as rich Text: the label styled, the kind dim, the badge red."""
    from rich.text import Text

    text = Text(_bounded(label), style=style)
    if kind:
        text.append(" " + _bounded(kind), style="dim")
    if repeat > 1:
        text.append(f" ×{repeat}", style="bold red")
    return text


_NAME_LIMIT = 80  # a name from a graph file may be any length: a tree line stays readable


def _bounded(name: str) -> str:
    """A name as one visible line of at most ``_NAME_LIMIT`` cells, cut in the middle."""
    return shorten_middle(visible(name), _NAME_LIMIT)
