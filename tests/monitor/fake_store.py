"""An in-memory stand-in for ``torchscope.store.writer.RunWriter`` (same methods)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


class FakeWriter:
    """Keeps every call; ``dump`` writes them as JSON (for spawned processes)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.scalars: list[tuple[int, str, dict[str, float]]] = []
        self.layer_stats: dict[str, dict[int, dict[str, dict[str, float]]]] = {}
        self.histograms: list[tuple[int, str, str, list[float], list[float]]] = []
        self.confusions: list[tuple[int, str, list[list[int]], list[str] | None]] = []
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.meta: dict[str, Any] = {}
        self.closed = False
        self.threads: set[str] = set()

    def _seen(self) -> None:
        self.threads.add(threading.current_thread().name)

    def log_scalars(
        self,
        step: int,
        values: Mapping[str, float],
        *,
        split: str = "train",
        wall_time: float | None = None,
    ) -> None:
        self._seen()
        self.scalars.append((step, split, dict(values)))

    def log_layer_stats(
        self, step: int, kind: str, stats: Mapping[str, Mapping[str, float]]
    ) -> None:
        self._seen()
        self.layer_stats.setdefault(kind, {})[step] = {k: dict(v) for k, v in stats.items()}

    def log_histogram(
        self, step: int, kind: str, name: str, edges: Sequence[float], counts: Sequence[float]
    ) -> None:
        self.histograms.append((step, kind, name, list(edges), list(counts)))

    def log_confusion(
        self,
        step: int,
        split: str,
        matrix: Sequence[Sequence[int]],
        labels: Sequence[str] | None = None,
    ) -> None:
        rows = [list(r) for r in matrix]
        self.confusions.append((step, split, rows, None if labels is None else list(labels)))

    def log_event(self, step: int, kind: str, payload: Mapping[str, Any]) -> None:
        self.events.append((step, kind, dict(payload)))

    def set_meta(self, key: str, value: Any) -> None:
        self.meta[key] = value

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True
        if self.path is not None:
            Path(self.path).write_text(json.dumps(self.to_dict()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "scalars": self.scalars,
            "layer_stats": {
                k: {str(s): v for s, v in d.items()} for k, d in self.layer_stats.items()
            },
            "histograms": self.histograms,
            "confusions": self.confusions,
            "events": self.events,
        }

    def scalar(self, name: str, split: str = "train") -> dict[int, float]:
        return {s: v[name] for s, sp, v in self.scalars if sp == split and name in v}
