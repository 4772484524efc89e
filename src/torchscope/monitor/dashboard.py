"""What the Monitor does for the live dashboard: say how to open it, and store the model.

The dashboard's Model page draws the model's structure coloured by the run's statistics,
so a run stores its ModelGraph once. Without an ``example_input`` the Monitor takes the
shapes of the first batch it sees (a forward pre-hook that removes itself) and, at the end
of that step, traces a copy of the model whose tensors are on the meta device: no memory
for weights or activations, one traced forward in all, and nothing of the model changed —
not its tensors, not the Python state its forward may update (counters, caches), and no
hook of the user's or the Monitor's runs on the copy; the random generators are restored.
"""

from __future__ import annotations

import copy
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["FirstBatchGraph", "can_trace_alone", "meta_copy", "print_serve_hint"]


def print_serve_hint(logdir: str | Path | None) -> None:
    """Print, on stderr, the command that shows this run in the live dashboard."""
    if logdir is None:
        return
    print(
        f"torchscope: watch this run live with: torchscope serve {shlex.quote(str(logdir))}",
        file=sys.stderr,
        flush=True,
    )


def _to_meta(value: Any) -> Any:
    """Tensors (in any list/tuple/dict nesting) as meta tensors of the same shape and dtype."""
    if isinstance(value, torch.Tensor):
        return torch.empty_like(value, device="meta")
    if isinstance(value, (list, tuple)):
        items = [_to_meta(v) for v in value]
        return type(value)(items) if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {k: _to_meta(v) for k, v in value.items()}
    return value


def _traceable(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel/FSDP wrapper (their forward syncs ranks)."""
    if (
        "DistributedDataParallel" in type(model).__name__
        or "FullyShardedDataParallel" in type(model).__name__
    ):
        inner = getattr(model, "module", None)
        if isinstance(inner, nn.Module):
            return inner
    return model


def can_trace_alone(model: nn.Module) -> bool:
    """False for models whose forward needs the other ranks (FSDP's gathers of shards).

    Rank 0 traces alone; a forward that waits for a collective would wait forever.
    """
    for m in model.modules():
        name = type(m).__name__
        if name.startswith("FSDP") or "FullyShardedDataParallel" in name:
            return False
    return not any(callable(getattr(p, "to_local", None)) for p in model.parameters())


# Hook tables of a module: the meta copy gets empty ones (no hook runs on it).
_HOOK_DICTS = (
    "_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
    "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks",
    "_backward_pre_hooks", "_state_dict_hooks", "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks",
)  # fmt: skip


def meta_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every parameter and buffer on the meta device, no hooks.

    Tensors are not copied (a meta tensor has no data), so a 70B model copies in moments.
    Shared parameters stay shared.
    """
    memo: dict[int, Any] = {}
    for m in model.modules():
        for name in _HOOK_DICTS:
            table = getattr(m, name, None)
            if table is not None:
                memo[id(table)] = type(table)()
    for p in model.parameters():
        memo[id(p)] = nn.Parameter(p.detach().to("meta"), requires_grad=p.requires_grad)
    for b in model.buffers():
        memo[id(b)] = b.detach().to("meta")
    return copy.deepcopy(model, memo)


class FirstBatchGraph:
    """Captures the first batch's shapes; ``write`` traces on meta and stores the graph once."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.inputs: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self.done = False
        self.saw_compile = False  # called inside a torch.compile trace: give up, quietly
        self._handle: Any = model.register_forward_pre_hook(self._capture, with_kwargs=True)

    def _capture(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if torch.compiler.is_compiling():  # removing a hook here would force a recompile
            self.saw_compile = True
            return
        self.remove()
        self.inputs = (_to_meta(args), _to_meta(kwargs))

    def remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def write(self, set_meta: Callable[[str, Any], None]) -> dict[str, Any] | None:
        """Trace the model on meta with the captured shapes, store graph and summary, and
        return the graph's dict (None if there was nothing to trace)."""
        if self.done or self.inputs is None:
            return None
        self.done = True
        from torchscope.analysis.summary import summarize
        from torchscope.capture.trace import trace

        args, kwargs = self.inputs
        self.inputs = None
        with torch.random.fork_rng(devices=[]):
            graph = trace(meta_copy(_traceable(self.model)), *args, device="meta", **kwargs)
        graph_dict = graph.to_dict()
        set_meta("graph", graph_dict)
        set_meta("summary", summarize(graph).to_dict())
        return graph_dict
