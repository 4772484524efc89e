"""``torchscope diff A B``: what changed between two models or checkpoints."""

from __future__ import annotations

import argparse
from pathlib import Path

from torchscope.commands._args import path_arg
from torchscope.commands.params import (
    SOURCE_HELP,
    add_source_arguments,
    emit,
    load_source,
    write_figures,
)

NAME = "diff"
HELP = "compare two models or checkpoints tensor by tensor (relative change, cosine)"
DESCRIPTION = (
    "Match the tensors of A and B by name and report those added, removed or reshaped, and "
    "for the rest the relative change ‖b−a‖/‖a‖, the cosine similarity and the largest "
    "change of one value, per tensor and per layer. One pair of tensors is read at a time."
)

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", type=path_arg, metavar="A", help="the base: " + SOURCE_HELP)
    parser.add_argument(
        "b", type=path_arg, metavar="B", help="the one compared with A (same kinds of source)"
    )
    parser.add_argument(
        "-o", "--out", type=Path, metavar="DIR", help="write the per-layer change chart here"
    )
    add_source_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from torchscope._api import diff
    from torchscope.render.param_text import diff_renderables

    a = load_source(args.a, args.config, args.init)
    b = load_source(args.b, args.config, args.init)
    result = diff(a, b, device=args.device, progress=not args.json)
    emit(result, args, lambda width: diff_renderables(result, width, args.rows or None))
    if args.out is not None:
        from torchscope.render.param_plots import diff_chart

        write_figures({"diff": diff_chart(result)}, args.out)
    return 0
