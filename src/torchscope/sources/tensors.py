"""Tensors by name, known before their data is read: the model every source follows.

A ``TensorSource`` lists its tensors (name, shape, dtype, owning module type) without
reading data and yields them one by one, so that analysing a source holds about one
tensor in memory. This module holds that model and the in-memory sources (an
``nn.Module``, a state dict); checkpoint files follow it in their own modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from torchscope.capture.structure import unique_tensors
from torchscope.model.dtypes import dtype_name
from torchscope.model.graph import TensorMeta

__all__ = [
    "TensorEntry",
    "TensorSource",
    "flatten_state",
    "module_source",
    "state_dict_source",
    "unique_entries",
]

# Training checkpoints wrap the weights; the first of these keys holding tensors is unwrapped.
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "module", "ema", "params")


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
    tensors = flatten_state(state)
    return _MemorySource(tensors, unique_entries(tensors), label)


def unique_entries(tensors: Mapping[str, torch.Tensor]) -> list[TensorEntry]:
    """One entry per distinct tensor; names that share its memory (tied weights) are aliases."""
    entries: list[TensorEntry] = []
    seen: dict[Any, int] = {}
    for name, t in tensors.items():
        key = _memory_key(t)
        if key in seen:
            first = entries[seen[key]]
            entries[seen[key]] = replace(first, aliases=(*first.aliases, name))
            continue
        seen[key] = len(entries)
        entries.append(TensorEntry(tuple(t.shape), dtype_name(t.dtype), name=name))
    return entries


def _memory_key(t: torch.Tensor) -> Any:
    if t.device.type == "meta" or t.numel() == 0:
        return ("obj", id(t))
    return (t.device.type, t.data_ptr(), t.dtype, tuple(t.shape), t.stride())


def flatten_state(obj: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of nested dicts/lists under dotted names, unwrapping ``{"state_dict": …}``."""
    if isinstance(obj, Mapping) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in _WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and flatten_state(inner):
                return flatten_state(inner, prefix)
    out: dict[str, torch.Tensor] = {}
    items: Iterable[tuple[Any, Any]] = obj.items() if isinstance(obj, Mapping) else enumerate(obj)
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            out[name] = value
        elif isinstance(value, Mapping | list | tuple):
            out.update(flatten_state(value, name + "."))
    return out
