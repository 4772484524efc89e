"""From a loader's batch to (model output, target): unpacking, device moves, the call.

A batch is ``(x, y)`` (or ``(x1, x2, …, y)``: every element but the last is a positional
input), a dict whose target sits under ``labels``/``label``/``targets``/``target``/``y``
(the other entries are keyword inputs), or anything a user ``batch_fn(batch) ->
(inputs, target)`` turns into inputs (a tensor, a tuple of positional inputs or a dict
of keyword inputs) and a target. The model's output goes through ``output_fn``; without
one, a tensor is taken as it is, an HF ``ModelOutput`` (or any object or dict with
``logits``) gives its logits, and a tuple or list its first element.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["TARGET_KEYS", "call_model", "pick_output", "split_batch", "to_device"]

TARGET_KEYS = ("labels", "label", "targets", "target", "y")


def split_batch(batch: Any, batch_fn: Callable[[Any], Any] | None = None) -> tuple[Any, Any]:
    """``(inputs, target)`` of one batch (see the module docstring for the forms taken)."""
    if batch_fn is not None:
        pair = batch_fn(batch)
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"batch_fn must return (inputs, target), not a {type(pair).__name__}")
        return pair[0], pair[1]
    if isinstance(batch, Mapping):
        key = next((k for k in TARGET_KEYS if k in batch), None)
        if key is None:
            raise ValueError(
                f"a dict batch needs its target under one of {', '.join(TARGET_KEYS)}; "
                f"its keys are {sorted(map(str, batch))[:10]} (or pass batch_fn=)"
            )
        return {k: v for k, v in batch.items() if k != key}, batch[key]
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        inputs = batch[0] if len(batch) == 2 else tuple(batch[:-1])
        return inputs, batch[-1]
    raise TypeError(
        f"cannot find inputs and a target in a batch of type {type(batch).__name__}: "
        "batches are (x, y), dicts with a 'labels'/'target' entry, or pass batch_fn="
    )


def to_device(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor in it (nested tuples, lists, dicts) moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, Mapping):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(to_device(v, device) for v in value)
    if isinstance(value, list):
        return [to_device(v, device) for v in value]
    return value


def call_model(model: nn.Module, inputs: Any) -> Any:
    """Run ``model`` on one batch's inputs: a tuple as positional inputs, a dict as keyword
    inputs (a single entry the forward does not name goes in positionally)."""
    if isinstance(inputs, tuple):
        return model(*inputs)
    if isinstance(inputs, Mapping):
        if len(inputs) == 1 and not _accepts(model, next(iter(inputs))):
            return model(next(iter(inputs.values())))
        return model(**inputs)
    return model(inputs)


def _accepts(model: nn.Module, name: Any) -> bool:
    """Whether the model's forward takes a keyword argument ``name``."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def pick_output(output: Any, output_fn: Callable[[Any], Any] | None = None) -> torch.Tensor:
    """The tensor of scores in a model's output (``output_fn`` picks it when given)."""
    picked = output_fn(output) if output_fn is not None else _default_output(output)
    if not isinstance(picked, torch.Tensor):
        raise TypeError(
            f"the model output gave a {type(picked).__name__}, not a tensor of scores: "
            "pass output_fn= to pick the logits"
        )
    return picked


def _default_output(output: Any) -> Any:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping) and "logits" in output:
        return output["logits"]
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, (tuple, list)) and output:
        return output[0]
    return output
