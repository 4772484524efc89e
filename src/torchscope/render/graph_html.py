"""The interactive graph viewer: one self-contained, offline HTML file per ModelGraph.

The page is the bundled frontend (``frontend/`` built into ``render/assets/``) plus the
graph as JSON (``viewer_data``, whose short keys are documented in ``viewer_data.py``),
embedded so that no string from the model can end its ``<script>`` element.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from torchscope.render.inline import embed_json, frontend_bundle
from torchscope.render.viewer_data import OP_KINDS, op_kind, viewer_data

if TYPE_CHECKING:
    from torchscope.model.graph import ModelGraph

__all__ = ["OP_KINDS", "graph_to_html", "op_kind", "viewer_data"]


def graph_to_html(
    graph: ModelGraph,
    *,
    title: str | None = None,
    color_by: str | Mapping[str, float] | None = None,
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

    js, css = frontend_bundle("viewer", "interactive viewer")
    data = viewer_data(graph, title=title, color_by=color_by, depth=depth)
    env = Environment(
        loader=PackageLoader("torchscope.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    template = env.get_template("graph_viewer.html.j2")
    return template.render(title=data["title"], css=css, js=js, data=embed_json(data))
