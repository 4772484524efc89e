"""The report's training section: learning curves, layer heatmaps, distributions and the
health timeline of a monitored run.

Curves and heatmaps are interactive charts drawn by the page's script from data decimated
here: a curve keeps at most ``MAX_POINTS`` buckets per series, each with the mean, minimum
and maximum of its points (so a spike is never averaged away); a heatmap keeps at most
``HEATMAP_COLUMNS`` step buckets, each cell the largest value of its layer in that bucket.
Distributions are the run figures of ``run_distributions`` as inline SVG. The timeline
puts every problem found (non-finite values, exploding or vanishing gradient norms, the
monitor's first non-finite event) on one step axis.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from torchscope.render.report_page import rounded_list

if TYPE_CHECKING:
    from markupsafe import Markup

    from torchscope.analysis.run_health import Spell
    from torchscope.render.report import Report
    from torchscope.render.report_page import Page
    from torchscope.store.reader import RunReader

__all__ = [
    "HEATMAP_COLUMNS",
    "LAYER_HEATMAPS",
    "MAX_POINTS",
    "bucket_max",
    "open_run",
    "training_section",
]

MAX_POINTS = 2000
HEATMAP_COLUMNS = 400
MAX_TIMELINE_ROWS = 24
# (kind, statistic, title, glossary term) of the per-layer heatmaps, when the run has them
LAYER_HEATMAPS = [
    ("grad", "norm", "Gradient norm per layer", "grad_norm"),
    ("update_ratio", "ratio", "Update-to-weight ratio per layer", "update_ratio"),
    ("weight", "norm", "Weight norm per layer", "weight_norm"),
    ("activation", "dead_fraction", "Dead fraction of activations per layer", "dead_fraction"),
]


@contextmanager
def open_run(path: Path | str | None) -> Iterator[RunReader | None]:
    """A reader on the run for the duration of the block (None without a run)."""
    if path is None:
        yield None
        return
    from torchscope.store.reader import RunReader

    reader = RunReader(path)
    try:
        yield reader
    finally:
        reader.close()


def training_section(report: Report, page: Page) -> Markup | None:
    run = page.run
    if run is None:
        return None
    curves, notes = _curves(run, page)
    return page.render(
        "training.html.j2",
        curves=curves,
        curve_notes=notes,
        heatmaps=_heatmaps(run, page),
        distributions=_distributions(run, page),
        timeline=_timeline(run, page),
    )


# --- learning curves ---------------------------------------------------------------------


def _curves(run: RunReader, page: Page) -> tuple[list[dict[str, str]], list[str]]:
    from torchscope.analysis.run_health import nonfinite_spells
    from torchscope.render.run_choice import choose_curves

    if not run.scalar_names():
        return [], ["The run logged no scalars."]
    choice = choose_curves(run)
    splits: dict[str, list[str]] = {}
    for split, name in run.scalar_names():
        splits.setdefault(name, []).append(split)
    charts = []
    for name in choice.shown:
        series, marks, decimated = [], [], False
        for split in _split_order(splits.get(name, [])):
            s = run.scalars(name, split=split, buckets=MAX_POINTS)
            decimated |= s.decimated
            series.append(_series_data(s, split, _split_color(split, names=splits)))
            raw = run.scalars(name, split=split)
            marks += [
                _spell_mark(sp, f"{split} {name}")
                for sp in nonfinite_spells(raw.steps, raw.values, most=50)
            ]
        if decimated:
            page.use("decimation")
        cid = page.chart(
            "lines",
            title=name,
            x_label="step",
            y_label=name,
            x_int=True,
            log_y=False,
            series=series,
            marks=marks,
            toggle_log=True,
        )
        charts.append({"chart": cid, "caption": _curve_caption(name, series, decimated)})
    page.use("learning_curves")
    return charts, choice.notes()


_SPLIT_ORDER = {"train": 0, "val": 1, "validation": 1, "test": 2}


def _split_order(splits: list[str]) -> list[str]:
    return sorted(splits, key=lambda s: (_SPLIT_ORDER.get(s, 3), s))


def _split_color(split: str, names: dict[str, list[str]]) -> int:
    """One colour per split on every chart: train, val, test first, then the others."""
    if split in _SPLIT_ORDER:
        return _SPLIT_ORDER[split]
    others = sorted({s for splits in names.values() for s in splits} - set(_SPLIT_ORDER))
    return 3 + others.index(split)


def _series_data(s: Any, split: str, color: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": split,
        "color": color,
        "dash": split,
        "x": s.steps.tolist(),
        "y": rounded_list(s.values),
        "points": len(s) < 60,
    }
    if s.decimated:
        data |= {
            "x2": s.last_steps.tolist(),
            "lo": rounded_list(s.mins),
            "hi": rounded_list(s.maxs),
            "n": s.counts.tolist(),
        }
    return data


def _curve_caption(name: str, series: list[dict[str, Any]], decimated: bool) -> str:
    counts = ", ".join(
        f"{d['name']}: {sum(d.get('n', [1] * len(d['x']))):,} points" for d in series
    )
    extra = (
        (
            " Long series are shown as at most 2,000 buckets: the line is each bucket's "
            "mean, the band its minimum to maximum."
        )
        if decimated
        else ""
    )
    return (
        f"{name} over steps ({counts}). Hover for values; drag to zoom, double-click to "
        f"reset; the y button switches to a log scale.{extra}"
    )


def _spell_mark(spell: Spell, label: str) -> dict[str, Any]:
    return {
        "x": spell.first_step,
        "x2": spell.last_step,
        "kind": spell.kind,
        "text": f"{label}: {spell.kind} at {spell.steps_text} ({spell.detail})",
    }


# --- layer heatmaps ----------------------------------------------------------------------


def bucket_max(steps: np.ndarray, values: np.ndarray, columns: int) -> dict[str, Any]:
    """Columns of at most ``columns`` equal step ranges: each cell the largest finite value
    of its row there (NaN where a row has none); the first and last step of each column.

    Example:
        >>> d = bucket_max(np.arange(4), np.array([[1.0, 5.0, np.nan, 2.0]]), 2)
        >>> d["values"].tolist(), d["first"].tolist(), d["last"].tolist()
        ([[5.0, 2.0]], [0, 2], [1, 3])
    """
    if len(steps) <= columns:
        return {"values": values, "first": steps, "last": steps}
    lo, hi = int(steps[0]), int(steps[-1])
    index = (steps.astype(np.int64) - lo) * columns // (hi - lo + 1)
    starts = np.flatnonzero(np.r_[True, np.diff(index) > 0])
    ends = np.r_[starts[1:], len(steps)]
    with np.errstate(invalid="ignore"), _quiet():
        cells = np.fmax.reduceat(np.where(np.isfinite(values), values, np.nan), starts, axis=1)
    return {"values": cells, "first": steps[starts], "last": steps[ends - 1]}


@contextmanager
def _quiet() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _heatmaps(run: RunReader, page: Page) -> list[dict[str, str]]:
    out = []
    for kind, stat, title, term in LAYER_HEATMAPS:
        if stat not in run.layer_stat_names(kind):
            continue
        m = run.layer_stats(kind, stat)
        if not m.layers or not len(m.steps):
            continue
        cells = bucket_max(m.steps, m.values, HEATMAP_COLUMNS)
        finite = m.values[np.isfinite(m.values)]
        positive = finite[finite > 0]
        log = bool(
            len(positive) == len(finite) and len(positive) and positive.max() / positive.min() > 100
        )
        cid = page.chart(
            "heatmap",
            title=title,
            rows=list(m.layers),
            x=cells["first"].tolist(),
            x2=cells["last"].tolist(),
            values=[rounded_list(r) for r in cells["values"]],
            log=log,
            points=int(np.isfinite(m.values).sum()),
        )
        page.use(term, "heatmap")
        out.append({"chart": cid, "caption": _heatmap_caption(title, m, log)})
    return out


def _heatmap_caption(title: str, m: Any, log: bool) -> str:
    return (
        f"{title}: {len(m.layers)} layers (input at the top) × steps "
        f"{int(m.steps[0]):,}–{int(m.steps[-1]):,}; each cell is the largest value in its "
        f"step range{', on a log colour scale' if log else ''}. Hover a cell for its layer, "
        "steps and value; grey cells hold no point."
    )


# --- distributions -----------------------------------------------------------------------


def _distributions(run: RunReader, page: Page) -> list[dict[str, Any]]:
    from torchscope.render.run_distributions import distributions

    kinds = {k for k, _ in run.histogram_names()}
    out = []
    for kind in ("weight", "grad", "activation"):
        if kind in kinds:
            fig = distributions(run, kind)
            out.append({"svg": page.figure(fig), "caption": _DISTRIBUTION_CAPTION % kind})
            page.use("distribution")
    return out


_DISTRIBUTION_CAPTION = (
    "How the %s values of up to 12 tensors (spread from input to output) were distributed "
    "over the steps: bands between percentiles, darker towards the median (line)."
)


# --- health timeline ---------------------------------------------------------------------


def _timeline(run: RunReader, page: Page) -> dict[str, Any]:
    """Rows of problem spells on one step axis, the monitor's events, and a table of both."""
    rows = _scalar_rows(run) + _layer_rows(run)
    events = []
    for e in run.events("nonfinite"):
        where = ", ".join(str(e.payload.get(k)) for k in ("module", "phase") if k in e.payload)
        events.append({"x": int(e.step), "text": f"first non-finite value: {where or '?'}"})
    table = [[r["label"], m["text"]] for r in rows for m in r["spells"]]
    table += [[f"step {e['x']:,}", e["text"]] for e in events]
    for label, text in table[:50]:
        page.alerts.append(("training", f"{label}: {text}", "warning"))
    page.use("health_timeline")
    chart = None
    if rows or events:
        shown = rows[:MAX_TIMELINE_ROWS]
        chart = page.chart("timeline", rows=shown, events=events, range=_step_range(run))
    return {
        "chart": chart,
        "table": table[:200],
        "more": len(table) - 200,
        "checked": len(run.scalar_names()),
        "hidden_rows": max(0, len(rows) - MAX_TIMELINE_ROWS),
    }


