"""ParamReport and ParamDiff as rich renderables: tables of tensors, totals, health flags,
spectral metrics, importance rankings and changes.

Every tensor, module and source name is shown through ``safe_text`` (never markup, no
control sequences), and names too long for their column are shortened in the middle.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from torchscope.model.dtypes import dtype_bytes
from torchscope.render.safe_text import safe_text, shorten_names, visible
from torchscope.render.units import fmt_bytes, fmt_count, plural

if TYPE_CHECKING:
    from torchscope.analysis.importance import Importance
    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport
    from torchscope.analysis.param_stats import GroupStats, TensorStats
    from torchscope.analysis.spectral import SpectralReport

__all__ = ["diff_renderables", "report_renderables"]

MAX_ROWS = 60  # longer tables show the first rows and say how many more there are
_MIN_NAME = 30  # narrow terminals drop optional columns until names get this many characters
_NOTES = {"Flags", "Flag"}  # words, not numbers: wrapped at _NOTE_WIDTH to leave names room
_NOTE_WIDTH = 12
_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
_DTYPE_SHORT = {"float32": "f32", "float16": "f16", "bfloat16": "bf16", "float64": "f64"}


def num(x: float | None, digits: int = 4) -> str:
    """``0.02001``, ``-1.3e-05``, ``nan`` → ``-``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def pct(frac: float) -> str:
    if math.isnan(frac):
        return "-"
    if frac == 0:
        return "0"
    return f"{100 * frac:.2f}" if frac >= 1e-4 else "<0.01"


def _table(
    first: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    width: int,
    optional: Sequence[str] = (),
) -> Table:
    """A table whose number columns are never squeezed: the first column (names, from
    outside) gives way, shortened in the middle, and on narrow terminals the ``optional``
    columns are dropped (in order) to leave it room. Flag columns wrap their words."""
    keep = list(range(len(columns)))
    fits = {i: max([len(columns[i]), *(len(str(r[i + 1])) for r in rows)]) for i in keep}
    for i in keep:
        if columns[i] in _NOTES:
            fits[i] = min(fits[i], _NOTE_WIDTH)

    def room() -> int:
        return width - sum(fits[i] for i in keep) - 3 * len(keep) - 2

    for name in optional:
        if room() >= _MIN_NAME:
            break
        keep.remove(columns.index(name))
    width_of_names = max(12, room())
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column(first, no_wrap=True, overflow="ellipsis", max_width=width_of_names)
    for i in keep:
        text = not columns[i] or columns[i] in _NOTES  # an unnamed column holds bars
        table.add_column(
            columns[i],
            justify="left" if text else "right",
            no_wrap=columns[i] not in _NOTES,
            min_width=fits[i],
            max_width=fits[i] if columns[i] in _NOTES else None,
        )
    names = shorten_names([visible(row[0]) for row in rows], width_of_names)
    for name, row in zip(names, rows):
        table.add_row(Text(name), *(row[i + 1] for i in keep))
    return table


def _limited(rows: Sequence[Any], limit: int | None) -> tuple[Sequence[Any], int]:
    if limit is None or limit <= 0 or len(rows) <= limit:
        return rows, 0
    return rows[:limit], len(rows) - limit


def _more(hidden: int, what: str) -> Iterator[Text]:
    if hidden:
        yield Text(f"  … {hidden} more {what} (see --json or .to_dataframe())", style="dim")


# --- the report -------------------------------------------------------------------------


def _shape(t: TensorStats) -> str:
    dims = "×".join(str(d) for d in t.shape) or "scalar"
    return f"{_DTYPE_SHORT.get(t.dtype, t.dtype)} {dims}"


def tensor_table(report: ParamReport, width: int, limit: int | None = MAX_ROWS) -> Iterator[Any]:
    flagged: dict[str, str] = {}
    for f in report.flags:
        if f.severity != "info":
            flagged[f.tensor] = ", ".join(filter(None, [flagged.get(f.tensor), f.check]))
    shown, hidden = _limited(report.tensors, limit)
    rows = [
        [
            t.name,
            safe_text(_shape(t)),
            num(t.mean, 3),
            num(t.std, 3),
            num(t.min, 3),
            num(t.max, 3),
            num(t.mean_abs, 3),
            num(t.l2_norm, 4),
            pct(t.zero_frac),
            Text(flagged.get(t.name, ""), style="yellow"),
        ]
        for t in shown
    ]
    columns = ["Shape", "Mean", "Std", "Min", "Max", "Mean |w|", "L2", "Zero %", "Flags"]
    yield _table("Tensor", columns, rows, width, optional=("Min", "Max", "Mean |w|", "L2"))
    yield from _more(hidden, "tensors")


