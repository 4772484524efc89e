"""Runs and models for the report tests: a long run written directly to a store (with a
spike, a NaN and a gradient that explodes), and a model whose names carry payloads."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from torchscope.store.writer import RunWriter

# module names may hold no dot: the payloads set top["__pwned"] if they ever run
SCRIPT = "<script>top['__pwned']=1</script>"
IMG = "<img src=x onerror=top['__pwned']=2>"
LAYERS = ["fc1.weight", "fc1.bias", "fc2.weight"]
STEPS = 5000
SPIKE_STEP, SPIKE = 3210, 40.0
NAN_STEP = 4321
EXPLODE_STEP = 4000  # the last 5 logged gradient norms of fc2.weight jump ×1000


def loss_at(step: int) -> float:
    if step == SPIKE_STEP:
        return SPIKE
    if step == NAN_STEP:
        return math.nan
    return 2.0 * math.exp(-step / 1500) + 0.1


def write_run(path: Path, *, hostile: bool = False) -> Path:
    """A 5,000-step run: train loss and lr every step, val accuracy and a confusion every
    500, per-layer gradient norms and update ratios every 10, histograms every 1,000."""
    metric = f"acc{SCRIPT}" if hostile else "accuracy"
    layers = [*LAYERS, IMG] if hostile else LAYERS
    with RunWriter(path, run_name=SCRIPT if hostile else "long-run") as w:
        w.set_meta("config", {"lr": 0.001, "note": IMG} if hostile else {"lr": 0.001, "batch": 32})
        w.set_meta("environment", {"torch": "2.x", "device": "cpu"})
        w.set_meta("start_time", 1_700_000_000.0)
        w.set_meta("wall_time_s", 754.2)
        w.set_meta("git_commit", "0123abcd")
        for step in range(STEPS):
            w.log_scalars(step, {"loss": loss_at(step), "lr": 1e-3}, wall_time=1e9 + step)
            if step % 10 == 0:
                norms = {name: {"norm": 1.0 + i} for i, name in enumerate(layers)}
                if step >= EXPLODE_STEP - 40:
                    norms[LAYERS[2]]["norm"] = 3000.0
                w.log_layer_stats(step, "grad", norms)
                w.log_layer_stats(step, "update_ratio", {n: {"ratio": 1e-3} for n in layers})
            if step % 500 == 499:
                acc = 0.5 + step / 20000
                w.log_scalars(step, {metric: acc}, split="val", wall_time=1e9 + step)
                w.log_confusion(
                    step,
                    "val",
                    [[40, 10], [5, 45]],
                    labels=["cat", SCRIPT] if hostile else ["cat", "dog"],
                )
            if step % 1000 == 0:
                edges = np.linspace(-1, 1, 9).tolist()
                for name in layers:
                    w.log_histogram(step, "weight", name, edges, [1, 2, 4, 8, 8, 4, 2, 1])
        w.log_event(
            NAN_STEP, "nonfinite", {"module": IMG if hostile else "fc2", "phase": "forward"}
        )
    return path


class HostileNet(nn.Module):
    """A model whose module names carry markup (nn.Module names may hold no dot)."""

    def __init__(self) -> None:
        super().__init__()
        self.add_module(SCRIPT, nn.Linear(4, 8))
        self.add_module(IMG, nn.Linear(8, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, IMG)(torch.relu(getattr(self, SCRIPT)(x)))
