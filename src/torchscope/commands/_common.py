"""Pieces shared by CLI commands: consoles, model specs and their inputs.

Values are checked where argparse reads them (``type=`` functions below), so a bad number,
device or dtype is a usage error naming the option, before any model is built.
"""

from __future__ import annotations

import argparse
from typing import Any

from torchscope.commands._args import (
    bounded_int,
    device_name,
    input_dtype,
    input_size,
    key_value,
    model_dtype,
    value_range,
)

__all__ = [
    "CODE_NOTE",
    "SPEC_HELP",
    "add_model_arguments",
    "error_console",
    "load_model_and_inputs",
    "status",
    "stdout_console",
    "width_arg",
]

CODE_NOTE = (
    "A package.module:Name or file.py:Name spec imports and runs that code (trust it as you "
    "would running it with Python); checkpoints are only read, never run."
)
SPEC_HELP = (
    "model spec: package.module:Name or path/to/file.py:Name (a class or factory; "
    "arguments with --init), or hf:<TransformersClass> such as hf:GPT2LMHeadModel (built "
    "from its default config, nothing downloaded). " + CODE_NOTE
)
width_arg = bounded_int(20, 1000)


def stdout_console(width: int | None = None) -> Any:
    from rich.console import Console

    return Console(width=width)


def error_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def status(text: str) -> Any:
    """A spinner on stderr while work runs; ``text`` is plain text (specs and paths may hold
    ``[`` and ``]``, which rich would read as markup)."""
    from rich.text import Text

    return error_console().status(Text(text))


def add_model_arguments(
    parser: argparse.ArgumentParser, *, spec_help: str = SPEC_HELP, optional: bool = False
) -> None:
    """SPEC (optional if asked) and the options that build a model and its example inputs."""
    parser.add_argument("spec", metavar="SPEC", nargs="?" if optional else None, help=spec_help)
    parser.add_argument(
        "--init",
        type=key_value,
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="constructor arguments of a package.module:Name or file.py:Name spec, as Python "
        "literals: --init in_features=784 out_features=128 bias=False",
    )
    _add_input_arguments(parser)
    parser.add_argument(
        "--dtype",
        type=model_dtype,
        help="cast the model's floating parameters and float inputs (bfloat16, float16…)",
    )
    parser.add_argument(
        "--device",
        type=device_name,
        help="where to run the pass: meta (any size, no memory; inputs are made there too), "
        "cpu or cuda; default: where the model is",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--eval", dest="mode", action="store_const", const="eval", help="trace in eval mode"
    )
    mode.add_argument(
        "--train",
        dest="mode",
        action="store_const",
        const="train",
        help="trace in train mode (default: the mode the spec builds, train for nn.Module)",
    )
    parser.add_argument(
        "--config",
        type=key_value,
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="hf: config overrides, e.g. --config n_layer=2 (unknown keys are refused)",
    )


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    from torchscope.sources.inputs import MAX_ELEMENTS, MAX_META_ELEMENTS

    parser.add_argument(
        "--input-size",
        type=input_size,
        action="append",
        metavar="DIMS",
        help="shape of one positional input, e.g. 1,3,224,224 (repeat for several inputs); "
        f"at most {MAX_ELEMENTS:,} elements each ({MAX_META_ELEMENTS:,} on meta)",
    )
    parser.add_argument(
        "--input-dtype",
        type=input_dtype,
        action="append",
        metavar="DTYPE",
        help="dtype of the --input-size inputs (float32, int64, bool…): once for all, or "
        "once per --input-size in order (default float32)",
    )
    parser.add_argument(
        "--input-range",
        type=value_range,
        action="append",
        metavar="LOW,HIGH",
        help="values of the --input-size inputs: integers from LOW to HIGH-1 (ids: 0,VOCAB), "
        "floats uniform in [LOW, HIGH); once for all or once per input (default: integers "
        "0,2, floats standard normal); a negative LOW needs =, as in --input-range=-1,1",
    )
    parser.add_argument(
        "--seq-len",
        type=bounded_int(1, 2**31 - 1),
        help="sequence length of hf: example inputs (default 128, or the model's maximum if "
        "shorter; longer than the config's positions is refused)",
    )
    parser.add_argument(
        "--batch-size", type=bounded_int(1, 2**31 - 1), help="batch size of hf: example inputs"
    )


