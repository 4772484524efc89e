"""Find the floating-point tensors inside a module's output (tuples, dicts, ModelOutput)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch

__all__ = ["float_tensors"]


def float_tensors(value: Any, depth: int = 0) -> Iterator[torch.Tensor]:
    """Yield the floating tensors in ``value`` (nested up to 4 levels), in order."""
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and value.numel() > 0:
            yield value
    elif depth < 4 and isinstance(value, (tuple, list)):
        for item in value:
            yield from float_tensors(item, depth + 1)
    elif depth < 4 and isinstance(value, Mapping):
        for item in value.values():
            yield from float_tensors(item, depth + 1)
