"""The overview of a training run in a terminal: a header and one table per section.

It draws the dict ``run_overview`` gathers; the header lines and the sections' cells are
formatted here once for the terminal and for the notebook view (``run_html``). Every
string from the store is outside text: shown through ``safe_text`` (never markup, no
control sequences), names too long for their column cut in the middle.

Example:
    >>> from rich import print
    >>> print(RunReader("runs/exp1"))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from torchscope._display import TEXT_WIDTH
from torchscope.render.run_overview import run_overview
from torchscope.render.safe_text import safe_text, shorten_names, visible
from torchscope.render.units import fmt_bytes, fmt_count, fmt_si, plural
from torchscope.store.reader import RunReader

__all__ = [
    "NUMERIC",
    "Cell",
    "Section",
    "alert_texts",
    "git_commit_text",
    "info_items",
    "overview_renderables",
    "overview_sections",
]

# Columns of numbers: right-aligned.
NUMERIC = {"points", "first", "last", "min", "max", "layers", "tensors", "step", "classes"}
NUMERIC |= {"accuracy", "macro F1"}
_ENV_KEYS = ("torch", "device", "device_name", "param_dtype", "world_size", "python", "platform")


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


def info_items(o: dict[str, Any]) -> Iterator[tuple[str, str]]:
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
    return f"{r['snapshots']} {plural(r['snapshots'], 'snapshot')}{span}"


# A table cell: its text and a look ("" plain, "last" highlighted value, "bad" alarm);
# a section: its title, column names and rows of cells.
Cell = tuple[str, str]
Section = tuple[str, list[str], list[list[Cell]]]


def _plain(*texts: str) -> list[Cell]:
    return [(t, "") for t in texts]


def _scalar_cells(r: dict[str, Any]) -> list[Cell]:
    """The last value highlighted; ``nan`` in red when it was logged but is not finite."""
    bad = r["last"] is None and r["points"] > 0
    last = ("nan", "bad") if bad else (_num(r["last"]), "last")
    cells = _plain(r["split"], r["name"], _num(r["points"]), _num(r["first"]))
    return [*cells, last, *_plain(_num(r["min"]), _num(r["max"]))]


def _event_cells(e: dict[str, Any]) -> list[Cell]:
    look = "bad" if e["kind"] == "nonfinite" else ""
    return [(_num(e["step"]), look), (e["kind"], look), (_event_text(e), look)]


def overview_sections(o: dict[str, Any]) -> list[Section]:
    """The overview's tables as (title, columns, rows of cells); empty ones left out."""
    sections: list[Section] = [
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


def alert_texts(o: dict[str, Any]) -> list[str]:
    """The alarms of the header: one line per non-finite event.

    Example:
        >>> where = {"module": "fc", "phase": "forward"}
        >>> alert_texts({"events": [{"kind": "nonfinite", "step": 7, "payload": where}]})
        ['first non-finite value at step 7 in fc (forward)']
    """
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
    for label, text in info_items(o):
        head.add_row(label, safe_text(text))
    for alert in alert_texts(o):
        head.add_row(Text("NON-FINITE", "bold red"), safe_text(alert, "bold red"))
    yield head
    for title, columns, rows in overview_sections(o):
        yield Text("")
        yield _rich_table(title, columns, rows, width)


def _rich_table(title: str, columns: list[str], rows: list[list[Cell]], width: int) -> Table:
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
        justify = "right" if name in NUMERIC else "left"
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
