"""``torchscope demo``: the whole picture on a small built-in model."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from torchscope.commands._args import bounded_int
from torchscope.commands._common import stdout_console, width_arg

NAME = "demo"
HELP = "the whole picture on a small built-in model (an MLP for 28×28 images)"
DESCRIPTION = (
    "Summarise a small built-in MLP, draw its graph, train it briefly on synthetic digits "
    "under a Monitor, and write the graph, parameter and run plots to a folder."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--width", type=width_arg, help="table width in characters (20-1000)")
    parser.add_argument(
        "-o", "--out", default="torchscope-demo", help="folder for the files (default: %(default)s)"
    )
    parser.add_argument(
        "--steps",
        type=bounded_int(1, 100_000),
        default=300,
        help="training steps, 1 to 100,000 (default 300)",
    )
    parser.add_argument("--summary-only", action="store_true", help="print the summary only")


def run(args: argparse.Namespace) -> int:
    from torchscope._api import summary, trace
    from torchscope.examples import DEMO_INPUT_SIZE, DemoMLP

    console = stdout_console(args.width)
    console.rule("[bold]torchscope demo: a two-layer MLP for 28×28 images")
    model = DemoMLP()
    graph = trace(model, input_size=DEMO_INPUT_SIZE)  # one capture serves table and drawings
    console.print(summary(graph))
    if args.summary_only:
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = _graphs(graph, out, console)
    with console.status(f"training {args.steps} steps on synthetic digits under a Monitor…"):
        written += _training(model, out, args.steps)
    written += _parameters(model, out, console)
    console.rule("[bold]files")
    for path in written:
        console.print(f"  {path}")
    serve = f"torchscope serve {shlex.quote(str(out / 'run'))}"
    hint = f"\nsee the run in the live dashboard:  {serve}"
    console.print(hint, markup=False, highlight=False, soft_wrap=True)  # one line to copy
    return 0


def _graphs(graph: Any, out: Path, console: Any) -> list[Path]:
    from torchscope._api import draw
    from torchscope.errors import GraphvizNotFound

    view = draw(graph)
    written = [view.save(out / "graph.html")]
    try:
        written.append(view.save(out / "graph.svg"))
    except GraphvizNotFound as exc:
        console.print(f"[yellow]skipped graph.svg:[/] {exc}")
    return written


def _training(model: Any, out: Path, steps: int) -> list[Path]:
    from torchscope.examples import train_demo
    from torchscope.render.run_plots import run_figures

    run_dir = train_demo(model, out / "run", steps=steps)
    written = [run_dir]
    for stem, figure in run_figures(run_dir).items():
        path = out / f"run_{stem}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        written.append(path)
    return written


def _parameters(model: Any, out: Path, console: Any) -> list[Path]:
    from torchscope._api import inspect_params

    report = inspect_params(model)
    console.rule("[bold]parameters after training")
    console.print(report)
    return list(report.save(out / "params"))
