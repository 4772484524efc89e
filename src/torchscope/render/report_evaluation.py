"""The report's evaluation section.

With an ``Evaluation`` (``torchscope.evaluate``): its headline metrics, the per-class table,
the most confused pairs and its figures (confusion matrix, per-class bars, reliability
diagram, ROC and precision-recall curves, or residuals for regression) as inline SVG.
Without one, the run's stored confusion matrices give the same table and matrix figures
for each split the run evaluated (the metrics' history is in the learning curves).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from torchscope.render.report_overview import fmt_value
from torchscope.render.units import fmt_count

if TYPE_CHECKING:
    from markupsafe import Markup

    from torchscope.analysis.evaluation import Evaluation
    from torchscope.render.report import Report
    from torchscope.render.report_page import Page
    from torchscope.store.reader import RunReader

__all__ = ["evaluation_section", "has_evaluation"]

MAX_SPLITS = 4
MAX_CLASS_ROWS = 200
_METRIC_NAMES = {
    "loss": "loss",
    "accuracy": "accuracy",
    "subset_accuracy": "subset accuracy (every label right)",
    "hamming_loss": "Hamming loss",
    "macro_precision": "macro precision",
    "macro_recall": "macro recall",
    "macro_f1": "macro F1",
    "weighted_precision": "weighted precision",
    "weighted_recall": "weighted recall",
    "weighted_f1": "weighted F1",
    "micro_precision": "micro precision",
    "micro_recall": "micro recall",
    "micro_f1": "micro F1",
    "roc_auc": "ROC AUC (macro, one-vs-rest)",
    "average_precision": "average precision (macro)",
    "ece": "expected calibration error",
    "mse": "MSE",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
}
_FIGURE_CAPTIONS = {
    "confusion": "Confusion matrix: counts, and normalised by true class (recall per class).",
    "class_metrics": "Precision, recall and F1 of every class; the dashed line is macro F1.",
    "reliability": "Reliability diagram: accuracy against confidence in equal bins; a "
    "calibrated model lies on the diagonal.",
    "roc": "One-vs-rest ROC curves with their areas (AUC).",
    "precision_recall": "One-vs-rest precision–recall curves with their average precision.",
    "residuals": "Predictions against targets (a sample of rows), and the residuals.",
}


def _run_splits(run: RunReader | None, skip: str | None = None) -> list[str]:
    """Splits whose latest confusion matrix counts samples ("val" and "test" first), but
    ``skip`` (the split of the Evaluation the report shows in full)."""
    if run is None:
        return []
    order = {"val": 0, "validation": 0, "test": 1}
    splits = sorted(
        (s for s in run.confusion_splits() if s != skip), key=lambda s: (order.get(s, 2), s)
    )
    out = []
    for split in splits:
        c = run.confusion(split)
        if c is not None and c.matrix.size and int(c.matrix.sum()) > 0:
            out.append(split)
    return out[:MAX_SPLITS]


def has_evaluation(report: Report) -> bool:
    """True when the report has an Evaluation or its run stored a confusion matrix."""
    if report.evaluation is not None:
        return True
    if report.run is None:
        return False
    from torchscope.render.report_training import open_run

    with open_run(report.run) as run:
        return bool(_run_splits(run))


def evaluation_section(report: Report, page: Page) -> Markup | None:
    ev = report.evaluation
    evaluation = _evaluation(ev, page) if ev is not None else None
    skip = ev.split if ev is not None else None
    splits = [_run_split(page.run, split, page) for split in _run_splits(page.run, skip)]
    if evaluation is None and not splits:
        return None
    return page.render("evaluation.html.j2", evaluation=evaluation, splits=splits)


def _metric_name(key: str) -> str:
    """``macro_f1`` → ``macro F1``; ``top5_accuracy`` → ``top-5 accuracy``."""
    top = re.fullmatch(r"top(\d+)_accuracy", key)
    return f"top-{top.group(1)} accuracy" if top else _METRIC_NAMES.get(key, key)


def _metric_rows(metrics: dict[str, float]) -> list[list[str]]:
    return [[_metric_name(k), fmt_value(v)] for k, v in metrics.items()]


def _evaluation(ev: Evaluation, page: Page) -> dict[str, Any]:
    page.use(*(f"eval_{k}" for k in ev.metrics), "per_class")
    classes = [
        [
            r.label,
            fmt_value(r.precision),
            fmt_value(r.recall),
            fmt_value(r.f1),
            fmt_count(r.support),
            fmt_count(r.predicted),
            fmt_value(r.roc_auc),
        ]
        for r in ev.classes[:MAX_CLASS_ROWS]
    ]
    pairs = [
        [p.true, p.predicted, fmt_count(p.count), f"{100 * p.rate:.3g}%"]
        for p in ev.confused_pairs[:20]
    ]
    outputs = [[o.name, fmt_value(o.mse), fmt_value(o.mae), fmt_value(o.r2)] for o in ev.outputs]
    figures = [
        {"svg": page.figure(fig), "caption": _FIGURE_CAPTIONS.get(stem, stem)}
        for stem, fig in ev.figures().items()
    ]
    at = f" at step {ev.step:,}" if isinstance(ev.step, int) else ""
    return {
        "where": f"{ev.task} task · {ev.split} split{at} · {fmt_count(ev.samples)} samples in "
        f"{fmt_count(ev.batches)} batches",
        "metrics": _metric_rows(ev.metrics),
        "classes": classes,
        "more_classes": len(ev.classes) - len(classes),
        "pairs": pairs,
        "outputs": outputs,
        "figures": figures,
        "notes": list(ev.notes),
    }


def _run_split(run: RunReader | None, split: str, page: Page) -> dict[str, Any]:
    from torchscope.analysis.classification import classification_metrics
    from torchscope.render.run_classification import class_metrics_bars, confusion_heatmap

    assert run is not None
    c = run.confusion(split)
    assert c is not None
    m = classification_metrics(c.matrix, c.labels)
    predicted = c.matrix.sum(axis=0).tolist()
    classes = [
        [
            label,
            _rate(p, n_pred),
            _rate(r, n),
            _rate(f, max(n, n_pred)),
            fmt_count(n),
            fmt_count(n_pred),
        ]
        for label, p, r, f, n, n_pred in zip(
            m.labels, m.precision, m.recall, m.f1, m.support, predicted
        )
    ][:MAX_CLASS_ROWS]
    page.use("eval_accuracy", "eval_macro_f1", "per_class")
    return {
        "split": split,
        "where": f"{split} split at step {c.step:,} · {fmt_count(int(c.matrix.sum()))} samples "
        f"· {len(c.labels)} classes",
        "metrics": _metric_rows(m.scalars()),
        "classes": classes,
        "figures": [
            {
                "svg": page.figure(confusion_heatmap(run, split)),
                "caption": _FIGURE_CAPTIONS["confusion"],
            },
            {
                "svg": page.figure(class_metrics_bars(run, split)),
                "caption": _FIGURE_CAPTIONS["class_metrics"],
            },
        ],
    }


def _rate(value: float, denominator: int) -> str:
    """A rate, or ``–`` when it has nothing to divide by (shown as 0 by the metrics)."""
    return "–" if denominator == 0 or not math.isfinite(value) else fmt_value(value)