def module_table(report: ParamReport, width: int, limit: int | None = MAX_ROWS) -> Iterator[Any]:
    shown, hidden = _limited(report.modules, limit)
    rows = [
        [
            m.name or "(top level)",
            str(m.tensors),
            fmt_count(m.numel),
            num(m.mean, 3),
            num(m.std, 3),
            num(m.mean_abs, 3),
            num(m.l2_norm, 4),
            pct(m.zero_frac),
            str(m.dead_units) if m.units else "-",
        ]
        for m in shown
    ]
    columns = ["Tensors", "Values", "Mean", "Std", "Mean |w|", "L2", "Zero %", "Dead rows"]
    yield _table("Module", columns, rows, width, optional=("Tensors", "Mean |w|", "L2"))
    yield from _more(hidden, "modules")


def _totals(report: ParamReport) -> Table:
    t: GroupStats = report.total
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    nbytes: dict[str, int] = {}
    for s in report.tensors:
        nbytes[s.dtype] = nbytes.get(s.dtype, 0) + s.numel * dtype_bytes(s.dtype)
    dtypes = ", ".join(f"{k} {fmt_bytes(v)}" for k, v in sorted(nbytes.items()))
    values = f"{fmt_count(t.numel)} in {t.tensors} {plural(t.tensors, 'tensor')} ({dtypes or '-'})"
    grid.add_row("Values", safe_text(values))  # dtype names come from the checkpoint
    grid.add_row("Mean ± std", f"{num(t.mean)} ± {num(t.std)}   range [{num(t.min)}, {num(t.max)}]")
    grid.add_row("|w|, L2", f"mean |w| {num(t.mean_abs)}, L2 norm {num(t.l2_norm)}")
    near = report.settings.get("near_zero", 0.001)
    grid.add_row(
        "Zeros",
        f"{pct(t.zero_frac)}% exactly zero, {pct(t.near_zero_frac)}% near zero "
        f"(|w| ≤ {near:g}·max|w| per tensor)",
    )
    if t.percentiles:
        grid.add_row("Percentiles", "  ".join(f"{k} {num(v, 3)}" for k, v in t.percentiles.items()))
    non_finite = f"{t.nan_count} NaN, {t.inf_count} Inf"
    grid.add_row(
        "Non-finite", Text(non_finite, style="bold red" if t.nan_count + t.inf_count else "")
    )
    if t.units:
        grid.add_row("Dead units", f"{t.dead_units} of {fmt_count(t.units)} rows all zero")
    if report.skipped:
        skipped = ", ".join(f"{k} ({v})" for k, v in list(report.skipped.items())[:4])
        more = " …" if len(report.skipped) > 4 else ""
        grid.add_row("Skipped", safe_text(f"{len(report.skipped)} tensors: {skipped}{more}"))
    return grid


def _flags(report: ParamReport) -> Iterator[Any]:
    shown = [f for f in report.flags if f.severity != "info"]
    info = len(report.flags) - len(shown)
    if not shown:
        yield Text("Health: no problems found", style="green")
    else:
        yield Text(f"Health: {len(shown)} problem(s)", style="bold")
    for f in shown[:MAX_ROWS]:
        line = Text(f"  {f.severity}: ", style=_SEVERITY_STYLE[f.severity])
        line.append(visible(f"{f.tensor}: {f.check}: {f.message}"))
        yield line
    yield from _more(max(0, len(shown) - MAX_ROWS), "problems")
    if info:
        yield Text(
            f"  info: {info} all-zero or constant bias/scale vectors (usual at initialisation)",
            style="dim",
        )


def spectral_table(
    spectral: SpectralReport, width: int, limit: int | None = MAX_ROWS
) -> Iterator[Any]:
    shown, hidden = _limited(spectral.layers, limit)
    rows = []
    for x in shown:
        flag = x.warning if x.status == "ok" else "fit failed"
        flag = ", ".join(filter(None, [flag, "< 50 evals" if x.fit_warning else ""]))
        style = "yellow" if flag else ""
        rows.append(
            [
                x.name,
                f"{x.N}×{x.M}" + (f"×{x.rf}" if x.rf > 1 else ""),
                str(x.num_evals),
                Text(num(x.alpha, 3), style=style),
                num(x.D, 2),
                str(x.num_pl_spikes),
                num(x.alpha_weighted, 3),
                num(x.log_norm, 3),
                num(x.log_spectral_norm, 3),
                num(x.stable_rank, 3),
                Text(flag, style=style),
            ]
        )
    columns = [
        "N×M×rf",
        "Evals",
        "Alpha",
        "D",
        "Tail",
        "α-weighted",
        "log‖W‖²",
        "log λmax",
        "Stable rank",
        "Flag",
    ]
    optional = ("D", "Tail", "log λmax", "log‖W‖²", "Stable rank")
    yield _table("Layer (spectral)", columns, rows, width, optional)
    yield from _more(hidden, "layers")
    s = spectral.summary()
    yield Text(
        f"Spectral: mean alpha {num(s['alpha'], 3)}, mean α-weighted {num(s['alpha_weighted'], 3)}"
        f" over {s['layers']} layers; {s['under_trained']} above 6 (under-trained), "
        f"{s['over_trained']} below 2 (over-trained); {s['unreliable']} fitted on < 50 "
        f"eigenvalues (unreliable); {spectral.seconds:.2f} s"
    )
    if spectral.skipped:
        names = ", ".join(f"{k} ({v})" for k, v in list(spectral.skipped.items())[:4])
        more = f" and {len(spectral.skipped) - 4} more" if len(spectral.skipped) > 4 else ""
        yield safe_text(f"Skipped (spectral): {names}{more}")


