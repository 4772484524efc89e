"""The ``torchscope`` command: parse arguments, hand them to a command module.

Every error, from argparse or from a command, ends here as one line on stderr and the exit
status ``commands._errors`` assigns it; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from typing import NoReturn

from torchscope.commands import command_names
from torchscope.commands._errors import EXIT_STATUS_HELP, report_error
from torchscope.errors import UsageError

__all__ = ["build_parser", "main"]

_EXAMPLES = """examples:
  torchscope demo
  torchscope summary hf:GPT2LMHeadModel --seq-len 128
  torchscope summary hf:ResNetForImageClassification --config num_labels=1000
  torchscope summary hf:LlamaForCausalLM --config hidden_size=8192 --device meta
  torchscope summary torch.nn:Linear --init in_features=784 out_features=10 --input-size 1,784
  torchscope summary my_models.py:Net --input-size 1,3,32,32 --depth 2 --json
  torchscope summary my_models.py:TextNet --input-size 1,64 --input-dtype int64 \\
      --input-range 0,5000 --eval

model specs (pkg.mod:Name, file.py:Name) import and run that code, as Python would;
checkpoints (.safetensors, .pt, .pth, .bin, shard folders) are only read, never run.
"""
_EPILOG = _EXAMPLES + "\n" + EXIT_STATUS_HELP
_DEBUG_HELP = "on an error, print the traceback before the one-line message"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are raised, so that ``main`` reports them in one line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    from torchscope import __version__

    parser = _Parser(
        prog="torchscope",
        description="See inside PyTorch models: structure, parameters and performance.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"torchscope {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
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
        # SUPPRESS: an absent sub-command flag must not undo `torchscope --debug CMD`.
        child.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP
        )
        child.set_defaults(_run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``torchscope`` command line and return its exit status.

    Errors never escape as exceptions: each is reported in one line and mapped to a status.
    ``--help`` and ``--version`` exit through ``SystemExit(0)``, as argparse does.
    """
    args = argparse.Namespace(debug=False)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 0
        return int(args._run(args))
    except (Exception, KeyboardInterrupt) as exc:
        return report_error(exc, debug=bool(getattr(args, "debug", False)))


if __name__ == "__main__":
    raise SystemExit(main())
