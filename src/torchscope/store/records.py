"""What a RunReader returns: plain numpy-backed records, JSON-able via ``to_dict``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Confusion", "Event", "Histogram", "LayerMatrix", "Segment", "Series"]


def _floats(a: np.ndarray | None) -> list[float | None] | None:
    """A float array as a JSON-safe list: NaN and ±inf become None."""
    if a is None:
        return None
    return [float(x) if np.isfinite(x) else None for x in a.tolist()]


@dataclass(frozen=True)
class Series:
    """One scalar series, raw or decimated to buckets.

    Raw: ``steps``/``values`` are every logged point in step order. Decimated (``buckets``
    given and fewer buckets than points): each row is one bucket of a step range, with
    ``steps`` its first step, ``last_steps`` its last, ``values`` the mean, ``mins``/``maxs``
    the extremes and ``counts`` the number of points. Empty buckets are left out.

    ``segments`` (raw reads) holds each point's segment: 0 for points of the run's first
    launch, 1 for its first resume… A resumed run that logs steps again keeps both points
    (in step order, earlier writes first); the segment tells them apart.
    """

    name: str
    split: str
    steps: np.ndarray
    values: np.ndarray
    wall_times: np.ndarray | None = None
    mins: np.ndarray | None = None
    maxs: np.ndarray | None = None
    last_steps: np.ndarray | None = None
    counts: np.ndarray | None = None
    segments: np.ndarray | None = None

    @property
    def decimated(self) -> bool:
        return self.mins is not None

    @property
    def centers(self) -> np.ndarray:
        """x positions to draw at: the steps, or each bucket's mid-step."""
        if self.last_steps is None:
            return self.steps.astype(np.float64)
        return (self.steps + self.last_steps) / 2.0

    def __len__(self) -> int:
        return len(self.steps)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "split": self.split,
            "steps": self.steps.tolist(),
            "values": _floats(self.values),
        }
        if self.segments is not None:
            d["segments"] = self.segments.tolist()
        if self.decimated:
            d |= {
                "last_steps": self.last_steps.tolist() if self.last_steps is not None else None,
                "mins": _floats(self.mins),
                "maxs": _floats(self.maxs),
                "counts": self.counts.tolist() if self.counts is not None else None,
            }
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


@dataclass(frozen=True)
class LayerMatrix:
    """One per-layer statistic as a layers × steps matrix (NaN where a layer has no point)."""

    kind: str
    stat: str
    layers: list[str]
    steps: np.ndarray
    values: np.ndarray  # shape (len(layers), len(steps))

    def row(self, layer: str) -> np.ndarray:
        """The values of one layer across ``steps``."""
        return self.values[self.layers.index(layer)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "stat": self.stat,
            "layers": list(self.layers),
            "steps": self.steps.tolist(),
            "values": [_floats(r) for r in self.values],
        }


@dataclass(frozen=True)
class Histogram:
    """Counts of one tensor's values in bins ``edges[i] .. edges[i+1]`` at one step."""

    step: int
    kind: str
    name: str
    edges: np.ndarray
    counts: np.ndarray
    segment: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "name": self.name,
            "edges": _floats(self.edges),
            "counts": _floats(self.counts),
            "segment": self.segment,
        }


@dataclass(frozen=True)
class Confusion:
    """A confusion matrix: rows are true classes, columns predicted classes."""

    step: int
    split: str
    matrix: np.ndarray
    labels: list[str] = field(default_factory=list)
    segment: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "split": self.split,
            "matrix": self.matrix.tolist(),
            "labels": list(self.labels),
            "segment": self.segment,
        }


@dataclass(frozen=True)
class Event:
    """Something that happened at a step, e.g. the first non-finite value."""

    step: int
    kind: str
    payload: dict[str, Any]
    wall_time: float
    segment: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "payload": self.payload,
            "wall_time": self.wall_time,
            "segment": self.segment,
        }


@dataclass(frozen=True)
class Segment:
    """One launch of a run: 0 is the first, each ``resume=True`` adds one.

    ``first_step``/``last_step``/``points`` cover its scalar and layer series (None and 0
    when it logged none).
    """

    index: int
    started: float
    first_step: int | None
    last_step: int | None
    points: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "started": self.started,
            "first_step": self.first_step,
            "last_step": self.last_step,
            "points": self.points,
        }
