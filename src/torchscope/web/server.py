"""Running the dashboard: bind a socket, build the app, serve it with uvicorn.

``serve_forever`` is the CLI's blocking server; ``serve_in_background`` runs the same
server in a daemon thread for ``torchscope.serve()`` and returns its URL (a ``str`` that
shows the page inline in a notebook and has ``.stop()``).
"""

from __future__ import annotations

import errno
import html
import socket
import threading
from dataclasses import dataclass
from typing import Any

from torchscope.errors import PortInUse
from torchscope.web.app import DashboardConfig, create_app
from torchscope.web.security import is_loopback, new_token

__all__ = [
    "DashboardURL",
    "PortInUse",
    "bind",
    "dashboard_url",
    "serve_forever",
    "serve_in_background",
]

DEFAULT_PORT = 6007
_PORT_TRIES = 20


@dataclass
class Bound:
    """A listening socket and where it listens."""

    sock: socket.socket
    host: str
    port: int


def bind(host: str, port: int | None) -> Bound:
    """Listen on ``host:port``; ``port=None`` takes 6007 or the next free port after it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    candidates = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + _PORT_TRIES)
    last: OSError | None = None
    for p in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, p))
        except OSError as exc:
            sock.close()
            last = exc
            if exc.errno == errno.EADDRINUSE:
                continue
            raise
        sock.listen(128)
        sock.set_inheritable(True)
        return Bound(sock, host, sock.getsockname()[1])
    raise PortInUse(
        f"port {port} on {host} is in use: pass another --port (0 picks any free port)"
        if port is not None
        else f"no free port in {DEFAULT_PORT}–{DEFAULT_PORT + _PORT_TRIES - 1}: pass --port"
    ) from last


def dashboard_url(host: str, port: int, token: str | None) -> str:
    """The URL to open (with the token, when one is required)."""
    name = host
    if host in ("0.0.0.0", "::", ""):
        name = socket.gethostname()
    elif ":" in host:
        name = f"[{host}]"
    return f"http://{name}:{port}/" + (f"?token={token}" if token else "")


class DashboardURL(str):
    """The URL of a running dashboard: shows the page inline in a notebook; ``.stop()``."""

    _server: Any = None
    _thread: threading.Thread | None = None

    def _repr_html_(self) -> str:
        url = html.escape(str(self), quote=True)
        return (
            f'<p><a href="{url}" target="_blank" rel="noopener">{url}</a></p>'
            f'<iframe src="{url}" width="100%" height="720" style="border:1px solid #d0d7de">'
            "</iframe>"
        )

    def stop(self) -> None:
        """Shut the server down and wait for it (a no-op once stopped)."""
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None


def _config(config: DashboardConfig, bound: Bound) -> DashboardConfig:
    config.port = bound.port
    if config.token is None and not is_loopback(config.host):
        config.token = new_token()
    return config


def _uvicorn_server(app: Any, bound: Bound, log_level: str) -> Any:
    import uvicorn

    uv = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        limit_concurrency=256,  # connections at once; beyond this uvicorn answers 503
        timeout_keep_alive=10,
        lifespan="on",
        ws="none",
    )
    return uvicorn.Server(uv)


def serve_forever(
    config: DashboardConfig, on_ready: Any = None, log_level: str = "warning"
) -> None:
    """Serve until interrupted; ``on_ready(url)`` is called once the index is built."""
    bound = bind(config.host, config.port)
    config = _config(config, bound)
    app = create_app(config)
    server = _uvicorn_server(app, bound, log_level)
    if on_ready is not None:
        on_ready(dashboard_url(config.host, bound.port, config.token))
    server.run(sockets=[bound.sock])


def serve_in_background(config: DashboardConfig, log_level: str = "warning") -> DashboardURL:
    """Start the server in a daemon thread; return its URL once it accepts connections."""
    bound = bind(config.host, config.port)
    config = _config(config, bound)
    server = _uvicorn_server(create_app(config), bound, log_level)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [bound.sock]}, name="torchscope-serve", daemon=True
    )
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.02)
    url = DashboardURL(dashboard_url(config.host, bound.port, config.token))
    url._server, url._thread = server, thread
    return url
