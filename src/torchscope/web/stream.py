"""The event stream (Server-Sent Events): one per browser tab, only what is new.

A page subscribes to its selected runs: for each series it draws, the tail where its
chart data ended (``store/follow.py``), and for the rest of a run a chunk id after which
everything is new. Every ``POLL_S`` the stream asks each subscribed store what follows —
one ``PRAGMA data_version`` when nothing was written — and sends it as ``rows`` events;
the tails move on, so no point is sent twice within a stream, and each row says where in
its stored chunk it starts, so a page that reconnects drops what it already has. Once a
second a ``runs`` event carries the list rows of runs whose digest or status changed (new
runs included), so the runs list stays live for every run, selected or not. The number
of open streams is bounded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from torchscope.store.follow import Follower, Tail
from torchscope.web.api import json_response
from torchscope.web.catalog import Catalog
from torchscope.web.params import BadRequest, run_ids
from torchscope.web.payloads import chunk_rows, run_payload

__all__ = ["POLL_S", "StreamSlots", "stream"]

POLL_S = 0.1  # how often subscribed stores are asked for new rows
RUNS_EVERY_S = 1.0  # how often the runs list is checked for changes
PING_S = 15.0  # a comment line keeps proxies and tunnels from closing an idle stream
MAX_ROWS = 20_000  # points per run per event (more arrive in the following events)


class StreamSlots:
    """A counter of open streams with a ceiling (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.open = limit, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def give(self) -> None:
        with self._lock:
            self.open -= 1


class _Stream(StreamingResponse):
    """A streaming response that gives its slot back however it ends."""

    def __init__(self, content: AsyncIterator[str], slots: StreamSlots) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )
        self._slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.give()


def _subscriptions(request: Request) -> dict[str, tuple[int, dict[int, Tail]]]:
    """``runs=id:after,…`` and ``tails=id~series~chunk~n,…`` of the URL, per run."""
    subs: dict[str, tuple[int, dict[int, Tail]]] = {}
    for item in run_ids(request.query_params):
        rid, _, after = item.partition(":")
        subs[rid] = (int(after) if after.isdigit() else 0, {})
    tails = request.query_params.get("tails", "")
    if len(tails) > 64 * 1024:
        raise BadRequest("too many series to follow")
    for item in tails.split(","):
        parts = item.split("~")
        if len(parts) == 4 and parts[0] in subs and all(x.isdigit() for x in parts[1:]):
            subs[parts[0]][1][int(parts[1])] = Tail(int(parts[2]), int(parts[3]))
    return subs


def _event(name: str, data: Any) -> str:
    body = json.dumps(data, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name}\ndata: {body}\n\n"


def _poll_rows(catalog: Catalog, followers: dict[str, Follower]) -> list[dict[str, Any]]:
    """New points of every subscribed run (runs whose store vanished are skipped)."""
    out = []
    for rid, follower in followers.items():
        try:
            follower.run = catalog.open(rid)  # the same store, maybe reopened
            chunks, too_large = follower.poll(MAX_ROWS)
        except Exception:  # a damaged or removed store: nothing to send
            continue
        if not chunks and not too_large:
            continue
        keys = follower.run.series_keys()
        resync = [{"split": keys[s].scope, "metric": keys[s].name} for s in too_large]
        out.append({"run": rid, "rows": chunk_rows(chunks, keys), "resync": resync})
    return out


def _changed_runs(
    catalog: Catalog, sent: dict[str, tuple[Any, ...]], stale_after: float
) -> list[dict[str, Any]]:
    now = time.time()
    out = []
    for entry in catalog.entries():
        d = entry.digest
        state = (d.versions, d.status(now, stale_after), entry.error)
        if sent.get(entry.id) != state:
            sent[entry.id] = state
            out.append(run_payload(entry, now, stale_after))
    return out


async def _events(
    request: Request, subs: dict[str, tuple[int, dict[int, Tail]]]
) -> AsyncIterator[str]:
    catalog: Catalog = request.app.state.catalog
    followers = {}
    for rid, (after, tails) in subs.items():
        try:
            followers[rid] = Follower(catalog.open(rid), after, tails)
        except Exception:  # a store that cannot be opened: not followed
            continue
    stale_after: float = request.app.state.stale_after
    sent: dict[str, tuple[Any, ...]] = {}
    if request.query_params.get("known") == str(catalog.generation):
        # the runs list the page loaded is current: only changes from here on are sent
        await anyio.to_thread.run_sync(_changed_runs, catalog, sent, stale_after)
    yield "retry: 1000\n\n"
    last_runs = last_ping = time.monotonic()
    while True:
        for item in await anyio.to_thread.run_sync(_poll_rows, catalog, followers):
            yield _event("rows", item)
        now = time.monotonic()
        if now - last_runs >= RUNS_EVERY_S:
            last_runs = now
            changed = await anyio.to_thread.run_sync(_changed_runs, catalog, sent, stale_after)
            if changed:
                yield _event("runs", changed)
        if now - last_ping >= PING_S:
            last_ping = now
            yield ": ping\n\n"
        await anyio.sleep(POLL_S)


async def stream(request: Request) -> Response:
    """``GET /api/stream?runs=id:after,…&tails=…``: the tab's one Server-Sent-Events stream."""
    try:
        subs = _subscriptions(request)
    except BadRequest as exc:
        return json_response({"error": str(exc)}, 400)
    catalog: Catalog = request.app.state.catalog
    known = {e.id for e in catalog.entries()}
    subs = {rid: c for rid, c in subs.items() if rid in known}
    slots: StreamSlots = request.app.state.stream_slots
    if not slots.take():
        return json_response(
            {"error": f"too many open dashboards (at most {slots.limit} streams)"}, 503
        )
    return _Stream(_events(request, subs), slots)
