"""Activation statistics of leaf modules on sampled steps: mean, std, dead and saturated units.

Per call, one row of exactly reducible numbers is kept on the device:
``[sum, sum of squares, count, inactive count, saturated count, max |x|]``, plus for
ReLU-family outputs a per-unit "ever positive" vector (reduced with MAX across ranks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from torchscope.monitor.distributed import reduce_max, reduce_stats, reduce_sum
from torchscope.monitor.stats import histogram_counts

__all__ = ["ACT_MAX_COLUMNS", "ACT_SUM_COLUMNS", "ActivationSampler", "decode_activations"]

ACT_SUM_COLUMNS = slice(0, 5)
ACT_MAX_COLUMNS = slice(5, 6)

RELU_FAMILY = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.RReLU)
SATURATING = (nn.Tanh, nn.Sigmoid, nn.Hardtanh, nn.Hardsigmoid, nn.Softsign)


def _unit_dim(t: torch.Tensor) -> int:
    # Channels for conv-style [N, C, ...] outputs, features for [..., F] outputs.
    return 1 if t.dim() >= 4 else t.dim() - 1


def _saturated(module: nn.Module, t: torch.Tensor) -> torch.Tensor:
    if isinstance(module, nn.Sigmoid | nn.Hardsigmoid):
        return ((t < 0.01) | (t > 0.99)).sum(dtype=torch.float32)
    return (t.abs() > 0.99).sum(dtype=torch.float32)


@dataclass
class ActivationSampler:
    """Collects one statistics row per module call while a step is sampled.

    Example:
        >>> s = ActivationSampler(["act"])
        >>> s.record(0, nn.ReLU(), torch.tensor([[-1.0, 2.0], [-3.0, 4.0]]))
        >>> names, raw, alive = s.collect()
        >>> stats = decode_activations(raw.numpy(), alive.numpy(), names, s.alive_sizes)
        >>> stats["act"]["dead_fraction"]
        0.5
    """

    names: Sequence[str]
    _rows: list[torch.Tensor] = field(default_factory=list)
    _row_names: list[str] = field(default_factory=list)
    _alive: list[torch.Tensor] = field(default_factory=list)
    alive_sizes: list[tuple[str, int]] = field(default_factory=list)
    saturating: set[str] = field(default_factory=set)
    histograms: list[tuple[str, torch.Tensor, torch.Tensor]] = field(default_factory=list)

    def record(
        self, module_index: int, module: nn.Module, output: torch.Tensor, bins: int = 0
    ) -> None:
        """Queue the statistics row (and, with ``bins``, a histogram) of one module output."""
        t = output.detach()
        zero = t.new_zeros((), dtype=torch.float32)
        inactive, saturated = zero, zero
        if isinstance(module, RELU_FAMILY):
            inactive = (t <= 0).sum(dtype=torch.float32)
            dim = _unit_dim(t)
            others = [d for d in range(t.dim()) if d != dim]
            # a unit is alive if it is positive anywhere in the batch: its maximum is > 0
            peak = t.amax(dim=others) if others else t
            self._alive.append((peak > 0).float())
            self.alive_sizes.append((self.names[module_index], t.shape[dim]))
        elif isinstance(module, SATURATING):
            saturated = _saturated(module, t)
            self.saturating.add(self.names[module_index])
        low, high = torch.aminmax(t)
        row = torch.stack(
            [
                t.sum(dtype=torch.float32),
                torch.linalg.vector_norm(t, dtype=torch.float32).square(),
                t.new_full((), float(t.numel()), dtype=torch.float32),
                inactive,
                saturated,
                torch.maximum(-low, high).float(),
            ]
        )
        self._rows.append(row)
        self._row_names.append(self.names[module_index])
        if bins:
            limit = reduce_max(row[5].clone())  # the same edges on every rank
            self.histograms.append(
                (self.names[module_index], histogram_counts(t, limit, bins), limit)
            )

    def collect(self) -> tuple[list[str], torch.Tensor, torch.Tensor]:
        """Return (row names, [n, 6] rows, concatenated alive vectors) and start afresh."""
        names, rows, alive = self._row_names, self._rows, self._alive
        self._row_names, self._rows, self._alive = [], [], []
        raw = torch.stack(rows) if rows else torch.zeros(0, 6)
        flat = torch.cat(alive) if alive else raw.new_zeros(0)
        return names, raw, flat

    def take_alive_sizes(self) -> list[tuple[str, int]]:
        """Return the (module, units) layout of the alive vector and reset it."""
        sizes, self.alive_sizes = self.alive_sizes, []
        return sizes

    def take_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        """The step's device tensors (reduced across ranks) and their layout; None if empty.

        What ``activation_job`` decodes on the host: ``rows``, ``alive`` and, on histogram
        steps, ``hist`` and ``limits``.
        """
        names, rows, alive = self.collect()
        if not names:
            return None
        rows = reduce_stats(rows, ACT_SUM_COLUMNS, ACT_MAX_COLUMNS)
        tensors = {"rows": rows, "alive": reduce_max(alive)}
        layout: dict[str, Any] = {
            "names": names,
            "alive": self.take_alive_sizes(),
            "saturating": set(self.saturating),
        }
        hists, self.histograms = self.histograms, []
        if hists:
            layout["hist_names"] = [name for name, _, _ in hists]
            tensors["hist"] = reduce_sum(torch.stack([c for _, c, _ in hists]))
            tensors["limits"] = torch.stack([lim for _, _, lim in hists])
        return tensors, layout


def decode_activations(
    raw: np.ndarray,
    alive: np.ndarray,
    names: Sequence[str],
    alive_sizes: Sequence[tuple[str, int]],
    saturating: frozenset[str] | set[str] = frozenset(),
) -> dict[str, dict[str, float]]:
    """Return ``{module: {mean, std, max_abs, …}}`` with dead/saturated fractions where apt.

    Rows of a module called several times in a step are merged first.
    """
    merged: dict[str, np.ndarray] = {}
    for name, row in zip(names, raw.astype(np.float64)):
        if name in merged:
            prev = merged[name]
            merged[name] = np.concatenate([prev[:5] + row[:5], np.maximum(prev[5:], row[5:])])
        else:
            merged[name] = row.copy()
    dead = _dead_fractions(alive, alive_sizes)
    out: dict[str, dict[str, float]] = {}
    for name, (s, sq, n, inactive, saturated, absmax) in merged.items():
        mean = float(s / n)
        stats = {
            "mean": mean,
            "std": float(np.sqrt(max(sq - s * mean, 0.0) / (n - 1))) if n > 1 else 0.0,
            "max_abs": float(absmax),
        }
        if name in dead:
            stats["dead_fraction"] = dead[name]
            stats["inactive_fraction"] = float(inactive / n)
        if name in saturating:
            stats["saturated_fraction"] = float(saturated / n)
        out[name] = stats
    return out


def _dead_fractions(alive: np.ndarray, sizes: Sequence[tuple[str, int]]) -> dict[str, float]:
    flags: dict[str, np.ndarray] = {}
    offset = 0
    for name, size in sizes:
        part = alive[offset : offset + size] > 0
        flags[name] = flags[name] | part if name in flags else part
        offset += size
    return {name: float(1.0 - f.mean()) for name, f in flags.items()}
