"""An Evaluation as an HTML fragment for notebooks: the facts of the terminal view, with
the confusion matrix as a shaded table (up to ``MAX_HTML_MATRIX`` classes).

Every class, output, split and note string is escaped (``html_text``); numbers are
formatted here, so no outside string reaches the markup unescaped.

Example:
    >>> import torch, torchscope
    >>> batches = [(torch.randn(8, 4), torch.randint(0, 3, (8,)))]
    >>> html = torchscope.evaluate(torch.nn.Linear(4, 3), batches, progress=False)._repr_html_()
    >>> "<table" in html and "Accuracy" in html
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from torchscope.render.eval_text import MAX_CLASS_ROWS, fmt_metric, heading, metric_label
from torchscope.render.safe_text import html_text

if TYPE_CHECKING:
    from torchscope.analysis.evaluation import Evaluation

__all__ = ["MAX_HTML_MATRIX", "evaluation_to_html"]

MAX_HTML_MATRIX = 30
_STYLE = (
    "<style>.ts-eval{font-family:system-ui,sans-serif;font-size:13px}"
    ".ts-eval h3{margin:4px 0}.ts-eval h4{margin:10px 0 2px}"
    ".ts-eval table{border-collapse:collapse}"
    ".ts-eval td,.ts-eval th{padding:2px 8px;text-align:right;font-family:monospace;"
    "border-bottom:1px solid #eee}.ts-eval th{border-bottom:1px solid #999}"
    ".ts-eval td:first-child,.ts-eval th:first-child{text-align:left}"
    ".ts-eval .cm td{border:1px solid #fff;min-width:2.5em}"
    ".ts-eval .note{color:#666}</style>"
)


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of already formatted cells; every cell is escaped here."""
    head = "".join(f"<th>{html_text(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html_text(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _rate(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.4f}"


def _classes(ev: Evaluation) -> str:
    rows = [
        [
            r.label,
            _rate(r.precision),
            _rate(r.recall),
            _rate(r.f1),
            f"{r.support:,}",
            f"{r.predicted:,}",
            _rate(r.roc_auc),
            _rate(r.average_precision),
        ]
        for r in ev.classes[:MAX_CLASS_ROWS]
    ]
    first = "Label" if ev.task == "multilabel" else "Class"
    columns = [first, "Precision", "Recall", "F1", "Support", "Predicted", "ROC AUC", "AP"]
    more = len(ev.classes) - len(rows)
    tail = f'<p class="note">… {more} more classes (see .to_dataframe())</p>' if more > 0 else ""
    return "<h4>Per class</h4>" + _table(columns, rows) + tail


def _matrix(ev: Evaluation) -> str:
    counts = ev.confusion
    if counts is None or len(counts) > MAX_HTML_MATRIX:
        return ""
    head = "<th>true \\ predicted</th>" + "".join(f"<th>{html_text(x)}</th>" for x in ev.labels)
    body = []
    for label, row in zip(ev.labels, counts):
        total = sum(row) or 1
        cells = "".join(
            f'<td style="background:rgba(49,130,189,{0.85 * v / total:.3f})">{v:,}</td>'
            for v in row
        )
        body.append(f"<tr><th>{html_text(label)}</th>{cells}</tr>")
    return (
        '<h4>Confusion matrix</h4><p class="note">rows: true class, shaded by the share of '
        f'the row</p><table class="cm"><thead><tr>{head}</tr></thead><tbody>'
        f"{''.join(body)}</tbody></table>"
    )


def _pairs(ev: Evaluation) -> str:
    if not ev.confused_pairs:
        return ""
    rows = [
        [p.true, p.predicted, f"{p.count:,}", f"{100 * p.rate:.1f}%"] for p in ev.confused_pairs
    ]
    return "<h4>Most confused</h4>" + _table(["True", "Predicted", "Count", "Of class"], rows)


def _outputs(ev: Evaluation) -> str:
    rows = [
        [
            r.name,
            fmt_metric("mse", r.mse),
            fmt_metric("rmse", r.rmse),
            fmt_metric("mae", r.mae),
            fmt_metric("r2", r.r2),
        ]
        for r in ev.outputs[:MAX_CLASS_ROWS]
    ]
    return "<h4>Per output</h4>" + _table(["Output", "MSE", "RMSE", "MAE", "R²"], rows)


def evaluation_to_html(ev: Evaluation) -> str:
    """Heading, metrics, per-class (or per-output) table, confusion matrix and notes."""
    metrics = _table(
        ["Metric", "Value"], [[metric_label(k), fmt_metric(k, v)] for k, v in ev.metrics.items()]
    )
    parts = [f"<h3>{html_text(heading(ev))}</h3>", metrics]
    if ev.is_classification:
        parts += [_classes(ev), _matrix(ev), _pairs(ev)]
        if ev.calibration is not None:
            c = ev.calibration
            parts.append(
                f"<p>Calibration: ECE {fmt_metric('ece', c.ece)} · largest bin gap (MCE) "
                f"{fmt_metric('ece', c.mce)} · {len(c.counts)} confidence bins</p>"
            )
    else:
        parts.append(_outputs(ev))
    parts += [f'<p class="note">Note: {html_text(n)}</p>' for n in ev.notes]
    return f'{_STYLE}<div class="ts-eval">{"".join(parts)}</div>'
