"""The overview of a training run as an HTML fragment for notebooks.

The same header and tables as the terminal view (``run_text``); every string from the
store is escaped (``html_text``).
"""

from __future__ import annotations

from typing import Any

from torchscope.render.run_overview import run_overview
from torchscope.render.run_text import NUMERIC, Cell, alert_texts, info_items, overview_sections
from torchscope.render.safe_text import html_text
from torchscope.store.reader import RunReader

__all__ = ["overview_to_html"]

_STYLE = (
    "<style>.ts-run{font-family:system-ui,sans-serif;font-size:13px}"
    ".ts-run h3{margin:4px 0}.ts-run h4{margin:10px 0 2px}"
    ".ts-run table{border-collapse:collapse}"
    ".ts-run td,.ts-run th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}"
    ".ts-run th{border-bottom:1px solid #999}.ts-run .n{text-align:right}"
    ".ts-run td.n{font-family:monospace}"
    ".ts-run .k{color:#666}.ts-run .last{font-weight:bold;color:#17803d}"
    ".ts-run .bad{color:#c62828;font-weight:bold}</style>"
)


def overview_to_html(run: RunReader | dict[str, Any]) -> str:
    """The overview as an HTML fragment for notebooks; every store string is escaped.

    Example:
        >>> html = overview_to_html(RunReader("runs/exp1"))  # doctest: +SKIP
    """
    o = run if isinstance(run, dict) else run_overview(run)
    head = "".join(
        f'<tr><td class="k">{html_text(k)}</td><td>{html_text(v)}</td></tr>'
        for k, v in info_items(o)
    )
    alerts = "".join(f'<p class="bad">⚠ {html_text(a)}</p>' for a in alert_texts(o))
    parts = [_STYLE, '<div class="ts-run">', f"<h3>Run {html_text(o['name'])}</h3>", alerts]
    parts += [f"<table>{head}</table>", *(_html_table(*s) for s in overview_sections(o)), "</div>"]
    return "".join(parts)


def _html_table(title: str, columns: list[str], rows: list[list[Cell]]) -> str:
    """A titled table; every cell's text is escaped here."""
    align = [' class="n"' if c in NUMERIC else "" for c in columns]
    head = "".join(f"<th{a}>{html_text(c)}</th>" for c, a in zip(columns, align))
    body = "".join(
        "<tr>" + "".join(f"<td{a}>{_html_cell(c)}</td>" for c, a in zip(row, align)) + "</tr>"
        for row in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<h4>{html_text(title)}</h4>{table}"


def _html_cell(cell: Cell) -> str:
    text, look = cell
    return f'<span class="{look}">{html_text(text)}</span>' if look else html_text(text)
