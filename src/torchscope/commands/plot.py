"""``torchscope plot RUNDIR [RUNDIR...] -o DIR``: the figures of training runs, as files."""

from __future__ import annotations

import argparse
import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from torchscope.commands._args import bounded_int, path_arg
from torchscope.commands._common import error_console, stdout_console

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from torchscope.store.reader import RunReader

NAME = "plot"
HELP = "learning curves, confusion matrices and layer statistics of runs, as image files"
DESCRIPTION = (
    "Draw every figure a run's store has data for (learning curves, confusion matrix, "
    "per-class metrics, gradient flow, update/weight ratios, dead units) and, for several "
    "runs, a comparison. A RUNDIR may also be a folder holding several runs."
)

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


def run(args: argparse.Namespace) -> int:
    from torchscope.store.reader import RunReader, find_runs

    errors = error_console()
    run_dirs = [d for r in args.runs for d in find_runs(r)]
    if not run_dirs:
        errors.print(f"[bold red]error:[/] no torchscope run under {', '.join(args.runs)}")
        return 2
    try:
        readers = [RunReader(d) for d in run_dirs]
    except (OSError, ValueError) as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 2
    try:
        figures = _all_figures(readers, run_dirs)
        written = [
            _save(fig, args.out / f"{stem}.{args.format}", args.dpi) for stem, fig in figures
        ]
    finally:
        for reader in readers:
            reader.close()
    out = stdout_console()
    for path in written:
        out.print(str(path), highlight=False, markup=False, soft_wrap=True)
    if not written:
        errors.print("[yellow]warning:[/] the runs hold no data to plot yet")
        return 1
    return 0


def _all_figures(runs: list[RunReader], run_dirs: list[Path]) -> list[tuple[str, Figure]]:
    """(file stem, figure) pairs: per run under a sub-folder when there are several runs."""
    from torchscope.render.run_plots import compare_runs, run_figures

    folders = _folder_names(run_dirs)
    out: list[tuple[str, Figure]] = []
    for reader, folder in zip(runs, folders):
        prefix = f"{folder}/" if len(runs) > 1 else ""
        out += [(prefix + stem, fig) for stem, fig in run_figures(reader).items()]
    if len(runs) > 1 and all(r.scalar_names() for r in runs):
        with contextlib.suppress(ValueError):  # raised when the runs share no scalar
            out.append(("compare", compare_runs(runs)))
    return out


def _folder_names(run_dirs: list[Path]) -> list[str]:
    """A safe, unique folder name per run: its directory name, numbered on collisions."""
    names: list[str] = []
    for d in run_dirs:
        base = re.sub(r"[^\w.-]+", "_", (d.parent if d.is_file() else d).resolve().name) or "run"
        name, i = base, 2
        while name in names:
            name, i = f"{base}_{i}", i + 1
        names.append(name)
    return names


def _save(fig: Figure, path: Path, dpi: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
