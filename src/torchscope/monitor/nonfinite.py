"""Locate the first non-finite value (module, forward/backward, step) without per-op syncs.

Each hooked module output adds one device scalar, its float32 sum, to a list: a sum is
non-finite exactly when the tensor holds a NaN or an infinity (or, only for values near
float32's maximum, when the sum itself overflows), and it costs one read of the tensor with
no temporary, about a third of ``isfinite(out).all()``. At the end of a step the sums are
stacked, checked with one ``isfinite`` and the first failing call is folded into a running
device-side minimum of ``step * STRIDE + call``. Only that one int64 per phase is copied to
the host, at logging steps, and the call index is mapped back to a module name there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["NOT_FOUND", "STRIDE", "NonfiniteTracker", "resolve_first"]

STRIDE = 1 << 24  # calls per step that can be told apart
NOT_FOUND = (1 << 62) - 1
PHASES = ("forward", "backward")


@dataclass
class NonfiniteTracker:
    """Device-side record of the first non-finite module output per phase.

    Example:
        >>> tr = NonfiniteTracker(["a", "b"])
        >>> tr.check("forward", 1, torch.tensor([float("nan")]))
        >>> tr.end_step(7)
        >>> codes, calls = tr.snapshot()
        >>> resolve_first(codes.numpy(), calls, tr.names)
        {'module': 'b', 'phase': 'forward', 'tensor': 'output', 'step': 7}
    """

    names: Sequence[str]
    _flags: dict[str, list[torch.Tensor]] = field(default_factory=lambda: {p: [] for p in PHASES})
    _calls: dict[str, list[int]] = field(default_factory=lambda: {p: [] for p in PHASES})
    _first: dict[str, torch.Tensor | None] = field(default_factory=lambda: dict.fromkeys(PHASES))
    _log: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    def check(self, phase: str, module_index: int, tensor: torch.Tensor) -> None:
        """Queue the on-device float32 sum of ``tensor`` (an output or its gradient)."""
        self._flags[phase].append(tensor.detach().sum(dtype=torch.float32))
        self._calls[phase].append(module_index)

    def watch_backward(self, module_index: int, tensor: torch.Tensor) -> None:
        """Check the gradient that flows into ``tensor`` during backward."""
        if tensor.requires_grad:
            tensor.register_hook(lambda g: self.check("backward", module_index, g))

    def end_step(self, step: int) -> None:
        """Fold this step's flags into the running first-failure codes (device ops only)."""
        for phase in PHASES:
            flags = self._flags[phase]
            if not flags:
                continue
            ok = torch.isfinite(torch.stack(flags))
            first_bad = torch.argmin(ok.to(torch.int32))  # the first False, if any
            code = torch.where(ok.all(), NOT_FOUND, first_bad + step * STRIDE)
            prev = self._first[phase]
            self._first[phase] = code if prev is None else torch.minimum(prev, code)
            self._log[(phase, step)] = self._calls[phase]
            self._flags[phase], self._calls[phase] = [], []

    def snapshot(self) -> tuple[torch.Tensor, dict[tuple[str, int], list[int]]]:
        """Return the [2] first codes (forward, backward) and the call log since the last one."""
        device = next((t.device for t in self._first.values() if t is not None), None)
        codes = [
            t if t is not None else torch.tensor(NOT_FOUND, device=device)
            for t in self._first.values()
        ]
        log, self._log = self._log, {}
        return torch.stack(codes), log


def resolve_first(
    codes: np.ndarray, log: dict[tuple[str, int], list[int]], names: Sequence[str]
) -> dict[str, Any] | None:
    """Return the earliest failure as ``{module, phase, tensor, step}``, or None.

    A forward failure wins over a backward one of the same step (forward runs first).
    """
    found = []
    for phase, code in zip(PHASES, codes.tolist()):
        if code >= NOT_FOUND:
            continue
        step, call = divmod(int(code), STRIDE)
        calls = log.get((phase, step))
        module = names[calls[call]] if calls is not None and call < len(calls) else "?"
        tensor = "output" if phase == "forward" else "grad_output"
        found.append((step, phase != "forward", module, phase, tensor))
    if not found:
        return None
    step, _, module, phase, tensor = min(found)
    return {"module": module, "phase": phase, "tensor": tensor, "step": step}
