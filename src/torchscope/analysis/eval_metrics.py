"""Evaluation metrics from counts and scores, with scikit-learn's definitions, in numpy.

Each function takes the sufficient statistics an evaluation streams (per-class counts, a
confusion matrix, calibration bins) or the scores it keeps for curves, so the numbers are
exact whatever the batch size. The definitions are scikit-learn's, edge cases included:

- precision, recall and F1 divide by zero as ``precision_recall_fscore_support`` with
  ``zero_division`` (0, 1 or NaN); F1 is ``2·tp / (2·tp + fp + fn)``; macro and weighted
  averages skip NaN, and (single-label) run over the classes present in the targets or the
  predictions, as scikit-learn's ``labels=None``;
- ROC AUC is the trapezoid under the ROC curve at every distinct score, average precision
  the uninterpolated step sum ``Σ (Rₙ − Rₙ₋₁)·Pₙ``; a class without positives (or without
  negatives, for ROC) has neither: NaN, left out of the averages (scikit-learn also gives
  NaN for such a ROC AUC, but 0 for such an average precision);
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "BinaryCurve",
    "PrecisionRecallF1",
    "binary_curve",
    "calibration_error",
    "decimate_curve",
    "nan_average",
    "precision_recall_f1",
    "r2_scores",
]


@dataclass(frozen=True)
class PrecisionRecallF1:
    """Per-class precision, recall and F1 (float64 arrays) with their support."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(num.shape, float(zero_division), dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def precision_recall_f1(
    tp: np.ndarray, predicted: np.ndarray, support: np.ndarray, zero_division: float = 0.0
) -> PrecisionRecallF1:
    """Per-class scores from true positives, predicted counts and true counts.

    Example:
        >>> m = precision_recall_f1(np.array([2, 0]), np.array([3, 0]), np.array([2, 1]))
        >>> m.precision.round(3).tolist(), m.recall.tolist(), m.f1.round(3).tolist()
        ([0.667, 0.0], [1.0, 0.0], [0.8, 0.0])
    """
    tp, predicted, support = (np.asarray(a, dtype=np.float64) for a in (tp, predicted, support))
    return PrecisionRecallF1(
        precision=_divide(tp, predicted, zero_division),
        recall=_divide(tp, support, zero_division),
        f1=_divide(2 * tp, support + predicted, zero_division),
        support=support.astype(np.int64),
    )


def nan_average(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The (weighted) mean of the values that are not NaN; NaN when there are none.

    All-zero weights fall back to the plain mean, as scikit-learn's ``_nanaverage`` does.
    """
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    if not keep.any():
        return float("nan")
    if weights is None:
        return float(values[keep].mean())
    w = np.asarray(weights, dtype=np.float64)[keep]
    return float(np.average(values[keep], weights=w)) if w.sum() > 0 else float(values[keep].mean())


@dataclass(frozen=True)
class BinaryCurve:
    """ROC and precision-recall curves of one positive class, at every distinct score."""

    fpr: np.ndarray
    tpr: np.ndarray
    precision: np.ndarray  # highest threshold first, ending at recall 0 with precision 1
    recall: np.ndarray
    roc_auc: float  # NaN without positives or without negatives
    average_precision: float  # NaN without positives
    positives: int
    negatives: int


def _counts_at_thresholds(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives when the threshold is each distinct score, highest first."""
    order = np.argsort(-score, kind="mergesort")
    sorted_score, hits = score[order], positive[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(sorted_score)), len(sorted_score) - 1]
    tps = np.cumsum(hits, dtype=np.int64)[last_of_run]
    return tps, last_of_run + 1 - tps


def binary_curve(positive: np.ndarray, score: np.ndarray) -> BinaryCurve:
    """ROC and precision-recall curves and their areas for one class (``positive`` is bool).

    Example:
        >>> c = binary_curve(np.array([0, 0, 1, 1], bool), np.array([0.1, 0.4, 0.35, 0.8]))
        >>> c.roc_auc, round(c.average_precision, 4)
        (0.75, 0.8333)
    """
    positive = np.asarray(positive, dtype=bool).ravel()
    score = np.asarray(score).ravel()
    if not len(score):
        empty = np.zeros(0)
        return BinaryCurve(empty, empty, empty, empty, float("nan"), float("nan"), 0, 0)
    tps, fps = _counts_at_thresholds(positive, score)
    p, n = int(tps[-1]), int(fps[-1])
    tpr = np.r_[0.0, tps / p] if p else np.full(len(tps) + 1, np.nan)
    fpr = np.r_[0.0, fps / n] if n else np.full(len(fps) + 1, np.nan)
    precision = tps / (tps + fps)
    recall = tps / p if p else np.full(len(tps), np.nan)
    auc = float(np.trapezoid(tpr, fpr)) if p and n else float("nan")
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision)) if p else float("nan")
    return BinaryCurve(
        fpr=fpr,
        tpr=tpr,
        precision=np.r_[precision[::-1], 1.0],
        recall=np.r_[recall[::-1], 0.0],
        roc_auc=auc,
        average_precision=ap,
        positives=p,
        negatives=n,
    )


def decimate_curve(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points of a curve, evenly spaced along it, both ends kept."""
    if len(x) <= max_points:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(np.int64))
    return x[keep], y[keep]


def calibration_error(
    counts: np.ndarray, confidence_sum: np.ndarray, correct_sum: np.ndarray
) -> tuple[float, float]:
    """Expected and maximum calibration error from per-bin counts and sums.

    ECE is ``Σ_b (n_b / N)·|accuracy_b − confidence_b|``; MCE the largest gap of a non-empty
    bin (Guo et al., 2017). Both are NaN when no sample was binned.

    Example:
        >>> ece, mce = calibration_error(np.array([2, 2]), np.array([0.5, 1.8]), np.array([1, 2]))
        >>> round(ece, 4), round(mce, 4)  # bins: 0.25 vs 0.5 right, 0.9 vs 1.0 right
        (0.175, 0.25)
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return float("nan"), float("nan")
    filled = counts > 0
    gaps = np.abs(correct_sum[filled] - confidence_sum[filled]) / counts[filled]
    return float((gaps * counts[filled]).sum() / total), float(gaps.max())


def r2_scores(sse: np.ndarray, sst: np.ndarray) -> np.ndarray:
    """R² per output from the residual and total sums of squares, as ``r2_score`` defines
    it: 1 − SSE/SST, and for a constant target 1.0 if predicted exactly, else 0.0."""
    sse, sst = np.asarray(sse, dtype=np.float64), np.asarray(sst, dtype=np.float64)
    out = np.where(sse == 0, 1.0, 0.0)
    np.subtract(1.0, sse / np.where(sst == 0, 1.0, sst), out=out, where=sst != 0)
    return out
