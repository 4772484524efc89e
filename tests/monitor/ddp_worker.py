"""The per-rank body of the 2-process gloo test (importable by spawned processes)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tests.monitor.fake_store import FakeWriter
from tests.monitor.models_monitor import SmallCNN, digits
from torchscope.monitor import Monitor

STEPS, BATCH = 3, 32
SETTINGS: dict[str, Any] = {"every": 1, "activations_every": 1, "histograms_every": 1}


def run(rank: int, world: int, port: int, out: str) -> None:
    """Train with DDP on rank's share of each batch; rank 0 dumps what it wrote to ``out``."""
    _run_rank(rank, world, port, out, fsdp=False)


def run_fsdp(rank: int, world: int, port: int, out: str) -> None:
    """Like ``run`` but with FSDP2 (``fully_shard``): parameters and gradients are sharded."""
    _run_rank(rank, world, port, out, fsdp=True)


def _run_rank(rank: int, world: int, port: int, out: str, *, fsdp: bool) -> None:
    import torch.distributed as dist
    from torch.distributed.fsdp import fully_shard
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        torch.manual_seed(0)
        model = SmallCNN(dropout=0.0)
        # FSDP2 shards the model in place; DDP wraps it and the wrapper runs the forward
        forward: nn.Module = model
        if fsdp:
            fully_shard(model)
        else:
            forward = DistributedDataParallel(model)
        opt = torch.optim.Adam(forward.parameters(), lr=1e-2)
        writer = FakeWriter(out) if rank == 0 else None
        share = BATCH // world
        train(
            model, forward, opt, Monitor(model, opt, writer=writer, **SETTINGS), rank * share, share
        )
    finally:
        # Meet the other rank before destroying the group: a rank that tears gloo down while
        # the other is still in a collective sometimes aborted ("terminate called without an
        # active exception", about 1 run in 10 on a busy machine).
        dist.barrier()
        dist.destroy_process_group()


def train(
    model: nn.Module, forward: nn.Module, opt: torch.optim.Optimizer, mon: Monitor, lo: int, n: int
) -> None:
    """The loop shared by the distributed ranks and the single-process reference."""
    x, y = digits()
    for step in range(STEPS):
        i = step * BATCH + lo
        logits = forward(x[i : i + n])
        loss = nn.functional.cross_entropy(logits, y[i : i + n])
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.log(step, loss=loss)
        mon.log_classification(step, logits, y[i : i + n], split="train")
    mon.close()
