"""Tensors by name, known before their data is read: the model every source follows.

A ``TensorSource`` lists its tensors (name, shape, dtype, owning module type) without
reading data and yields them one by one, so that analysing a source holds about one
tensor in memory. This module holds that model and the in-memory sources (an
``nn.Module``, a state dict); checkpoint files follow it in their own modules.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from torchscope.capture.structure import unique_tensors
from torchscope.errors import CheckpointError
from torchscope.model.dtypes import dtype_name
from torchscope.model.graph import TensorMeta

__all__ = [
    "MAX_DEPTH",
    "TensorEntry",
    "TensorSource",
    "flatten_state",
    "module_source",
    "state_dict_source",
    "unique_entries",
]

# Training checkpoints wrap the weights; the first of these keys holding tensors is unwrapped.
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "module", "ema", "params")
# Tensors nested deeper than this many containers are refused: no state dict nests like
# that, and a name per level would grow without bound.
MAX_DEPTH = 100


@dataclass(frozen=True)
class TensorEntry(TensorMeta):
    """One tensor of a source (its shape and dtype, and where it belongs), known before its
    data is read.

    ``module_type`` is the owning module's class (``Linear``, ``Conv2d``…) when the source
    is a model, and ``""`` for checkpoints, which carry no code.
    """

    name: str = ""
    module_type: str = ""
    is_buffer: bool = False
    aliases: tuple[str, ...] = ()


class TensorSource:
    """Tensors by name: ``entries`` (no data read), ``get(name)``, and iteration in order."""

    label: str = ""

    def __init__(self, entries: list[TensorEntry]) -> None:
        self.entries = entries
        self._by_name = {e.name: e for e in entries}

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def entry(self, name: str) -> TensorEntry:
        return self._by_name[name]

    def get(self, name: str) -> torch.Tensor:
        raise NotImplementedError

    def __iter__(self) -> Iterator[tuple[TensorEntry, torch.Tensor]]:
        for entry in self.entries:
            yield entry, self.get(entry.name)

    def close(self) -> None:
        """Release open files (a no-op for in-memory sources)."""

    def __enter__(self) -> TensorSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _MemorySource(TensorSource):
    def __init__(self, tensors: dict[str, torch.Tensor], entries: list[TensorEntry], label: str):
        super().__init__(entries)
        self._tensors = tensors
        self.label = label

    def get(self, name: str) -> torch.Tensor:
        return self._tensors[name].detach()


def module_source(model: nn.Module, include_buffers: bool = False, label: str = "") -> TensorSource:
    """A model's unique parameters (tied weights once, with aliases) and optionally buffers."""
    infos, _ = unique_tensors(model)
    types = {path: type(m).__name__ for path, m in model.named_modules()}
    named: dict[str, torch.Tensor] = dict(model.named_parameters(remove_duplicate=False))
    named.update(model.named_buffers(remove_duplicate=False))
    entries = [
        TensorEntry(
            info.shape,
            info.dtype,
            name=info.name,
            module_type=types.get(info.name.rpartition(".")[0], ""),
            is_buffer=info.is_buffer,
            aliases=tuple(info.aliases),
        )
        for info in infos
        if include_buffers or not info.is_buffer
    ]
    return _MemorySource(named, entries, label or type(model).__name__)


def state_dict_source(state: Mapping[str, Any], label: str = "state dict") -> TensorSource:
    """The tensors of a (possibly nested) state dict; tensors sharing memory appear once."""
    tensors = flatten_state(state, label)
    return _MemorySource(tensors, unique_entries(tensors, where=label), label)


def unique_entries(
    tensors: Mapping[str, torch.Tensor],
    identity: Callable[[torch.Tensor], Hashable] | None = None,
    where: str | Path = "state dict",
) -> list[TensorEntry]:
    """One entry per distinct tensor; names that share its memory (tied weights) are aliases.

    ``identity`` says which memory a tensor views (by default its data pointer, dtype,
    shape and strides); a reader whose tensors are not loaded yet gives its own.
    """
    identity = identity or _memory_key
    entries: list[TensorEntry] = []
    seen: dict[Hashable, int] = {}
    for name, t in tensors.items():
        if t.is_nested:  # no one shape: nothing here could describe or compare it
            raise CheckpointError(where, f"tensor {name!r} is a nested tensor, which is not read")
        key = identity(t)
        if key in seen:
            first = entries[seen[key]]
            entries[seen[key]] = replace(first, aliases=(*first.aliases, name))
            continue
        seen[key] = len(entries)
        entries.append(TensorEntry(tuple(t.shape), dtype_name(t.dtype), name=name))
    return entries


