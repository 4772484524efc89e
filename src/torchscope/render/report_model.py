"""The report's architecture and parameters sections.

Architecture: the summary table, the static drawing (Graphviz SVG, inlined after
``clean_svg``) and the interactive viewer (loaded into a sandboxed frame on demand).
Parameters: totals, health flags, the statistics table, histograms, the per-tensor
profile along depth, the spectral alpha of every layer with the healthy band (an
interactive chart: hover names each layer), the ESDs, importance and a checkpoint diff.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from torchscope.render.report_overview import fmt_value
from torchscope.render.report_page import rounded
from torchscope.render.summary_text import shapes_text, short_label
from torchscope.render.units import fmt_bytes, fmt_count, fmt_si

if TYPE_CHECKING:
    from markupsafe import Markup

    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport
    from torchscope.analysis.spectral import SpectralReport
    from torchscope.render.report import Report
    from torchscope.render.report_page import Page

__all__ = ["MAX_TABLE_ROWS", "architecture_section", "parameters_section"]

MAX_TABLE_ROWS = 400  # longest table in the page; the rest is named as a count
_ALPHA_BAND = (2.0, 6.0)


def _pct(x: float) -> str:
    return "–" if not math.isfinite(x) else f"{100 * x:.3g}%"


# --- architecture ------------------------------------------------------------------------


def architecture_section(report: Report, page: Page) -> Markup | None:
    """Summary table, static SVG and the interactive viewer, as far as they are known."""
    rows, totals = [], []
    if report.summary is not None:
        s = report.summary
        rows = [
            {
                "name": short_label(r),
                "depth": r.depth,
                "type": r.type,
                "repeat": r.repeat,
                "per_copy": r.per_copy,
                "shape": shapes_text(r.output_shapes),
                "params": fmt_count(r.params),
                "macs": fmt_si(r.macs) if r.macs else "–",
                "act": fmt_bytes(r.activation_bytes) if r.activation_bytes else "–",
            }
            for r in s.rows[:MAX_TABLE_ROWS]
        ]
        t, m = s.totals, s.memory
        inputs = ", ".join(f"{i.name}: {i.tensor.short()}" for i in s.graph.inputs) or "–"
        totals = [
            ("inputs", inputs),
            (
                "parameters",
                f"{fmt_count(t.total_params)} ({fmt_count(t.trainable_params)} "
                f"trainable), {fmt_bytes(t.param_bytes)}",
            ),
            ("MACs", f"{fmt_si(t.macs)} per forward pass (FLOPs ≈ {fmt_si(t.flops)})"),
            (
                "memory",
                f"inference ≈ {fmt_bytes(m.inference)}, training with Adam ≈ "
                f"{fmt_bytes(m.training)}",
            ),
        ]
        if t.uncounted_ops:
            ops = ", ".join(f"{k} ×{v}" for k, v in sorted(t.uncounted_ops.items())[:8])
            totals.append(("ops without a MAC formula", ops))
        page.use("params", "macs", "memory", "activation")
    static, static_note = _static_svg(report, page)
    return page.render(
        "architecture.html.j2",
        rows=rows,
        more=len(report.summary.rows) - len(rows) if report.summary else 0,
        totals=totals,
        static=static,
        static_note=static_note,
        viewer=report.graph is not None,
        model=report.graph.graph.model_type if report.graph is not None else "",
    )


def _static_svg(report: Report, page: Page) -> tuple[Markup | None, str]:
    from markupsafe import Markup

    from torchscope.errors import GraphvizNotFound
    from torchscope.render.report_svg import SvgError, clean_svg

    if report.graph is None:
        return None, ""
    try:
        svg = report.graph.render("svg").decode("utf-8")
        return Markup(clean_svg(svg, "arch")), ""
    except GraphvizNotFound as exc:
        return None, f"No static drawing: {exc}"
    except (SvgError, RuntimeError, OSError) as exc:
        return None, f"No static drawing: Graphviz failed ({exc})"


# --- parameters --------------------------------------------------------------------------


def parameters_section(report: Report, page: Page) -> Markup | None:
    """Statistics, health, histograms, spectra, importance and the diff of checkpoints."""
    parts: dict[str, Any] = {"stats": None, "diff": None}
    if report.params is not None:
        parts["stats"] = _statistics(report.params, page)
    if report.diff is not None:
        parts["diff"] = _diff(report.diff, page)
    return page.render("parameters.html.j2", **parts)


def _statistics(r: ParamReport, page: Page) -> dict[str, Any]:
    t = r.total
    totals = [
        ("source", r.source),
        ("values", f"{fmt_count(t.numel)} in {t.tensors} tensors"),
        ("mean ± std", f"{fmt_value(t.mean)} ± {fmt_value(t.std)}"),
        ("range", f"[{fmt_value(t.min)}, {fmt_value(t.max)}]"),
        ("zeros", _pct(t.zero_frac)),
        ("non-finite", f"{t.nan_count:,} NaN, {t.inf_count:,} Inf"),
    ]
    page.use("mean_std", "l2", "zero_frac", "near_zero", "health")
    alphas = {x.name: x for x in r.spectral.layers} if r.spectral else {}
    columns = [
        "Tensor",
        "Shape",
        "Dtype",
        "Values",
        "Mean",
        "Std",
        "Min",
        "Max",
        "Mean |w|",
        "L2 norm",
        "Zeros",
        "Near 0",
    ]
    if alphas:
        columns.append("Alpha")
    rows = []
    for x in r.tensors[:MAX_TABLE_ROWS]:
        row = [
            x.name,
            "×".join(map(str, x.shape)) or "scalar",
            x.dtype,
            fmt_count(x.numel),
            fmt_value(x.mean),
            fmt_value(x.std),
            fmt_value(x.min),
            fmt_value(x.max),
            fmt_value(x.mean_abs),
            fmt_value(x.l2_norm),
            _pct(x.zero_frac),
            _pct(x.near_zero_frac),
        ]
        if alphas:
            layer = alphas.get(x.name)
            row.append(fmt_value(layer.alpha) if layer and layer.status == "ok" else "–")
        rows.append(row)
    return {
        "totals": totals,
        "flags": _flags(r, page),
        "columns": columns,
        "rows": rows,
        "more": len(r.tensors) - len(rows),
        "figures": _figures(r, page),
        "skipped": [f"{name}: {why}" for name, why in sorted(r.skipped.items())][:20],
    }


def _flags(r: ParamReport, page: Page) -> dict[str, Any]:
    shown = [f for f in r.flags if f.severity != "info"]
    info = [f for f in r.flags if f.severity == "info"]
    for f in shown:
        page.alerts.append(("parameters", f"{f.tensor}: {f.message}", f.severity))
    return {
        "rows": [[f.severity, f.tensor, f.check, f.message] for f in shown[:MAX_TABLE_ROWS]],
        "more": len(shown) - MAX_TABLE_ROWS,
        "info": [[f.tensor, f.check, f.message] for f in info[:MAX_TABLE_ROWS]],
    }


def _figures(r: ParamReport, page: Page) -> list[dict[str, Any]]:
    """Each figure as (kind, svg or chart id, caption), in reading order."""
    from torchscope.render.param_plots import depth_profile, histogram_grid, importance_chart
    from torchscope.render.spectral_plots import esd_grid

    out: list[dict[str, Any]] = []
    if r.tensors:
        out.append(
            _svg(
                page,
                histogram_grid(r),
                "Values of the largest tensors (up to 24), with mean μ and std σ.",
            )
        )
        out.append(
            _svg(
                page,
                depth_profile(r),
                "Per-tensor statistics in model order (blue: weights, orange: vectors).",
            )
        )
        page.use("histogram")
    if r.spectral is not None and r.spectral.layers:
        out.append(
            {
                "chart": _alpha_chart(r.spectral, page),
                "caption": "Power-law exponent alpha of every weight's eigenvalue spectrum, "
                "layer by layer; the shaded band 2 ≤ alpha ≤ 6 is the healthy "
                "range. Hover a point for its layer; drag to zoom.",
            }
        )
        out.append(
            _svg(
                page,
                esd_grid(r.spectral),
                "Eigenvalue spectra (ESD) of layers spread over the depth, log-log, "
                "with the fitted power-law tail from xmin.",
            )
        )
        page.use("alpha", "esd")
    if r.importance and r.importance[0].layers:
        out.append(
            _svg(
                page,
                importance_chart(r.importance),
                "The layers with the largest importance: summed over the layer (share of the "
                "model's total) and per value (mean, which does not grow with the layer's size).",
            )
        )
        page.use(*(f"importance_{i.method}" for i in r.importance))
    return out


def _svg(page: Page, fig: Any, caption: str) -> dict[str, Any]:
    return {"svg": page.figure(fig), "caption": caption}


def _alpha_chart(spectral: SpectralReport, page: Page) -> str:
    layers = spectral.layers
    fitted = [(i, x) for i, x in enumerate(layers) if x.status == "ok" and math.isfinite(x.alpha)]
    outside = [(i, x) for i, x in fitted if x.warning]
    inside = [(i, x) for i, x in fitted if not x.warning]

    def points(name: str, members: list[tuple[int, Any]], color: int) -> dict[str, Any]:
        return {
            "name": name,
            "color": color,
            "points": True,
            "line": False,
            "x": [i for i, _ in members],
            "y": [rounded(x.alpha) for _, x in members],
            "labels": [
                f"{x.name} ({'×'.join(map(str, x.shape))}) {x.warning}".strip() for _, x in members
            ],
        }

    return page.chart(
        "lines",
        title="Spectral alpha per layer",
        x_label="layer (in model order)",
        y_label="alpha",
        log_y=True,
        band=list(_ALPHA_BAND),
        band_label="healthy 2–6",
        x_int=True,
        series=[points("within 2–6", inside, 2), points("outside 2–6", outside, 3)],
    )


def _diff(d: ParamDiff, page: Page) -> dict[str, Any]:
    from torchscope.render.param_plots import diff_chart

    ordered = sorted(
        d.changes, key=lambda c: -c.rel_change if not math.isnan(c.rel_change) else 0.0
    )
    rows = [
        [
            c.name,
            "×".join(map(str, c.shape)) or "scalar",
            fmt_value(c.rel_change),
            f"{c.cosine:.6f}" if math.isfinite(c.cosine) else "–",
            fmt_value(c.max_abs_change),
        ]
        for c in ordered[:MAX_TABLE_ROWS]
    ]
    listed = [f"added: {n} {list(s)}" for n, s in list(d.added.items())[:20]]
    listed += [f"removed: {n} {list(s)}" for n, s in list(d.removed.items())[:20]]
    listed += [
        f"reshaped: {n} {list(a)} → {list(b)}" for n, (a, b) in list(d.reshaped.items())[:20]
    ]
    page.use("rel_change", "cosine")
    change = f"relative change ‖b−a‖/‖a‖ = {fmt_value(d.rel_change)}"
    verdict = "identical" if d.identical else change
    return {
        "a": d.a,
        "b": d.b,
        "verdict": f"{verdict}; {len(d.changes)} tensors compared, {len(d.added)} added, "
        f"{len(d.removed)} removed, {len(d.reshaped)} reshaped",
        "listed": listed,
        "rows": rows,
        "more": len(ordered) - len(rows),
        "figure": page.figure(diff_chart(d)) if d.changes else None,
    }
