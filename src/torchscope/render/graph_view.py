"""GraphView: a drawn model graph that saves itself as DOT, SVG, PNG, PDF, HTML or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchscope.analysis.visible_graph import VisibleGraph
from torchscope.model.graph import ModelGraph
from torchscope.render.labels import printable, shorten_middle
from torchscope.render.units import fmt_si

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.tree import Tree

__all__ = ["SAVE_FORMATS", "GraphView", "view_tree"]

SAVE_FORMATS = ("dot", "gv", "svg", "png", "pdf", "html", "json")


@dataclass
class GraphView:
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

    def _repr_html_(self) -> str:
        """The static SVG in a scrolling box, or the interactive viewer without Graphviz."""
        svg = self._repr_svg_()
        if svg is not None:
            body = svg[svg.find("<svg") :]
            return f'<div style="max-height:900px;overflow:auto">{body}</div>'
        try:
            page = self.to_html()
        except ImportError:
            from torchscope.errors import GraphvizNotFound

            return f"<pre>{escape(str(GraphvizNotFound()))}</pre>"
        return (
            f'<iframe srcdoc="{escape(page, quote=True)}" style="width:100%;height:700px;'
            'border:1px solid #cbd5e1" sandbox="allow-scripts"></iframe>'
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield view_tree(self.view)

    def __str__(self) -> str:
        v = self.view
        rolled = [f"{shorten_middle(c.label)} ×{c.repeat}" for c in v.clusters if c.repeat > 1]
        rolled += [
            f"{shorten_middle(n.label)} ×{n.repeat}"
            for n in v.nodes
            if n.kind == "module" and n.repeat > 1
        ]
        extra = f", rolled: {', '.join(rolled)}" if rolled else ""
        return printable(
            f"GraphView({shorten_middle(v.model_type)}, depth {v.depth}: {len(v.nodes)} nodes, "
            f"{len(v.clusters)} boxes, {len(v.edges)} edges{extra})"
        )


def view_tree(view: VisibleGraph) -> Tree:
    """A rich Tree of the drawing: boxes (clusters) with their nodes, repeats marked."""
    from rich.tree import Tree

    root = Tree(
        f"[bold]{_escape_markup(view.model_type)}[/] · {fmt_si(view.total_params)} params · "
        f"{fmt_si(view.total_macs)} MACs · depth {view.depth}"
    )
    branches: dict[str | None, Tree] = {None: root}
    for cluster in view.clusters:  # parents are listed before their children
        badge = f" [bold red]×{cluster.repeat}[/]" if cluster.repeat > 1 else ""
        label, kind = _escape_markup(cluster.label), _escape_markup(cluster.type)
        branches[cluster.id] = branches[cluster.parent].add(
            f"[bold]{label}[/] [dim]{kind}[/]{badge}"
        )
    for node in view.nodes:
        if node.kind in ("module", "op"):
            badge = f" [bold red]×{node.repeat}[/]" if node.repeat > 1 else ""
            kind = node.type if node.kind == "module" else "op"
            branches[node.cluster].add(
                f"{_escape_markup(node.label)} [dim]{_escape_markup(kind)}[/]{badge}"
            )
    return root


def _escape_markup(text: str) -> str:
    """Text safe to put inside rich markup: bounded, and no control characters."""
    from rich.markup import escape as rich_escape

    return rich_escape(printable(shorten_middle(text)))
