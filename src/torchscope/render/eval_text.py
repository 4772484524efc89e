"""An Evaluation as rich renderables: headline metrics, per-class (or per-output) table,
a small confusion matrix, the most confused pairs, calibration and notes.

Class, output and split names come from the user or a stored run: every one is shown
through ``safe_text`` (never markup, no control sequences) and shortened in the middle.
``metric_label`` and ``fmt_metric`` are shared with the HTML view and the figures.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from torchscope.render.safe_text import safe_text, shorten_middle, visible

if TYPE_CHECKING:
    from torchscope.analysis.evaluation import Evaluation

__all__ = [
    "MAX_CLASS_ROWS",
    "MAX_MATRIX_CLASSES",
    "evaluation_renderables",
    "fmt_metric",
    "heading",
    "metric_label",
]

MAX_CLASS_ROWS = 60  # longer tables show the first rows and say how many more there are
MAX_MATRIX_CLASSES = 12  # a confusion matrix in the terminal up to this many classes
_NAME = 24  # cells for a class name in the matrix and the pairs
_LABELS = {
    "loss": "Loss",
    "accuracy": "Accuracy",
    "subset_accuracy": "Subset accuracy",
    "hamming_loss": "Hamming loss",
    "macro_precision": "Macro precision",
    "macro_recall": "Macro recall",
    "macro_f1": "Macro F1",
    "weighted_precision": "Weighted precision",
    "weighted_recall": "Weighted recall",
    "weighted_f1": "Weighted F1",
    "micro_precision": "Micro precision",
    "micro_recall": "Micro recall",
    "micro_f1": "Micro F1",
    "roc_auc": "ROC AUC",
    "average_precision": "Average precision",
    "ece": "ECE",
    "mse": "MSE",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
}
_BLANK = Text("")
_UNBOUNDED = {"loss", "mse", "rmse", "mae"}  # not rates: shown with significant digits


def metric_label(name: str) -> str:
    """The display name of a metric key (``top5_accuracy`` → ``Top-5 accuracy``)."""
    top = re.fullmatch(r"top(\d+)_accuracy", name)
    if top:
        return f"Top-{top.group(1)} accuracy"
    return _LABELS.get(name, visible(name))


def fmt_metric(name: str, value: float | None) -> str:
    """A metric value: rates to 4 decimals, losses and errors to 4 significant digits."""
    if value is None or math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}" if name in _UNBOUNDED else f"{value:.4f}"


def heading(ev: Evaluation) -> str:
    """``Evaluation · multiclass · split test · step 3 · 360 samples in 12 batches``."""
    step = "" if ev.step is None else f" · step {ev.step}"
    split = shorten_middle(visible(ev.split), 40)
    return (
        f"Evaluation · {ev.task} · split {split}{step} · "
        f"{ev.samples:,} samples in {ev.batches:,} batches"
    )


def _metrics_grid(ev: Evaluation, width: int) -> Table:
    pairs = 2 if width >= 70 and len(ev.metrics) > 4 else 1
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for _ in range(pairs):
        table.add_column("Metric", no_wrap=True)
        table.add_column("Value", justify="right", no_wrap=True)
    cells = [(metric_label(k), fmt_metric(k, v)) for k, v in ev.metrics.items()]
    rows = math.ceil(len(cells) / pairs)
    for r in range(rows):
        row: list[Any] = []
        for c in range(pairs):
            i = c * rows + r
            row += [Text(cells[i][0]), cells[i][1]] if i < len(cells) else ["", ""]
        table.add_row(*row)
    return table


def _rate(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.4f}"


def _class_table(ev: Evaluation, width: int) -> Iterator[Any]:
    rows = ev.classes[:MAX_CLASS_ROWS]
    curves = any(not math.isnan(r.roc_auc) for r in ev.classes)
    columns = ["Precision", "Recall", "F1", "Support", "Predicted"]
    columns += ["ROC AUC", "AP"] if curves else []
    fixed = sum(max(len(c), 9) + 3 for c in columns)
    for optional in ("AP", "ROC AUC", "Predicted"):  # narrow: give way to the class names
        if width - fixed >= 16:
            break
        if optional in columns:
            columns.remove(optional)
            fixed -= max(len(optional), 9) + 3
    name_width = max(12, min(40, width - fixed))
    first = "Label" if ev.task == "multilabel" else "Class"
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column(first, no_wrap=True, max_width=name_width)
    for c in columns:
        table.add_column(c, justify="right", no_wrap=True)
    for r in rows:
        cells = {
            "Precision": _rate(r.precision),
            "Recall": _rate(r.recall),
            "F1": _rate(r.f1),
            "Support": f"{r.support:,}",
            "Predicted": f"{r.predicted:,}",
            "ROC AUC": _rate(r.roc_auc),
            "AP": _rate(r.average_precision),
        }
        name = safe_text(shorten_middle(visible(r.label), name_width))
        table.add_row(name, *(cells[c] for c in columns))
    yield table
    if len(ev.classes) > len(rows):
        more = len(ev.classes) - len(rows)
        yield Text(f"  … {more} more classes (see .to_dataframe())", style="dim")


def _output_table(ev: Evaluation) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("Output", no_wrap=True, max_width=40)
    for c in ("MSE", "RMSE", "MAE", "R²"):
        table.add_column(c, justify="right", no_wrap=True)
    for r in ev.outputs[:MAX_CLASS_ROWS]:
        table.add_row(
            safe_text(shorten_middle(visible(r.name), 40)),
            fmt_metric("mse", r.mse),
            fmt_metric("rmse", r.rmse),
            fmt_metric("mae", r.mae),
            fmt_metric("r2", r.r2),
        )
    return table


def _matrix(ev: Evaluation, width: int) -> Iterator[Any]:
    counts = ev.confusion
    if counts is None or len(counts) > MAX_MATRIX_CLASSES:
        return
    cell = max(len(f"{max(max(r) for r in counts):,}"), len(str(len(counts) - 1)), 3)
    name_width = min(_NAME, max(8, width - (cell + 1) * len(counts) - 8))
    if name_width + (cell + 1) * len(counts) > width:
        return
    yield Text(
        "Confusion matrix (rows: true class · columns: predicted, by row number)", style="bold"
    )
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("True class", no_wrap=True, max_width=name_width)
    for j in range(len(counts)):
        table.add_column(str(j), justify="right", no_wrap=True, min_width=cell)
    for i, (label, row) in enumerate(zip(ev.labels, counts)):
        cells = [
            Text(f"{v:,}", style="bold" if i == j else ("red" if v else "dim"))
            for j, v in enumerate(row)
        ]
        table.add_row(str(i), safe_text(shorten_middle(visible(label), name_width)), *cells)
    yield table


def _pairs(ev: Evaluation, limit: int = 5) -> Iterator[Text]:
    if not ev.confused_pairs:
        return
    yield Text("Most confused (true → predicted)", style="bold")
    for p in ev.confused_pairs[:limit]:
        line = Text("  ")
        line.append_text(safe_text(shorten_middle(visible(p.true), _NAME)))
        line.append(" → ")
        line.append_text(safe_text(shorten_middle(visible(p.predicted), _NAME)))
        line.append(f"  {p.count:,} ({100 * p.rate:.1f}% of the class)")
        yield line


def _calibration(ev: Evaluation) -> Iterator[Text]:
    c = ev.calibration
    if c is None:
        return
    yield Text(
        f"Calibration: ECE {fmt_metric('ece', c.ece)} · largest bin gap (MCE) "
        f"{fmt_metric('ece', c.mce)} · {len(c.counts)} confidence bins"
    )


def _notes(notes: Sequence[str]) -> Iterator[Text]:
    for note in notes:
        yield safe_text(f"Note: {note}", style="dim")


def evaluation_renderables(ev: Evaluation, width: int) -> Iterator[Any]:
    """What an Evaluation prints in a terminal ``width`` characters wide."""
    yield Text(heading(ev), style="bold")
    yield _metrics_grid(ev, width)
    yield _BLANK
    if ev.is_classification:
        yield from _class_table(ev, width)
        for section in (_matrix(ev, width), _pairs(ev), _calibration(ev)):
            parts = list(section)
            yield from [_BLANK, *parts] if parts else []
    else:
        yield _output_table(ev)
        if ev.residuals is not None and ev.residuals.total > len(ev.residuals.target[0] or []):
            shown = len(ev.residuals.target[0])
            yield Text(
                f"Residual plot: a random sample of {shown:,} of {ev.residuals.total:,} rows",
                style="dim",
            )
    yield from _notes(ev.notes)
