"""The ``torchscope`` command: parse arguments, hand them to a command module."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from torchscope.commands import command_names

__all__ = ["build_parser", "main"]

_EPILOG = """examples:
  torchscope demo
  torchscope summary hf:GPT2LMHeadModel --seq-len 128
  torchscope summary hf:ResNetForImageClassification --config num_labels=1000
  torchscope summary hf:LlamaForCausalLM --config hidden_size=8192 --device meta
  torchscope summary my_models.py:Net --input-size 1,3,32,32 --depth 2 --json
"""


def build_parser() -> argparse.ArgumentParser:
    from torchscope import __version__

    parser = argparse.ArgumentParser(
        prog="torchscope",
        description="See inside PyTorch models: structure, parameters and performance.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"torchscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_names():
        command = importlib.import_module(f"torchscope.commands.{name}")
        child = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=getattr(command, "DESCRIPTION", command.HELP),
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(child)
        child.set_defaults(_run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    return int(args._run(args))


if __name__ == "__main__":
    raise SystemExit(main())
