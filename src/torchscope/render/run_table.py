"""Several runs side by side: name, tags, note, status, steps and config, one column each.

``run_settings`` reads what a run's store says about the run itself (plain JSON-able
data; fields a store does not hold are None, so older stores degrade to blanks);
``settings_tables`` draws runs as columns, config keys whose values differ first and
marked, so a sweep's settings can be compared at a glance. Every name and value comes
from a store and is shown as plain text: never markup, control characters made visible.

Example:
    >>> from rich import print
    >>> print(*settings_tables([run_settings("runs/a"), run_settings("runs/b")]))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from torchscope.render.safe_text import shorten_middle, visible
from torchscope.store.reader import RunReader

__all__ = ["MAX_CONFIG_ROWS", "MAX_SIDE_BY_SIDE", "run_settings", "settings_tables"]

MAX_SIDE_BY_SIDE = 6  # runs per table; more runs continue in the next table
MAX_CONFIG_ROWS = 40
_CELL = 40  # characters of one value before it is cut in the middle


def run_settings(run: RunReader | str | Path) -> dict[str, Any]:
    """What the store says about the run: name, tags, note, status, steps, config.

    Example:
        >>> run_settings("runs/exp1")["status"]  # doctest: +SKIP
        'finished'
    """
    reader = run if isinstance(run, RunReader) else RunReader(run)
    meta = reader.meta()
    tags = meta.get("tags")
    note = meta.get("note")
    config = meta.get("config")
    steps = _steps(reader)
    firsts = [e.step for e in reader.events("nonfinite")]
    return {
        "name": reader.name,
        "path": str(reader.run_dir),
        "tags": [str(t) for t in tags] if isinstance(tags, list) else [],
        "note": note if isinstance(note, str) else None,
        "status": _status(meta),
        "launches": _launches(reader),
        "first_step": steps[0] if steps else None,
        "last_step": steps[1] if steps else None,
        "started": _number(meta.get("start_time", meta.get("started"))),
        "wall_time_s": _number(meta.get("wall_time_s")),
        "first_nonfinite_step": min(firsts) if firsts else None,
        "config": config if isinstance(config, dict) else {},
    }


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _status(meta: dict[str, Any]) -> str:
    """The store's own word if it has one, else what the recorded wall time implies."""
    if isinstance(meta.get("status"), str):
        return str(meta["status"])
    if _number(meta.get("wall_time_s")) is not None:
        return "finished"
    return "no end recorded"


def _launches(reader: RunReader) -> int:
    """1 for a run never resumed; each resume adds a launch."""
    return max(1, len(reader.segments()))


def _steps(reader: RunReader) -> tuple[int, int] | None:
    """First and last step over the run's scalars (the series a run always has)."""
    spans = []
    for split, name in reader.scalar_names():
        s = reader.scalars(name, split=split, buckets=1)
        if len(s):
            last = s.last_steps if s.last_steps is not None else s.steps
            spans += [int(s.steps[0]), int(last[-1])]
    return (min(spans), max(spans)) if spans else None


def _text(value: Any, limit: int = _CELL) -> Text:
    """A store value as one line of plain text, control characters visible, cut in the middle."""
    if isinstance(value, str):
        raw = value
    else:
        raw = json.dumps(value, default=str, ensure_ascii=False, separators=(", ", ": "))
    return Text(shorten_middle(visible(raw), limit))


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _duration(s: float | None) -> str:
    if s is None:
        return "-"
    minutes, sec = divmod(round(s), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {sec:02d}s"


def _fixed_rows(runs: Sequence[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    def span(r: dict[str, Any]) -> str:
        return "-" if r["first_step"] is None else f"{r['first_step']} – {r['last_step']}"

    def nonfinite(r: dict[str, Any]) -> str:
        step = r["first_nonfinite_step"]
        return "-" if step is None else f"from step {step}"

    return [
        ("tags", [", ".join(r["tags"]) or "-" for r in runs]),
        ("note", [r["note"] or "-" for r in runs]),
        ("status", [r["status"] for r in runs]),
        ("launches", [str(r["launches"]) for r in runs]),
        ("steps", [span(r) for r in runs]),
        ("non-finite", [nonfinite(r) for r in runs]),
        ("started", [_when(r["started"]) for r in runs]),
        ("wall time", [_duration(r["wall_time_s"]) for r in runs]),
        ("path", [r["path"] for r in runs]),
    ]


def _config_rows(runs: Sequence[dict[str, Any]]) -> tuple[list[tuple[str, list[Any], bool]], int]:
    """(key, values, differ) per config key, differing keys first; and how many were cut."""
    keys = list(dict.fromkeys(k for r in runs for k in r["config"]))
    missing = object()
    rows = []
    for key in keys:
        values = [r["config"].get(key, missing) for r in runs]
        shown = ["-" if v is missing else v for v in values]
        differ = len({json.dumps(v, default=str, sort_keys=True) for v in shown}) > 1
        rows.append((key, shown, differ))
    rows.sort(key=lambda row: not row[2])  # stable: differing keys first, in logged order
    return rows[:MAX_CONFIG_ROWS], max(0, len(rows) - MAX_CONFIG_ROWS)


def settings_tables(runs: Sequence[dict[str, Any]]) -> list[Table]:
    """Tables of up to ``MAX_SIDE_BY_SIDE`` runs each: a row per setting, a column per run."""
    return [
        _table(runs[i : i + MAX_SIDE_BY_SIDE], i, len(runs))
        for i in range(0, len(runs), MAX_SIDE_BY_SIDE)
    ]


def _table(runs: Sequence[dict[str, Any]], first: int, total: int) -> Table:
    part = "" if total <= MAX_SIDE_BY_SIDE else f" ({first + 1}–{first + len(runs)} of {total})"
    table = Table(
        title=Text(f"Runs side by side{part}", style="bold"),
        box=box.SIMPLE_HEAD,
        caption=Text("≠ config values that differ between these runs", style="dim"),
    )
    table.add_column("")
    for r in runs:
        table.add_column(_text(r["name"], 30), overflow="fold")
    for label, values in _fixed_rows(runs):
        table.add_row(Text(label, style="dim"), *(_text(v) for v in values))
    config, cut = _config_rows(runs)
    if config:
        table.add_section()
    for key, values, differ in config:
        mark = Text("≠ ", style="bold yellow") if differ else Text("  ")
        key_cell = Text.assemble(mark, _text(key, 30))
        cells = [_text(v) for v in values]
        if differ:
            for cell in cells:
                cell.stylize("bold")
        table.add_row(key_cell, *cells)
    if cut:
        table.add_row(Text(f"… {cut} more config keys", style="dim"), *([""] * len(runs)))
    return table
