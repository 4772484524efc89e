"""The overview of a training run: plain data, rich renderables and an HTML fragment.

``run_overview`` gathers what a run's store holds (metadata, scalars, layer statistics,
histograms, confusion matrices, events) into one JSON-able dict; the renderers draw
that dict, so ``torchscope runs``, ``--json``, a terminal and a notebook all agree. Every
string from the store is outside text: shown through ``safe_text``/``html_text`` (never
markup, no control sequences), names too long for their column cut in the middle.

Example:
    >>> from rich import print
    >>> print(RunReader("runs/exp1"))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from rich import box
from rich.cells import cell_len
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from torchscope._display import TEXT_WIDTH
from torchscope.render.safe_text import html_text, safe_text, shorten_names, visible
from torchscope.render.units import fmt_bytes, fmt_count, fmt_si
from torchscope.store.reader import RunReader

__all__ = ["git_commit_text", "overview_renderables", "overview_to_html", "run_overview"]

_NUMERIC = {"points", "first", "last", "min", "max", "layers", "tensors", "step", "classes"}
_NUMERIC |= {"accuracy", "macro F1"}
_ENV_KEYS = ("torch", "device", "device_name", "param_dtype", "world_size", "python", "platform")


def run_overview(run: RunReader | str | Path) -> dict[str, Any]:
    """Everything a run's store holds, summarised as a JSON-able dict (``runs --json``).

    Example:
        >>> run_overview("runs/exp1")["scalars"][0]["last"]  # doctest: +SKIP
        0.0412
    """
    reader = run if isinstance(run, RunReader) else RunReader(run)
    meta = reader.meta()
    scalars = [_scalar_row(reader, split, name) for split, name in reader.scalar_names()]
    layer_stats = [_layer_row(reader, kind) for kind in reader.layer_kinds()]
    rows = scalars + layer_stats
    steps = [(r["first_step"], r["last_step"]) for r in rows if r["first_step"] is not None]
    return {
        "name": reader.name,
        "path": str(reader.run_dir),
        "first_step": min((a for a, _ in steps), default=None),
        "last_step": max((b for _, b in steps), default=None),
        "start_time": meta.get("start_time", meta.get("started")),
        "wall_time_s": meta.get("wall_time_s"),
        "environment": meta.get("environment") or {},
        "monitor": meta.get("monitor") or {},
        "config": meta.get("config") or {},
        "model": _model_totals(meta.get("summary")),
        "scalars": scalars,
        "layer_stats": layer_stats,
        "histograms": _histogram_rows(reader),
        "classification": _classification_rows(reader, scalars),
        "events": [e.to_dict() for e in reader.events()],
    }


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _scalar_row(reader: RunReader, split: str, name: str) -> dict[str, Any]:
    s = reader.scalars(name, split=split)
    finite = s.values[np.isfinite(s.values)]
    return {
        "split": split,
        "name": name,
        "points": len(s),
        "first_step": int(s.steps[0]) if len(s) else None,
        "last_step": int(s.steps[-1]) if len(s) else None,
        "nonfinite": int(len(s) - len(finite)),
        "first": _finite(float(s.values[0])) if len(s) else None,
        "last": _finite(float(s.values[-1])) if len(s) else None,
        "min": float(finite.min()) if len(finite) else None,
        "max": float(finite.max()) if len(finite) else None,
    }


def _layer_row(reader: RunReader, kind: str) -> dict[str, Any]:
    """Layers (with any statistic of the kind) and the steps they span."""
    stats = reader.layer_stat_names(kind)
    layers: dict[str, None] = {}
    steps: list[int] = []
    for stat in stats:
        m = reader.layer_stats(kind, stat)
        layers |= dict.fromkeys(m.layers)
        steps += [int(m.steps[0]), int(m.steps[-1])] if len(m.steps) else []
    return {
        "kind": kind,
        "layers": len(layers),
        "stats": stats,
        "first_step": min(steps, default=None),
        "last_step": max(steps, default=None),
    }


def _histogram_rows(reader: RunReader) -> list[dict[str, Any]]:
    """Tensors per kind; snapshots and steps counted on the kind's first tensor."""
    by_kind: dict[str, list[str]] = {}
    for kind, name in reader.histogram_names():
        by_kind.setdefault(kind, []).append(name)
    rows = []
    for kind, names in by_kind.items():
        steps = [h.step for h in reader.histograms(kind, names[0])]
        rows.append(
            {
                "kind": kind,
                "tensors": len(names),
                "snapshots": len(steps),
                "first_step": steps[0] if steps else None,
                "last_step": steps[-1] if steps else None,
            }
        )
    return rows


