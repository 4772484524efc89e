"""What a self-contained HTML page carries inline: its data as JSON, its built frontend.

The viewer and the report are single files that open offline, so their script, styles and
data sit inside ``<script>``/``<style>`` elements. Nothing from a model or a run may end
such an element early: the JSON escapes ``<``, ``>`` and ``&``, and the bundle has every
closing tag it contains escaped.
"""

from __future__ import annotations

import json
from typing import Any

from torchscope.errors import ViewerBundleMissing

__all__ = ["embed_json", "frontend_bundle"]


def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: keys sorted, no ``<``, ``>``,
    ``&`` or line separators left to end the element or confuse a parser.

    Example:
        >>> embed_json({"b": "</script>", "a": 1})
        '{"a":1,"b":"\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def frontend_bundle(stem: str, what: str) -> tuple[str, str]:
    """The built ``<stem>.js`` and ``<stem>.css`` from the package's assets, safe inline.

    ``what`` names the page in the error raised when the bundle was never built.
    """
    from importlib.resources import files

    assets = files("torchscope.render").joinpath("assets")
    try:
        js = assets.joinpath(f"{stem}.js").read_text(encoding="utf-8")
        css = assets.joinpath(f"{stem}.css").read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise ViewerBundleMissing(
            f"the {what}'s frontend bundle is not built: run `make frontend` (or `make "
            "install`) in the torchscope source tree, which needs node and npm"
        ) from None
    return js.replace("</script", "<\\/script"), css.replace("</style", "<\\/style")
