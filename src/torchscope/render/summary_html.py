"""A Summary as an HTML table for notebooks; every model-derived string is escaped
(``html_text``: control characters made visible, then HTML-escaped)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torchscope.render.safe_text import html_text
from torchscope.render.summary_text import shapes_text, short_label
from torchscope.render.units import fmt_bytes, fmt_count, fmt_si

if TYPE_CHECKING:
    from torchscope.analysis.summary import Summary

__all__ = ["summary_to_html"]

_STYLE = (
    "<style>.ts-sum td,.ts-sum th{padding:2px 8px;text-align:right;font-family:monospace}"
    ".ts-sum td:first-child,.ts-sum th:first-child{text-align:left}"
    ".ts-sum .copy{opacity:.6}.ts-sum .rep{color:#a0a;font-weight:bold}</style>"
)


def summary_to_html(summary: Summary) -> str:
    t, m = summary.totals, summary.memory
    rows = []
    for r in summary.rows:
        name = html_text(short_label(r))
        rep = f' <span class="rep">×{r.repeat}</span>' if r.repeat > 1 else ""
        pad = f"padding-left:{r.depth * 1.2:.1f}em"
        rows.append(
            f'<tr class="{"copy" if r.per_copy else ""}"><td style="{pad}">{name} '
            f"<small>({html_text(r.type)})</small>{rep}</td>"
            f"<td>{html_text(shapes_text(r.output_shapes))}</td><td>{fmt_count(r.params)}</td>"
            f"<td>{fmt_si(r.macs) if r.macs else '-'}</td>"
            f"<td>{fmt_bytes(r.activation_bytes) if r.activation_bytes else '-'}</td></tr>"
        )
    totals = (
        f"<p><b>Parameters</b> {fmt_count(t.total_params)} "
        f"({fmt_count(t.trainable_params)} trainable) · <b>MACs</b> {fmt_si(t.macs)} · "
        f"<b>Memory</b> inference ≈ {fmt_bytes(m.inference)}, "
        f"training (Adam) ≈ {fmt_bytes(m.training)}</p>"
    )
    return (
        f'{_STYLE}<table class="ts-sum"><thead><tr><th>Module</th><th>Output shape</th>'
        f"<th>Params</th><th>MACs</th><th>Act. mem</th></tr></thead><tbody>"
        f"{''.join(rows)}</tbody></table>{totals}"
    )
