"""The fused statistics against numpy, including bfloat16 tensors and non-finite values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchscope.monitor.nonfinite import NonfiniteTracker, resolve_first
from torchscope.monitor.stats import (
    WeightSnapshot,
    _index_histograms,
    decode_fused_stats,
    decode_histograms,
    fused_tensor_stats,
    histogram_counts,
    histogram_counts_many,
)


def test_tensor_stats_equal_numpy() -> None:
    tensors = [torch.randn(7, 5) * 3 + 1, torch.randn(100).to(torch.bfloat16), torch.rand(3)]
    raw = fused_tensor_stats(tensors).numpy()
    stats = decode_fused_stats(raw, ["a", "b", "c"])
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
    tracker.check("forward", 1, torch.ones(3), step=0)
    tracker.check("forward", 1, torch.ones(3), step=1)
    tracker.check("forward", 2, torch.tensor([1.0, float("inf")]), step=1)
    tracker.check("forward", 1, torch.tensor([float("nan")]), step=1)
    tracker.check("forward", 1, torch.tensor([float("nan")]), step=2)
    codes, log = tracker.snapshot()
    event = resolve_first(codes.numpy(), log, tracker.names)
    assert event == {"module": "b", "phase": "forward", "tensor": "output", "step": 1}


def test_tensor_stats_max_magnitude_on_every_device_path() -> None:
    # the most negative value dominates; a bfloat16 tensor and an empty one are allowed
    tensors = [torch.tensor([1.0, -7.5, 3.0]), torch.tensor([2.0, -0.5]).bfloat16(), torch.zeros(0)]
    raw = fused_tensor_stats(tensors)
    assert raw[:, 3].tolist() == [7.5, 2.0, 0.0]
    assert raw[:, 2].tolist() == [3.0, 2.0, 0.0]


def test_weight_snapshot_measures_the_update_and_reuses_its_buffers() -> None:
    weights = [torch.randn(64, 32), torch.randn(32)]
    snap = WeightSnapshot()
    assert snap.update_sumsq(weights) is None  # nothing taken yet
    for _ in range(3):
        snap.take(weights)
        before = [w.clone() for w in weights]
        buffers = [c.data_ptr() for c in snap._copies or []]
        for w in weights:
            w.add_(torch.randn_like(w) * 0.01)
        sumsq = snap.update_sumsq(weights)
        assert sumsq is not None
        expected = [float(((w - b) ** 2).sum()) for w, b in zip(weights, before)]
        assert sumsq.tolist() == pytest.approx(expected, rel=1e-5)
        snap.take(weights)
        assert [c.data_ptr() for c in snap._copies or []] == buffers  # kept on the CPU
        snap.update_sumsq(weights)


def test_nonfinite_tracker_stacks_long_runs_of_checks_in_chunks() -> None:
    tracker = NonfiniteTracker(["root", "a"])
    for step in range(3000):
        tracker.check("forward", 0, torch.ones(2), step=step)
        tracker.check(
            "forward", 1, torch.ones(2) * (float("inf") if step == 2500 else 1), step=step
        )
    assert len(tracker._chunks["forward"]) == 1  # 6000 sums: one chunk of 4096 + a rest
    codes, log = tracker.snapshot()
    event = resolve_first(codes.numpy(), log, tracker.names)
    assert event == {"module": "a", "phase": "forward", "tensor": "output", "step": 2500}
    codes, log = tracker.snapshot()  # everything was taken
    assert resolve_first(codes.numpy(), log, tracker.names) is None


def test_fused_histograms_of_many_tensors_equal_one_at_a_time() -> None:
    torch.manual_seed(3)
    tensors = [torch.randn(n) * s for n, s in ((1000, 1.0), (37, 5.0), (4096, 0.01), (5, 2.0))]
    tensors.append(torch.randn(64, 3).bfloat16())
    tensors[1][3] = float("nan")
    tensors[2][0] = float("inf")
    limits = torch.stack([t.float().nan_to_num(0, 0, 0).abs().max() for t in tensors])
    limits[3] = float("inf")  # a non-finite range: nothing counted, like one at a time
    fused = histogram_counts_many(tensors, limits, 16, chunk=2000, fused=True)  # 3 chunks
    alone = torch.stack(
        [_index_histograms(t.reshape(-1).float(), limits[i : i + 1], 16, None)[0]
         for i, t in enumerate(tensors)]
    )  # fmt: skip
    assert torch.equal(fused, alone)
    assert fused[0].sum() == 1000 and fused[1].sum() == 36 and fused[2].sum() == 4095
    assert fused[3].sum() == 0 and fused[4].sum() == 192
    expected, _ = np.histogram(
        tensors[0].numpy(), bins=16, range=(-limits[0].item(), limits[0].item())
    )
    assert np.abs(fused[0].numpy() - expected).sum() <= 2  # edge rounding only
