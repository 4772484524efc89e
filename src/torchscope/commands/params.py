"""``torchscope params SOURCE``: statistics, health, importance and spectra of the weights."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torchscope.commands._args import (
    bounded_float,
    bounded_int,
    device_name,
    key_value,
    path_arg,
)
from torchscope.commands._common import CODE_NOTE, error_console, status, stdout_console, width_arg

NAME = "params"
HELP = "weight statistics, health flags, importance and spectral quality of a model or checkpoint"
DESCRIPTION = (
    "Per-tensor statistics (mean, std, range, |w|, L2, zeros, NaN/Inf, percentiles, "
    "histograms), aggregated per module and in total; health flags with the threshold each "
    "crossed; magnitude importance; and with --spectral the power-law fit of every weight's "
    "eigenvalue spectrum (alpha, as WeightWatcher computes it). SOURCE is a checkpoint "
    "(.safetensors, .pt/.pth/.bin read with weights_only=True, or a directory of shards with "
    "its index JSON), read one tensor at a time, or a model spec built with random weights. "
    + CODE_NOTE
    + " Exits 1 when a health check finds an error (NaN or Inf weights)."
)

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]

SOURCE_HELP = (
    "a checkpoint (.safetensors, .pt, .pth, .bin, or a directory of shards), or a model "
    "spec: hf:<TransformersClass>, package.module:Name or path/to/file.py:Name (a spec runs "
    "that code; a checkpoint is only read)"
)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``params`` and ``diff``."""
    parser.add_argument(
        "--config",
        type=key_value,
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="hf: config overrides (unknown keys are refused)",
    )
    parser.add_argument(
        "--init",
        type=key_value,
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="constructor arguments of a package.module:Name or file.py:Name spec",
    )
    parser.add_argument(
        "--device",
        type=device_name,
        help="where to compute (e.g. cuda); default: where the tensors are",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--width", type=width_arg, help="table width in characters (20-1000)")
    parser.add_argument(
        "--rows",
        type=bounded_int(0, 10**9),
        default=60,
        help="longest table shown (0: all rows; default 60)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", type=path_arg, metavar="SOURCE", help=SOURCE_HELP)
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
        type=bounded_float(0.0, 1.0),
        default=1e-3,
        help="near zero: |w| <= this × max|w| of the tensor (default 1e-3)",
    )
    add_source_arguments(parser)


def load_source(text: str, config: list[tuple[str, Any]], init: list[tuple[str, Any]]) -> Any:
    """A checkpoint path as it is, or the model a spec builds (built once, so that every
    later look at it sees the same random weights). Raises ValueError for bad input."""
    from torchscope.sources.checkpoint import is_checkpoint_path
    from torchscope.sources.spec import load_model

    if is_checkpoint_path(text):
        if config or init:
            raise ValueError("--config and --init apply to model specs, not to checkpoints")
        return text
    with status(f"building {text}…"):
        return load_model(text, dict(config), init=dict(init)).model


def run(args: argparse.Namespace) -> int:
    from torchscope._api import inspect_params
    from torchscope.render.param_text import report_renderables

    source = load_source(args.source, args.config, args.init)
    report = inspect_params(
        source,
        spectral=args.spectral,
        include_buffers=args.include_buffers,
        device=args.device,
        near_zero=args.near_zero,
        progress=not args.json,
    )
    view = "modules" if args.by == "module" else "tensors"
    emit(report, args, lambda width: report_renderables(report, width, view, args.rows or None))
    if args.out is not None:
        _save(report, source, args)
    if report.has_errors:  # broken weights are a failed check, for scripts and CI alike
        broken = sorted({f.tensor for f in report.flags if f.severity == "error"})
        error_console().print(
            f"error: {len(broken)} tensor(s) hold NaN or Inf values (see the health flags)",
            markup=False, highlight=False, soft_wrap=True,
        )  # fmt: skip
        return 1
    return 0


def _save(report: Any, source: Any, args: argparse.Namespace) -> None:
    from torchscope.render.param_plots import weight_heatmap
    from torchscope.sources.checkpoint import tensor_source

    figures = report.figures(log=args.log)
    if args.heatmap:
        with tensor_source(source, include_buffers=True) as src:
            for name in args.heatmap:
                if name not in src:
                    raise ValueError(f"--heatmap: no tensor named {name!r}")
                figures[f"heatmap_{_file_stem(name)}"] = weight_heatmap(src.get(name), name)
    write_figures(figures, args.out)


def _file_stem(name: str) -> str:
    """A tensor name (from a checkpoint: hostile) as a file name that stays in its folder."""
    return re.sub(r"[^\w.-]+", "_", name).strip(".")[:120] or "tensor"


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
        error_console().print(f"wrote {path}", highlight=False, markup=False, soft_wrap=True)
