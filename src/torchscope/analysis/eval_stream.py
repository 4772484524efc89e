"""Streaming accumulators of an evaluation: what each batch adds, in bounded memory.

Per batch, the device reduces the output to a few numbers per sample (predicted class,
its confidence, the true class's rank); the host adds them into fixed-size counts
(per-class counts, confusion matrix, calibration bins) in int64 and float64, so every
metric is exact whatever the batch size. Memory does not grow with the data set except
for what the curves need:

- without curves: O(C²) for the confusion matrix (up to ``MAX_CONFUSION_CLASSES``
  classes; per-class counts above that) + O(C) + O(bins);
- with curves (``curves=True``): the scores the curves rank by, float32, plus the targets:
  4·C + 8 bytes per sample for single-label (10 classes: 48 bytes, 1M samples: 48 MB),
  5·C bytes per sample for multi-label, 4 + 8 for binary. Curves are skipped above
  ``MAX_CURVE_CLASSES`` classes (a language model's vocabulary);
- regression (``eval_regression``): per-output sums and a fixed-size sample of rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from torchscope.analysis.eval_metrics import (
    binary_curve,
    calibration_error,
    decimate_curve,
    nan_average,
    precision_recall_f1,
)
from torchscope.analysis.eval_result import (
    Calibration,
    ClassRow,
    ConfusedPair,
    Curve,
)
from torchscope.analysis.eval_tasks import Prepared

__all__ = [
    "MAX_CONFUSION_CLASSES",
    "MAX_CURVE_CLASSES",
    "ClassificationStream",
    "calibration_bins",
]

MAX_CONFUSION_CLASSES = 1000  # 1000² int64 counts: 8 MB
MAX_CURVE_CLASSES = 1000
CURVE_POINTS = 200  # points kept per drawn curve
DRAWN_CURVES = 50  # classes whose curve points an Evaluation keeps (areas: every class)
CONFUSED_PAIRS = 10


class CalibrationBins:
    """Counts, confidence sums and correct counts in ``bins`` equal bins of (0, 1]."""

    def __init__(self, bins: int) -> None:
        self.bins = bins
        self.counts = np.zeros(bins, dtype=np.int64)
        self.confidence = np.zeros(bins)
        self.correct = np.zeros(bins)

    def add(self, confidence: np.ndarray, correct: np.ndarray) -> None:
        conf = confidence.astype(np.float64).ravel()
        index = np.clip(np.ceil(conf * self.bins).astype(np.int64) - 1, 0, self.bins - 1)
        self.counts += np.bincount(index, minlength=self.bins)
        self.confidence += np.bincount(index, weights=conf, minlength=self.bins)
        self.correct += np.bincount(index, weights=correct.ravel(), minlength=self.bins)

    def result(self) -> Calibration:
        ece, mce = calibration_error(self.counts, self.confidence, self.correct)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_conf = np.where(self.counts > 0, self.confidence / self.counts, np.nan)
            accuracy = np.where(self.counts > 0, self.correct / self.counts, np.nan)
        return Calibration(
            edges=np.linspace(0.0, 1.0, self.bins + 1).tolist(),
            counts=self.counts.tolist(),
            confidence=mean_conf.tolist(),
            accuracy=accuracy.tolist(),
            ece=ece,
            mce=mce,
        )


def calibration_bins(bins: int) -> CalibrationBins:
    """Empty calibration bins (``bins`` ≥ 1)."""
    if bins < 1:
        raise ValueError(f"calibration bins must be at least 1, not {bins}")
    return CalibrationBins(bins)


class _Scores:
    """The scores and targets the curves need, kept as host chunks (float32 scores)."""

    def __init__(self) -> None:
        self.scores: list[np.ndarray] = []
        self.targets: list[np.ndarray] = []

    def add(self, scores: torch.Tensor, target: np.ndarray) -> None:
        self.scores.append(scores.float().cpu().numpy())
        self.targets.append(target)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(self.scores), np.concatenate(self.targets)


def _true_class_ranks(probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The 0-based rank of each row's true class, ties ranked as scikit-learn's
    ``top_k_accuracy_score`` ranks them (the higher class index first); in row chunks of
    about 2**24 scores, so a language model's vocabulary needs no [n, C] temporaries."""
    classes = probs.shape[1]
    index = torch.arange(classes, device=probs.device)[None, :]
    step = max(1, (1 << 24) // max(classes, 1))
    parts = []
    for start in range(0, probs.shape[0], step):
        p, t = probs[start : start + step], target[start : start + step, None]
        own = p.gather(1, t)
        parts.append((p > own).sum(1) + ((p == own) & (index > t)).sum(1))
    return torch.cat(parts) if parts else target.new_zeros(0)


class ClassificationStream:
    """Single-label (multiclass, or binary as two classes) or multi-label accumulation."""

    def __init__(
        self,
        task: str,
        classes: int,
        *,
        top_k: tuple[int, ...] = (),
        bins: int = 15,
        curves: bool = True,
        zero_division: float = 0.0,
    ) -> None:
        self.task, self.classes, self.zero_division = task, classes, zero_division
        self.top_k = tuple(k for k in top_k if 1 < k < classes) if task == "multiclass" else ()
        self.notes: list[str] = []
        self.samples = 0
        self.tp = np.zeros(classes, dtype=np.int64)
        self.predicted = np.zeros(classes, dtype=np.int64)
        self.support = np.zeros(classes, dtype=np.int64)
        self.hits = dict.fromkeys(self.top_k, 0)
        self.exact = 0  # multi-label: rows whose every label is right
        self.wrong_labels = 0  # multi-label: (row, label) decisions that are wrong
        self.calibration = calibration_bins(bins)
        single = task != "multilabel"
        self.confusion = (
            np.zeros((classes, classes), dtype=np.int64)
            if single and classes <= MAX_CONFUSION_CLASSES
            else None
        )
        if single and self.confusion is None:
            self.notes.append(f"no confusion matrix: {classes} classes > {MAX_CONFUSION_CLASSES}")
        self.scores = _Scores() if curves and classes <= MAX_CURVE_CLASSES else None
        if curves and self.scores is None:
            self.notes.append(f"no ROC/PR curves: {classes} classes > {MAX_CURVE_CLASSES}")

    def update(self, batch: Prepared) -> int:
        """Add one prepared batch; the number of samples it held."""
        if batch.probs.shape[-1] != self.classes:
            raise ValueError(
                f"a batch has {batch.probs.shape[-1]} classes; the first had {self.classes}"
            )
        n = int(batch.target.shape[0])
        if self.task == "multilabel":
            self._update_multilabel(batch)
        else:
            self._update_single(batch)
        self.samples += n
        return n

    def _update_single(self, batch: Prepared) -> None:
        probs, target = batch.probs, batch.target
        confidence, pred = probs.max(dim=-1)  # ties: the first maximum, as numpy's argmax
        ranks = _true_class_ranks(probs, target).cpu().numpy() if self.top_k else np.zeros(0)
        pred_h, target_h = pred.cpu().numpy(), target.cpu().numpy()
        c = self.classes
        self.tp += np.bincount(target_h[pred_h == target_h], minlength=c)
        self.predicted += np.bincount(pred_h, minlength=c)
        self.support += np.bincount(target_h, minlength=c)
        if self.confusion is not None:
            self.confusion += np.bincount(target_h * c + pred_h, minlength=c * c).reshape(c, c)
        for k in self.top_k:
            self.hits[k] += int(np.count_nonzero(ranks < k))
        self.calibration.add(confidence.cpu().numpy(), pred_h == target_h)
        if self.scores is not None:
            self.scores.add(batch.scores, target_h)

    def _update_multilabel(self, batch: Prepared) -> None:
        probs, target = batch.probs, batch.target
        pred = probs > 0.5
        right = pred == target
        self.tp += (pred & target).sum(0).cpu().numpy()
        self.predicted += pred.sum(0).cpu().numpy()
        self.support += target.sum(0).cpu().numpy()
        self.exact += int(right.all(1).sum())
        self.wrong_labels += int((~right).sum())
        confidence = torch.where(pred, probs, 1 - probs)
        self.calibration.add(confidence.cpu().numpy(), right.cpu().numpy())
        if self.scores is not None:
            self.scores.add(batch.scores, target.cpu().numpy())

    def finish(self, labels: list[str]) -> dict[str, Any]:
        """The Evaluation fields this stream measured (see ``evaluation.Evaluation``)."""
        prf = precision_recall_f1(self.tp, self.predicted, self.support, self.zero_division)
        curves = self._curves(labels) if self.scores is not None and self.samples else None
        rows = [
            ClassRow(
                label=labels[i],
                precision=float(prf.precision[i]),
                recall=float(prf.recall[i]),
                f1=float(prf.f1[i]),
                support=int(self.support[i]),
                predicted=int(self.predicted[i]),
                true_positives=int(self.tp[i]),
                roc_auc=curves[0][i] if curves else math.nan,
                average_precision=curves[1][i] if curves else math.nan,
            )
            for i in range(self.classes)
        ]
        calibration = self.calibration.result()
        return {
            "metrics": self._metrics(prf, rows, calibration),
            "classes": rows,
            "confusion": None if self.confusion is None else self.confusion.tolist(),
            "calibration": calibration,
            "curves": curves[2] if curves else [],
            "confused_pairs": self._confused_pairs(labels),
            "notes": list(self.notes),
        }

    def _metrics(
        self, prf: Any, rows: list[ClassRow], calibration: Calibration
    ) -> dict[str, float]:
        n = self.samples
        single = self.task != "multilabel"
        # scikit-learn's labels=None: single-label averages run over the classes seen in the
        # targets or the predictions; multi-label ones over every label.
        present = (self.support + self.predicted > 0) if single else np.ones(self.classes, bool)
        out: dict[str, float] = {}
        if single:
            out["accuracy"] = float(self.tp.sum() / n) if n else math.nan
            for k in self.top_k:
                out[f"top{k}_accuracy"] = self.hits[k] / n if n else math.nan
        else:
            out["subset_accuracy"] = self.exact / n if n else math.nan
            out["hamming_loss"] = self.wrong_labels / (n * self.classes) if n else math.nan
        scores = {"precision": prf.precision, "recall": prf.recall, "f1": prf.f1}
        for average, weights in (("macro", None), ("weighted", self.support[present])):
            for name, values in scores.items():
                out[f"{average}_{name}"] = nan_average(values[present], weights)
        if not single:
            micro = precision_recall_f1(
                self.tp.sum(keepdims=True),
                self.predicted.sum(keepdims=True),
                self.support.sum(keepdims=True),
                self.zero_division,
            )
            out |= {
                "micro_precision": float(micro.precision[0]),
                "micro_recall": float(micro.recall[0]),
                "micro_f1": float(micro.f1[0]),
            }
        if self.scores is not None and n:
            auc = np.array([r.roc_auc for r in rows])
            ap = np.array([r.average_precision for r in rows])
            out["roc_auc"] = nan_average(auc)
            out["average_precision"] = nan_average(ap)
        out["ece"] = calibration.ece
        return out

    def _curves(self, labels: list[str]) -> tuple[list[float], list[float], list[Curve]]:
        """Per-class ROC AUC and average precision, and the decimated curves to draw."""
        assert self.scores is not None
        scores, target = self.scores.arrays()
        aucs: list[float] = []
        aps: list[float] = []
        drawn: list[Curve] = []
        for i in range(self.classes):
            if self.task == "binary" and i == 0:
                aucs.append(math.nan)  # one score ranks the positive class only
                aps.append(math.nan)
                continue
            column = scores[:, 0] if self.task == "binary" else scores[:, i]
            truth = target[:, i] if self.task == "multilabel" else target == i
            c = binary_curve(truth, column)
            aucs.append(c.roc_auc)
            aps.append(c.average_precision)
            if len(drawn) < DRAWN_CURVES and c.positives:
                fpr, tpr = decimate_curve(c.fpr, c.tpr, CURVE_POINTS)
                recall, precision = decimate_curve(c.recall, c.precision, CURVE_POINTS)
                drawn.append(
                    Curve(
                        labels[i],
                        c.positives,
                        c.roc_auc,
                        c.average_precision,
                        fpr.tolist(),
                        tpr.tolist(),
                        recall.tolist(),
                        precision.tolist(),
                    )
                )
        return aucs, aps, drawn

    def _confused_pairs(self, labels: list[str]) -> list[ConfusedPair]:
        if self.confusion is None:
            return []
        off = self.confusion.copy()
        np.fill_diagonal(off, 0)
        flat = np.argsort(-off, axis=None, kind="stable")[:CONFUSED_PAIRS]
        pairs = []
        for index in flat:
            true, pred = divmod(int(index), self.classes)
            count = int(off[true, pred])
            if count == 0:
                break
            rate = count / int(self.support[true])
            pairs.append(ConfusedPair(labels[true], labels[pred], count, rate))
        return pairs
