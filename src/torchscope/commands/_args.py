"""Argument types for the CLI: each turns one option's text into a checked value.

argparse calls them while reading the command line, so a bad value is a usage error that
names its option (``argument --device: cuda is not available here …``), before any model is
built. Numbers are bounded: a huge value is refused, not passed on to allocate memory.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "bounded_float",
    "bounded_int",
    "device_name",
    "input_dtype",
    "input_size",
    "key_value",
    "model_dtype",
    "path_arg",
    "value_range",
]

_MAX_DIMS = 32
_MODEL_DTYPES = ("float32", "float64", "float16", "bfloat16")


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]``.

    Example:
        >>> bounded_int(1, 10)("3")
        3
    """

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, got {text!r}")
        return value

    return parse


def bounded_float(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[low, high]``."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g}, got {text!r}")
        return value

    return parse


def input_size(text: str) -> tuple[int, ...]:
    """``1,3,224,224`` (or ``1x3x224x224``) → a shape of positive sizes.

    Example:
        >>> input_size("1x3x224x224")
        (1, 3, 224, 224)
    """
    from torchscope.sources.inputs import MAX_META_ELEMENTS

    parts = [d.strip() for d in text.replace("x", ",").split(",")]
    if not all(re.fullmatch(r"-?[0-9]+", p) for p in parts):
        if parts == [""]:
            raise argparse.ArgumentTypeError("an input size needs at least one dimension")
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    try:
        dims = tuple(int(d) for d in parts)
    except ValueError:  # more digits than Python converts
        raise argparse.ArgumentTypeError(f"sizes too large in {text!r}") from None
    if len(dims) > _MAX_DIMS:
        raise argparse.ArgumentTypeError(f"at most {_MAX_DIMS} dimensions, got {len(dims)}")
    if any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    if math.prod(dims) > MAX_META_ELEMENTS:
        raise argparse.ArgumentTypeError(
            f"{text!r} has more elements than the limit of {MAX_META_ELEMENTS:,} (2**48) "
            "per input, even on meta"
        )
    return dims


def path_arg(text: str) -> str:
    """A path that is not empty (an empty one would mean the current folder, unasked)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return text


def _dtype_named(text: str) -> Any:
    import torch

    name = text.strip().removeprefix("torch.")
    value = getattr(torch, name, None) if name.isidentifier() else None
    return value if isinstance(value, torch.dtype) else None


def model_dtype(text: str) -> str:
    """``--dtype``: a floating dtype the model's parameters are cast to, as its torch name."""
    dtype = _dtype_named(text)
    if dtype is None or not dtype.is_floating_point:
        kind = "not a floating dtype" if dtype is not None else "not a dtype"
        raise argparse.ArgumentTypeError(
            f"{text!r} is {kind}: --dtype casts the model's floating parameters, so it takes "
            f"{', '.join(_MODEL_DTYPES)}; for integer inputs use --input-dtype"
        )
    return str(dtype).removeprefix("torch.")


def input_dtype(text: str) -> str:
    """``--input-dtype``: one of the dtypes example inputs can be made in, as its torch name."""
    from torchscope.sources.inputs import INPUT_DTYPES

    name = text.strip().removeprefix("torch.")
    if name not in INPUT_DTYPES:
        raise argparse.ArgumentTypeError(
            f"unknown input dtype {text!r}; use one of {', '.join(INPUT_DTYPES)}"
        )
    return str(INPUT_DTYPES[name]).removeprefix("torch.")


def value_range(text: str) -> tuple[float, float]:
    """``LOW,HIGH`` → two finite numbers with LOW < HIGH (integers stay exact)."""
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH, got {text!r}")
    try:
        low, high = (_number(p.strip()) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers LOW,HIGH, got {text!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise argparse.ArgumentTypeError(f"expected finite LOW < HIGH, got {text!r}")
    return low, high


def _number(text: str) -> float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def key_value(text: str) -> tuple[str, Any]:
    """``key=value`` → (key, value parsed as a Python literal, else kept as text).

    Example:
        >>> key_value("kernel_size=(3, 3)")
        ('kernel_size', (3, 3))
    """
    from torchscope.sources.spec import parse_literal

    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE with a Python name as KEY, got {text!r}"
        )
    return key, parse_literal(raw.strip())


def device_name(text: str) -> str:
    """``--device``: a device this machine has (cpu, meta, cuda[:N], mps…), as torch names it."""
    import torch

    try:
        device = torch.device(text.strip())
    except (RuntimeError, ValueError, TypeError):
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r}; use cpu, meta, cuda, cuda:N or mps"
        ) from None
    if device.type in ("cpu", "meta"):
        return str(device)
    backend = torch.backends.mps if device.type == "mps" else getattr(torch, device.type, None)
    available = getattr(backend, "is_available", None)
    if available is None or not available():
        raise argparse.ArgumentTypeError(
            f"{device.type} is not available on this machine (no such device, or a torch "
            "build without it); use cpu, or meta to analyse without memory"
        )
    count = getattr(backend, "device_count", None)
    if device.index is not None and count is not None and device.index >= count():
        raise argparse.ArgumentTypeError(
            f"{device} does not exist: this machine has {count()} {device.type} device(s)"
        )
    return str(device)
