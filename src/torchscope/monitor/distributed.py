"""Exact reduction of statistics across ranks: sums and counts add, maxima take the max.

Only small vectors travel (one row per tensor or module), never the tensors themselves.
Outside ``torch.distributed`` every function is the identity and rank 0 is this process.
"""

from __future__ import annotations

import torch

__all__ = ["is_distributed", "rank", "reduce_max", "reduce_stats", "reduce_sum", "world_size"]


def is_distributed() -> bool:
    """Return True when a default process group with more than one rank is running."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """Return this process's rank (0 outside torch.distributed)."""
    import torch.distributed as dist

    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Return the number of ranks (1 outside torch.distributed)."""
    import torch.distributed as dist

    return dist.get_world_size() if is_distributed() else 1


def reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Return ``t`` summed over all ranks (in place; asynchronous on NCCL streams)."""
    if is_distributed():
        import torch.distributed as dist

        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def reduce_max(t: torch.Tensor) -> torch.Tensor:
    """Return the elementwise maximum of ``t`` over all ranks (in place)."""
    if is_distributed():
        import torch.distributed as dist

        dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t


def reduce_stats(raw: torch.Tensor, sum_cols: slice, max_cols: slice) -> torch.Tensor:
    """Return a [n, k] statistics tensor reduced over ranks: ``sum_cols`` add, ``max_cols`` max.

    Example:
        >>> raw = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
        >>> reduce_stats(raw, slice(0, 3), slice(3, 4)).tolist()  # one process: unchanged
        [[1.0, 2.0, 3.0, 4.0]]
    """
    if not is_distributed() or raw.numel() == 0:
        return raw
    sums = reduce_sum(raw[:, sum_cols].contiguous())
    maxes = reduce_max(raw[:, max_cols].contiguous())
    out = raw.clone()
    out[:, sum_cols] = sums
    out[:, max_cols] = maxes
    return out
