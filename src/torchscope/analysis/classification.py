"""Classification metrics from a confusion matrix: accuracy, per-class and averaged P/R/F1.

Pure numpy, so the store and the dashboard can recompute metrics from a stored matrix.
Rows are true classes, columns predicted classes (the scikit-learn convention). A class
with no predictions (or no true samples) gets precision (or recall) 0, as scikit-learn
does with ``zero_division=0``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["ClassificationMetrics", "classification_metrics"]


@dataclass(frozen=True)
class ClassificationMetrics:
    """Accuracy, per-class precision/recall/F1/support, and macro/weighted averages."""

    accuracy: float
    precision: list[float]
    recall: list[float]
    f1: list[float]
    support: list[int]
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_f1: float
    labels: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The metrics as plain data."""
        return asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        """The metrics as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)

    def scalars(self) -> dict[str, float]:
        """The headline numbers: accuracy, macro P/R/F1 and weighted F1."""
        return {
            "accuracy": self.accuracy,
            "macro_precision": self.macro_precision,
            "macro_recall": self.macro_recall,
            "macro_f1": self.macro_f1,
            "weighted_f1": self.weighted_f1,
        }


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def classification_metrics(
    matrix: Sequence[Sequence[float]] | np.ndarray, labels: Sequence[str] | None = None
) -> ClassificationMetrics:
    """Return the metrics of a square confusion matrix (rows true, columns predicted).

    Example:
        >>> m = classification_metrics([[2, 1], [0, 3]])
        >>> round(m.accuracy, 3), [round(r, 3) for r in m.recall]
        (0.833, [0.667, 1.0])
    """
    cm = np.asarray(matrix, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    total = float(cm.sum())
    # Averages run over classes that occur in truth or predictions, like sklearn's default.
    present = (support + predicted) > 0
    n_present = max(int(present.sum()), 1)
    names = list(labels) if labels is not None else [str(i) for i in range(cm.shape[0])]
    return ClassificationMetrics(
        accuracy=float(tp.sum() / total) if total else 0.0,
        precision=precision.tolist(),
        recall=recall.tolist(),
        f1=f1.tolist(),
        support=[int(s) for s in support],
        macro_precision=float(precision[present].sum() / n_present),
        macro_recall=float(recall[present].sum() / n_present),
        macro_f1=float(f1[present].sum() / n_present),
        weighted_f1=float((f1 * support).sum() / support.sum()) if support.sum() else 0.0,
        labels=names,
    )
