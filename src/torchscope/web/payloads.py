"""Store results as the JSON the page reads: NaN and ±inf are never lost on the way.

JSON has no NaN or infinity. Values that may be non-finite travel as ``null`` together
with a sparse list saying what each was (``nf``), so the page can mark them; plain
extremes (``min``/``max`` of finite values) are ``null`` only where a bucket held no
finite value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from torchscope.render.color_ramp import DARK_FROM, PALETTE
from torchscope.store.buckets import BucketRows
from torchscope.store.live import RunDigest, SeriesDigest
from torchscope.store.windows import LayerWindow, SeriesWindow
from torchscope.web.catalog import RunEntry

__all__ = [
    "NONFINITE_CODES",
    "RAMP",
    "best_direction",
    "chunk_rows",
    "floats",
    "layer_payload",
    "nonfinite_codes",
    "plain",
    "run_payload",
    "window_payload",
]

NONFINITE_CODES = {"nan": 1, "inf": 2, "-inf": 3}  # 0: finite
# The one colour ramp for values (render/color_ramp.py), sent with what the page colours.
RAMP: dict[str, Any] = {"ramp": list(PALETTE), "dark": DARK_FROM}
_CONFIG_KEYS = 64
_CONFIG_TEXT = 200


def floats(a: np.ndarray) -> list[float | None]:
    """A float array as a JSON list; non-finite entries become None."""
    out: list[float | None] = a.tolist()
    for i in np.flatnonzero(~np.isfinite(a)).tolist():
        out[i] = None
    return out


def nonfinite_codes(a: np.ndarray) -> list[list[int]]:
    """``[[index, code], …]`` for each non-finite entry (1 NaN, 2 +inf, 3 -inf)."""
    bad = np.flatnonzero(~np.isfinite(a))
    codes = np.where(np.isnan(a[bad]), 1, np.where(a[bad] > 0, 2, 3))
    return [[int(i), int(c)] for i, c in zip(bad.tolist(), codes.tolist())]


def _rows(rows: BucketRows, raw: bool) -> dict[str, Any]:
    flagged = np.flatnonzero((rows.nan + rows.posinf + rows.neginf) > 0)
    last_codes = {i: code for i, code in nonfinite_codes(rows.last)}
    out: dict[str, Any] = {
        "x": rows.x.tolist(),
        "last": floats(rows.last),
        "min": floats(rows.mins),
        "max": floats(rows.maxs),
        "nf": [
            [i, int(rows.nan[i]), int(rows.posinf[i]), int(rows.neginf[i]), last_codes.get(i, 0)]
            for i in flagged.tolist()
        ],
    }
    if not raw:
        out["n"] = rows.counts.tolist()
    return out


def window_payload(w: SeriesWindow, run_id: str, origin: float | None) -> dict[str, Any]:
    """One run's series of a chart: segments of buckets, counts, cursor, smoothing state."""
    segments = []
    for seg in w.segments:
        entry = _rows(seg.rows, w.raw)
        if seg.smooth is not None:
            entry["smooth"] = floats(seg.smooth.last)
        segments.append(entry)
    return {
        "run": run_id,
        "split": w.key.scope,
        "metric": w.key.name,
        "points": w.points,
        "shown": w.shown,
        "raw": w.raw,
        "unordered": w.unordered,
        "sid": w.key.id,
        "cursor": [w.cursor.chunk, w.cursor.n or 0],
        "origin": origin,
        "spacing": w.spacing,
        "ema": None if w.ema is None else vars(w.ema),
        "segments": segments,
    }


def layer_payload(w: LayerWindow) -> dict[str, Any]:
    """A layer heatmap: layers, column step ranges, and the matrices row by row."""
    span = (w.hi - w.lo) if w.lo is not None and w.hi is not None else 0.0
    lo = w.lo or 0.0
    starts = [lo + span * c / w.width for c in w.columns.tolist()]
    ends = [lo + span * (c + 1) / w.width for c in w.columns.tolist()]
    return {
        "kind": w.kind,
        "stat": w.stat,
        "layers": w.layers,
        "from": starts,
        "to": ends,
        "max": [floats(r) for r in w.maxs],
        "min": [floats(r) for r in w.mins],
        "last": [floats(r) for r in w.last],
        **RAMP,
        "nonfinite": [
            [int(i), int(j), int(w.nonfinite[i, j])] for i, j in np.argwhere(w.nonfinite)
        ],
        "points": w.points,
    }


