"""The parts of an Evaluation: per-class rows, curves, calibration bins, confused pairs,
per-output regression rows and a sample of residuals. Plain frozen dataclasses of floats,
ints, strings and lists, so they go to JSON and back unchanged (NaN as ``null``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, TypeVar

__all__ = [
    "Calibration",
    "ClassRow",
    "ConfusedPair",
    "Curve",
    "OutputRow",
    "Residuals",
    "from_plain",
    "strict",
]

T = TypeVar("T")


@dataclass(frozen=True)
class ClassRow:
    """One class (or label): precision, recall, F1 and support, and its curve areas.

    ``roc_auc``/``average_precision`` are NaN when the scores were not kept or the class
    has no positives (or, for ROC, no negatives) among the targets.
    """

    label: str
    precision: float
    recall: float
    f1: float
    support: int  # samples whose target is this class (true positives + false negatives)
    predicted: int  # samples predicted as this class (true positives + false positives)
    true_positives: int
    roc_auc: float = math.nan
    average_precision: float = math.nan


@dataclass(frozen=True)
class Curve:
    """The one-vs-rest ROC and precision-recall curves of one class, decimated for drawing
    (the areas were computed on every distinct score)."""

    label: str
    positives: int
    roc_auc: float
    average_precision: float
    fpr: list[float]
    tpr: list[float]
    recall: list[float]  # from 1 down to 0
    precision: list[float]


@dataclass(frozen=True)
class Calibration:
    """Confidence of the predicted label against how often it was right, in equal bins.

    ``confidence`` and ``accuracy`` are each bin's means (NaN for an empty bin). For
    multi-label outputs every (sample, label) decision counts, with the confidence of the
    label predicted (p or 1 − p).
    """

    edges: list[float]
    counts: list[int]
    confidence: list[float]
    accuracy: list[float]
    ece: float  # Σ_b (n_b / N)·|accuracy_b − confidence_b|
    mce: float  # the largest gap of a non-empty bin


@dataclass(frozen=True)
class ConfusedPair:
    """A true class often predicted as another: the count and its share of the true class."""

    true: str
    predicted: str
    count: int
    rate: float  # count / support of the true class


@dataclass(frozen=True)
class OutputRow:
    """Regression metrics of one output column."""

    name: str
    mse: float
    mae: float
    r2: float

    @property
    def rmse(self) -> float:
        return math.sqrt(self.mse)


@dataclass(frozen=True)
class Residuals:
    """A uniform random sample of (prediction, target) rows for the residual plot.

    ``predicted[j]`` and ``target[j]`` hold output ``j`` of every sampled row; the sample
    has at most a fixed number of rows (``eval_regression.RESIDUAL_SAMPLE``) and is drawn with
    a fixed seed, so the same data gives the same plot.
    """

    predicted: list[list[float]]
    target: list[list[float]]
    total: int  # rows seen; the sample holds min(total, its size)


def strict(value: Any) -> Any:
    """``value`` with every non-finite float turned into None (strict JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def _unstrict(value: Any) -> Any:
    if value is None:
        return math.nan
    if isinstance(value, list):
        return [_unstrict(v) for v in value]
    return value


def from_plain(cls: type[T], data: dict[str, Any]) -> T:
    """A part rebuilt from its ``to_dict`` form (``null`` numbers back to NaN)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: _unstrict(v) for k, v in data.items() if k in names})
