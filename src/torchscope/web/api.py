"""The JSON routes: runs, charts, layer heatmaps, distributions, health, confusion, CSV.

Each handler is synchronous (Starlette runs it in its thread pool), reads through the
catalog's read-only stores and returns plain data. Runs are named by catalog ids only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from torchscope.store.live import LiveRun, SeriesKey
from torchscope.store.schema import SCALAR_FAMILY
from torchscope.store.windows import AXES, layer_window, series_extent, series_window
from torchscope.web.catalog import Catalog, RunEntry
from torchscope.web.params import LIMITS, BadRequest, integer, number, run_ids, text
from torchscope.web.payloads import (
    RAMP,
    floats,
    layer_payload,
    plain,
    run_payload,
    window_payload,
)

__all__ = ["ROUTES", "entry_of", "guarded", "json_response"]

Handler = Callable[[Request], Response]
_POOL = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="ts-chart")


def json_response(data: Any, status: int = 200) -> Response:
    """JSON without NaN (``allow_nan=False``: one that slipped through is a bug to see)."""
    body = json.dumps(data, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    return Response(
        body.encode("utf-8"),
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


def entry_of(request: Request, name: str = "run") -> tuple[RunEntry, LiveRun]:
    rid = text(request.query_params, name)
    try:
        entry = _catalog(request).entry(rid)
        return entry, _catalog(request).open(rid)
    except KeyError:
        raise LookupError(f"no run with id {rid!r}") from None


def guarded(handler: Handler) -> Handler:
    """Bad parameters → 400, unknown runs → 404, a damaged store → 422, with a message."""

    def wrapped(request: Request) -> Response:
        try:
            return handler(request)
        except BadRequest as exc:
            return json_response({"error": str(exc)}, 400)
        except LookupError as exc:
            return json_response({"error": str(exc)}, 404)
        except Exception as exc:  # sqlite3.DatabaseError and friends: a damaged store
            return json_response({"error": f"cannot read this run: {type(exc).__name__}"}, 422)

    wrapped.__name__ = handler.__name__
    return wrapped


@guarded
def runs(request: Request) -> Response:
    """Every run: the contract's ``id``, ``name``, ``status``, ``last_step`` and more."""
    now, stale = time.time(), request.app.state.stale_after
    catalog = _catalog(request)
    generation = catalog.generation
    entries = sorted(catalog.entries(), key=lambda e: e.digest.start_time or 0.0)
    response = json_response([run_payload(e, now, stale) for e in entries])
    response.headers["x-generation"] = str(generation)  # the stream sends changes after it
    return response


@guarded
def run_detail(request: Request) -> Response:
    """One run: its row plus what it holds (layer statistics, histograms, splits, events)."""
    entry, run = entry_of(request)
    keys = run.series_keys().values()
    layer_stats: dict[str, list[str]] = {}
    for k in keys:
        if not k.is_scalar and k.name not in layer_stats.setdefault(k.kind, []):
            layer_stats[k.kind].append(k.name)
    hist = run.query("SELECT kind, name FROM histograms GROUP BY kind, name ORDER BY min(id)")
    events = run.query(
        "SELECT step, kind, payload, wall_time FROM events ORDER BY id LIMIT ?",
        (LIMITS["events"],),
    )
    return json_response(
        {
            **run_payload(entry, time.time(), request.app.state.stale_after),
            "layer_stats": layer_stats,
            "histograms": [[str(k), str(n)] for k, n in hist],
            "confusion": [str(s) for (s,) in run.query("SELECT DISTINCT split FROM confusion")],
            "events": [_event(*e) for e in events],
            "has_graph": bool(run.query("SELECT 1 FROM meta WHERE key = 'graph' LIMIT 1")),
            "meta": {k: v for k, v in run.meta().items() if k not in ("config",)},
        }
    )


def _event(step: int, kind: str, payload: str, wall: float) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except (ValueError, TypeError, RecursionError):
        data = {}
    return {
        "step": int(step),
        "kind": str(kind),
        "payload": plain(data),
        "wall_time": _finite(wall),
    }


