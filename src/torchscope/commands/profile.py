"""``torchscope profile SPEC``: time and memory of real training steps, module by module."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Any

from torchscope.commands._args import bounded_float, bounded_int, path_arg
from torchscope.commands._common import (
    add_model_arguments,
    error_console,
    load_model_and_inputs,
    status,
    stdout_console,
    width_arg,
)

NAME = "profile"
HELP = "time, memory and FLOP/s of real training steps per module"
DESCRIPTION = (
    "Run warm-up steps, then profile forward and backward passes with torch.profiler: per "
    "module, median time (inclusive and self), peak and retained memory, achieved FLOP/s, "
    "arithmetic intensity and, on a known GPU, MFU. hf: language models get labels, so the "
    "step computes their loss."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--no-backward", action="store_true", help="profile the forward only")
    parser.add_argument(
        "--warmup", type=bounded_int(1, 1000), default=3, help="unprofiled steps first (3)"
    )
    parser.add_argument(
        "--repeat", type=bounded_int(1, 1000), default=10, help="profiled steps (default 10)"
    )
    parser.add_argument(
        "--depth", type=bounded_int(0, 1000), default=3, help="deepest module level shown (3)"
    )
    parser.add_argument(
        "--peak-tflops",
        type=bounded_float(1e-6, 1e9),
        help="the device's peak TFLOP/s for MFU (default: the built-in table of GPUs)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument(
        "-o", "--output", type=path_arg, metavar="FILE.html", help="also write an HTML report"
    )
    parser.add_argument(
        "--graph",
        type=path_arg,
        metavar="FILE",
        help="also draw the graph coloured by time (.html .svg .png .pdf .dot)",
    )
    parser.add_argument("--width", type=width_arg, help="table width in characters (20-1000)")


def run(args: argparse.Namespace) -> int:
    import json

    from torchscope._api import profile

    if args.output and Path(args.output).suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"-o writes an HTML report: give a .html path, not {args.output!r}")
    model, call_args, inputs = load_model_and_inputs(args)
    if args.spec.startswith("hf:") and not args.no_backward:
        inputs = with_labels(model, inputs)
    with error_console().status("profiling training steps…"):
        result = profile(
            model, *call_args, backward=not args.no_backward, warmup=args.warmup,
            repeat=args.repeat, depth=args.depth, peak_tflops=args.peak_tflops, **inputs,
        )  # fmt: skip
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        stdout_console(args.width).print(result)
    if args.output:
        _write_html(result, Path(args.output))
    if args.graph:
        _write_graph(result, args.graph)
    return 0


def with_labels(model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Token inputs as labels too, when the model takes them: the step computes its loss."""
    ids = inputs.get("input_ids")
    try:
        takes = "labels" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        takes = False
    if ids is None or not takes or "labels" in inputs:
        return inputs
    return {**inputs, "labels": ids}


def _write_html(result: Any, path: Path) -> None:
    from torchscope.render.profile_html import profile_page

    with status(f"writing {path}…"):
        path.write_text(profile_page(result), encoding="utf-8")
    error_console().print(f"wrote {path}", highlight=False, markup=False, soft_wrap=True)


def _write_graph(result: Any, out: str) -> None:
    from torchscope._api import draw

    view = draw(result.graph, color_by=result.time_by_module())
    with status(f"writing {out}…"):
        path = view.save(out)
    error_console().print(f"wrote {path} ({view})", highlight=False, markup=False, soft_wrap=True)
