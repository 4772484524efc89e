"""Find the tensors inside any nesting of inputs or outputs, each with a readable name.

Handles tensors, tuples, lists, dicts (and so HF ``ModelOutput``), dataclasses, cache
objects and other plain Python objects holding tensors in their attributes.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Iterator, Mapping
from typing import Any

import torch

__all__ = ["named_tensors", "tensors_in"]

_MAX_DEPTH = 8
_ATOMS = (str, bytes, int, float, complex, bool, type(None), torch.dtype, torch.device)


def named_tensors(obj: Any, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    """Yield ``(path, tensor)`` for every tensor reachable from ``obj``, depth first."""
    yield from _walk(obj, prefix, 0, set())


def tensors_in(obj: Any) -> list[torch.Tensor]:
    """All tensors in ``obj`` (no names): the hot path of a capture, kept cheap."""
    found: list[torch.Tensor] = []
    _collect(obj, found, 0)
    return found


def _collect(obj: Any, found: list[torch.Tensor], depth: int) -> None:
    if isinstance(obj, torch.Tensor):
        found.append(obj)
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            if isinstance(item, torch.Tensor):
                found.append(item)
            elif not isinstance(item, _ATOMS):
                _collect(item, found, depth + 1)
    elif isinstance(obj, dict) and depth <= _MAX_DEPTH:
        for item in obj.values():
            _collect(item, found, depth + 1)
    elif not isinstance(obj, _ATOMS) and depth <= _MAX_DEPTH:
        _tensors_of(obj, found, depth, set())


def _tensors_of(obj: Any, found: list[torch.Tensor], depth: int, seen: set[int]) -> None:
    """``_walk`` without the names: the same tensors in the same order, for the hot path."""
    if isinstance(obj, torch.Tensor):
        found.append(obj)
        return
    if isinstance(obj, _ATOMS) or depth > _MAX_DEPTH or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Mapping):
        values: Any = obj.values()
    elif isinstance(obj, (tuple, list)):
        values = obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        values = [getattr(obj, f.name, None) for f in dataclasses.fields(obj)]
    elif _is_plain_object(obj):
        values = [v for k, v in vars(obj).items() if not k.startswith("__")]
    else:
        return
    for value in values:
        _tensors_of(value, found, depth + 1, seen)


def _join(prefix: str, key: str, index: bool = False) -> str:
    if index:
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def _walk(obj: Any, prefix: str, depth: int, seen: set[int]) -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(obj, torch.Tensor):
        yield prefix or "tensor", obj
        return
    if isinstance(obj, _ATOMS) or depth > _MAX_DEPTH or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from _walk(value, _join(prefix, str(key)), depth + 1, seen)
    elif isinstance(obj, (tuple, list)):
        for i, value in enumerate(obj):
            yield from _walk(value, _join(prefix, str(i), index=True), depth + 1, seen)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _walk(getattr(obj, f.name, None), _join(prefix, f.name), depth + 1, seen)
    elif _is_plain_object(obj):
        for key, value in vars(obj).items():
            if not key.startswith("__"):
                yield from _walk(value, _join(prefix, key), depth + 1, seen)


def _is_plain_object(obj: Any) -> bool:
    """Objects whose attributes may hold tensors (caches, custom outputs), not code."""
    if isinstance(obj, (type, types.ModuleType, types.FunctionType, types.MethodType)):
        return False
    if isinstance(obj, torch.nn.Module):
        return False
    return hasattr(obj, "__dict__")