def load_model_and_inputs(
    args: argparse.Namespace, *, need_inputs: bool = True
) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """Build the model named by ``args.spec`` and the inputs for ``trace``/``summary``.

    Raises SpecError (bad spec) or InputError (bad inputs, or none when ``need_inputs``)
    with a user-facing message; without ``need_inputs`` a model with none gets ``()``.
    """
    from torchscope.errors import InputError
    from torchscope.sources.spec import load_model

    _check_input_options(args)
    with status(f"building {args.spec}…"):
        loaded = load_model(
            args.spec,
            dict(args.config),
            device=args.device,
            seq_len=args.seq_len,
            batch_size=args.batch_size or 1,
            init=dict(args.init),
        )
    model = loaded.model
    if args.mode is not None:
        model.train(args.mode == "train")
    trace_options: dict[str, Any] = {"device": args.device, "dtype": args.dtype}
    if args.input_size:
        return model, _positional_inputs(args, model), trace_options
    if loaded.args or loaded.kwargs:
        return model, loaded.args, {**trace_options, **loaded.kwargs}
    if not need_inputs:
        return model, (), trace_options
    raise InputError(
        "this model needs example inputs: pass --input-size, e.g. --input-size 1,3,224,224 "
        "(and --input-dtype int64 --input-range 0,VOCAB for token ids)"
    )


def _check_input_options(args: argparse.Namespace) -> None:
    """Refuse options that would be silently ignored."""
    from torchscope.errors import InputError

    hf = args.spec.startswith("hf:")
    if not hf and (args.seq_len is not None or args.batch_size is not None):
        raise InputError(
            "--seq-len and --batch-size size the example inputs of hf: specs; "
            "for other models give --input-size"
        )
    if not args.input_size and (args.input_dtype or args.input_range):
        raise InputError("--input-dtype and --input-range describe --input-size inputs; add one")


def _positional_inputs(args: argparse.Namespace, model: Any) -> tuple[Any, ...]:
    """Random tensors for ``--input-size``, with their dtypes and ranges, on the run device."""
    from torchscope.sources.inputs import InputSpec, make_inputs

    sizes: list[tuple[int, ...]] = args.input_size
    dtypes = _per_input("--input-dtype", args.input_dtype, len(sizes))
    ranges = _per_input("--input-range", args.input_range, len(sizes))
    _check_float_casts(dtypes, args.dtype)
    specs = [
        InputSpec(shape, dtype or "float32", rng)
        for shape, dtype, rng in zip(sizes, dtypes, ranges)
    ]
    return tuple(make_inputs(specs, args.device or _model_device(model)))


def _per_input(option: str, given: list[Any] | None, count: int) -> list[Any]:
    from torchscope.errors import InputError

    if not given:
        return [None] * count
    if len(given) == 1:
        return given * count
    if len(given) != count:
        raise InputError(
            f"{option} was given {len(given)} times for {count} --input-size inputs; "
            "give it once (for all) or once per input"
        )
    return list(given)


def _check_float_casts(dtypes: list[str | None], dtype: str | None) -> None:
    """``--dtype`` casts every float input, so another float ``--input-dtype`` would be
    silently overridden: refused."""
    import torch

    from torchscope.errors import InputError

    for name in dtypes:
        if dtype and name and name != dtype and getattr(torch, name).is_floating_point:
            raise InputError(
                f"--dtype {dtype} casts every float input, so --input-dtype {name} would be "
                "ignored; give one or the other"
            )


def _model_device(model: Any) -> str:
    for tensor in [*model.parameters(), *model.buffers()]:
        return str(tensor.device)
    return "cpu"
