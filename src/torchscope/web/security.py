"""The dashboard's gate: every request passes here before any route sees it.

- **Host allow-list** (DNS rebinding): the Host header must name this machine as the
  server was told to be reached (loopback names always; the bound address and
  ``allow_hosts`` otherwise).
- **Origin / fetch-site check**: a request sent by a page of another origin is refused
  (the dashboard is never called cross-origin, and sends no CORS headers at all).
- **Token**: off loopback (or when asked), a secret made with ``secrets`` is required on
  every route, the event stream included. It arrives once in the printed URL
  (``?token=…``), is compared in constant time, and is exchanged for an HttpOnly,
  SameSite=Strict cookie; the URL is then redirected without it.
- **Read only**: methods other than GET and HEAD are refused.
- **Headers**: a Content-Security-Policy of ``default-src 'self'`` (no inline script, no
  third-party anything), no sniffing, no referrer, no caching of data.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["Gate", "GateConfig", "allowed_host_names", "is_loopback", "new_token"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self' http://localhost:* http://127.0.0.1:*"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def new_token() -> str:
    """A fresh secret for one server (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def allowed_host_names(bind: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Host names a request may carry: loopback, the bound name, this machine's names."""
    names = set(LOOPBACK_NAMES) | {h.strip("[]").lower() for h in extra if h}
    bind = bind.strip("[]").lower()
    if bind in ("0.0.0.0", "::", ""):
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower()}
        with contextlib.suppress(OSError):
            names |= {str(info[4][0]).lower() for info in socket.getaddrinfo(hostname, None)}
    else:
        names.add(bind)
    return frozenset(names)


def _host_name(value: str) -> str:
    """``example.org:6007`` / ``[::1]:6007`` → the name without the port, lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


@dataclass
class GateConfig:
    """What the gate lets through."""

    hosts: frozenset[str]
    token: str | None = None
    cookie: str = "torchscope_token"
    extra_origins: frozenset[str] = field(default_factory=frozenset)


class Gate:
    """ASGI middleware enforcing the rules of this module around the dashboard app."""

    def __init__(self, app: ASGIApp, config: GateConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _plain(send, *refusal)
            return
        token = self.config.token
        if token is not None:
            given = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("token")
            if given is not None:
                await self._exchange(scope, send, given)
                return
            if not self._authorised(headers):
                await _plain(
                    send,
                    401,
                    "This dashboard needs its token: open the URL that `torchscope serve` "
                    "printed (it ends in ?token=…).",
                )
                return
        await self.app(scope, receive, _with_headers(send))

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        if scope["method"] not in ("GET", "HEAD"):
            return 405, "The dashboard is read-only: only GET and HEAD are served."
        if _host_name(headers.get("host", "")) not in self.config.hosts:
            return 403, "Refused: this Host is not one the dashboard serves (--allow-host)."
        origin = headers.get("origin")
        if origin not in (None, "null") and not self._same_origin(origin, headers.get("host", "")):
            return 403, "Refused: requests from other sites are not served."
        site = headers.get("sec-fetch-site")
        navigate = headers.get("sec-fetch-mode") == "navigate"
        if site == "cross-site" and not (navigate and scope["path"] == "/"):
            return 403, "Refused: requests from other sites are not served."
        return None

    def _same_origin(self, origin: str, host: str) -> bool:
        if origin in self.config.extra_origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()

    def _authorised(self, headers: dict[str, str]) -> bool:
        assert self.config.token is not None
        expected = self.config.token.encode()
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return hmac.compare_digest(auth[7:].strip().encode("latin-1"), expected)
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.config.cookie and hmac.compare_digest(
                value.encode("latin-1"), expected
            ):
                return True
        return False

    async def _exchange(self, scope: Scope, send: Send, given: str) -> None:
        """A valid ``?token=`` becomes a cookie and the same URL without the token."""
        assert self.config.token is not None
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.config.token.encode()):
            await _plain(send, 403, "Refused: wrong token.")
            return
        query = [
            (k, v)
            for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
            if k != "token"
        ]
        location = (
            scope.get("root_path", "") + scope["path"] + ("?" + urlencode(query) if query else "")
        )
        cookie = f"{self.config.cookie}={self.config.token}; HttpOnly; SameSite=Strict; Path=/"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1", "replace")),
                    (b"set-cookie", cookie.encode()),
                    (b"cache-control", b"no-store"),
                    *_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *_HEADERS]
        await send(message)

    return wrapped


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
