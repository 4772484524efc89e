"""Run a model's forward on another device or dtype without touching the model.

The model's own tensors are never moved: substitutes (free on the meta device) are passed
to ``torch.func.functional_call``, which swaps them in for one call and restores the
originals afterwards.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["Placement", "move_inputs"]


class Placement:
    """Substitute tensors for a model's parameters and buffers on ``device``/``dtype``.

    ``by_id`` maps the id of each tensor the forward will see to its qualified name, so
    ops can say which parameters they used.
    """

    def __init__(
        self,
        model: nn.Module,
        canonical: dict[str, str],
        device: torch.device | None,
        dtype: torch.dtype | None,
    ) -> None:
        self.substitutes: dict[str, torch.Tensor] = {}
        self.by_id: dict[int, str] = {}
        made: dict[str, torch.Tensor] = {}
        named = [
            *model.named_parameters(remove_duplicate=False),
            *model.named_buffers(remove_duplicate=False),
        ]
        needs_swap = any(_needs_move(t, device, dtype) for _, t in named)
        for name, tensor in named:
            if not needs_swap:
                self.by_id[id(tensor)] = canonical[name]
                continue
            key = canonical[name]
            if key not in made:
                made[key] = _substitute(tensor, device, dtype)
            self.substitutes[name] = made[key]
            self.by_id[id(made[key])] = key

    def call(self, model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.substitutes:
            return model(*args, **kwargs)
        return torch.func.functional_call(
            model, self.substitutes, args, kwargs, tie_weights=False, strict=False
        )


def _needs_move(t: torch.Tensor, device: torch.device | None, dtype: torch.dtype | None) -> bool:
    if device is not None and t.device != device:
        return True
    return dtype is not None and t.is_floating_point() and t.dtype != dtype


def _substitute(
    t: torch.Tensor, device: torch.device | None, dtype: torch.dtype | None
) -> torch.Tensor:
    target_dtype = dtype if dtype is not None and t.is_floating_point() else t.dtype
    moved = t.detach().to(device=device or t.device, dtype=target_dtype)
    if isinstance(t, nn.Parameter):
        return nn.Parameter(moved, requires_grad=t.requires_grad and moved.is_floating_point())
    return moved


def move_inputs(obj: Any, device: torch.device | None, dtype: torch.dtype | None) -> Any:
    """A copy of a nested input with tensors on ``device`` (floating ones cast to ``dtype``)."""
    if isinstance(obj, torch.Tensor):
        target = dtype if dtype is not None and obj.is_floating_point() else obj.dtype
        return obj.to(device=device or obj.device, dtype=target)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(move_inputs(x, device, dtype) for x in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(move_inputs(x, device, dtype) for x in obj)
    if isinstance(obj, dict):
        return type(obj)({k: move_inputs(v, device, dtype) for k, v in obj.items()})
    return obj
