"""The event stream (Server-Sent Events): one per browser tab, only what is new.

A page subscribes to its selected runs with a cursor each (the newest chunk id it has
drawn). Every ``POLL_S`` the stream asks each subscribed store for chunks after its
cursor — one indexed query, nothing when nothing was written — and sends them as
``rows`` events; the cursor moves on, so no point is ever sent twice. Once a second it
sends a ``runs`` event with the list rows of runs whose digest or status changed (new
runs included), so the runs list stays live for every run, selected or not.

Each event's id holds the cursors, so a reconnecting EventSource (``Last-Event-ID``)
resumes exactly where it stopped. The number of open streams is bounded.
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

from torchscope.web.api import json_response
from torchscope.web.catalog import Catalog
from torchscope.web.params import LIMITS, BadRequest, run_ids
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


def _subscriptions(request: Request) -> dict[str, int]:
    """``runs=id:cursor,…`` of the URL, moved on by a reconnect's ``Last-Event-ID``."""
    subs: dict[str, int] = {}
    for item in run_ids(request.query_params):
        rid, _, cursor = item.partition(":")
        subs[rid] = int(cursor) if cursor.isdigit() else 0
    last = request.headers.get("last-event-id", "")
    for item in last.split(",")[: LIMITS["runs"]]:
        rid, _, cursor = item.partition(":")
        if rid in subs and cursor.isdigit():
            subs[rid] = max(subs[rid], int(cursor))
    return subs


def _event(name: str, data: Any, subs: dict[str, int]) -> str:
    ident = ",".join(f"{rid}:{c}" for rid, c in subs.items())
    body = json.dumps(data, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name}\nid: {ident}\ndata: {body}\n\n"


def _poll_rows(catalog: Catalog, subs: dict[str, int]) -> list[dict[str, Any]]:
    """New rows of every subscribed run (runs whose store vanished are skipped)."""
    out = []
    for rid, cursor in list(subs.items()):
        try:
            run = catalog.open(rid)
            new_cursor, chunks, too_large = run.rows_after(cursor, max_points=MAX_ROWS)
        except Exception:  # unknown id, a damaged or removed store: nothing to send
            continue
        if new_cursor == cursor:
            continue
        subs[rid] = new_cursor
        keys = run.series_keys()
        resync = [{"split": keys[s].scope, "metric": keys[s].name} for s in too_large]
        out.append({"run": rid, "cursor": new_cursor, "rows": chunk_rows(chunks, keys),
                    "resync": resync})  # fmt: skip
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


async def _events(request: Request, subs: dict[str, int]) -> AsyncIterator[str]:
    catalog: Catalog = request.app.state.catalog
    stale_after: float = request.app.state.stale_after
    sent: dict[str, tuple[Any, ...]] = {}
    if request.query_params.get("known") == str(catalog.generation):
        # the runs list the page loaded is current: only changes from here on are sent
        await anyio.to_thread.run_sync(_changed_runs, catalog, sent, stale_after)
    yield "retry: 1000\n\n"
    last_runs = last_ping = time.monotonic()
    while True:
        for item in await anyio.to_thread.run_sync(_poll_rows, catalog, subs):
            yield _event("rows", item, subs)
        now = time.monotonic()
        if now - last_runs >= RUNS_EVERY_S:
            last_runs = now
            changed = await anyio.to_thread.run_sync(_changed_runs, catalog, sent, stale_after)
            if changed:
                yield _event("runs", changed, subs)
        if now - last_ping >= PING_S:
            last_ping = now
            yield ": ping\n\n"
        await anyio.sleep(POLL_S)


async def stream(request: Request) -> Response:
    """``GET /api/stream?runs=id:cursor,…``: the tab's one Server-Sent-Events stream."""
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
