"""``torchscope plot RUNDIR [RUNDIR...] -o DIR``: the figures of training runs, as files.

A run store is input someone else may have made: every file name built from it goes
through ``safe_stem``, every path is checked to stay under ``-o``, and a store that
cannot be read ends in one error line and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchscope.commands._args import bounded_int, path_arg
from torchscope.commands._common import error_console, stdout_console

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from torchscope.store.reader import RunReader

NAME = "plot"
HELP = "learning curves, confusion matrices and layer statistics of runs, as image files"
DESCRIPTION = """\
Draw every figure a run's store has data for (learning curves, confusion matrix,
per-class metrics, gradient flow, update/weight ratios, dead units, distributions) and,
for several runs, a comparison. A RUNDIR may also be a folder holding several runs.

Learning curves show at most 12 scalars (6 in a comparison), losses first; constant
scalars are named in a note instead of drawn. --metric REGEX chooses the scalars; what
is left out is named on stderr.

  torchscope plot runs/exp1 -o plots
  torchscope plot runs/ -o plots --metric 'loss|acc'"""

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "runs",
        nargs="+",
        type=path_arg,
        metavar="RUNDIR",
        help="run directory (or a folder of runs)",
    )
    parser.add_argument(
        "-o", "--out", type=Path, default=Path("plots"), help="output folder (default: plots)"
    )
    parser.add_argument(
        "--format", choices=["png", "svg", "pdf"], default="png", help="image format (default png)"
    )
    parser.add_argument(
        "--dpi",
        type=bounded_int(10, 1000),
        default=120,
        help="resolution of PNG files, 10 to 1000 (default 120)",
    )
    parser.add_argument(
        "--metric",
        metavar="REGEX",
        help="draw the learning curves of the scalars whose name matches REGEX",
    )


def run(args: argparse.Namespace) -> int:
    from torchscope.commands._errors import one_line
    from torchscope.store.reader import find_runs

    if args.metric is not None:
        try:
            re.compile(args.metric)
        except re.error as exc:
            raise ValueError(
                f"--metric {args.metric!r} is not a regular expression: {exc}"
            ) from None
    run_dirs = [d for r in args.runs for d in find_runs(r)]
    if not run_dirs:
        raise FileNotFoundError(f"no torchscope run under {', '.join(args.runs)}")
    figures, notes = _all_figures(run_dirs, args.metric)
    written = [_save(fig, args.out, f"{stem}.{args.format}", args.dpi) for stem, fig in figures]
    errors = error_console()
    for note in notes:
        _say(errors, "note", one_line(note))
    out = stdout_console()
    for path in written:
        out.print(one_line(str(path)), highlight=False, markup=False, soft_wrap=True)
    if not written:
        _say(errors, "warning", "the runs hold no data to plot yet")
        return 1
    return 0


def _all_figures(
    run_dirs: list[Path], metric: str | None
) -> tuple[list[tuple[str, Figure]], list[str]]:
    """(file stem, figure) pairs, per run under a sub-folder when there are several runs,
    and the notes saying what was left out. Raises UnreadableRun naming a run it cannot read.
    """
    from torchscope.commands._stores import reading
    from torchscope.render.run_plots import compare_runs, left_out, run_figures
    from torchscope.store.reader import RunReader

    folders = _folder_names(run_dirs)
    out: list[tuple[str, Figure]] = []
    notes: list[str] = []
    readers: list[RunReader] = []
    try:
        for run_dir, folder in zip(run_dirs, folders):
            with reading(run_dir):
                reader = RunReader(run_dir)
                readers.append(reader)
                prefix = f"{folder}/" if len(run_dirs) > 1 else ""
                figures = run_figures(reader, metric=metric)
                out += [(prefix + stem, fig) for stem, fig in figures.items()]
                notes += [f"{prefix}{n}" for n in left_out(reader, metric=metric)]
        if len(readers) > 1 and all(r.scalar_names() for r in readers):
            with contextlib.suppress(ValueError):  # raised when the runs share no scalar
                out.append(("compare", compare_runs(readers, metric=metric)))
    finally:
        for reader in readers:
            reader.close()
    return out, notes


def _folder_names(run_dirs: list[Path]) -> list[str]:
    """A safe, unique folder name per run: its directory name, numbered on collisions."""
    from torchscope.render.file_names import safe_stem

    names: list[str] = []
    for d in run_dirs:
        base = safe_stem((d.parent if d.is_file() else d).resolve().name or "run")
        name, i = base, 2
        while name in names:
            name, i = f"{base}_{i}", i + 1
        names.append(name)
    return names


def _save(fig: Figure, out: Path, relative: str, dpi: int) -> Path:
    """Write ``fig`` to ``out/relative``, refusing any path that resolves outside ``out``."""
    from torchscope.render.file_names import path_inside

    path = path_inside(out, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def _say(console: Any, level: str, line: str) -> None:
    """``level: line`` on stderr as plain text (``line`` already made one safe line)."""
    from rich.text import Text

    style = {"warning": "yellow", "note": "cyan"}[level]
    console.print(Text.assemble((f"{level}:", style), " ", line), highlight=False, soft_wrap=True)
