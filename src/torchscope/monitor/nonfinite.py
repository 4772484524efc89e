"""Locate the first non-finite value (module, forward/backward, step) without per-op syncs.

Each checked module output adds one device scalar, its float32 sum, to a list: a sum is
non-finite exactly when the tensor holds a NaN or an infinity (or, only for values near
float32's maximum, when the sum itself overflows), and it costs one read of the tensor with
no temporary, about a third of ``isfinite(out).all()``. Nothing else runs per step: when
scalars are flushed the sums are stacked and checked at once, and only the index of the
first failing one (one int64 per phase) is copied to the host, where a host-side log of
(step, module) per sum names it.

Parameter-free modules that cannot turn finite inputs into non-finite outputs (ReLU,
pooling by maximum, dropout, flattening…) are not checked in forward: a non-finite value
they pass on is found where it was made or at the next checked module, in the same step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "FINITE_PRESERVING",
    "NOT_FOUND",
    "NonfiniteTracker",
    "forward_note",
    "needs_forward_check",
    "resolve_first",
]

NOT_FOUND = (1 << 62) - 1
PHASES = ("forward", "backward")
CHUNK = 4096  # pending sums stacked into one tensor, so a long flush interval holds few

FINITE_PRESERVING: tuple[type[nn.Module], ...] = (
    nn.Identity, nn.Flatten, nn.Unflatten,
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Tanh, nn.Sigmoid, nn.Softsign,
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
    nn.PixelShuffle, nn.PixelUnshuffle, nn.ChannelShuffle,
)  # fmt: skip


def needs_forward_check(module: nn.Module) -> bool:
    """False for parameter-free modules whose output is finite whenever their input is."""
    if not isinstance(module, FINITE_PRESERVING):
        return True
    return any(True for _ in module.parameters(recurse=False))


@dataclass
class NonfiniteTracker:
    """Device-side record of module outputs (and gradients) to find the first non-finite one.

    Example:
        >>> tr = NonfiniteTracker(["a", "b"])
        >>> tr.check("forward", 0, torch.ones(2), step=7)
        >>> tr.check("forward", 1, torch.tensor([float("nan")]), step=7)
        >>> codes, log = tr.snapshot()
        >>> resolve_first(codes.numpy(), log, tr.names)
        {'module': 'b', 'phase': 'forward', 'tensor': 'output', 'step': 7}
    """

    names: Sequence[str]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    _sums: dict[str, list[torch.Tensor]] = field(default_factory=lambda: {p: [] for p in PHASES})
    _chunks: dict[str, list[torch.Tensor]] = field(default_factory=lambda: {p: [] for p in PHASES})
    _log: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: {p: [] for p in PHASES})

    def check(self, phase: str, module_index: int, tensor: torch.Tensor, step: int) -> None:
        """Queue the on-device float32 sum of ``tensor`` (an output or its gradient)."""
        sums = self._sums[phase]
        sums.append(tensor.detach().sum(dtype=torch.float32))
        self._log[phase].append((step, module_index))
        if len(sums) >= CHUNK:
            self._chunks[phase].append(torch.stack(sums))
            self._sums[phase] = []

    def watch_backward(self, module_index: int, tensor: torch.Tensor, step: int) -> None:
        """Check the gradient that flows into ``tensor`` during backward."""
        if tensor.requires_grad:
            tensor.register_hook(lambda g: self.check("backward", module_index, g, step))

    def snapshot(self) -> tuple[torch.Tensor, dict[str, list[tuple[int, int]]]]:
        """Return the [2] indices of the first failing sum (forward, backward) and their log.

        A phase with no failure gets ``NOT_FOUND``; the log maps an index to (step, module).
        Everything queued so far is taken; the next snapshot starts afresh.
        """
        codes = []
        for phase in PHASES:
            parts = self._chunks[phase] + (
                [torch.stack(self._sums[phase])] if self._sums[phase] else []
            )
            if not parts:
                # a fill on the device: no host-to-device copy
                codes.append(torch.full((), NOT_FOUND, dtype=torch.int64, device=self.device))
                continue
            ok = torch.isfinite(torch.cat(parts))
            first_bad = torch.argmin(ok.to(torch.int32)).to(torch.int64)  # the first False
            codes.append(torch.where(ok.all(), NOT_FOUND, first_bad))
        log = self._log
        self._sums, self._chunks = {p: [] for p in PHASES}, {p: [] for p in PHASES}
        self._log = {p: [] for p in PHASES}
        return torch.stack([c.to(self.device) for c in codes]), log


def resolve_first(
    codes: np.ndarray, log: dict[str, list[tuple[int, int]]], names: Sequence[str]
) -> dict[str, Any] | None:
    """Return the earliest failure as ``{module, phase, tensor, step}``, or None.

    A forward failure wins over a backward one of the same step (forward runs first).
    """
    found = []
    for phase, code in zip(PHASES, codes.tolist()):
        entries = log.get(phase, [])
        if code >= NOT_FOUND or code >= len(entries):
            continue
        step, module_index = entries[int(code)]
        tensor = "output" if phase == "forward" else "grad_output"
        found.append((step, phase != "forward", names[module_index], phase, tensor))
    if not found:
        return None
    step, _, module, phase, tensor = min(found)
    return {"module": module, "phase": phase, "tensor": tensor, "step": step}


def forward_note(compiled: bool, nonfinite_every: int) -> str:
    """Why a forward failure names the model, not a module: its outputs were not checked.

    Example:
        >>> forward_note(True, 10).endswith("(module outputs are not checked in a compiled model)")
        True
    """
    how = (
        "(module outputs are not checked in a compiled model)"
        if compiled
        else f"(each module every {nonfinite_every} steps); "
        "Monitor(nonfinite_every=1) names the module"
    )
    return f"only the model output is checked at this step {how}"
