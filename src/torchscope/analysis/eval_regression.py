"""Streaming regression metrics: MSE, MAE and R² per output, exact, in bounded memory.

Per output it keeps the sums of squared and absolute errors and the target's running mean
and M2 (merged batch by batch with Chan et al.'s formula, so R² does not suffer the
cancellation of Σy² − (Σy)²/n), and a uniform random sample of ``RESIDUAL_SAMPLE`` rows
for the residual plot: each row gets a seeded random key and the rows of the smallest
keys are kept (bottom-k sampling), so the same data gives the same sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torchscope.analysis.eval_metrics import r2_scores
from torchscope.analysis.eval_result import OutputRow, Residuals
from torchscope.analysis.eval_tasks import Prepared

__all__ = ["RESIDUAL_SAMPLE", "RegressionStream"]

RESIDUAL_SAMPLE = 5000
_SEED = 0


class RegressionStream:
    """MSE, MAE and R² per output, exact, and a bounded sample of rows for residuals."""

    def __init__(self, outputs: int, sample: int = RESIDUAL_SAMPLE) -> None:
        self.outputs, self.sample = outputs, sample
        self.notes: list[str] = []
        self.samples = 0
        self.mean = np.zeros(outputs)
        self.m2 = np.zeros(outputs)  # Σ (y − mean)², merged batch by batch (Chan et al.)
        self.sse = np.zeros(outputs)
        self.sae = np.zeros(outputs)
        self._rng = np.random.default_rng(_SEED)
        self._keys = np.zeros(0)
        self._rows = np.zeros((0, 2, outputs))

    def update(self, batch: Prepared) -> int:
        pred = batch.probs.double().cpu().numpy()
        target = batch.target.double().cpu().numpy()
        if pred.shape[1] != self.outputs:
            raise ValueError(f"a batch has {pred.shape[1]} outputs; the first had {self.outputs}")
        n = len(pred)
        if n:
            error = pred - target
            self.sse += (error**2).sum(0)
            self.sae += np.abs(error).sum(0)
            self._merge_moments(target)
            self._sample(pred, target)
        self.samples += n
        return n

    def _merge_moments(self, target: np.ndarray) -> None:
        n_a, n_b = self.samples, len(target)
        mean_b = target.mean(0)
        m2_b = ((target - mean_b) ** 2).sum(0)
        delta = mean_b - self.mean
        total = n_a + n_b
        self.mean = self.mean + delta * n_b / total
        self.m2 = self.m2 + m2_b + delta**2 * n_a * n_b / total

    def _sample(self, pred: np.ndarray, target: np.ndarray) -> None:
        keys = np.r_[self._keys, self._rng.random(len(pred))]
        rows = np.concatenate([self._rows, np.stack([pred, target], axis=1)])
        if len(keys) > self.sample:
            keep = np.sort(np.argpartition(keys, self.sample)[: self.sample])
            keys, rows = keys[keep], rows[keep]
        self._keys, self._rows = keys, rows

    def finish(self, labels: list[str]) -> dict[str, Any]:
        n = self.samples
        mse = self.sse / n if n else np.full(self.outputs, np.nan)
        mae = self.sae / n if n else np.full(self.outputs, np.nan)
        # R² of fewer than two samples is undefined (NaN), as scikit-learn's r2_score says
        r2 = r2_scores(self.sse, self.m2) if n >= 2 else np.full(self.outputs, np.nan)
        rows = [
            OutputRow(labels[j], float(mse[j]), float(mae[j]), float(r2[j]))
            for j in range(self.outputs)
        ]
        residuals = Residuals(
            predicted=self._rows[:, 0].T.tolist(), target=self._rows[:, 1].T.tolist(), total=n
        )
        metrics = {
            "mse": float(mse.mean()),
            "rmse": float(np.sqrt(mse).mean()),
            "mae": float(mae.mean()),
            "r2": float(r2.mean()),
        }
        return {
            "metrics": metrics,
            "outputs": rows,
            "residuals": residuals,
            "notes": list(self.notes),
        }
