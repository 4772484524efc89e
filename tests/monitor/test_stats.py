"""The fused statistics against numpy, including bfloat16 tensors and non-finite values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchscope.monitor.nonfinite import NonfiniteTracker, resolve_first
from torchscope.monitor.stats import (
    decode_histograms,
    decode_tensor_stats,
    histogram_counts,
    tensor_stats,
)


def test_tensor_stats_equal_numpy() -> None:
    tensors = [torch.randn(7, 5) * 3 + 1, torch.randn(100).to(torch.bfloat16), torch.rand(3)]
    raw = tensor_stats(tensors).numpy()
    stats = decode_tensor_stats(raw, ["a", "b", "c"])
    for name, t in zip("abc", tensors):
        x = t.float().numpy().astype(np.float64).ravel()
        assert stats[name]["norm"] == pytest.approx(np.linalg.norm(x), rel=1e-5)
        assert stats[name]["mean"] == pytest.approx(x.mean(), rel=1e-4, abs=1e-6)
        assert stats[name]["std"] == pytest.approx(x.std(ddof=1), rel=1e-4)
        assert stats[name]["max_abs"] == pytest.approx(np.abs(x).max(), rel=1e-6)


def test_histogram_counts_equal_numpy_and_leave_out_nan() -> None:
    t = torch.randn(1000)
    t[3] = float("nan")
    limit = t.nan_to_num().abs().max()
    counts = histogram_counts(t, limit, 16)
    edges, values = decode_histograms(counts[None].numpy(), limit[None].numpy(), ["t"])["t"]
    finite = t[~t.isnan()].numpy()
    expected, _ = np.histogram(finite, bins=np.asarray(edges))
    assert sum(values) == 999
    assert np.abs(np.asarray(values) - expected).sum() <= 2
    assert edges[0] == pytest.approx(-limit.item()) and len(edges) == 17


def test_nonfinite_tracker_keeps_the_earliest_step_and_call() -> None:
    tracker = NonfiniteTracker(["root", "a", "b"])
    tracker.check("forward", 1, torch.ones(3))
    tracker.end_step(0)
    tracker.check("forward", 1, torch.ones(3))
    tracker.check("forward", 2, torch.tensor([1.0, float("inf")]))
    tracker.check("forward", 1, torch.tensor([float("nan")]))
    tracker.end_step(1)
    tracker.check("forward", 1, torch.tensor([float("nan")]))
    tracker.end_step(2)
    codes, log = tracker.snapshot()
    event = resolve_first(codes.numpy(), log, tracker.names)
    assert event == {"module": "b", "phase": "forward", "tensor": "output", "step": 1}
