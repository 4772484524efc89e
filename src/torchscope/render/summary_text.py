"""A Summary as rich renderables: the module table and the totals panel.

Module, type and input names are shown through ``safe_text`` (never markup, no control
sequences); a name too long for its column is shortened in the middle, keeping its tail.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich import box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from torchscope.render.safe_text import safe_text, shorten_middle, visible
from torchscope.render.units import fmt_bytes, fmt_count, fmt_si

if TYPE_CHECKING:
    from torchscope.analysis.summary import Summary, SummaryRow
    from torchscope.model.graph import TensorMeta

__all__ = ["shapes_text", "short_label", "summary_renderables"]


def shapes_text(shapes: list[TensorMeta], limit: int = 1) -> str:
    """``[1, 128, 768]``, with ``+N`` for further outputs."""
    if not shapes:
        return "-"
    text = ", ".join(s.short() for s in shapes[:limit])
    return text + (f" +{len(shapes) - limit}" if len(shapes) > limit else "")


def short_label(row: SummaryRow) -> str:
    """The last name of a row's path; folded runs keep their list's name (``layers.0-79``)."""
    if row.depth <= 1:
        return row.label
    keep = 2 if row.repeat > 1 else 1
    return ".".join(row.label.split(".")[-keep:])


_MIN_NAME = 8  # a name keeps at least this many cells
_TYPE_CELLS = 10  # a type cut for room keeps this many; the badges are never cut


def _label(row: SummaryRow, room: int) -> Text:
    """Indent, name, type and badges in ``room`` cells: the name is cut in the middle down to
    ``_MIN_NAME`` cells, then the type; the badges (×N, total/each, calls, tied) stay whole."""
    indent = "  " * row.depth
    badges = _badges(row)
    name = visible(short_label(row))
    kind = visible(row.type)
    avail = room - len(indent) - badges.cell_len - 3  # 3: the space and brackets of the type
    if cell_len(name) + cell_len(kind) > avail:  # the type gives way first, to _TYPE_CELLS
        floor = min(cell_len(kind), _TYPE_CELLS, avail - min(cell_len(name), _MIN_NAME))
        keep = max(floor, avail - cell_len(name))
        kind = shorten_middle(kind, keep) if keep >= 4 else ""  # "(…)" would say nothing
    text = (Text(f" ({kind})", style="dim") if kind else Text()) + badges
    fit = max(_MIN_NAME, room - len(indent) - text.cell_len)
    return Text(indent + shorten_middle(name, fit)) + text


def _badges(row: SummaryRow) -> Text:
    """``×N``, whether the figures are a run's total or one copy's, calls, tied."""
    text = Text()
    if row.repeat > 1:
        text.append(f" ×{row.repeat}", style="bold magenta")
    # Which figures are a run's total and which one copy's, as the graph labels them.
    note = {(True, False): " total", (False, True): " each", (True, True): " total, each copy"}
    text.append(note.get((row.repeat > 1, row.per_copy), ""), style="dim")
    if row.calls > 1:
        text.append(f" ({row.calls} calls)", style="yellow")
    if row.tied:
        text.append(" tied", style="cyan")
    return text


_WIDE = 110  # below this width the table drops the % and Train columns and shortens counts


def _table(summary: Summary, width: int) -> Table:
    total = max(summary.totals.total_params, 1)
    wide = width >= _WIDE
    rows = [_cells(row, total, wide) for row in summary.rows]
    names = ["Output shape", "Params", "%", "MACs", "Act. mem", "Train"]
    if not wide:
        del names[5], names[2]
    fits = [max([len(n), *(len(str(cells[i])) for cells in rows)]) for i, n in enumerate(names)]
    # Numbers are never squeezed: only the module column gives way on narrow terminals.
    room = max(16, width - sum(fits) - 3 * len(fits) - 1)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("Module (type)", no_wrap=True, overflow="ellipsis", max_width=room)
    for name, fit in zip(names, fits):
        justify = "left" if name == "Output shape" else "right"
        table.add_column(name, justify=justify, no_wrap=True, min_width=fit)  # type: ignore[arg-type]
    for row, cells in zip(summary.rows, rows):
        table.add_row(_label(row, room), *cells, style="dim" if row.per_copy else None)
    return table


def _cells(row: SummaryRow, total: int, wide: bool) -> list[Any]:
    trainable = "-" if row.params == 0 else ("yes" if row.trainable_params == row.params
                                               else "no" if row.trainable_params == 0
                                               else "part")  # fmt: skip
    cells: list[Any] = [
        safe_text(shapes_text(row.output_shapes)),
        fmt_count(row.params) if wide else fmt_si(row.params),
        f"{100 * row.params / total:.1f}",
        fmt_si(row.macs) if row.macs else "-",
        fmt_bytes(row.activation_bytes) if row.activation_bytes else "-",
        trainable,
    ]
    if not wide:
        del cells[5], cells[2]
    return cells


def _totals(summary: Summary) -> Table:
    t, m = summary.totals, summary.memory
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    inputs = ", ".join(
        f"{i.name}: {i.tensor.dtype}{i.tensor.short()}" for i in summary.graph.inputs
    )
    mode = "train" if summary.graph.training else "eval"
    device = summary.graph.device
    grid.add_row("Inputs", safe_text(f"{inputs or '-'}  (device {device}, {mode} mode)"))
    grid.add_row(
        "Parameters",
        f"{fmt_count(t.total_params)} total, {fmt_count(t.trainable_params)} trainable, "
        f"{fmt_count(t.frozen_params)} frozen",
    )
    by_dtype = ", ".join(f"{k} {fmt_bytes(v)}" for k, v in sorted(t.bytes_by_dtype.items()))
    weights = f"{fmt_bytes(t.param_bytes + t.buffer_bytes)} ({by_dtype or '-'})"
    grid.add_row("Weights", safe_text(weights))
    for owner, aliases in t.shared_params.items():
        grid.add_row("Shared", safe_text(f"{owner} = {', '.join(aliases)} (counted once)"))
    grid.add_row("MACs", f"{fmt_si(t.macs)}  (FLOPs {fmt_si(t.flops)})")
    grid.add_row(
        "Memory",
        f"inference ≈ {fmt_bytes(m.inference)} (weights + peak live activations "
        f"{fmt_bytes(m.inference_activations)})",
    )
    grid.add_row(
        "",
        f"training ≈ {fmt_bytes(m.training)} with Adam (weights {fmt_bytes(m.weights + m.buffers)}"
        f" + grads {fmt_bytes(m.gradients)} + optimizer {fmt_bytes(m.optimizer_state)}"
        f" + saved activations {fmt_bytes(m.saved_activations)} + outputs {fmt_bytes(m.outputs)}"
        f" + backward transient {fmt_bytes(m.backward_transient)})",
    )
    if t.uncounted_ops:
        ops = ", ".join(f"{k} ×{v}" for k, v in sorted(t.uncounted_ops.items()))
        grid.add_row(
            Text("Uncounted", style="bold yellow"), safe_text(f"no MAC formula for: {ops}")
        )
    if summary.graph.failure:
        f = summary.graph.failure
        grid.add_row(
            Text("Failed", style="bold red"),
            safe_text(
                f"in '{f.module}' ({f.module_type}): {f.error_type}: {f.message} (partial summary)"
            ),
        )
    return grid


def summary_renderables(summary: Summary, width: int = 120) -> Iterator[Any]:
    yield _table(summary, width)
    yield Text("")
    yield _totals(summary)