def _scalar_rows(run: RunReader) -> list[dict[str, Any]]:
    from torchscope.analysis.run_health import gradient_spells, nonfinite_spells

    rows = []
    for split, name in run.scalar_names():
        s = run.scalars(name, split=split)
        spells = nonfinite_spells(s.steps, s.values, most=50)
        if name == "grad_norm" and split == "train":
            spells += gradient_spells(s.steps, s.values, most=50)
        if spells:
            label = f"{split} {name}"
            rows.append({"label": label, "spells": [_spell_mark(sp, label) for sp in spells]})
    return rows


def _layer_rows(run: RunReader) -> list[dict[str, Any]]:
    """Layers whose gradient norm exploded, vanished or went non-finite."""
    from torchscope.analysis.run_health import gradient_spells, nonfinite_spells

    if "norm" not in run.layer_stat_names("grad"):
        return []
    m = run.layer_stats("grad", "norm")
    rows = []
    for layer, values in zip(m.layers, m.values):
        # NaN marks "no point at this step" in a layer matrix: only ±inf can be told apart
        present = ~np.isnan(values)
        steps, vals = m.steps[present], values[present]
        spells = nonfinite_spells(steps, vals, most=20) + gradient_spells(steps, vals, most=20)
        if spells:
            label = f"grad norm {layer}"
            rows.append({"label": label, "spells": [_spell_mark(sp, label) for sp in spells]})
    return rows


def _step_range(run: RunReader) -> list[int]:
    lo, hi = None, None
    for split, name in run.scalar_names():
        s = run.scalars(name, split=split, buckets=2)
        if len(s):
            ends = s.last_steps if s.last_steps is not None else s.steps
            first, last = int(s.steps[0]), int(ends[-1])
            lo = first if lo is None else min(lo, first)
            hi = last if hi is None else max(hi, last)
    return [lo or 0, hi if hi is not None else 1]
