"""What the notebook views of results share: a table of escaped cells and the fragment's style.

A result's ``_repr_html_`` is one ``<div>`` with a class of its own (``ts-eval``,
``ts-par``…) and a ``<style>`` scoped to that class, so two results in one notebook never
restyle each other. Every cell is escaped here (``html_text``): callers pass plain text.

Example:
    >>> html_table(["Name"], [["<b>"]])
    '<table><thead><tr><th>Name</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from torchscope.render.safe_text import html_text

__all__ = ["fragment_style", "html_table"]

# Rules of every fragment: prose in the system font, tables of right-aligned monospace
# numbers with the first column (names) on the left.
_BASE = {
    "": "font-family:system-ui,sans-serif;font-size:13px",
    "h3": "margin:4px 0",
    "h4": "margin:10px 0 2px",
    "table": "border-collapse:collapse",
    "td,{c} th": "padding:2px 8px;text-align:right;font-family:monospace;"
    "border-bottom:1px solid #eee",
    "th": "border-bottom:1px solid #999",
    "td:first-child,{c} th:first-child": "text-align:left",
}


def fragment_style(name: str, extra: Mapping[str, str]) -> str:
    """The ``<style>`` of a fragment whose root has class ``name``: the shared rules, then
    ``extra`` (selector inside the fragment → declarations).

    Example:
        >>> fragment_style("ts-x", {".note": "color:#666"})[-32:]
        '}.ts-x .note{color:#666}</style>'
    """
    c = f".{name}"
    rules = "".join(
        f"{c}{' ' if selector else ''}{selector.format(c=c)}{{{body}}}"
        for selector, body in {**_BASE, **extra}.items()
    )
    return f"<style>{rules}</style>"


def html_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table of already formatted cells; every cell is escaped here."""
    head = "".join(f"<th>{html_text(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html_text(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
