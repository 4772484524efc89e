"""``torchscope demo``: the whole picture on a small built-in model."""

from __future__ import annotations

import argparse

from torchscope.commands._common import stdout_console

NAME = "demo"
HELP = "summarise a small built-in model (a two-layer MLP for 28×28 images)"
DESCRIPTION = "Build a small built-in model and show what torchscope sees in it."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--width", type=int, help="table width in characters")


def run(args: argparse.Namespace) -> int:
    from torchscope._api import summary
    from torchscope.demo import DEMO_INPUT_SIZE, DemoMLP

    console = stdout_console(args.width)
    console.rule("[bold]torchscope demo: a two-layer MLP for 28×28 images")
    console.print(summary(DemoMLP(), input_size=DEMO_INPUT_SIZE))
    return 0
