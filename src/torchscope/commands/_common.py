"""Pieces shared by CLI commands: consoles, model specs and their inputs."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["SPEC_HELP", "add_model_arguments", "error_console", "input_size", "stdout_console"]

SPEC_HELP = (
    "model spec: package.module:Name or path/to/file.py:Name (a class or zero-argument "
    "factory), or hf:<TransformersClass> such as hf:GPT2LMHeadModel (built from its "
    "default config, nothing downloaded)"
)


def stdout_console(width: int | None = None) -> Any:
    from rich.console import Console

    return Console(width=width)


def error_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def input_size(text: str) -> tuple[int, ...]:
    """``1,3,224,224`` (or ``1x3x224x224``) → a shape."""
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not dims:
        raise argparse.ArgumentTypeError("an input size needs at least one dimension")
    return dims


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """SPEC and the options that build a model and its example inputs."""
    parser.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    parser.add_argument(
        "--input-size",
        type=input_size,
        action="append",
        metavar="DIMS",
        help="shape of one positional input, e.g. 1,3,224,224 (repeat for several inputs)",
    )
    parser.add_argument(
        "--seq-len",
        type=int,
        help="sequence length for token models (default 128, or the model's maximum if shorter)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=1, help="batch size of hf: example inputs"
    )
    parser.add_argument(
        "--dtype", help="dtype for parameters and float inputs (bfloat16, float16…)"
    )
    parser.add_argument(
        "--device",
        help="where to run the pass: meta (any size, no memory), cpu or cuda; "
        "default: where the model is",
    )
    parser.add_argument(
        "--config", nargs="+", default=[], metavar="KEY=VALUE", help="hf: config overrides"
    )


def load_model_and_inputs(args: argparse.Namespace) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """Build the model named by ``args.spec`` and the inputs for ``trace``/``summary``.

    Raises SpecError (bad spec) or ValueError (no inputs known) with a user-facing message.
    """
    from torchscope.sources.spec import load_model, parse_config_overrides

    with error_console().status(f"building {args.spec}…"):
        loaded = load_model(
            args.spec,
            parse_config_overrides(args.config),
            device=args.device,
            seq_len=args.seq_len,
            batch_size=args.batch_size,
        )
    inputs: dict[str, Any] = {"device": args.device, "dtype": args.dtype}
    if args.input_size:
        inputs["input_size"] = args.input_size if len(args.input_size) > 1 else args.input_size[0]
        return loaded.model, (), inputs
    if loaded.args or loaded.kwargs:
        return loaded.model, loaded.args, {**inputs, **loaded.kwargs}
    raise ValueError(
        "this model needs example inputs: pass --input-size, e.g. --input-size 1,3,224,224"
    )
