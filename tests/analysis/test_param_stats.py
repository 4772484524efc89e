"""Tensor statistics, aggregates and health flags, checked against numpy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from torchscope.analysis._chunked import CHUNK
from torchscope.analysis.param_health import health_flags
from torchscope.analysis.param_stats import (
    PERCENTILES,
    TensorStats,
    aggregate,
    describe_tensor,
    layer_kind,
)


def _check_against_numpy(stats: TensorStats, values: np.ndarray, bins: int = 64) -> None:
    finite = values[np.isfinite(values)]
    assert stats.mean == pytest.approx(finite.mean(), rel=1e-6, abs=1e-9)
    assert stats.std == pytest.approx(finite.std(), rel=1e-6)
    assert stats.min == finite.min() and stats.max == finite.max()
    assert stats.mean_abs == pytest.approx(np.abs(finite).mean(), rel=1e-6)
    assert stats.l2_norm == pytest.approx(np.linalg.norm(finite), rel=1e-6)
    assert stats.zero_frac == pytest.approx(np.mean(finite == 0))
    limit = stats.near_zero_threshold
    assert limit == pytest.approx(1e-3 * np.abs(finite).max())
    assert stats.near_zero_frac == pytest.approx(np.mean(np.abs(finite) <= limit))
    assert stats.nan_count == np.isnan(values).sum() and stats.inf_count == np.isinf(values).sum()
    # percentiles come from a (bins × 1024)-bin histogram: off by less than one of its bins
    fine_bin = (finite.max() - finite.min()) / (bins * 1024)
    for q in PERCENTILES:
        assert abs(stats.percentiles[f"p{q:g}"] - np.percentile(finite, q)) <= fine_bin
    counts, _ = np.histogram(finite, bins=bins, range=(finite.min(), finite.max()))
    assert sum(stats.hist) == finite.size
    # binning runs in float32: a value within rounding of a bin edge may land on either side
    assert np.abs(np.array(stats.hist) - counts).sum() <= 4 + finite.size // 50_000


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((300, 1000), torch.float32),  # several row chunks on the CPU
        ((3 * CHUNK + 17,), torch.float32),  # several flat chunks, ragged end
        ((64, 3, 7, 7), torch.bfloat16),
        ((50, 40), torch.float16),
        ((20, 30), torch.float64),
        ((5,), torch.float32),
    ],
)
def test_statistics_match_numpy(shape: tuple[int, ...], dtype: torch.dtype) -> None:
    t = (torch.randn(shape) * 0.05 + 0.01).to(dtype)
    stats = describe_tensor("layer.weight", t)
    assert stats.shape == shape and stats.numel == t.numel()
    assert stats.dtype == str(dtype).removeprefix("torch.")
    _check_against_numpy(stats, t.double().numpy().ravel())


def test_zeros_dead_rows_and_non_finite_values() -> None:
    t = torch.randn(400, 700)
    t[[3, 50, 399]] = 0.0  # three dead output units
    t[10, :5] = 0.0
    t[7, 7], t[8, 8], t[9, 9] = math.nan, math.inf, -math.inf
    stats = describe_tensor("w", t)
    assert stats.dead_units == 3 and stats.units == 400
    assert stats.nan_count == 1 and stats.inf_count == 2
    _check_against_numpy(stats, t.numpy().ravel())
    flags = {f.check: f for f in health_flags([stats])}
    assert (
        flags["non_finite"].severity == "error" and "1 NaN and 2 Inf" in flags["non_finite"].message
    )
    assert flags["dead_units"].value == pytest.approx(3 / 400)
    assert "3 of 400 rows" in flags["dead_units"].message


def test_constant_all_zero_and_empty_tensors() -> None:
    ones = describe_tensor("norm.weight", torch.ones(16))
    assert (ones.mean, ones.std, ones.min, ones.max) == (1.0, 0.0, 1.0, 1.0)
    assert all(v == 1.0 for v in ones.percentiles.values()) and ones.hist[0] == 16
    zeros = describe_tensor("fc.weight", torch.zeros(8, 4))
    assert zeros.zero_frac == 1.0 and zeros.dead_units == 8 and zeros.l2_norm == 0.0
    flags = health_flags([ones, zeros])
    assert [(f.tensor, f.check, f.severity) for f in flags] == [
        ("norm.weight", "constant", "info"),
        ("fc.weight", "all_zero", "warning"),
    ]
    empty = describe_tensor("e", torch.zeros(0, 3))
    assert empty.numel == 0 and math.isnan(empty.mean)


def test_aggregates_are_exact_for_moments_and_close_for_percentiles() -> None:
    parts = [torch.randn(100, 50) * 0.1, torch.rand(1000) + 2.0, torch.zeros(30)]
    stats = [describe_tensor(f"t{i}", p) for i, p in enumerate(parts)]
    group = aggregate("all", stats)
    values = np.concatenate([p.numpy().ravel() for p in parts]).astype(np.float64)
    assert group.numel == values.size and group.tensors == 3
    assert group.mean == pytest.approx(values.mean(), rel=1e-6)
    assert group.std == pytest.approx(values.std(), rel=1e-6)
    assert (group.min, group.max) == (values.min(), values.max())
    assert group.l2_norm == pytest.approx(np.linalg.norm(values), rel=1e-6)
    assert group.zero_frac == pytest.approx(np.mean(values == 0))
    assert sum(group.hist) == pytest.approx(values.size)
    spread = values.max() - values.min()
    for q in (5, 25, 50, 75, 95):
        assert group.percentiles[f"p{q}"] == pytest.approx(
            np.percentile(values, q), abs=0.02 * spread
        )


def test_layer_kinds_from_models_and_from_shapes() -> None:
    assert layer_kind("h.0.mlp.fc.weight", (4, 4), "Linear") == "Linear.weight"
    assert layer_kind("h.0.mlp.fc.weight", (4, 4)) == "matrix.weight"
    assert layer_kind("wte.weight", (50, 4)) == "embedding.weight"
    assert layer_kind("conv.weight", (8, 3, 3, 3)) == "conv.weight"
    assert layer_kind("ln.bias", (4,)) == "vector.bias"


def test_statistics_leave_the_tensor_and_thread_settings_unchanged() -> None:
    t = torch.randn(600, 600)
    before, threads = t.clone(), torch.get_num_threads()
    describe_tensor("w", t)
    assert torch.equal(t, before) and torch.get_num_threads() == threads


@pytest.mark.gpu
def test_statistics_on_the_gpu_match_the_cpu() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    t = torch.randn(1000, 3000)
    cpu, gpu = describe_tensor("w", t), describe_tensor("w", t.cuda())
    for field in ("mean", "std", "min", "max", "mean_abs", "l2_norm", "zero_frac"):
        assert getattr(gpu, field) == pytest.approx(getattr(cpu, field), rel=1e-5)
    assert gpu.hist == cpu.hist


FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _extreme_cases(dtype: torch.dtype) -> dict[str, torch.Tensor]:
    fi = torch.finfo(dtype)
    big = fi.max * 0.9
    zero = torch.zeros((), dtype=dtype)
    least = torch.nextafter(zero, torch.ones((), dtype=dtype)).item()  # the smallest subnormal
    return {
        "min and max": torch.tensor([fi.min, fi.max], dtype=dtype),
        "±0.9 max": torch.tensor([-big, big, big, 0.5], dtype=dtype),
        "tiny, zero and max": torch.tensor([fi.tiny, 0.0, fi.max, -fi.tiny], dtype=dtype),
        "constant max": torch.full((6,), fi.max, dtype=dtype),
        "single min": torch.tensor([fi.min], dtype=dtype),
        "max with inf and nan": torch.tensor(
            [1.0, math.inf, fi.max, -math.inf, math.nan], dtype=dtype
        ),
        "rows of huge values": ((torch.rand(700, 800, dtype=torch.float64) * 2 - 1) * fi.max).to(
            dtype
        ),
        # subnormal values: a range of a few 1e-45 once overflowed the histogram's scale
        "smallest subnormals": torch.tensor([least, -least, 0.0], dtype=dtype),
        "subnormals and tiny": torch.tensor([least, 3 * least, fi.tiny / 2, -fi.tiny], dtype=dtype),
        "rows of subnormals": (torch.randint(-9, 10, (70, 80)) * least).to(dtype),
    }


def _scaled_reference(finite: np.ndarray) -> tuple[float, float, float, float]:
    """numpy's mean, std, L2 norm and mean |x|, on values divided by a power of two."""
    unit = 2.0 ** (math.frexp(float(np.abs(finite).max()))[1] - 1) if finite.any() else 1.0
    x = finite / unit
    with np.errstate(over="ignore"):
        mean, std, l2, mean_abs = (x.mean(), x.std(), np.linalg.norm(x), np.abs(x).mean())
        return float(mean) * unit, float(std) * unit, float(l2) * unit, float(mean_abs) * unit


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_values_at_the_limits_of_every_float_dtype(dtype: torch.dtype) -> None:
    cases = _extreme_cases(dtype)
    for case, t in cases.items():
        stats = describe_tensor("w", t)
        values = t.double().numpy().ravel()
        finite = values[np.isfinite(values)]
        mean, std, l2, mean_abs = _scaled_reference(finite)
        rel = 1e-5  # squares summed in float32 over 560,000 values
        assert (stats.min, stats.max) == (finite.min(), finite.max()), case
        assert stats.mean == pytest.approx(mean, rel=rel, abs=rel * std), case
        assert stats.std == pytest.approx(std, rel=rel), case
        assert stats.l2_norm == pytest.approx(l2, rel=rel), case  # inf past float64's max
        assert stats.mean_abs == pytest.approx(mean_abs, rel=rel), case
        assert stats.nan_count + stats.inf_count == values.size - finite.size, case
        assert sum(stats.hist) == finite.size and stats.zero_frac == np.mean(finite == 0), case
        # in units of a power of two, so that neither a span past float64's max nor the
        # bin width of subnormals (5e-324 / 65536 is 0) leaves the float range
        unit = 2.0 ** (math.frexp(float(np.abs(finite).max()))[1] - 1) if finite.any() else 1.0
        fine_bin = float(finite.max() / unit - finite.min() / unit) / (64 * 1024)
        fine_bin += 5e-324 / unit  # a percentile is a float64: it cannot be finer than that
        for q in PERCENTILES:
            expected = np.percentile(finite / unit, q)
            assert abs(stats.percentiles[f"p{q:g}"] / unit - expected) <= fine_bin, (case, q)
    group = aggregate("all", [describe_tensor(k, t) for k, t in cases.items()])
    every = np.concatenate([t.double().numpy().ravel() for t in cases.values()])
    every = every[np.isfinite(every)]
    mean, std, _, _ = _scaled_reference(every)
    assert group.mean == pytest.approx(mean, rel=1e-5, abs=1e-5 * std)
    assert group.std == pytest.approx(std, rel=1e-5)
    assert sum(group.hist) == pytest.approx(every.size) and math.isfinite(group.percentiles["p50"])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_empty_single_constant_and_non_finite_tensors(dtype: torch.dtype) -> None:
    for shape in ((0,), (0, 3), (3, 0)):
        empty = describe_tensor("e", torch.zeros(shape, dtype=dtype))
        assert empty.numel == 0 and math.isnan(empty.mean) and sum(empty.hist) == 0
    one = describe_tensor("s", torch.tensor(0.1, dtype=dtype))
    assert (one.mean, one.std, one.min, one.max) == (one.min, 0.0, one.min, one.min)
    assert one.min == torch.tensor(0.1, dtype=dtype).item() and one.hist[0] == 1
    const = describe_tensor("c", torch.full((7, 3), 0.1, dtype=dtype))
    value = torch.tensor(0.1, dtype=dtype).item()
    assert (const.mean, const.std, const.min, const.max) == (value, 0.0, value, value)
    assert set(const.percentiles.values()) == {value}
    bad = describe_tensor("b", torch.tensor([math.nan, math.inf, -math.inf], dtype=dtype))
    assert (bad.nan_count, bad.inf_count, bad.finite_count) == (1, 2, 0)
    assert math.isnan(bad.mean) and math.isnan(bad.std) and sum(bad.hist) == 0


def test_inspect_params_of_a_checkpoint_at_the_limits(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from torchscope._api import inspect_params

    def extremes(dtype: torch.dtype) -> torch.Tensor:
        fi = torch.finfo(dtype)
        return torch.tensor([[fi.min, fi.max], [0.9 * fi.max, -0.9 * fi.max]], dtype=dtype)

    tensors = {str(dtype).removeprefix("torch."): extremes(dtype) for dtype in FLOAT_DTYPES}
    save_file(tensors, str(tmp_path / "extreme.safetensors"))
    report = inspect_params(tmp_path / "extreme.safetensors")
    assert {t.name for t in report.tensors} == set(tensors)
    assert not report.has_errors and report.total.numel == 16
    for t in report.tensors:
        values = tensors[t.name].double().numpy().ravel()
        top = float(np.abs(values).max())
        assert t.std == pytest.approx(float(np.std(values / top)) * top, rel=1e-6), t.name
    by_name = {t["name"]: t for t in json.loads(report.to_json())["tensors"]}  # strict JSON
    assert by_name["float64"]["l2_norm"] is None  # past float64's max: inf, written as null
    assert by_name["float32"]["l2_norm"] == pytest.approx(report.tensor("float32").l2_norm)
