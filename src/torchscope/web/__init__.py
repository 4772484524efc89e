"""The live dashboard: an ASGI app (starlette + uvicorn) over the run stores, read-only.

Importing ``torchscope`` never loads this package; ``torchscope serve`` and
``torchscope.serve()`` do. See ``app.py`` (routes), ``security.py`` (the gate every
request passes), ``catalog.py`` (the index of runs), ``stream.py`` (live updates).
``serve`` lives here rather than in ``_api/`` because the dashboard is the layer above
the public functions (pyproject's import contract).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torchscope.web.server import DashboardURL

__all__ = ["serve"]


def serve(
    logdir: Any = "runs",
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    open: bool = False,
) -> DashboardURL:
    """Start the live dashboard of the runs under ``logdir`` (one or a list) in the background.

    Returns its URL, a ``str`` that shows the page inline when it is a notebook cell's
    result, with ``.stop()`` to shut the server down. ``port=None`` takes 6007 or the next
    free port; a ``host`` other than loopback requires a token, which the URL carries.

    Example:
        >>> url = torchscope.serve("runs")  # doctest: +SKIP
        >>> url  # doctest: +SKIP
        'http://127.0.0.1:6007/'
    """
    from torchscope.web.app import DashboardConfig
    from torchscope.web.server import serve_in_background

    logdirs = [logdir] if isinstance(logdir, (str, Path)) else list(logdir)
    url = serve_in_background(DashboardConfig(logdirs, host=host, port=port))
    if open:
        import webbrowser

        webbrowser.open(url)
    return url