def _memory_key(t: torch.Tensor) -> Hashable:
    if t.device.type == "meta" or t.numel() == 0 or t.layout != torch.strided:
        return ("obj", id(t))
    return (t.device.type, t.data_ptr(), t.dtype, tuple(t.shape), t.stride())


def flatten_state(obj: Any, where: str | Path = "state dict") -> dict[str, torch.Tensor]:
    """Tensors of nested dicts/lists/tuples under dotted names (``{"a": [t]}`` → ``a.0``).

    A mapping without tensors of its own that wraps the weights (``{"epoch": 3,
    "state_dict": {…}}``) stands for the first of ``_WRAPPER_KEYS`` holding tensors. A bare
    tensor is one tensor named ``tensor``; anything else holds none. Each container is read
    once (a pickle can share one between places, or hold itself) and without recursion;
    tensors deeper than ``MAX_DEPTH`` containers are refused with a CheckpointError naming
    ``where``.

    Example:
        >>> import torch
        >>> sorted(flatten_state({"epoch": 3, "state_dict": {"fc": [torch.ones(2)]}}))
        ['fc.0']
    """
    if isinstance(obj, torch.Tensor):
        return {"tensor": obj}
    if not isinstance(obj, _CONTAINERS):
        return {}
    holds = _holds_tensors(obj)
    out: dict[str, torch.Tensor] = {}
    expanded = {id(obj)}
    stack = [(_items(_unwrapped(obj, holds)), "")]
    while stack:
        items, prefix = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            continue
        name = f"{prefix}{item[0]}"
        value = item[1]
        if isinstance(value, torch.Tensor):
            if name in out:
                raise CheckpointError(where, f"two tensors are both named {name!r}")
            out[name] = value
        elif holds.get(id(value)) and id(value) not in expanded:
            if len(stack) >= MAX_DEPTH:
                raise CheckpointError(
                    where, f"its tensors are nested more than {MAX_DEPTH} containers deep"
                )
            expanded.add(id(value))
            stack.append((_items(_unwrapped(value, holds)), name + "."))
    return out


_CONTAINERS = (Mapping, list, tuple)


def _items(obj: Any) -> Iterator[tuple[Any, Any]]:
    return iter(obj.items()) if isinstance(obj, Mapping) else enumerate(obj)


def _unwrapped(obj: Any, holds: dict[int, bool]) -> Any:
    """``obj[key]`` for the first wrapper key holding tensors, when ``obj`` holds none itself."""
    while isinstance(obj, Mapping) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        inner = next(
            (
                obj[key]
                for key in _WRAPPER_KEYS
                if isinstance(obj.get(key), Mapping) and holds.get(id(obj[key]))
            ),
            None,
        )
        if inner is None or inner is obj:
            break
        obj = inner
    return obj


def _holds_tensors(root: Any) -> dict[int, bool]:
    """Whether each container reachable from ``root`` holds a tensor at any depth, by id.

    An iterative post-order walk that visits each container once, so neither deep nesting
    nor shared or cyclic containers cost more than their number.
    """
    holds: dict[int, bool] = {}
    keep_alive = [root]  # ids stay valid while the walk runs
    stack = [(root, _values(root))]
    holds[id(root)] = False
    while stack:
        container, values = stack[-1]
        value = next(values, _DONE)
        if value is _DONE:
            stack.pop()
            if stack and holds[id(container)]:
                holds[id(stack[-1][0])] = True
        elif isinstance(value, torch.Tensor):
            holds[id(container)] = True
        elif isinstance(value, _CONTAINERS) and id(value) not in holds:
            holds[id(value)] = False
            keep_alive.append(value)
            stack.append((value, _values(value)))
        elif isinstance(value, _CONTAINERS) and holds[id(value)]:
            holds[id(container)] = True
    return holds


_DONE = object()


def _values(obj: Any) -> Iterator[Any]:
    return iter(obj.values()) if isinstance(obj, Mapping) else iter(obj)
