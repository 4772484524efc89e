"""ParamReport and ParamDiff as HTML fragments for notebooks.

The same facts as the terminal view (render/param_text.py), never the histograms: a
notebook showed the dataclass repr before, which dumped every histogram. Every tensor,
module and source name is escaped (``html_text``).

Example:
    >>> import torch, torchscope
    >>> html = torchscope.inspect_params(torch.nn.Linear(4, 2))._repr_html_()
    >>> "<td>weight</td>" in html and "<table" in html
    True
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from torchscope.render.html_table import fragment_style, html_table
from torchscope.render.param_text import MAX_ROWS, num, pct
from torchscope.render.safe_text import html_text
from torchscope.render.units import fmt_count

if TYPE_CHECKING:
    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport

__all__ = ["diff_to_html", "report_to_html"]

_STYLE = fragment_style(
    "ts-par",
    {
        ".error": "color:#c62828;font-weight:bold",
        ".warning": "color:#b26a00",
        ".more": "color:#666",
    },
)


def _more(hidden: int, what: str) -> str:
    return f'<p class="more">… {hidden} more {what} (see .to_dataframe())</p>' if hidden > 0 else ""


def _page(title: str, *parts: str) -> str:
    return f'{_STYLE}<div class="ts-par"><h3>{html_text(title)}</h3>{"".join(parts)}</div>'


def report_to_html(report: ParamReport) -> str:
    """Totals, health flags and the first tensors of a report (no histograms)."""
    t = report.total
    totals = (
        f"<p><b>Values</b> {fmt_count(t.numel)} in {t.tensors} tensors · "
        f"<b>mean ± std</b> {num(t.mean)} ± {num(t.std)} · "
        f"<b>range</b> [{num(t.min)}, {num(t.max)}] · "
        f"<b>zeros</b> {pct(t.zero_frac)}% · <b>non-finite</b> {t.nan_count} NaN, "
        f"{t.inf_count} Inf</p>"
    )
    shown = report.tensors[:MAX_ROWS]
    rows = (
        [
            x.name,
            "×".join(map(str, x.shape)) or "scalar",
            x.dtype,
            num(x.mean, 3),
            num(x.std, 3),
            num(x.min, 3),
            num(x.max, 3),
            pct(x.zero_frac),
        ]
        for x in shown
    )
    columns = ["Tensor", "Shape", "Dtype", "Mean", "Std", "Min", "Max", "Zero %"]
    parts = [totals, _flags(report), html_table(columns, rows)]
    parts.append(_more(len(report.tensors) - len(shown), "tensors"))
    if report.spectral is not None:
        s = report.spectral.summary()
        parts.append(
            f"<p><b>Spectral</b> mean alpha {num(s['alpha'], 3)} over {s['layers']} layers; "
            f"{s['under_trained']} above 6, {s['over_trained']} below 2</p>"
        )
    return _page(f"Parameters of {report.source}", *parts)


def _flags(report: ParamReport) -> str:
    shown = [f for f in report.flags if f.severity != "info"]
    if not shown:
        return "<p>Health: no problems found</p>"
    items = "".join(
        f'<li><span class="{f.severity}">{html_text(f.severity)}</span>: '
        f"{html_text(f'{f.tensor}: {f.check}: {f.message}')}</li>"
        for f in shown[:MAX_ROWS]
    )
    more = _more(len(shown) - MAX_ROWS, "problems")
    return f"<p>Health: {len(shown)} problem(s)</p><ul>{items}</ul>{more}"


def diff_to_html(d: ParamDiff) -> str:
    """The verdict, what was added/removed/reshaped, and the most changed tensors."""
    verdict = f"relative change ‖b−a‖/‖a‖ = {num(d.rel_change)}" if d.changes else d.verdict
    verdict = "identical" if d.identical else verdict
    counts = (
        f"<p>{html_text(verdict)} · {len(d.changes)} tensors compared, {len(d.added)} added, "
        f"{len(d.removed)} removed, {len(d.reshaped)} reshaped</p>"
    )
    listed = [
        f"{label}: {name} {list(shape)}"
        for label, names in (("added", d.added), ("removed", d.removed))
        for name, shape in list(names.items())[:10]
    ]
    listed += [
        f"reshaped: {n} {list(a)} → {list(b)}" for n, (a, b) in list(d.reshaped.items())[:10]
    ]
    changes = "".join(f"<li>{html_text(line)}</li>" for line in listed)
    ordered = sorted(d.changes, key=lambda c: -c.rel_change if not math.isnan(c.rel_change) else 0)
    rows = (
        [
            c.name,
            "×".join(map(str, c.shape)) or "scalar",
            num(c.rel_change),
            num(c.cosine, 8),
            num(c.max_abs_change),
        ]
        for c in ordered[:MAX_ROWS]
    )
    table = html_table(
        ["Tensor (most changed first)", "Shape", "‖b−a‖/‖a‖", "Cosine", "Max |Δ|"], rows
    )
    hidden = _more(len(ordered) - MAX_ROWS, "tensors")
    return _page(f"{d.a} → {d.b}", counts, f"<ul>{changes}</ul>" if changes else "", table, hidden)
