"""The ``torchscope`` command: parse arguments, call the API, print the result."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]

_SPEC_HELP = (
    "model spec: package.module:Name or path/to/file.py:Name (a class or zero-argument "
    "factory), or hf:<TransformersClass> such as hf:GPT2LMHeadModel (built from its "
    "default config, nothing downloaded)"
)

_EPILOG = """examples:
  torchscope summary hf:GPT2LMHeadModel --seq-len 128
  torchscope summary hf:ResNetForImageClassification --config num_labels=1000
  torchscope summary hf:LlamaForCausalLM --config hidden_size=8192 --device meta
  torchscope summary my_models.py:Net --input-size 1,3,32,32 --depth 2 --json
"""


def _input_size(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not dims:
        raise argparse.ArgumentTypeError("an input size needs at least one dimension")
    return dims


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torchscope",
        description="See inside PyTorch models: structure, parameters and performance.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from torchscope import __version__

    parser.add_argument("--version", action="version", version=f"torchscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser(
        "summary",
        help="module table with shapes, parameters, MACs and memory estimates",
        description="Run one forward pass and print the model's summary table and totals.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("spec", metavar="SPEC", help=_SPEC_HELP)
    s.add_argument(
        "--input-size",
        type=_input_size,
        action="append",
        metavar="DIMS",
        help="shape of one positional input, e.g. 1,3,224,224 (repeat for several inputs)",
    )
    s.add_argument(
        "--seq-len",
        type=int,
        help="sequence length for token models (default 128, or the model's maximum if shorter)",
    )
    s.add_argument("--batch-size", type=int, default=1, help="batch size of hf: example inputs")
    s.add_argument("--dtype", help="dtype for parameters and float inputs (bfloat16, float16…)")
    s.add_argument(
        "--device",
        help="where to run the pass: meta (any size, no memory), cpu or cuda; "
        "default: where the model is",
    )
    s.add_argument("--depth", type=int, default=4, help="deepest module level shown (default 4)")
    s.add_argument(
        "--config", nargs="+", default=[], metavar="KEY=VALUE", help="hf: config overrides"
    )
    s.add_argument("--no-fold", action="store_true", help="list repeated blocks one by one")
    s.add_argument("--json", action="store_true", help="print one JSON object instead")
    s.add_argument("--width", type=int, help="table width in characters")

    sub.add_parser("demo", help="summarise a small built-in model (a two-layer MLP)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "summary":
        return _summary(args)
    if args.command == "demo":
        return _demo()
    build_parser().print_help()
    return 0


def _console(width: int | None = None) -> Any:
    from rich.console import Console

    return Console(width=width)


def _errors() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _summary(args: argparse.Namespace) -> int:
    from torchscope._api import summary
    from torchscope.analysis.summary import summarize
    from torchscope.capture.errors import SpecError, TraceError
    from torchscope.capture.spec import load_model, parse_config_overrides

    errors = _errors()
    try:
        with errors.status(f"building {args.spec}…"):
            loaded = load_model(
                args.spec,
                parse_config_overrides(args.config),
                device=args.device,
                seq_len=args.seq_len,
                batch_size=args.batch_size,
            )
    except SpecError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 2
    inputs: dict[str, Any] = {"device": args.device, "dtype": args.dtype}
    if args.input_size:
        inputs["input_size"] = args.input_size if len(args.input_size) > 1 else args.input_size[0]
        call_args: tuple[Any, ...] = ()
    elif loaded.args or loaded.kwargs:
        call_args = loaded.args
        inputs.update(loaded.kwargs)
    else:
        errors.print(
            "[bold red]error:[/] this model needs example inputs: pass --input-size, "
            "e.g. --input-size 1,3,224,224",
            highlight=False,
        )
        return 2
    try:
        with errors.status("tracing one forward pass…"):
            result = summary(
                loaded.model, *call_args, depth=args.depth, fold=not args.no_fold, **inputs
            )
    except TraceError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False)
        if exc.partial is not None:
            partial = summarize(exc.partial, depth=args.depth, fold=not args.no_fold)
            _emit(partial, args)
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
        _console(args.width).print(result)


def _demo() -> int:
    from torchscope._api import summary
    from torchscope.demo import DEMO_INPUT_SIZE, DemoMLP

    console = _console()
    console.rule("[bold]torchscope demo: a two-layer MLP for 28×28 images")
    console.print(summary(DemoMLP(), input_size=DEMO_INPUT_SIZE))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
