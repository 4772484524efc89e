"""A Profile as an HTML fragment for notebooks and reports; every name escaped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torchscope.render.profile_text import fmt_ms, headline, roll_up_line, row_label
from torchscope.render.safe_text import html_text
from torchscope.render.units import fmt_bytes, fmt_si

if TYPE_CHECKING:
    from torchscope.analysis.profile import Profile, ProfileRow

__all__ = ["profile_page", "profile_to_html"]

_STYLE = (
    "<style>.ts-prof td,.ts-prof th{padding:2px 8px;text-align:right;font-family:monospace}"
    ".ts-prof td:first-child,.ts-prof th:first-child{text-align:left}"
    ".ts-prof .copy{opacity:.6}.ts-prof .rep{color:#a0a;font-weight:bold}</style>"
)
_HEAD = ["Module", "Fwd ms", "Bwd ms", "Self ms", "Self %", "MACs", "FLOP/s", "FLOP/B", "Peak",
         "Kept"]  # fmt: skip


def _row(p: Profile, r: ProfileRow) -> str:
    rep = f' <span class="rep">×{r.repeat}</span>' if r.repeat > 1 else ""
    pad = f"padding-left:{r.depth * 1.2:.1f}em"
    share = r.self_ms / p.total_ms if p.total_ms else 0.0
    cells = [
        fmt_ms(r.forward_ms),
        fmt_ms(r.backward_ms) if p.backward else "-",
        fmt_ms(r.self_ms),
        f"{share:.1%}",
        fmt_si(r.macs) if r.macs else "-",
        fmt_si(r.achieved_flops) if r.achieved_flops else "-",
        f"{r.intensity:.1f}" if r.intensity else "-",
        fmt_bytes(r.peak_bytes) if r.peak_bytes else "-",
        fmt_bytes(r.retained_bytes) if r.retained_bytes else "-",
    ]
    return (
        f'<tr class="{"copy" if r.per_copy else ""}"><td style="{pad}">'
        f"{html_text(row_label(r))} <small>({html_text(r.type)})</small>{rep}</td>"
        + "".join(f"<td>{c}</td>" for c in cells)
        + "</tr>"
    )


def profile_to_html(p: Profile) -> str:
    """The headline, the module table, outliers and the top ops, escaped."""
    head = "".join(f"<th>{h}</th>" for h in _HEAD)
    rows = "".join(_row(p, r) for r in p.rows)
    notes = "".join(
        f"<li>{html_text(roll_up_line(r))}</li>"
        for r in p.rows
        if r.copy_mean_ms is not None and not r.per_copy
    )
    ops = "".join(
        f"<li>{fmt_ms(o.ms)} ms ×{o.calls} {html_text(o.name)}</li>" for o in p.op_totals[:8]
    )
    return (
        f"{_STYLE}<p>{html_text(headline(p))}</p>"
        f'<table class="ts-prof"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        + (f"<ul>{notes}</ul>" if notes else "")
        + (f"<p><b>Top ops by self time</b></p><ul>{ops}</ul>" if ops else "")
    )


def _png(fig: object) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)  # type: ignore[attr-defined]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def profile_page(p: Profile) -> str:
    """A self-contained HTML page: the table and the figures (inline PNG), works offline."""
    from torchscope.render.profile_plots import profile_figures

    figures = "".join(
        f'<p><img alt="{stem}" src="data:image/png;base64,{_png(fig)}"></p>'
        for stem, fig in profile_figures(p).items()
    )
    title = html_text(f"torchscope profile: {p.model}")
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1>{profile_to_html(p)}{figures}</body></html>\n"
    )
