"""``torchscope demo``: the classic workflow end to end, on real data.

The seed workflow exactly: the two-layer ``SimpleNet`` (784 → 128 → 10, ReLU) trained on
scikit-learn's handwritten digits (upsampled to 28×28, a train/test split, DataLoaders)
under a Monitor, evaluated with ``torchscope.evaluate`` on the test loader every epoch;
then the parameter report, the graph, and one HTML report of it all, with a short digest
of where everything is. ``train_digits`` is the training loop, importable on its own.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchscope.commands._args import bounded_int
from torchscope.commands._common import error_console, stdout_console, width_arg

if TYPE_CHECKING:
    from torch import nn

    from torchscope.analysis.evaluation import Evaluation
    from torchscope.examples import Digits

NAME = "demo"
HELP = "the whole workflow on real data: SimpleNet trained on handwritten digits, one report"
DESCRIPTION = (
    "Train the classic two-layer SimpleNet (784 → 128 → 10) on scikit-learn's handwritten "
    "digits (8×8 scans upsampled to 28×28, nothing downloaded) under a Monitor, evaluating "
    "on a held-out test set every epoch; summarise and draw the model, inspect its weights, "
    "and write everything into one self-contained report.html."
)

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run", "train_digits"]


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


def train_digits(
    model: nn.Module,
    data: Digits,
    logdir: str | Path,
    *,
    epochs: int = 12,
    lr: float = 1e-3,
    on_step: Callable[[int], None] | None = None,
    on_epoch: Callable[[int, Evaluation], None] | None = None,
) -> Evaluation:
    """Train ``model`` with Adam under a Monitor, evaluating on the test set after every
    epoch (``torchscope.evaluate``, stored in the run as split ``test``); the last one.

    ``on_step(step)`` runs after each optimizer step, ``on_epoch(epoch, evaluation)`` after
    each evaluation (the progress bars hook in there).
    """
    import torch
    from torch import nn

    from torchscope._api import evaluate
    from torchscope.examples import DEMO_INPUT_SIZE
    from torchscope.monitor.monitor import Monitor

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    config = {
        "model": "SimpleNet(784 → 128 → 10)",
        "data": f"sklearn digits 8×8 → 28×28, {data.train_size} train / {data.test_size} test",
        "epochs": epochs,
        "batch_size": data.train.batch_size,
        "optimizer": f"Adam(lr={lr:g})",
    }
    example = (torch.zeros(DEMO_INPUT_SIZE),)  # the Monitor stores the summary with the run
    step, evaluation = 0, None
    with Monitor(
        model, optimizer, logdir=str(logdir), config=config, example_input=example,
        every=5, activations_every=20, histograms_every=100, run_name="digits-simplenet",
    ) as monitor:  # fmt: skip
        for epoch in range(1, epochs + 1):
            model.train()
            for x, y in data.train:
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                monitor.log(step, loss=loss.detach(), lr=optimizer.param_groups[0]["lr"])
                step += 1
                if on_step is not None:
                    on_step(step)
            evaluation = evaluate(
                model, data.test, loss_fn=loss_fn, labels=data.labels, monitor=monitor,
                step=step - 1, split="test", progress=False,
            )  # fmt: skip
            if on_epoch is not None:
                on_epoch(epoch, evaluation)
    if evaluation is None:
        raise ValueError("epochs must be at least 1")
    return evaluation


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
        evaluation = _train(model, data, out / "run", args.epochs)
    finally:
        torch.set_num_threads(threads)
    params = _parameters(model, console)
    view, files = _graphs(graph, out, console)
    evaluation_json = out / "evaluation.json"
    evaluation_json.write_text(evaluation.to_json(indent=1) + "\n", encoding="utf-8")
    files.append(evaluation_json)
    report_path = _report(summary_, view, params, evaluation, out, console)
    _digest(console, evaluation, args.epochs, out, report_path, files)
    return 0


def _train(model: Any, data: Digits, run_dir: Path, epochs: int) -> Evaluation:
    """Train with two progress bars (epochs, batches); the last test evaluation."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=error_console(), transient=False) as bars:
        epoch_bar = bars.add_task("epochs", total=epochs)
        batch_bar = bars.add_task("batches", total=epochs * len(data.train))

        def on_epoch(epoch: int, ev: Evaluation) -> None:
            accuracy = 100 * ev.metrics["accuracy"]
            bars.update(epoch_bar, advance=1, description=f"epochs (test accuracy {accuracy:.1f}%)")

        return train_digits(
            model,
            data,
            run_dir,
            epochs=epochs,
            on_step=lambda _: bars.advance(batch_bar),
            on_epoch=on_epoch,
        )


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


def _report(
    summary_: Any, view: Any, params: Any, evaluation: Evaluation, out: Path, console: Any
) -> Path:
    from torchscope.render.report import Report

    with console.status("writing the report…"):
        report = Report(
            title="SimpleNet on handwritten digits",
            summary=summary_,
            graph=view,
            params=params,
            run=out / "run",
            evaluation=evaluation,
            sources={"model": "torchscope.examples:SimpleNet", "data": "sklearn digits"},
        )
        return report.save(out / "report.html")


def _digest(
    console: Any, ev: Evaluation, epochs: int, out: Path, report: Path, files: list[Path]
) -> None:
    """Final test metrics, where each file is, and how to look at the run live."""
    from torchscope.commands import command_names

    m = ev.metrics
    console.rule("[bold]done")
    console.print(
        f"final test accuracy {100 * m['accuracy']:.2f}% · macro F1 {m['macro_f1']:.4f} · "
        f"test loss {m['loss']:.4f} ({ev.samples} test digits, after {epochs} epochs)",
        highlight=False,
    )
    rows = [("report", report), ("run store", out / "run")]
    rows += [("evaluation" if p.suffix == ".json" else "graph", p) for p in files]
    for what, path in rows:
        console.print(f"  {what:<10} {path}", highlight=False, markup=False)
    console.print(f"  open it:   {report.resolve().as_uri()}", highlight=False, markup=False)
    if "serve" in command_names():
        console.print(f"  live view: torchscope serve {out}", highlight=False, markup=False)
