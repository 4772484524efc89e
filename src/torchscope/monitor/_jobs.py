"""Host-side halves of the monitor's jobs: decode copied statistics and hand them to the writer.

These run on the worker thread with numpy arrays; they never touch the device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from torchscope.monitor.activations import decode_activations
from torchscope.monitor.nonfinite import resolve_first
from torchscope.monitor.stats import decode_fused_stats, decode_histograms

__all__ = ["Writer", "confusion_job", "nonfinite_from_stats", "param_job", "scalars_job"]


class Writer(Protocol):
    """The subset of ``torchscope.store.writer.RunWriter`` the monitor writes through."""

    def log_scalars(
        self, step: int, values: Any, *, split: str = "train", wall_time: float | None = None
    ) -> None: ...
    def log_layer_stats(self, step: int, kind: str, stats: Any) -> None: ...
    def log_histogram(self, step: int, kind: str, name: str, edges: Any, counts: Any) -> None: ...
    def log_confusion(self, step: int, split: str, matrix: Any, labels: Any = None) -> None: ...
    def log_event(self, step: int, kind: str, payload: Any) -> None: ...
    def set_meta(self, key: str, value: Any) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


Report = Callable[[dict[str, Any]], None]


def nonfinite_from_stats(
    stats: dict[str, dict[str, float]], step: int, phase: str, tensor: str
) -> dict[str, Any] | None:
    """Return a non-finite event for the first tensor whose statistics are not finite."""
    for name, values in stats.items():
        if not all(math.isfinite(v) for v in values.values()):
            return {"module": name, "phase": phase, "tensor": tensor, "step": step}
    return None


def param_job(
    writer: Writer, step: int, names: dict[str, list[str]], report: Report
) -> Callable[[dict[str, np.ndarray]], None]:
    """Return the callback writing grad/weight/update-ratio statistics and their histograms."""

    def write(arrays: dict[str, np.ndarray]) -> None:
        decoded: dict[str, dict[str, dict[str, float]]] = {}
        for kind in ("grad", "weight"):
            if kind in arrays:
                decoded[kind] = decode_fused_stats(arrays[kind], names[kind])
                writer.log_layer_stats(step, kind, decoded[kind])
        if "grad" in decoded:
            total = math.sqrt(sum(s["norm"] ** 2 for s in decoded["grad"].values()))
            writer.log_scalars(step, {"grad_norm": total}, split="train")
            event = nonfinite_from_stats(decoded["grad"], step, "backward", "grad")
            if event is not None:
                report(event)
        if "update" in arrays and "weight" in decoded:
            writer.log_layer_stats(
                step, "update_ratio", _ratios(arrays["update"], decoded["weight"])
            )
        for kind in ("grad", "weight"):
            if f"{kind}_hist" in arrays:
                limits = arrays[kind][:, 3]
                _write_histograms(writer, step, kind, arrays[f"{kind}_hist"], limits, names[kind])

    return write


def _ratios(update_sumsq: np.ndarray, weights: dict[str, dict[str, float]]) -> dict[str, Any]:
    out = {}
    for (name, w), u in zip(weights.items(), update_sumsq.astype(np.float64)):
        norm = math.sqrt(max(float(u), 0.0))
        out[name] = {"ratio": norm / w["norm"] if w["norm"] > 0 else 0.0, "update_norm": norm}
    return out


def _write_histograms(
    writer: Writer,
    step: int,
    kind: str,
    counts: np.ndarray,
    limits: np.ndarray,
    names: Sequence[str],
) -> None:
    for name, (edges, values) in decode_histograms(counts, limits, names).items():
        writer.log_histogram(step, kind, name, edges, values)


def activation_job(
    writer: Writer, step: int, layout: dict[str, Any]
) -> Callable[[dict[str, np.ndarray]], None]:
    """Return the callback writing activation statistics (and histograms) of one step."""

    def write(arrays: dict[str, np.ndarray]) -> None:
        stats = decode_activations(
            arrays["rows"], arrays["alive"], layout["names"], layout["alive"], layout["saturating"]
        )
        writer.log_layer_stats(step, "activation", stats)
        if "hist" in arrays:
            names = layout["hist_names"]
            _write_histograms(writer, step, "activation", arrays["hist"], arrays["limits"], names)

    return write


def scalars_job(
    writer: Writer,
    entries: list[tuple[int, str, str, float | None]],
    nonfinite: tuple[dict[str, list[tuple[int, int]]], Sequence[str]] | None,
    report: Report,
    wall_time: float,
) -> Callable[[dict[str, np.ndarray]], None]:
    """Return the callback writing buffered user scalars and resolving non-finite codes.

    ``entries`` are (step, split, name, host value); a None value is the next element of
    the copied ``scalars`` array (the device tensors, in order).
    """

    def write(arrays: dict[str, np.ndarray]) -> None:
        if nonfinite is not None and "codes" in arrays:
            event = resolve_first(arrays["codes"], *nonfinite)
            if event is not None:
                report(event)
        device_values = iter(arrays.get("scalars", np.zeros(0)).tolist())
        grouped: dict[tuple[int, str], dict[str, float]] = {}
        for step, split, name, value in entries:
            v = float(next(device_values)) if value is None else float(value)
            grouped.setdefault((step, split), {})[name] = v
            if not math.isfinite(v):
                report({"module": name, "phase": "scalar", "tensor": name, "step": step})
        for (step, split), values in grouped.items():
            writer.log_scalars(step, values, split=split, wall_time=wall_time)

    return write


def confusion_job(
    writer: Writer, step: int, split: str, labels: Sequence[str] | None
) -> Callable[[dict[str, np.ndarray]], None]:
    """Return the callback writing one split's confusion matrix and its metrics."""
    from torchscope.analysis.classification import classification_metrics

    def write(arrays: dict[str, np.ndarray]) -> None:
        matrix = arrays["matrix"].astype(np.int64)
        writer.log_confusion(step, split, matrix.tolist(), list(labels) if labels else None)
        metrics = classification_metrics(matrix, labels)
        writer.log_scalars(step, metrics.scalars(), split=split)

    return write
