"""The dashboard as an ASGI application: the page, its two assets, the API, the stream.

Nothing here takes a path from a request: the page and the assets are fixed files of the
package, runs are catalog ids. Every request passes the ``Gate`` first (security.py).

Example:
    >>> app = create_app(DashboardConfig(["runs"]))  # doctest: +SKIP
    >>> import uvicorn; uvicorn.run(app, port=6007)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from torchscope.errors import ViewerBundleMissing
from torchscope.web.api import ROUTES
from torchscope.web.catalog import Catalog
from torchscope.web.model import model
from torchscope.web.security import Gate, GateConfig, allowed_host_names
from torchscope.web.stream import StreamSlots, stream

__all__ = ["ASSETS", "DashboardConfig", "create_app"]

# The only files the server sends besides JSON: name → media type.
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


@dataclass
class DashboardConfig:
    """What one dashboard serves and to whom."""

    logdirs: Sequence[str | Path]
    host: str = "127.0.0.1"
    port: int | None = None  # None: 6007 or the next free port
    token: str | None = None  # required off loopback (serve() makes one)
    allow_hosts: Sequence[str] = ()
    stale_after: float = 120.0  # seconds without a write before an open run is "crashed"
    max_streams: int = 16
    refresh_s: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)


def _asset(name: str) -> bytes:
    try:
        return files("torchscope.web").joinpath("assets", name).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise ViewerBundleMissing(
            "the dashboard's frontend bundle is not built: run `make frontend` (or "
            "`cd frontend && npm ci && npm run build`) in the torchscope source tree"
        ) from None


def _page(_: Request) -> Response:
    html = files("torchscope.web").joinpath("index.html").read_bytes()
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={"cache-control": "no-cache"})  # fmt: skip


def _no_icon(_: Request) -> Response:
    return Response(status_code=204)  # browsers ask for it; there is none


def _asset_route(name: str) -> Route:
    body = _asset(name)  # read once: a missing bundle fails at start, not on first visit

    def serve(_: Request) -> Response:
        return Response(body, media_type=ASSETS[name], headers={"cache-control": "no-cache"})

    return Route(f"/assets/{name}", serve, methods=["GET", "HEAD"])


def create_app(config: DashboardConfig, catalog: Catalog | None = None) -> Any:
    """The dashboard app (Gate → gzip → routes) over ``config.logdirs``."""
    catalog = catalog or Catalog(config.logdirs)
    catalog.refresh(force_scan=True)
    routes = [
        Route("/", _page, methods=["GET", "HEAD"]),
        Route("/favicon.ico", _no_icon, methods=["GET", "HEAD"]),
        *(_asset_route(name) for name in ASSETS),
        *(Route(path, handler, methods=["GET", "HEAD"]) for path, handler in ROUTES.items()),
        Route("/api/model", model, methods=["GET", "HEAD"]),
        Route("/api/stream", stream, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = catalog.start(config.refresh_s)
        try:
            yield
        finally:
            stop.set()
            catalog.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(GZipMiddleware, minimum_size=4096, compresslevel=3)],
        lifespan=lifespan,
    )
    app.state.catalog = catalog
    app.state.stale_after = config.stale_after
    app.state.stream_slots = StreamSlots(config.max_streams)
    gate = GateConfig(
        hosts=allowed_host_names(config.host, config.allow_hosts),
        token=config.token,
        cookie=f"torchscope_token_{config.port or 0}",
    )
    return Gate(app, gate)
