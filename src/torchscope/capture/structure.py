"""The static part of a capture: unique parameters/buffers and the module tree."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from torchscope.model.dtypes import dtype_name
from torchscope.model.graph import ModuleNode, ParamInfo

__all__ = ["module_tree", "unique_tensors"]


def _tensor_key(t: torch.Tensor) -> Any:
    """Identity of a tensor's memory: two Parameters viewing the same bytes share a key."""
    if t.device.type != "meta" and t.data_ptr() != 0:
        return ("mem", t.device.type, t.data_ptr(), t.dtype, tuple(t.shape), t.stride())
    return ("obj", id(t))


def unique_tensors(model: nn.Module) -> tuple[list[ParamInfo], dict[str, str]]:
    """Unique parameters then buffers, and a map of every qualified name to its canonical one.

    Tied weights (GPT-2's ``lm_head.weight`` is ``transformer.wte.weight``) appear once,
    under the first name ``named_parameters`` gives, with the other names as aliases.
    """
    infos: dict[Any, ParamInfo] = {}
    canonical: dict[str, str] = {}
    named = [
        *((n, t, False) for n, t in model.named_parameters(remove_duplicate=False)),
        *((n, t, True) for n, t in model.named_buffers(remove_duplicate=False)),
    ]
    for name, tensor, is_buffer in named:
        key = _tensor_key(tensor)
        info = infos.get(key)
        if info is None:
            info = ParamInfo(
                name=name,
                shape=tuple(tensor.shape),
                dtype=dtype_name(tensor.dtype),
                trainable=bool(tensor.requires_grad) and not is_buffer,
                is_buffer=is_buffer,
            )
            infos[key] = info
        elif name != info.name:
            info.aliases.append(name)
        canonical[name] = info.name
    return list(infos.values()), canonical


def _owner(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def module_tree(model: nn.Module, params: list[ParamInfo]) -> list[ModuleNode]:
    """Module nodes in pre-order with parameter counts; shared modules appear once."""
    nodes: dict[str, ModuleNode] = {}
    path_of: dict[int, str] = {}
    for path, module in model.named_modules():
        path_of[id(module)] = path
        parent = _owner(path) if path else None
        nodes[path] = ModuleNode(
            path=path,
            type=type(module).__name__,
            parent=parent,
            depth=path.count(".") + 1 if path else 0,
            extra_repr=_extra_repr(module),
        )
        if parent is not None and parent in nodes:
            nodes[parent].children.append(path)
    for info in params:
        owner = nodes.get(_owner(info.name))
        if owner is None:
            continue
        if info.is_buffer:
            owner.total_buffers += info.numel
            owner.buffer_bytes += info.nbytes
        else:
            owner.own_params += info.numel
            owner.param_bytes += info.nbytes
            owner.trainable_params += info.numel if info.trainable else 0
        for alias in info.aliases:
            holder = nodes.get(_owner(alias))
            if holder is not None and not info.is_buffer:
                holder.tied[alias] = info.name
    ordered = list(nodes.values())
    for node in reversed(ordered):  # children come after parents in pre-order
        node.total_params += node.own_params
        if node.parent is not None and node.parent in nodes:
            above = nodes[node.parent]
            above.total_params += node.total_params
            above.trainable_params += node.trainable_params
            above.total_buffers += node.total_buffers
            above.param_bytes += node.param_bytes
            above.buffer_bytes += node.buffer_bytes
    return ordered


def _extra_repr(module: nn.Module) -> str:
    try:
        return str(module.extra_repr())
    except Exception:  # a broken extra_repr must not stop a capture
        return ""
