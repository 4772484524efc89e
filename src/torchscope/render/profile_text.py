"""A Profile as rich renderables: the step line, the module table, top modules and top ops.

Module and op names come from the model and go through ``safe_text``/``visible`` (never
markup); long names are cut in the middle.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from torchscope.render.safe_text import shorten_middle, visible
from torchscope.render.units import fmt_bytes, fmt_si

if TYPE_CHECKING:
    from torchscope.analysis.profile import Profile, ProfileRow

__all__ = ["fmt_ms", "headline", "profile_renderables", "roll_up_line", "row_label"]

TOP_K = 8


def fmt_ms(ms: float) -> str:
    """``12.34`` (ms) with sensible precision."""
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:,.0f}"


def headline(p: Profile) -> str:
    """The step in one line: total, share outside modules, rate and what measuring cost."""
    outside = p.outside_ms / p.total_ms if p.total_ms else 0.0
    what = "forward + backward" if p.backward else "forward"
    parts = [
        f"{visible(p.model)} on {visible(p.device_name or p.device)} ({p.dtype}), {what}: "
        f"step {fmt_ms(p.total_ms)} ± {fmt_ms(p.step.spread)} ms (median of {p.repeat})",
        f"in modules {fmt_ms(p.attributed_ms)} ms, outside {outside:.1%}",
    ]
    if p.achieved_flops:
        rate = f"{fmt_si(p.achieved_flops, 'FLOP/s')}"
        parts.append(f"{rate}, MFU {p.mfu:.1%}" if p.mfu is not None else rate)
    if p.overhead is not None:
        parts.append(
            f"profiled step {p.overhead:.2f}× an unprofiled one; analysis {p.analysis_s:.1f} s"
        )
    return " · ".join(parts)


def row_label(row: ProfileRow) -> str:
    """The last name of a row's path (a folded run keeps its list's name: ``h.0-11``)."""
    if row.depth <= 1:
        return row.label
    keep = 2 if row.repeat > 1 else 1
    return ".".join(row.label.split(".")[-keep:])


def _cells(p: Profile, row: ProfileRow) -> list[str]:
    share = row.self_ms / p.total_ms if p.total_ms else 0.0
    return [
        fmt_ms(row.forward_ms),
        fmt_ms(row.backward_ms) if p.backward else "-",
        fmt_ms(row.self_ms),
        f"{share:.1%}",
        fmt_si(row.macs) if row.macs else "-",
        fmt_si(row.achieved_flops) if row.achieved_flops else "-",
        f"{row.intensity:.1f}" if row.intensity else "-",
        fmt_bytes(row.peak_bytes) if row.peak_bytes else "-",
        fmt_bytes(row.retained_bytes) if row.retained_bytes else "-",
    ]


_COLUMNS = ["Fwd ms", "Bwd ms", "Self ms", "Self %", "MACs", "FLOP/s", "FLOP/B", "Peak", "Kept"]
# On a narrow terminal these columns give way, first to last, until the module names have
# _NAME_ROOM cells: numbers are never squeezed, columns are left out whole.
_OPTIONAL = ["FLOP/B", "Kept", "FLOP/s", "Self %", "MACs"]
_NAME_ROOM = 30


def _label(row: ProfileRow, room: int) -> Text:
    indent = "  " * row.depth
    tail = Text(f" ({visible(row.type)})", style="dim")
    if row.repeat > 1:
        tail.append(f" ×{row.repeat}", style="bold magenta")
    fit = max(8, room - len(indent) - tail.cell_len)
    return Text(indent + shorten_middle(visible(row_label(row)), fit)) + tail


def _columns(p: Profile, width: int) -> tuple[list[str], list[list[str]], list[int]]:
    """The columns that fit beside ``_NAME_ROOM`` cells of names, their cells and widths."""
    names = list(_COLUMNS)
    cells = [_cells(p, r) for r in p.rows]
    for optional in [None, *_OPTIONAL]:
        if optional is not None:
            drop = names.index(optional)
            del names[drop]
            cells = [c[:drop] + c[drop + 1 :] for c in cells]
        fits = [max([len(n), *(len(c[i]) for c in cells)]) for i, n in enumerate(names)]
        if width - sum(fits) - 3 * len(fits) - 1 >= _NAME_ROOM:
            break
    return names, cells, fits


def _table(p: Profile, width: int) -> Table:
    names, cells, fits = _columns(p, width)
    room = max(16, width - sum(fits) - 3 * len(fits) - 1)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("Module (type)", no_wrap=True, overflow="ellipsis", max_width=room)
    for name, fit in zip(names, fits):
        table.add_column(name, justify="right", no_wrap=True, min_width=fit)
    for row, row_cells in zip(p.rows, cells):
        table.add_row(_label(row, room), *row_cells, style="dim" if row.per_copy else None)
    return table


def _line(text: str, style: str = "") -> Text:
    """One line, cut at the terminal's edge (the head of a line says the most)."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def roll_up_line(row: ProfileRow) -> str:
    """``h.0-11 ×12: 41.2 ± 1.3 ms per copy; outliers h.7 52.0 ms``."""
    text = (
        f"{visible(row.label)} ×{row.repeat}: {fmt_ms(row.copy_mean_ms or 0.0)} ± "
        f"{fmt_ms(row.copy_std_ms or 0.0)} ms per copy (forward + backward)"
    )
    if row.outliers:
        named = ", ".join(f"{visible(n)} {fmt_ms(ms)} ms" for n, ms in row.outliers.items())
        text += f"; outliers {named}"
    return text


def _roll_ups(p: Profile) -> Iterator[Text]:
    for row in p.rows:
        if row.copy_mean_ms is not None and not row.per_copy:
            yield _line(roll_up_line(row), "yellow" if row.outliers else "")


def _top(p: Profile, width: int) -> Iterator[Any]:
    top = p.top(TOP_K)
    if top:
        yield Text(f"Top {len(top)} modules by self time (forward + backward):", style="bold")
        for m in top:
            parts = ", ".join(f"{visible(o.name)} {fmt_ms(o.ms)}" for o in m.ops[:3])
            name = shorten_middle(visible(m.name) or "(root)", max(16, width // 2))
            yield _line(f"  {fmt_ms(m.self_ms):>9} ms  {name}  [{parts}]")
    ops = p.op_totals[:TOP_K]
    if ops:
        yield Text(f"Top {len(ops)} ops by self time over the step:", style="bold")
        for o in ops:
            yield _line(f"  {fmt_ms(o.ms):>9} ms  ×{o.calls:<5} {visible(o.name)}")


def profile_renderables(p: Profile, width: int) -> list[Any]:
    """The headline, the module table, outliers, top modules and top ops."""
    return [Text(headline(p)), _table(p, width), *_roll_ups(p), *_top(p, width)]
