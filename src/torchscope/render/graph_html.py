"""The interactive graph viewer: one self-contained, offline HTML file per ModelGraph.

The page is the bundled frontend (``frontend/`` built into ``render/assets/``) plus the
graph as JSON (``viewer_data``, whose short keys are documented in ``viewer_data.py``),
embedded so that no string from the model can end its ``<script>`` element.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torchscope.errors import ViewerBundleMissing
from torchscope.render.viewer_data import OP_KINDS, op_kind, viewer_data

if TYPE_CHECKING:
    from torchscope.model.graph import ModelGraph

__all__ = ["OP_KINDS", "graph_to_html", "op_kind", "viewer_data"]


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

    js, css = _bundle()
    data = viewer_data(graph, title=title, color_by=color_by, depth=depth)
    env = Environment(
        loader=PackageLoader("torchscope.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    template = env.get_template("graph_viewer.html.j2")
    return template.render(title=data["title"], css=css, js=js, data=_script_json(data))
