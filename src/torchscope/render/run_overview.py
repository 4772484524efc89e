"""What a training run's store holds, gathered into one JSON-able dict.

``run_overview`` reads the metadata, scalars, layer statistics, histograms, confusion
matrices and events of a run; its renderers (``run_text`` for a terminal, ``run_html``
for a notebook) and ``torchscope runs --json`` all draw this one dict, so they agree.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from torchscope.store.reader import RunReader

__all__ = ["run_overview"]


def run_overview(run: RunReader | str | Path) -> dict[str, Any]:
    """Everything a run's store holds, summarised as a JSON-able dict (``runs --json``).

    Example:
        >>> run_overview("runs/exp1")["scalars"][0]["last"]  # doctest: +SKIP
        0.0412
    """
    reader = run if isinstance(run, RunReader) else RunReader(run)
    meta = reader.meta()
    scalars = [_scalar_row(reader, split, name) for split, name in reader.scalar_names()]
    layer_stats = [_layer_row(reader, kind) for kind in reader.layer_kinds()]
    rows = scalars + layer_stats
    steps = [(r["first_step"], r["last_step"]) for r in rows if r["first_step"] is not None]
    return {
        "name": reader.name,
        "path": str(reader.run_dir),
        "first_step": min((a for a, _ in steps), default=None),
        "last_step": max((b for _, b in steps), default=None),
        "start_time": meta.get("start_time", meta.get("started")),
        "wall_time_s": meta.get("wall_time_s"),
        "environment": meta.get("environment") or {},
        "monitor": meta.get("monitor") or {},
        "config": meta.get("config") or {},
        "model": _model_totals(meta.get("summary")),
        "scalars": scalars,
        "layer_stats": layer_stats,
        "histograms": _histogram_rows(reader),
        "classification": _classification_rows(reader, scalars),
        "events": [e.to_dict() for e in reader.events()],
    }


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _scalar_row(reader: RunReader, split: str, name: str) -> dict[str, Any]:
    s = reader.scalars(name, split=split)
    finite = s.values[np.isfinite(s.values)]
    return {
        "split": split,
        "name": name,
        "points": len(s),
        "first_step": int(s.steps[0]) if len(s) else None,
        "last_step": int(s.steps[-1]) if len(s) else None,
        "nonfinite": int(len(s) - len(finite)),
        "first": _finite(float(s.values[0])) if len(s) else None,
        "last": _finite(float(s.values[-1])) if len(s) else None,
        "min": float(finite.min()) if len(finite) else None,
        "max": float(finite.max()) if len(finite) else None,
    }


def _layer_row(reader: RunReader, kind: str) -> dict[str, Any]:
    """Layers (with any statistic of the kind) and the steps they span."""
    stats = reader.layer_stat_names(kind)
    layers: dict[str, None] = {}
    steps: list[int] = []
    for stat in stats:
        m = reader.layer_stats(kind, stat)
        layers |= dict.fromkeys(m.layers)
        steps += [int(m.steps[0]), int(m.steps[-1])] if len(m.steps) else []
    return {
        "kind": kind,
        "layers": len(layers),
        "stats": stats,
        "first_step": min(steps, default=None),
        "last_step": max(steps, default=None),
    }


def _histogram_rows(reader: RunReader) -> list[dict[str, Any]]:
    """Tensors per kind; snapshots and steps counted on the kind's first tensor."""
    by_kind: dict[str, list[str]] = {}
    for kind, name in reader.histogram_names():
        by_kind.setdefault(kind, []).append(name)
    rows = []
    for kind, names in by_kind.items():
        steps = [h.step for h in reader.histograms(kind, names[0])]
        rows.append(
            {
                "kind": kind,
                "tensors": len(names),
                "snapshots": len(steps),
                "first_step": steps[0] if steps else None,
                "last_step": steps[-1] if steps else None,
            }
        )
    return rows


def _classification_rows(reader: RunReader, scalars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Latest confusion matrix per split, with accuracy/macro F1: logged scalars, else computed."""
    from torchscope.analysis.classification import classification_metrics

    last = {(r["split"], r["name"]): r["last"] for r in scalars}
    rows = []
    for split in reader.confusion_splits():
        c = reader.confusion(split)
        if c is None:
            continue
        m = classification_metrics(c.matrix, c.labels)
        rows.append(
            {
                "split": split,
                "step": c.step,
                "classes": len(c.labels),
                "samples": int(c.matrix.sum()),
                "accuracy": last.get((split, "accuracy"), m.accuracy),
                "macro_f1": last.get((split, "macro_f1"), m.macro_f1),
            }
        )
    return rows


def _model_totals(summary: Any) -> dict[str, Any] | None:
    """The totals of a stored Summary.to_dict() (its module rows left out)."""
    if not isinstance(summary, dict):
        return None
    keys = ("model", "total_params", "trainable_params", "param_bytes", "macs", "flops")
    return {k: summary.get(k) for k in keys if k in summary}
