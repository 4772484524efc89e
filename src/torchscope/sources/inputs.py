"""Example inputs made from a description: shape, dtype and value range, on a device.

The CLI cannot hand a model real data, so it makes random inputs: float tensors from a
normal (or uniform) distribution, integer ids from a range. They are made directly on the
device the pass runs on (on ``meta`` they cost nothing), and a stated limit on the number
of elements keeps a typo like ``--input-size 99999999999,8`` from allocating the machine's
memory. Importing this module does not import torch (the CLI's --help reads its limits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torchscope.errors import InputError

if TYPE_CHECKING:
    import torch

__all__ = [
    "INPUT_DTYPES",
    "MAX_ELEMENTS",
    "MAX_META_ELEMENTS",
    "InputSpec",
    "check_elements",
    "make_inputs",
]

# One input on a device that allocates memory: 2**28 elements is 1 GiB at float32.
MAX_ELEMENTS = 2**28
# On meta nothing is allocated, but sizes must stay far from int64 overflow in MAC counts.
MAX_META_ELEMENTS = 2**48

# Names accepted for input dtypes → torch's own name of the dtype.
INPUT_DTYPES = {
    "float32": "float32",
    "float": "float32",
    "float64": "float64",
    "double": "float64",
    "float16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "int64": "int64",
    "long": "int64",
    "int32": "int32",
    "int": "int32",
    "int16": "int16",
    "short": "int16",
    "int8": "int8",
    "uint8": "uint8",
    "bool": "bool",
}
_DEFAULT_INT_RANGE = (0, 2)


@dataclass(frozen=True)
class InputSpec:
    """One positional input: its shape, dtype name and value range ``[low, high)``."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    value_range: tuple[float, float] | None = None

    @property
    def torch_dtype(self) -> torch.dtype:
        import torch

        if self.dtype not in INPUT_DTYPES:
            raise InputError(
                f"unknown input dtype {self.dtype!r}; use one of {', '.join(INPUT_DTYPES)}"
            )
        dtype: torch.dtype = getattr(torch, INPUT_DTYPES[self.dtype])
        return dtype


def check_elements(shape: Sequence[int], device: str | torch.device, what: str = "input") -> None:
    """Refuse a shape with a non-positive size or more elements than the device's limit.

    Example:
        >>> check_elements((1, 3, 224, 224), "cpu")
        >>> check_elements((10**6, 10**6), "cpu")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        torchscope.errors.InputError: input of shape (1000000, 1000000) has ... elements, ...
    """
    import torch

    if any(d < 1 for d in shape):
        raise InputError(f"{what} sizes must be positive, got {tuple(shape)}")
    numel = math.prod(shape)
    meta = torch.device(device).type == "meta"
    limit = MAX_META_ELEMENTS if meta else MAX_ELEMENTS
    if numel > limit:
        hint = "" if meta else "; use --device meta to analyse it without memory"
        raise InputError(
            f"{what} of shape {tuple(shape)} has {numel:,} elements, over the limit of "
            f"{limit:,} per input on {torch.device(device).type}{hint}"
        )


def make_inputs(specs: Sequence[InputSpec], device: str | torch.device) -> list[torch.Tensor]:
    """Random tensors for ``specs`` on ``device``, each checked against the size limit.

    Example:
        >>> ids, = make_inputs([InputSpec((2, 5), "int64", (0, 1000))], "cpu")
        >>> ids.dtype, tuple(ids.shape), bool((ids >= 0).all() and (ids < 1000).all())
        (torch.int64, (2, 5), True)
    """
    import torch

    for i, spec in enumerate(specs):
        check_elements(spec.shape, device, f"input {i + 1}" if len(specs) > 1 else "input")
    return [_make(spec, torch.device(device)) for spec in specs]


def _make(spec: InputSpec, device: torch.device) -> torch.Tensor:
    import torch

    dtype = spec.torch_dtype
    if dtype.is_floating_point:
        if spec.value_range is None:
            return torch.randn(spec.shape, device=device, dtype=dtype)
        low, high = _float_range(spec.value_range, dtype)
        return torch.empty(spec.shape, device=device, dtype=dtype).uniform_(low, high)
    low_i, high_i = _int_range(spec.value_range or _DEFAULT_INT_RANGE, dtype)
    return torch.randint(low_i, high_i, spec.shape, device=device, dtype=dtype)


def _float_range(bounds: tuple[float, float], dtype: torch.dtype) -> tuple[float, float]:
    import torch

    low, high = float(bounds[0]), float(bounds[1])
    largest = torch.finfo(dtype).max
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InputError(f"input range {bounds} must be two finite numbers, LOW < HIGH")
    if max(abs(low), abs(high)) > largest:
        raise InputError(f"input range {bounds} exceeds what {dtype} holds (±{largest:g})")
    return low, high


def _int_range(bounds: tuple[float, float], dtype: torch.dtype) -> tuple[int, int]:
    import torch

    low, high = bounds
    if not all(isinstance(b, int) or float(b).is_integer() for b in bounds):
        raise InputError(f"integer inputs need an integer range, got {low},{high}")
    low_i, high_i = int(low), int(high)
    info_min, info_max = (0, 2) if dtype == torch.bool else _int_bounds(dtype)
    if not info_min <= low_i < high_i <= info_max:
        name = str(dtype).removeprefix("torch.")
        raise InputError(
            f"input range {low_i},{high_i} for {name} needs {info_min} <= LOW < HIGH <= "
            f"{info_max} (values LOW … HIGH-1)"
        )
    return low_i, high_i


def _int_bounds(dtype: torch.dtype) -> tuple[int, int]:
    """Lowest LOW and highest HIGH (exclusive) ``torch.randint`` takes for ``dtype``."""
    import torch

    info = torch.iinfo(dtype)
    # HIGH is exclusive, so max + 1 — except for int64, where randint cannot take 2**63.
    return int(info.min), int(info.max) + (dtype != torch.int64)
