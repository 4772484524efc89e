"""Small synthetic runs written through RunWriter, with the values kept for assertions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from torchscope.store import RunWriter

LAYERS = ["encoder.fc1", "encoder.fc2", "head"]
LABELS = ["cat", "dog", "bird"]


@dataclass
class SampleRun:
    path: Path
    steps: np.ndarray
    train_loss: np.ndarray
    val_steps: np.ndarray
    val_loss: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray

    def grad_norm(self, layer: int, step: Any) -> Any:
        return 10.0 ** (-layer) * (1 + step / 500)

    def update_ratio(self, layer: int) -> float:
        return 1e-3 * (layer + 1)

    def dead_fraction(self, layer: int, step: Any) -> Any:
        return (layer + 1) * 0.1 + 0.0 * step


def write_sample_run(path: Path, *, name: str = "sample", seed: int = 0, n: int = 500) -> SampleRun:
    """A 500-step run: train loss every step, val every 50, layer stats every 10."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n)
    train_loss = 2.0 * np.exp(-steps / 100) + 0.05 + 0.02 * rng.random(n)
    val_steps = steps[49::50]
    val_loss = 2.0 * np.exp(-val_steps / 100) + 0.1
    y_true = rng.integers(0, 3, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, 200))
    run = SampleRun(path, steps, train_loss, val_steps, val_loss, y_true, y_pred)
    with RunWriter(path, run_name=name) as w:
        for s in steps.tolist():
            w.log_scalars(s, {"loss": float(train_loss[s]), "lr": 0.01})
            if s % 10 == 0:
                w.log_layer_stats(
                    s,
                    "grad",
                    {layer: {"norm": float(run.grad_norm(i, s))} for i, layer in enumerate(LAYERS)},
                )
                w.log_layer_stats(
                    s,
                    "update_ratio",
                    {layer: {"ratio": run.update_ratio(i)} for i, layer in enumerate(LAYERS)},
                )
                acts = {
                    layer: {"dead_fraction": float(run.dead_fraction(i, s)), "mean": 0.5}
                    for i, layer in enumerate(LAYERS[:2])
                }
                acts[LAYERS[2]] = {"mean": 0.1}
                w.log_layer_stats(s, "activation", acts)
        for s, v in zip(val_steps.tolist(), val_loss.tolist()):
            w.log_scalars(s, {"loss": v, "accuracy": 0.5}, split="val")
        matrix = np.zeros((3, 3), dtype=int)
        np.add.at(matrix, (y_true, y_pred), 1)
        w.log_confusion(n - 1, "val", matrix.tolist(), LABELS)
    return run
