"""Weight, gradient and update statistics of the trained parameters, kept on the device.

On a statistics step the monitor ``take``s fused statistics of every weight and gradient
before the optimizer's update (and a copy of the weights), then ``finish``es after it,
adding the norm of each update. Sharded parameters (FSDP/DTensor) are reduced across ranks.
"""

from __future__ import annotations

from typing import Any

import torch

from torchscope.monitor.distributed import reduce_stats, reduce_sum
from torchscope.monitor.stats import (
    MAX_COLUMNS,
    SUM_COLUMNS,
    WeightSnapshot,
    fused_tensor_stats,
    histogram_counts_many,
)

__all__ = ["ParamStats"]


class ParamStats:
    """Device tensors of one statistics step, from ``take`` (before the update) to ``finish``.

    Example:
        >>> model = torch.nn.Linear(3, 2)
        >>> stats = ParamStats(list(model.named_parameters()), histogram_bins=8)
        >>> stats.take(histograms=False)
        >>> tensors, names = stats.finish()
        >>> names["weight"], tuple(tensors["weight"].shape)[0]
        (['weight', 'bias'], 2)
    """

    def __init__(self, params: list[tuple[str, torch.Tensor]], histogram_bins: int) -> None:
        self.params = params
        self.histogram_bins = histogram_bins
        self.sharded = any(callable(getattr(p, "to_local", None)) for _, p in params)
        self._before = WeightSnapshot()
        self._pending: tuple[dict[str, torch.Tensor], dict[str, list[str]]] | None = None

    def take(self, *, histograms: bool, snapshot: bool = False) -> None:
        """Statistics of the weights and gradients now; ``snapshot`` keeps the weights too."""
        grads = [(n, p.grad) for n, p in self.params if p.grad is not None]
        tensors: dict[str, torch.Tensor] = {}
        names: dict[str, list[str]] = {"weight": [n for n, _ in self.params]}
        tensors["weight"] = fused_tensor_stats([p for _, p in self.params])
        if grads:
            names["grad"] = [n for n, _ in grads]
            tensors["grad"] = fused_tensor_stats([g for _, g in grads])
        if self.sharded:
            for key in list(tensors):
                tensors[key] = reduce_stats(tensors[key], SUM_COLUMNS, MAX_COLUMNS)
        if histograms:
            self._histograms(tensors, [g for _, g in grads])
        self._pending = (tensors, names)
        if snapshot:
            self._before.take([p for _, p in self.params])

    def finish(self) -> tuple[dict[str, torch.Tensor], dict[str, list[str]]] | None:
        """The tensors and names taken, with the update norms since the snapshot; None if none."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        tensors, names = pending
        update = self._before.update_sumsq([p for _, p in self.params])
        if update is not None:
            tensors["update"] = reduce_sum(update) if self.sharded else update
        return tensors, names

    def _histograms(self, tensors: dict[str, torch.Tensor], grads: list[Any]) -> None:
        sources = {"weight": [p for _, p in self.params], "grad": grads}
        for kind, items in sources.items():
            if not items:
                continue
            limits = tensors[kind][:, 3]
            counts = histogram_counts_many(items, limits, self.histogram_bins)
            tensors[f"{kind}_hist"] = reduce_sum(counts) if self.sharded else counts
