"""``torchscope runs PATH...``: an overview of each training run found under the paths."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from torchscope.commands._args import path_arg
from torchscope.commands._common import stdout_console, width_arg

NAME = "runs"
HELP = "overview of training runs: settings, scalars with their last values, statistics, events"
DESCRIPTION = """\
Print an overview of each run stored at or below the PATHs (a run directory, a folder
holding several runs, or a run.sqlite file): steps and wall time, environment, monitor
settings and config, model totals, every scalar with its first/last/min/max value, the
layer statistics, histograms and confusion matrices it holds, and its events (a first
non-finite value is shown in red). Several runs are first listed side by side: name,
tags, note, status, launches, steps and the config values, those that differ marked ≠.

  torchscope runs runs/exp1
  torchscope runs runs/ --json | jq .scalars

--json prints one JSON object per run, one per line (JSON Lines)."""

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        type=path_arg,
        metavar="PATH",
        help="run directory, folder of runs, or run.sqlite",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object per run (JSON Lines) instead"
    )
    parser.add_argument("--width", type=width_arg, help="table width in characters (20-1000)")


def run(args: argparse.Namespace) -> int:
    from torchscope.render.run_table import settings_tables
    from torchscope.render.run_text import overview_renderables
    from torchscope.store.reader import find_runs

    found = {p: find_runs(p) for p in args.paths}
    empty = [p for p, dirs in found.items() if not dirs]
    if empty:
        raise FileNotFoundError(f"no torchscope run under {', '.join(empty)}")
    run_dirs = list(dict.fromkeys(d for dirs in found.values() for d in dirs))
    overviews: list[dict[str, Any]] = []
    settings: list[dict[str, Any]] = []
    for d in run_dirs:
        overview, setting = _read(d)
        overviews.append(overview)
        settings.append(setting)
    if args.json:
        for o, s in zip(overviews, settings):
            extra = {k: s[k] for k in ("tags", "note", "status", "launches")}
            sys.stdout.write(json.dumps(o | extra, default=str) + "\n")
        return 0
    out = stdout_console(args.width)
    if len(settings) > 1:
        for table in settings_tables(settings):
            out.print(table)
            out.print()
    for i, o in enumerate(overviews):
        if i:
            out.print()
        for renderable in overview_renderables(o, out.width):
            out.print(renderable)
    return 0


def _read(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The overview and the settings of one run, its reader closed afterwards.

    Raises UnreadableRun, naming the run, when its store cannot be read.
    """
    from torchscope.commands._stores import reading
    from torchscope.render.run_overview import run_overview
    from torchscope.render.run_table import run_settings
    from torchscope.store.reader import RunReader

    with reading(run_dir), RunReader(run_dir) as reader:
        return run_overview(reader), run_settings(reader)
