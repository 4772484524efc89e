"""``torchscope summary SPEC``: the module table, totals and memory estimates."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from torchscope.commands._common import (
    add_model_arguments,
    error_console,
    load_model_and_inputs,
    stdout_console,
)

NAME = "summary"
HELP = "module table with shapes, parameters, MACs and memory estimates"
DESCRIPTION = "Run one forward pass and print the model's summary table and totals."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument(
        "--depth", type=int, default=4, help="deepest module level shown (default 4)"
    )
    parser.add_argument("--no-fold", action="store_true", help="list repeated blocks one by one")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--width", type=int, help="table width in characters")


def run(args: argparse.Namespace) -> int:
    from torchscope._api import summary
    from torchscope.analysis.summary import summarize
    from torchscope.errors import SpecError, TraceError

    errors = error_console()
    try:
        model, call_args, inputs = load_model_and_inputs(args)
    except (SpecError, ValueError) as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 2
    fold = not args.no_fold
    try:
        with errors.status("tracing one forward pass…"):
            result = summary(model, *call_args, depth=args.depth, fold=fold, **inputs)
    except TraceError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False)
        if exc.partial is not None:
            _emit(summarize(exc.partial, depth=args.depth, fold=fold), args)
        return 1
    except ValueError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 2
    _emit(result, args)
    return 0


def _emit(result: Any, args: argparse.Namespace) -> None:
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        stdout_console(args.width).print(result)
