"""``torchscope summary SPEC``: the module table, totals and memory estimates."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from torchscope.commands._args import bounded_int
from torchscope.commands._common import (
    add_model_arguments,
    error_console,
    load_model_and_inputs,
    stdout_console,
    width_arg,
)

NAME = "summary"
HELP = "module table with shapes, parameters, MACs and memory estimates"
DESCRIPTION = "Run one forward pass and print the model's summary table and totals."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument(
        "--depth",
        type=bounded_int(0, 1000),
        default=4,
        help="deepest module level shown (default 4)",
    )
    parser.add_argument("--no-fold", action="store_true", help="list repeated blocks one by one")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--width", type=width_arg, help="table width in characters (20-1000)")


def run(args: argparse.Namespace) -> int:
    from torchscope._api import summary
    from torchscope.analysis.summary import summarize
    from torchscope.errors import TraceError

    model, call_args, inputs = load_model_and_inputs(args)
    fold = not args.no_fold
    try:
        with error_console().status("tracing one forward pass…"):
            result = summary(model, *call_args, depth=args.depth, fold=fold, **inputs)
    except TraceError as exc:  # show what was captured; cli.main reports the error
        if exc.partial is not None:
            _emit(summarize(exc.partial, depth=args.depth, fold=fold), args)
        raise
    _emit(result, args)
    return 0


def _emit(result: Any, args: argparse.Namespace) -> None:
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        stdout_console(args.width).print(result)
