"""``torchscope demo``: the classic workflow end to end, on real data.

The seed workflow exactly: the two-layer ``SimpleNet`` (784 → 128 → 10, ReLU) trained on
scikit-learn's handwritten digits (upsampled to 28×28, a train/test split, DataLoaders)
under a Monitor, evaluated on the test loader every epoch; then the parameter report, the
graph, and one HTML report of it all, with a short digest of where everything is.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from torchscope.commands._args import bounded_int
from torchscope.commands._common import error_console, stdout_console, width_arg

NAME = "demo"
HELP = "the whole workflow on real data: SimpleNet trained on handwritten digits, one report"
DESCRIPTION = (
    "Train the classic two-layer SimpleNet (784 → 128 → 10) on scikit-learn's handwritten "
    "digits (8×8 scans upsampled to 28×28, nothing downloaded) under a Monitor, evaluating "
    "on a held-out test set every epoch; summarise and draw the model, inspect its weights, "
    "and write everything into one self-contained report.html."
)

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--width", type=width_arg, help="table width in characters (20-1000)")
    parser.add_argument(
        "-o", "--out", default="torchscope-demo", help="folder for the files (default: %(default)s)"
    )
    parser.add_argument(
        "--epochs",
        type=bounded_int(1, 200),
        default=12,
        help="training epochs over the 1,347 training images, 1 to 200 (default 12)",
    )
    parser.add_argument("--summary-only", action="store_true", help="print the summary only")


def run(args: argparse.Namespace) -> int:
    import torch

    from torchscope._api import summary, trace
    from torchscope.examples import DEMO_INPUT_SIZE, SimpleNet, digits

    console = stdout_console(args.width)
    console.rule("[bold]torchscope demo: SimpleNet on scikit-learn's handwritten digits")
    torch.manual_seed(0)
    model = SimpleNet()
    graph = trace(model, input_size=DEMO_INPUT_SIZE)  # one capture: table, drawing, report
    summary_ = summary(graph)
    console.print(summary_)
    if args.summary_only:
        return 0
    data = digits()
    console.print(
        f"data: {data.train_size + data.test_size:,} digits, 8×8 upsampled to 28×28 · "
        f"{data.train_size:,} train / {data.test_size:,} test · batch {data.train.batch_size}",
        highlight=False,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # A 784×128 matmul on a batch of 32 is too small to share between threads: on a busy
    # 2-core machine two threads spin-waiting made 3 epochs take 13.4 s instead of 0.4 s.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        history = _train(model, data, out / "run", args.epochs)
    finally:
        torch.set_num_threads(threads)
    params = _parameters(model, console)
    view, files = _graphs(graph, out, console)
    report_path = _report(summary_, view, params, out, console)
    _digest(console, history, out, report_path, files)
    return 0


def _train(model: Any, data: Any, run_dir: Path, epochs: int) -> list[dict[str, float]]:
    """Train with two progress bars (epochs, batches); the test metrics of every epoch."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from torchscope.examples import train_digits

    history: list[dict[str, float]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=error_console(), transient=False) as bars:
        epoch_bar = bars.add_task("epochs", total=epochs)
        batch_bar = bars.add_task("batches", total=epochs * len(data.train))

        def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
            history.append(metrics)
            bars.update(
                epoch_bar,
                advance=1,
                description=f"epochs (test accuracy {100 * metrics['accuracy']:.1f}%)",
            )

        train_digits(
            model,
            data,
            run_dir,
            epochs=epochs,
            on_step=lambda _: bars.advance(batch_bar),
            on_epoch=on_epoch,
        )
    return history


def _parameters(model: Any, console: Any) -> Any:
    from torchscope._api import inspect_params

    params = inspect_params(model, spectral=True)
    console.rule("[bold]parameters after training")
    console.print(params)
    return params


def _graphs(graph: Any, out: Path, console: Any) -> tuple[Any, list[Path]]:
    from torchscope._api import draw
    from torchscope.errors import GraphvizNotFound

    view = draw(graph)
    files = [view.save(out / "graph.html")]
    try:
        files.append(view.save(out / "graph.svg"))
    except GraphvizNotFound as exc:
        console.print(f"[yellow]skipped graph.svg:[/] {exc}")
    return view, files


def _report(summary_: Any, view: Any, params: Any, out: Path, console: Any) -> Path:
    from torchscope.render.report import Report

    with console.status("writing the report…"):
        report = Report(
            title="SimpleNet on handwritten digits",
            summary=summary_,
            graph=view,
            params=params,
            run=out / "run",
            sources={"model": "torchscope.examples:SimpleNet", "data": "sklearn digits"},
        )
        return report.save(out / "report.html")


def _digest(
    console: Any, history: list[dict[str, float]], out: Path, report: Path, files: list[Path]
) -> None:
    """Final test metrics, where each file is, and how to look at the run live."""
    from torchscope.commands import command_names
    from torchscope.store.reader import RunReader

    with RunReader(out / "run") as run:
        f1 = run.scalars("macro_f1", split="test").values
    last = history[-1]
    console.rule("[bold]done")
    console.print(
        f"final test accuracy {100 * last['accuracy']:.2f}% · macro F1 {float(f1[-1]):.4f} · "
        f"test loss {last['loss']:.4f} (after {len(history)} epochs)",
        highlight=False,
    )
    rows = [("report", report), ("run store", out / "run")] + [("graph", p) for p in files]
    for what, path in rows:
        console.print(f"  {what:<10} {path}", highlight=False, markup=False)
    console.print(f"  open it:   {report.resolve().as_uri()}", highlight=False, markup=False)
    if "serve" in command_names():
        console.print(f"  live view: torchscope serve {out}", highlight=False, markup=False)