def chunk_rows(chunks: list[Any], keys: dict[int, Any]) -> list[dict[str, Any]]:
    """New store chunks as rows for the event stream (one entry per chunk)."""
    out = []
    for c in chunks:
        key = keys[c.series]
        out.append(
            {
                "c": c.id,
                "from": c.start,
                "sid": c.series,
                "seg": c.segment,
                "split": key.scope,
                "metric": key.name,
                "steps": c.steps.tolist(),
                "values": floats(c.values),
                "walls": floats(c.wall_times) if c.wall_times is not None else None,
                "nf": nonfinite_codes(c.values),
            }
        )
    return out


def plain(value: Any, depth: int = 0) -> Any:
    """Stored JSON made safe to send: non-finite floats as text, nesting and size bounded."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if depth >= 16:
        return "…"
    if isinstance(value, dict):
        return {str(k)[:_CONFIG_TEXT]: plain(v, depth + 1) for k, v in list(value.items())[:256]}
    if isinstance(value, list):
        return [plain(v, depth + 1) for v in value[:4096]]
    if isinstance(value, str) and len(value) > 4 * _CONFIG_TEXT:
        return value[: 4 * _CONFIG_TEXT - 1] + "…"
    return value


def _number(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


_LOWER_IS_BETTER = ("loss", "error", "err", "perplexity", "ppl", "mse", "mae", "rmse", "nll")
_HIGHER_IS_BETTER = ("acc", "accuracy", "f1", "precision", "recall", "auc", "iou", "bleu", "map")


def best_direction(name: str) -> str | None:
    """``min`` for losses and errors, ``max`` for accuracies and scores, else None."""
    words = name.lower().replace("-", "_").replace("/", "_").split("_")
    if any(w in _LOWER_IS_BETTER for w in words):
        return "min"
    if any(w in _HIGHER_IS_BETTER for w in words):
        return "max"
    return None


def _metric(d: SeriesDigest) -> dict[str, Any]:
    direction = best_direction(d.key.name)
    best = d.min if direction == "min" else d.max if direction == "max" else None
    return {
        "split": d.key.scope,
        "name": d.key.name,
        "points": d.points,
        "first_step": d.first_step,
        "last_step": d.last_step,
        "last": _number(d.last),
        "min": _number(d.min),
        "max": _number(d.max),
        "best": _number(best),
        "better": direction,
        "nonfinite": d.nonfinite,
        "resumed": d.decreasing,
    }


def _short(value: Any) -> Any:
    """A config value kept small: long strings cut, containers as compact JSON text."""
    if isinstance(value, str):
        return value if len(value) <= _CONFIG_TEXT else value[: _CONFIG_TEXT - 1] + "…"
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else str(value)
    import json

    return _short(json.dumps(value, default=str, separators=(",", ":")))


def run_payload(entry: RunEntry, now: float, stale_after: float) -> dict[str, Any]:
    """One row of ``GET /api/runs``: the contract's id, name, status, last_step and more.

    What depends only on the stored data is kept with the entry until the run changes
    (a thousand runs are listed in a few milliseconds); status and age follow the clock.
    """
    d: RunDigest = entry.digest
    key = (d.versions, entry.error, d.name)
    if entry.payload is None or entry.payload[0] != key:
        entry.payload = (key, _stored_part(entry))
    end = d.last_write
    return {
        **entry.payload[1],
        "status": "unreadable" if entry.error else d.status(now, stale_after),
        "age": (now - end) if end is not None else None,
    }


def _stored_part(entry: RunEntry) -> dict[str, Any]:
    d: RunDigest = entry.digest
    meta = d.meta
    config = meta.get("config")
    items = list(config.items())[:_CONFIG_KEYS] if isinstance(config, dict) else []
    tags = meta.get("tags")
    start = d.start_time
    end = d.last_write
    metrics = [_metric(s) for s in d.series.values() if s.key.is_scalar]
    return {
        "id": entry.id,
        "name": d.name,
        "last_step": d.latest_step if d.latest_step is not None else d.last_step,
        "max_step": d.last_step,
        "first_step": d.first_step,
        "points": sum(s.points for s in d.series.values() if s.key.is_scalar),
        "start_time": start,
        "last_write": end,
        "duration": (end - start) if start is not None and end is not None else None,
        "folder": entry.folder,
        "tags": [str(t)[:_CONFIG_TEXT] for t in tags[:32]] if isinstance(tags, list) else [],
        "note": _short(meta.get("note")) if isinstance(meta.get("note"), str) else None,
        "config": {str(k)[:_CONFIG_TEXT]: _short(v) for k, v in items},
        "metrics": metrics,
        "resumed": any(m["resumed"] for m in metrics),
        "has": {
            "layers": any(not s.key.is_scalar for s in d.series.values()),
            "histograms": d.versions[1] > 0,
            "confusion": d.versions[2] > 0,
            "graph": d.has_graph,
        },
        "events": d.events,
        "versions": list(d.versions),
        "error": entry.error,
    }