def _classification_rows(reader: RunReader, scalars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Latest confusion matrix per split, with accuracy/macro F1: logged scalars, else computed."""
    from torchscope.analysis.classification import classification_metrics

    last = {(r["split"], r["name"]): r["last"] for r in scalars}
    rows = []
    for split in reader.confusion_splits():
        c = reader.confusion(split)
        if c is None:
            continue
        m = classification_metrics(c.matrix, c.labels)
        rows.append(
            {
                "split": split,
                "step": c.step,
                "classes": len(c.labels),
                "samples": int(c.matrix.sum()),
                "accuracy": last.get((split, "accuracy"), m.accuracy),
                "macro_f1": last.get((split, "macro_f1"), m.macro_f1),
            }
        )
    return rows


def _model_totals(summary: Any) -> dict[str, Any] | None:
    """The totals of a stored Summary.to_dict() (its module rows left out)."""
    if not isinstance(summary, dict):
        return None
    keys = ("model", "total_params", "trainable_params", "param_bytes", "macs", "flops")
    return {k: summary.get(k) for k in keys if k in summary}


# -- formatting shared by text and HTML ---------------------------------------------------


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    return f"{v:,}" if isinstance(v, int) else f"{v:.4g}"


def _value(v: Any, limit: int = 80) -> str:
    """A config/meta value as short text: strings as they are, the rest as compact JSON."""
    text = v if isinstance(v, str) else json.dumps(v, default=str, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(t: Any) -> str:
    if not isinstance(t, (int, float)):
        return "-"
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(s: Any) -> str:
    if not isinstance(s, (int, float)):
        return "- (still running, or stopped without closing)"
    if s < 60:
        return f"{s:.1f} s"
    minutes, sec = divmod(round(s), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {sec:02d}s" if hours else f"{minutes}m {sec:02d}s"


def _info_items(o: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(label, text) lines of the header: where, when, on what, with which settings."""
    yield "path", o["path"]
    span = "-" if o["first_step"] is None else f"{o['first_step']} – {o['last_step']}"
    yield "steps", span
    yield "started", _when(o["start_time"])
    yield "wall time", _duration(o["wall_time_s"])
    env = o["environment"]
    if env:
        yield "environment", " · ".join(f"{k} {env[k]}" for k in _ENV_KEYS if k in env)
    commit = git_commit_text(env)
    if commit is not None:
        yield "git commit", commit
    if o["monitor"]:
        yield "monitor", ", ".join(f"{k}={_value(v)}" for k, v in o["monitor"].items())
    model = o["model"]
    if model:
        parts = [str(model.get("model", "model"))]
        if isinstance(model.get("total_params"), int):
            parts.append(f"{fmt_count(model['total_params'])} params")
        if isinstance(model.get("param_bytes"), (int, float)):
            parts.append(fmt_bytes(model["param_bytes"]))
        if isinstance(model.get("macs"), (int, float)):
            parts.append(f"{fmt_si(model['macs'])}MACs")
        yield "model", " · ".join(parts)


def git_commit_text(env: Any) -> str | None:
    """The commit a run's environment recorded, with ``(uncommitted changes)`` when the
    working tree had them; None when none was recorded.

    Example:
        >>> git_commit_text({"git_commit": "3f2a9c1", "git_dirty": True})
        '3f2a9c1 (uncommitted changes)'
    """
    commit = env.get("git_commit") if isinstance(env, dict) else None
    if not isinstance(commit, str) or not commit:
        return None
    return commit + (" (uncommitted changes)" if env.get("git_dirty") is True else "")


def _event_text(e: dict[str, Any]) -> str:
    p = e["payload"]
    if e["kind"] == "nonfinite":
        where = f"in {p.get('module', '?')} ({p.get('phase', '?')}"
        where += f", {p['tensor']})" if "tensor" in p else ")"
        note = f"; {p['note']}" if p.get("note") else ""
        return f"first non-finite value at step {e['step']} {where}{note}"
    return _value(p, 120)


def _histogram_text(r: dict[str, Any]) -> str:
    span = "" if r["first_step"] is None else f", steps {r['first_step']} – {r['last_step']}"
    return f"{r['snapshots']} snapshot{'s' if r['snapshots'] != 1 else ''}{span}"


# A table cell: its text and a look ("" plain, "last" highlighted value, "bad" alarm).
_Cell = tuple[str, str]
_Section = tuple[str, list[str], list[list[_Cell]]]


def _plain(*texts: str) -> list[_Cell]:
    return [(t, "") for t in texts]


def _scalar_cells(r: dict[str, Any]) -> list[_Cell]:
    """The last value highlighted; ``nan`` in red when it was logged but is not finite."""
    bad = r["last"] is None and r["points"] > 0
    last = ("nan", "bad") if bad else (_num(r["last"]), "last")
    cells = _plain(r["split"], r["name"], _num(r["points"]), _num(r["first"]))
    return [*cells, last, *_plain(_num(r["min"]), _num(r["max"]))]


def _event_cells(e: dict[str, Any]) -> list[_Cell]:
    look = "bad" if e["kind"] == "nonfinite" else ""
    return [(_num(e["step"]), look), (e["kind"], look), (_event_text(e), look)]


def _sections(o: dict[str, Any]) -> list[_Section]:
    """The overview's tables as (title, columns, rows of cells); empty ones left out."""
    sections: list[_Section] = [
        ("config", ["key", "value"], [_plain(k, _value(v)) for k, v in o["config"].items()]),
        (
            "scalars",
            ["split", "name", "points", "first", "last", "min", "max"],
            [_scalar_cells(r) for r in o["scalars"]],
        ),
        (
            "layer statistics",
            ["kind", "layers", "statistics"],
            [_plain(r["kind"], _num(r["layers"]), ", ".join(r["stats"])) for r in o["layer_stats"]],
        ),
        (
            "histograms",
            ["kind", "tensors", "snapshots"],
            [_plain(r["kind"], _num(r["tensors"]), _histogram_text(r)) for r in o["histograms"]],
        ),
        (
            "classification",
            ["split", "step", "classes", "accuracy", "macro F1"],
            [
                _plain(
                    r["split"], *(_num(r[k]) for k in ("step", "classes", "accuracy", "macro_f1"))
                )
                for r in o["classification"]
            ],
        ),
        ("events", ["step", "kind", "details"], [_event_cells(e) for e in o["events"]]),
    ]
    return [section for section in sections if section[2]]


def _alerts(o: dict[str, Any]) -> list[str]:
    return [_event_text(e) for e in o["events"] if e["kind"] == "nonfinite"]


# -- rich ------------------------------------------------------------------------------------

_RICH_LOOK = {"": "", "last": "bold green", "bad": "bold red"}
# Names (one line each, cut in the middle when too long) and free text (wraps).
_NAMES = {"split", "name", "kind", "key"}
_WRAPS = {"value", "statistics", "snapshots", "details"}
_MIN_NAME = 8


def overview_renderables(
    run: RunReader | dict[str, Any], width: int = TEXT_WIDTH
) -> Iterator[RenderableType]:
    """Rich renderables of a run's overview: header, then one table per section, ``width``
    characters wide at most.

    Every string from the store is wrapped in ``Text``, so ``[…]`` in a name is not markup.

    Example:
        >>> from rich import print
        >>> for r in overview_renderables(RunReader("runs/exp1")): print(r)  # doctest: +SKIP
    """
    o = run if isinstance(run, dict) else run_overview(run)
    yield Text.assemble(("Run ", "bold"), (visible(o["name"]), "bold cyan"))
    head = Table.grid(padding=(0, 2))
    head.add_column(style="dim")
    head.add_column()
    for label, text in _info_items(o):
        head.add_row(label, safe_text(text))
    for alert in _alerts(o):
        head.add_row(Text("NON-FINITE", "bold red"), safe_text(alert, "bold red"))
    yield head
    for title, columns, rows in _sections(o):
        yield Text("")
        yield _rich_table(title, columns, rows, width)


def _rich_table(title: str, columns: list[str], rows: list[list[_Cell]], width: int) -> Table:
    """A titled table in ``width``: numbers whole, free text wrapped, names cut in the middle."""
    texts = [[visible(row[i][0]) for row in rows] for i in range(len(columns))]
    fits = [max([len(c), *map(cell_len, column)]) for c, column in zip(columns, texts)]
    caps = _name_caps(columns, fits, width)
    shown = [shorten_names(col, cap) if cap else col for col, cap in zip(texts, caps)]
    table = Table(
        title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
        show_edge=False,
    )  # fmt: skip
    for name, cap in zip(columns, caps):
        justify = "right" if name in _NUMERIC else "left"
        table.add_column(name, justify=justify, no_wrap=name not in _WRAPS, max_width=cap)  # type: ignore[arg-type]
    for r, row in enumerate(rows):
        table.add_row(*(Text(column[r], _RICH_LOOK[look]) for column, (_, look) in zip(shown, row)))
    return table


def _name_caps(columns: list[str], fits: list[int], width: int) -> list[int | None]:
    """The width of each name column (None for the others): what is left after the numbers
    and some room for the free text, shared by lowering the widest name column first."""
    wrap_room = [min(f, max(20, width // 4)) for c, f in zip(columns, fits) if c in _WRAPS]
    fixed = sum(f for c, f in zip(columns, fits) if c not in _NAMES and c not in _WRAPS)
    room = width - fixed - sum(wrap_room) - 3 * (len(columns) - 1) - 2
    caps = {i: f for i, (c, f) in enumerate(zip(columns, fits)) if c in _NAMES}
    while caps and sum(caps.values()) > room:
        widest = max(caps, key=lambda i: caps[i])
        if caps[widest] <= _MIN_NAME:
            break
        caps[widest] -= 1
    return [caps.get(i) for i in range(len(columns))]


# -- HTML ------------------------------------------------------------------------------------

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
        for k, v in _info_items(o)
    )
    alerts = "".join(f'<p class="bad">⚠ {html_text(a)}</p>' for a in _alerts(o))
    parts = [_STYLE, '<div class="ts-run">', f"<h3>Run {html_text(o['name'])}</h3>", alerts]
    parts += [f"<table>{head}</table>", *(_html_table(*s) for s in _sections(o)), "</div>"]
    return "".join(parts)


def _html_table(title: str, columns: list[str], rows: list[list[_Cell]]) -> str:
    """A titled table; every cell's text is escaped here."""
    align = [' class="n"' if c in _NUMERIC else "" for c in columns]
    head = "".join(f"<th{a}>{html_text(c)}</th>" for c, a in zip(columns, align))
    body = "".join(
        "<tr>" + "".join(f"<td{a}>{_html_cell(c)}</td>" for c, a in zip(row, align)) + "</tr>"
        for row in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<h4>{html_text(title)}</h4>{table}"


def _html_cell(cell: _Cell) -> str:
    text, look = cell
    return f'<span class="{look}">{html_text(text)}</span>' if look else html_text(text)