def importance_table(importance: Importance, width: int, top: int = 10) -> Iterator[Any]:
    what = "Σ|w|" if importance.method == "magnitude" else "Σ|w·∂L/∂w|"
    title = f"Importance by {importance.method} ({what})"
    if importance.loss is not None:
        title += f", loss {num(importance.loss)}"
    rows = [
        [
            r.name or "(top level)",
            f"{100 * r.share:.1f}%",
            Text("█" * max(1, round(20 * r.share)) if r.share > 0 else "", style="cyan"),
            num(r.score),
            num(r.per_value, 3),
            fmt_count(r.numel),
        ]
        for r in importance.layers[:top]
    ]
    columns = ["Share", "", "Score", "Per value", "Values"]
    yield _table(title, columns, rows, width, optional=("Values", "Per value"))
    yield Text(f"  Score {what} grows with a layer's size; Per value (Score / Values) does not.")


def report_renderables(
    report: ParamReport, width: int = 120, view: str = "tensors", limit: int | None = MAX_ROWS
) -> Iterator[Any]:
    """Title, the tensor (or module) table, totals, health, spectral and importance."""
    yield safe_text(f"Parameters of {report.source}", style="bold")
    table = module_table if view == "modules" else tensor_table
    yield from table(report, width, limit)
    yield Text("")
    yield _totals(report)
    yield Text("")
    yield from _flags(report)
    if report.spectral is not None:
        yield Text("")
        yield from spectral_table(report.spectral, width, limit)
    for importance in report.importance:
        yield Text("")
        yield from importance_table(importance, width)


# --- the diff ---------------------------------------------------------------------------


def diff_renderables(d: ParamDiff, width: int = 120, limit: int | None = MAX_ROWS) -> Iterator[Any]:
    """Title and totals, what was added/removed/reshaped, then tensors by largest change."""
    verdict = f"relative change ‖b−a‖/‖a‖ = {num(d.rel_change)}" if d.changes else d.verdict
    yield safe_text(f"{d.a} → {d.b}: {'identical' if d.identical else verdict}", style="bold")
    for side, prefix in zip("AB", d.prefixes, strict=True):
        if prefix:
            yield safe_text(f"names of {side} compared without their prefix {prefix!r}")
    yield Text(
        f"{len(d.changes)} tensors compared, {len(d.added)} added, {len(d.removed)} "
        f"removed, {len(d.reshaped)} reshaped, {len(d.retyped)} retyped"
    )
    for label, names in (("added", d.added), ("removed", d.removed)):
        for name, shape in list(names.items())[:10]:
            yield safe_text(f"  {label}: {name} {list(shape)}", style="yellow")
    for name, (sa, sb) in list(d.reshaped.items())[:10]:
        yield safe_text(f"  reshaped: {name} {list(sa)} → {list(sb)}", style="yellow")
    for name, (ta, tb) in list(d.retyped.items())[:10]:
        yield safe_text(f"  retyped: {name} {ta} → {tb}", style="yellow")
    ordered = sorted(d.changes, key=lambda c: -c.rel_change if not math.isnan(c.rel_change) else 0)
    shown, hidden = _limited(ordered, limit)
    rows = [
        [
            c.name,
            "×".join(map(str, c.shape)) or "scalar",
            num(c.norm_a),
            num(c.rel_change),
            num(c.cosine, 8),
            num(c.max_abs_change),
        ]
        for c in shown
    ]
    columns = ["Shape", "‖a‖", "‖b−a‖/‖a‖", "Cosine", "Max |Δ|"]
    yield _table("Tensor (most changed first)", columns, rows, width, optional=("‖a‖",))
    yield from _more(hidden, "tensors")
