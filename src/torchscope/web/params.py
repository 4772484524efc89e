"""Query parameters checked at the boundary: every number bounded, every name short.

A request that asks for too much (a chart 10⁹ pixels wide, 10⁴ runs at once) is refused
with a 400 and the limit in the message, before any work is done.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["LIMITS", "BadRequest", "integer", "number", "run_ids", "text"]

LIMITS = {
    "width": 4096,  # pixels of one chart: buckets per series
    "runs": 64,  # runs compared at once (a chart, a stream)
    "name": 1000,  # characters of a metric, split, layer or kind name
    "layers": 2000,  # rows of one heatmap
    "snapshots": 400,  # histogram steps of one distribution panel
    "classes": 1000,  # rows of a confusion matrix
    "events": 2000,  # events listed per run
}


class BadRequest(ValueError):
    """A parameter is missing, malformed or over its limit (answered with 400)."""


def text(q: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = q.get(name, default)
    if value is None:
        raise BadRequest(f"missing parameter {name!r}")
    if len(value) > LIMITS["name"]:
        raise BadRequest(f"{name!r} is longer than {LIMITS['name']} characters")
    return value


def integer(q: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name!r} must be an integer") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name!r} must be between {lo} and {hi}")
    return value


def number(q: Mapping[str, str], name: str) -> float | None:
    raw = q.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name!r} must be a number") from None
    if not math.isfinite(value):
        raise BadRequest(f"{name!r} must be finite")
    return value


def run_ids(q: Mapping[str, str], name: str = "runs") -> list[str]:
    """A comma-separated list of run ids (at most ``LIMITS['runs']``), order kept."""
    raw = q.get(name, "")
    if len(raw) > 40 * LIMITS["runs"]:
        raise BadRequest(f"at most {LIMITS['runs']} runs at once")
    ids = list(dict.fromkeys(r for r in raw.split(",") if r))
    if len(ids) > LIMITS["runs"]:
        raise BadRequest(f"at most {LIMITS['runs']} runs at once")
    return ids
