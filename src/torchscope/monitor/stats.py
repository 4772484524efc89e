"""Fused on-device statistics of many tensors at once, decoded on the host later.

Every statistic is kept as an exactly reducible quantity (sums, sums of squares, counts,
maxima), so a 2-rank run reduces to the same numbers as one process on the whole batch.
The training thread only launches kernels; ``decode_*`` runs on the host after the
asynchronous copy has landed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "MAX_COLUMNS",
    "SUM_COLUMNS",
    "WeightSnapshot",
    "decode_fused_stats",
    "decode_histograms",
    "fused_tensor_stats",
    "histogram_counts",
    "histogram_counts_many",
    "local_tensor",
]

# Columns of the [n, 4] raw statistics: the first three reduce by SUM, the last by MAX.
SUM_COLUMNS = slice(0, 3)
MAX_COLUMNS = slice(3, 4)


def local_tensor(t: torch.Tensor) -> torch.Tensor:
    """Return the rank-local data of ``t`` (a DTensor's shard, else ``t`` itself), detached."""
    to_local = getattr(t, "to_local", None)
    local = to_local() if callable(to_local) else t
    return local.detach()


def fused_tensor_stats(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Return a float32 [n, 4] device tensor: sum, sum of squares, count, max |x| per tensor.

    A fused multi-tensor norm, one sum per tensor and the largest magnitude (fused on CUDA;
    ``aminmax`` per tensor on other devices, where ``_foreach_norm(inf)`` is a slow scalar
    loop, 20× slower here); no host synchronisation.

    Example:
        >>> raw = fused_tensor_stats([torch.tensor([3.0, -4.0])])
        >>> raw.tolist()
        [[-1.0, 25.0, 2.0, 4.0]]
    """
    ts = [local_tensor(t) for t in tensors]
    if not ts:
        return torch.zeros(0, 4)
    device = ts[0].device
    # dtype=float32: a bfloat16 norm would be rounded to 3 significant digits
    norms = torch.stack(torch._foreach_norm(ts, 2, dtype=torch.float32))
    absmax = _absmax(ts)
    sums = torch.stack([t.sum(dtype=torch.float32) for t in ts])
    counts = _numels(device, tuple(t.numel() for t in ts), torch.float32)
    return torch.stack([sums, norms * norms, counts, absmax], dim=1)


@functools.lru_cache(maxsize=64)
def _numels(device: torch.device, numels: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    # Cached so the host-to-device copy of the element counts happens once per tensor set.
    return torch.tensor(numels, dtype=dtype, device=device)


def _absmax(ts: Sequence[torch.Tensor]) -> torch.Tensor:
    if ts[0].device.type == "cuda":
        return torch.stack(torch._foreach_norm(list(ts), math.inf, dtype=torch.float32))
    lows, highs = zip(*(torch.aminmax(t) if t.numel() else (t.new_zeros(()),) * 2 for t in ts))
    return torch.maximum(-torch.stack(lows).float(), torch.stack(highs).float())


class WeightSnapshot:
    """The weights before an optimizer step, to measure ‖ΔW‖ after it.

    On CUDA the copy is made afresh each time and freed after use (the caching allocator
    makes that cheap, and no memory is held between statistics steps). Elsewhere the copy
    buffers are kept: a fresh large host allocation page-faults on first touch, which made
    the copy 10× slower than copying into kept buffers.

    Example:
        >>> w = [torch.tensor([3.0, 4.0])]
        >>> snap = WeightSnapshot()
        >>> snap.take(w)
        >>> _ = w[0].add_(torch.tensor([0.0, 1.0]))
        >>> snap.update_sumsq(w).tolist()
        [1.0]
    """

    def __init__(self) -> None:
        self._copies: list[torch.Tensor] | None = None
        self._taken = False

    def take(self, weights: Sequence[torch.Tensor]) -> None:
        """Copy ``weights`` (device ops only)."""
        ts = [local_tensor(w) for w in weights]
        if not ts:
            return
        copies = self._copies
        if copies is None or [c.shape for c in copies] != [t.shape for t in ts]:
            copies = [torch.empty_like(t) for t in ts]
        torch._foreach_copy_(copies, ts)  # one fused kernel on CUDA
        self._copies, self._taken = copies, True

    def update_sumsq(self, weights: Sequence[torch.Tensor]) -> torch.Tensor | None:
        """Return a float32 [n] device tensor of ‖after − before‖², or None before ``take``."""
        if not self._taken or self._copies is None:
            return None
        self._taken = False
        diffs = self._copies
        torch._foreach_sub_(diffs, [local_tensor(w) for w in weights])  # before − after
        norms = torch.stack(torch._foreach_norm(diffs, 2, dtype=torch.float32))
        if diffs[0].device.type == "cuda":
            self._copies = None  # freed: nothing held between statistics steps
        return norms * norms


def decode_fused_stats(raw: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Return ``{name: {norm, mean, std, max_abs}}`` from reduced raw statistics.

    ``std`` is the sample standard deviation (``torch.std``'s default).
    """
    out: dict[str, dict[str, float]] = {}
    for name, (s, sq, n, absmax) in zip(names, raw.astype(np.float64)):
        mean = float(s / n) if n else 0.0
        var = max(sq - s * mean, 0.0) / (n - 1) if n > 1 else 0.0
        out[name] = {
            "norm": math.sqrt(max(sq, 0.0)),
            "mean": mean,
            "std": math.sqrt(var),
            "max_abs": float(absmax),
        }
    return out


def histogram_counts(t: torch.Tensor, limit: torch.Tensor, bins: int) -> torch.Tensor:
    """Return float32 [bins] device counts of ``t`` over ``[-limit, limit]`` (no host sync).

    The range is a device scalar (usually a reduced max |x|), so no ``.item()`` is needed
    to choose edges; values on the upper edge fall into the last bin; NaN/inf are left out.
    """
    x = local_tensor(t).reshape(-1).float()
    if x.device.type == "cpu":
        # On the CPU reading the limit costs no device sync, and histc is one fast pass.
        lim = float(limit)
        if math.isfinite(lim):
            lim = max(lim, torch.finfo(torch.float32).tiny)
            return torch.histc(x, bins=bins, min=-lim, max=lim)
    return _index_histograms(x, limit.reshape(1), bins, None)[0]


def histogram_counts_many(
    tensors: Sequence[torch.Tensor],
    limits: torch.Tensor,
    bins: int,
    *,
    chunk: int = 1 << 23,
    fused: bool | None = None,
) -> torch.Tensor:
    """Return float32 [n, bins] counts of each tensor over its ``[-limits[i], limits[i]]``.

    On the CPU one ``histc`` per tensor. Elsewhere the tensors are concatenated in chunks
    of about ``chunk`` elements and counted together, each element into its own tensor's
    bins, with a dozen kernels per chunk instead of a dozen per tensor (kernel launches, not
    bandwidth, dominate histograms of many small tensors on a GPU). Counts equal
    ``histogram_counts`` of each tensor on that device exactly. ``fused`` forces either
    way (default: fused off the CPU).
    """
    ts = [local_tensor(t) for t in tensors]
    if not ts:
        return torch.zeros(0, bins)
    if not (fused if fused is not None else ts[0].device.type != "cpu"):
        return torch.stack([histogram_counts(t, limits[i], bins) for i, t in enumerate(ts)])
    rows: list[torch.Tensor] = []
    start = 0
    while start < len(ts):
        stop, size = start + 1, ts[start].numel()
        while stop < len(ts) and size + ts[stop].numel() <= chunk:
            size += ts[stop].numel()
            stop += 1
        group = ts[start:stop]
        x = torch.cat([t.reshape(-1) for t in group]).float()
        # int64: float32 counts are inexact above 2**24 elements, and these must be exact
        sizes = _numels(x.device, tuple(t.numel() for t in group), torch.int64)
        rows.append(_index_histograms(x, limits[start:stop], bins, (sizes, size)))
        start = stop
    return torch.cat(rows)


def _index_histograms(
    x: torch.Tensor, limits: torch.Tensor, bins: int, segments: tuple[torch.Tensor, int] | None
) -> torch.Tensor:
    """Counts of the flat float32 ``x`` split into ``len(limits)`` consecutive segments.

    ``segments`` is (device sizes, total) of the segments; None means one segment.
    """
    n = len(limits)
    lim = limits.float()
    scale = bins / (2 * lim.clamp_min(torch.finfo(torch.float32).tiny))
    base = torch.arange(n, device=x.device, dtype=torch.float32) * bins
    if segments is not None:
        sizes, total = segments
        lim, scale, base = (
            torch.repeat_interleave(v, sizes, output_size=total) for v in (lim, scale, base)
        )
    pos = ((x + lim) * scale).floor_()
    # Non-finite values go to an extra slot that is dropped (tested before clamping, which
    # would turn an infinity into the last bin); index_add_ into a fixed size because
    # torch.bincount would sync on CUDA to size its output.
    idx = torch.where(torch.isfinite(pos), pos.clamp_(0, bins - 1) + base, n * bins).long()
    counts = torch.zeros(n * bins + 1, device=x.device)
    return counts.index_add_(0, idx, torch.ones_like(x))[: n * bins].reshape(n, bins)


def decode_histograms(
    counts: np.ndarray, limits: np.ndarray, names: Sequence[str]
) -> dict[str, tuple[list[float], list[float]]]:
    """Return ``{name: (edges, counts)}`` with ``bins + 1`` edges over ``[-limit, limit]``."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for name, row, limit in zip(names, counts, limits):
        lim = float(limit) if limit > 0 else 1.0
        edges = np.linspace(-lim, lim, len(row) + 1)
        out[name] = (edges.tolist(), [float(c) for c in row])
    return out
