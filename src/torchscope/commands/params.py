"""``torchscope params SOURCE``: statistics, health, importance and spectra of the weights."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torchscope.commands._common import error_console, stdout_console

NAME = "params"
HELP = "weight statistics, health flags, importance and spectral quality of a model or checkpoint"
DESCRIPTION = (
    "Per-tensor statistics (mean, std, range, |w|, L2, zeros, NaN/Inf, percentiles, "
    "histograms), aggregated per module and in total; health flags with the threshold each "
    "crossed; magnitude importance; and with --spectral the power-law fit of every weight's "
    "eigenvalue spectrum (alpha, as WeightWatcher computes it). SOURCE is a checkpoint "
    "(.safetensors, .pt/.pth/.bin read with weights_only=True, or a directory of shards with "
    "its index JSON), read one tensor at a time, or a model spec built with random weights."
)

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]

SOURCE_HELP = (
    "a checkpoint (.safetensors, .pt, .pth, .bin, or a directory of shards), or a model "
    "spec: hf:<TransformersClass>, package.module:Name or path/to/file.py:Name"
)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``params`` and ``diff``."""
    parser.add_argument(
        "--config", nargs="+", default=[], metavar="KEY=VALUE", help="hf: config overrides"
    )
    parser.add_argument(
        "--device", help="where to compute (e.g. cuda); default: where the tensors are"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--width", type=int, help="table width in characters")
    parser.add_argument(
        "--rows", type=int, default=60, help="longest table shown (0: all rows; default 60)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)
    parser.add_argument(
        "--spectral", action="store_true", help="fit the ESD tail of every weight matrix (alpha)"
    )
    parser.add_argument(
        "--by", choices=("tensor", "module"), default="tensor", help="table rows (default tensor)"
    )
    parser.add_argument(
        "-o", "--out", type=Path, metavar="DIR", help="write the figures (PNG) to this folder"
    )
    parser.add_argument("--log", action="store_true", help="log-scale histogram counts")
    parser.add_argument(
        "--heatmap", nargs="+", default=[], metavar="TENSOR", help="with -o: heatmaps of these"
    )
    parser.add_argument(
        "--include-buffers", action="store_true", help="also analyse a model's float buffers"
    )
    parser.add_argument(
        "--near-zero",
        type=float,
        default=1e-3,
        help="near zero: |w| <= this × max|w| of the tensor (default 1e-3)",
    )
    add_source_arguments(parser)


def load_source(text: str, config: list[str]) -> Any:
    """A checkpoint path as it is, or the model a spec builds (built once, so that every
    later look at it sees the same random weights). Raises ValueError for bad input."""
    from torchscope.sources.checkpoint import is_checkpoint_path
    from torchscope.sources.spec import load_model, parse_config_overrides

    if is_checkpoint_path(text):
        if config:
            raise ValueError("--config applies to model specs (hf:…), not to checkpoints")
        return text
    with error_console().status(f"building {text}…"):
        return load_model(text, parse_config_overrides(config)).model


def run(args: argparse.Namespace) -> int:
    from torchscope._api import inspect_params

    errors = error_console()
    try:
        source = load_source(args.source, args.config)
        report = inspect_params(
            source,
            spectral=args.spectral,
            include_buffers=args.include_buffers,
            device=args.device,
            near_zero=args.near_zero,
            progress=not args.json,
        )
    except (ValueError, OSError) as exc:  # CheckpointError and SpecError are ValueErrors
        errors.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 2
    from torchscope.render.param_text import report_renderables

    view = "modules" if args.by == "module" else "tensors"
    emit(report, args, lambda width: report_renderables(report, width, view, args.rows or None))
    if args.out is not None:
        return _save(report, source, args, errors)
    return 0


def _save(report: Any, source: Any, args: argparse.Namespace, errors: Any) -> int:
    from torchscope.render.param_plots import weight_heatmap
    from torchscope.sources.checkpoint import tensor_source

    figures = report.figures(log=args.log)
    if args.heatmap:
        try:
            with tensor_source(source, include_buffers=True) as src:
                for name in args.heatmap:
                    if name not in src:
                        errors.print(f"[bold red]error:[/] no tensor named {name!r}")
                        return 2
                    figures[f"heatmap_{name}"] = weight_heatmap(src.get(name), name)
        except ValueError as exc:
            errors.print(f"[bold red]error:[/] {exc}", highlight=False)
            return 2
    write_figures(figures, args.out)
    return 0


def emit(result: Any, args: argparse.Namespace, renderables: Callable[[int], Any]) -> None:
    """``--json`` prints the result's JSON; otherwise its renderables at the console width."""
    if args.json:
        sys.stdout.write(result.to_json() + "\n")
        return
    console = stdout_console(args.width)
    for item in renderables(console.width):
        console.print(item)


def write_figures(figures: dict[str, Any], out: Path) -> None:
    """Save the figures as PNG files in ``out`` and say where each went (on stderr)."""
    from torchscope.render.param_plots import save_figures

    for path in save_figures(figures, out):
        error_console().print(f"wrote {path}", highlight=False, soft_wrap=True)