def _finite(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and np.isfinite(v) else None


@guarded
def chart(request: Request) -> Response:
    """One metric of several runs (every split) as per-pixel buckets over a shared x range."""
    q = request.query_params
    metric = text(q, "metric")
    axis = text(q, "axis", "step")
    if axis not in AXES:
        raise BadRequest(f"axis must be one of {', '.join(AXES)}")
    width = integer(q, "width", 1000, 1, LIMITS["width"])
    smooth = number(q, "smooth") or 0.0
    if not 0.0 <= smooth < 1.0:
        raise BadRequest("smooth must be in [0, 1)")
    lo, hi = number(q, "lo"), number(q, "hi")
    targets = _chart_targets(request, run_ids(q), metric)
    if lo is None or hi is None:
        lo, hi = _union_extent(targets, axis)

    def one(target: _Target) -> dict[str, Any]:
        entry, run, key, origin = target
        w = series_window(
            run, key, axis=axis, lo=lo, hi=hi, width=width, smooth=smooth, origin=origin or 0.0
        )
        return window_payload(w, entry.id, origin)

    # Runs are separate files with their own connections; numpy and SQLite release the
    # GIL while they work, so the series of a chart are read side by side.
    series = list(_POOL.map(one, targets)) if len(targets) > 1 else [one(t) for t in targets]
    return json_response(
        {"metric": metric, "axis": axis, "lo": lo, "hi": hi, "width": width, "series": series}
    )


_Target = tuple[RunEntry, LiveRun, SeriesKey, "float | None"]


def _chart_targets(request: Request, ids: list[str], metric: str) -> list[_Target]:
    catalog = _catalog(request)
    out: list[_Target] = []
    for rid in ids:
        try:
            entry, run = catalog.entry(rid), catalog.open(rid)
        except KeyError:
            raise LookupError(f"no run with id {rid!r}") from None
        origin = entry.digest.start_time
        for key in run.series_keys().values():
            if key.family == SCALAR_FAMILY and key.name == metric:
                out.append((entry, run, key, origin))
    return out


def _union_extent(targets: list[_Target], axis: str) -> tuple[float | None, float | None]:
    spans = []
    for _, run, key, origin in targets:
        ext = series_extent(run, [key], "wall" if axis == "wall" else axis, origin or 0.0)
        if ext is not None:
            spans.append(ext)
    if not spans:
        return None, None
    return min(a for a, _ in spans), max(b for _, b in spans)


@guarded
def layers(request: Request) -> Response:
    """A layers × step-buckets heatmap of one statistic (e.g. kind=grad, stat=norm)."""
    q = request.query_params
    _, run = entry_of(request)
    w = layer_window(
        run,
        text(q, "kind"),
        text(q, "stat"),
        width=integer(q, "width", 400, 1, LIMITS["width"]),
        lo=number(q, "lo"),
        hi=number(q, "hi"),
        max_layers=LIMITS["layers"],
    )
    return json_response(layer_payload(w))


@guarded
def health(request: Request) -> Response:
    """Non-finite events and exploding/vanishing gradient flags of one run."""
    from torchscope.analysis.gradient_health import gradient_flags

    _, run = entry_of(request)
    w = layer_window(run, "grad", "norm", width=500, max_layers=LIMITS["layers"])
    span = (w.hi - w.lo) if w.lo is not None and w.hi is not None else 0.0
    steps = [(w.lo or 0.0) + span * (c + 0.5) / w.width for c in w.columns.tolist()]
    flags = gradient_flags(w.layers, steps, w.maxs) if w.layers else []
    events = run.query(
        "SELECT step, kind, payload, wall_time FROM events ORDER BY id LIMIT ?",
        (LIMITS["events"],),
    )
    return json_response(
        {
            "events": [_event(*e) for e in events],
            "flags": [f.to_dict() for f in flags],
            "rules": {
                "exploding": "norm > 10 × the layer's median",
                "vanishing": "norm < 1e-4 × the largest layer's norm at that step",
            },
        }
    )


@guarded
def histograms(request: Request) -> Response:
    """Percentile bands (0, 7, 16, 31, 50, 69, 84, 93, 100) of one tensor over steps."""
    from torchscope.render.run_distributions import (
        DISTRIBUTION_PERCENTILES,
        histogram_percentiles,
    )

    q = request.query_params
    _, run = entry_of(request)
    kind, name = text(q, "kind"), text(q, "name")
    steps = [int(s) for (s,) in run.query(
        "SELECT DISTINCT step FROM histograms WHERE kind = ? AND name = ? ORDER BY step",
        (kind, name),
    )]  # fmt: skip
    most = integer(q, "max", LIMITS["snapshots"], 1, LIMITS["snapshots"])
    picked = sorted({steps[i] for i in np.linspace(0, len(steps) - 1, most).round().astype(int)}) \
        if len(steps) > most else steps  # fmt: skip
    bands, at = [], []
    for step in picked:
        rows = run.query(
            "SELECT edges, counts FROM histograms WHERE kind = ? AND name = ? AND step = ? "
            "ORDER BY id DESC LIMIT 1",
            (kind, name, step),
        )
        edges, counts = (np.frombuffer(b, "<f8") for b in rows[0])
        if len(edges) != len(counts) + 1:
            continue
        bands.append(floats(histogram_percentiles(edges, counts, DISTRIBUTION_PERCENTILES)))
        at.append(step)
    return json_response(
        {
            "kind": kind,
            "name": name,
            "percentiles": list(DISTRIBUTION_PERCENTILES),
            "steps": at,
            "bands": bands,
            "snapshots": len(steps),
        }
    )


@guarded
def confusion(request: Request) -> Response:
    """The confusion matrix of a split at a step (latest by default), with per-class P/R/F1."""
    from torchscope.analysis.classification import classification_metrics

    q = request.query_params
    _, run = entry_of(request)
    split = text(q, "split", "val")
    steps = [int(s) for (s,) in run.query(
        "SELECT DISTINCT step FROM confusion WHERE split = ? ORDER BY step LIMIT 100000", (split,)
    )]  # fmt: skip
    if not steps:
        raise LookupError(f"no confusion matrix for split {split!r}")
    step = integer(q, "step", steps[-1], -(2**63), 2**63 - 1)
    rows = run.query(
        "SELECT step, matrix, labels FROM confusion WHERE split = ? AND step <= ? "
        "ORDER BY step DESC, id DESC LIMIT 1",
        (split, step),
    ) or run.query(
        "SELECT step, matrix, labels FROM confusion WHERE split = ? ORDER BY step, id LIMIT 1",
        (split,),
    )
    at, matrix, labels = _matrix(*rows[0])
    m = classification_metrics(matrix, labels)
    return json_response(
        {
            "split": split,
            "step": at,
            "steps": steps,
            "matrix": matrix.tolist(),
            "labels": labels,
            "metrics": plain(m.to_dict()),
            "colors": RAMP,
        }
    )


def _matrix(step: int, matrix_json: str, labels_json: str | None) -> tuple[int, Any, list[str]]:
    if not isinstance(matrix_json, str) or len(matrix_json) > 64 << 20:
        raise BadRequest("this confusion matrix is too large to show")
    matrix = np.asarray(json.loads(matrix_json), dtype=np.int64)
    n = len(matrix)
    if matrix.ndim != 2 or matrix.shape != (n, n) or n > LIMITS["classes"]:
        raise BadRequest(f"not a square confusion matrix of at most {LIMITS['classes']} classes")
    labels = json.loads(labels_json) if labels_json else None
    if not isinstance(labels, list) or len(labels) != n:
        labels = [str(i) for i in range(n)]
    return int(step), matrix, [str(x)[:200] for x in labels]


@guarded
def csv(request: Request) -> Response:
    """Every raw point of one series as CSV (step, wall_time, value), streamed."""
    q = request.query_params
    entry, run = entry_of(request)
    metric, split = text(q, "metric"), text(q, "split", "train")
    key = run.find_series(SCALAR_FAMILY, split, metric)
    if key is None:
        raise LookupError(f"no scalar {split}/{metric} in this run")
    safe = "".join(
        c if c.isalnum() or c in "-_." else "_" for c in f"{entry.digest.name}_{split}_{metric}"
    )
    return StreamingResponse(
        _csv_lines(run, key),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{safe[:120]}.csv"',
            "cache-control": "no-store",
        },
    )


def _csv_lines(run: LiveRun, key: SeriesKey) -> Iterator[bytes]:
    yield b"step,wall_time,value\n"
    for batch in run.batches("series = ?", (key.id,), batch=64):
        walls = batch.wall_times if batch.wall_times is not None else np.full(batch.points, np.nan)
        rows = zip(batch.steps.tolist(), walls.tolist(), batch.values.tolist())
        yield "".join(f"{s},{t!r},{v!r}\n" for s, t, v in rows).encode()


ROUTES: dict[str, Handler] = {
    "/api/runs": runs,
    "/api/run": run_detail,
    "/api/chart": chart,
    "/api/layers": layers,
    "/api/health": health,
    "/api/histograms": histograms,
    "/api/confusion": confusion,
    "/api/csv": csv,
}
