"""Peak table, medians and spreads, outliers, bytes moved: the maths under a profile."""

from __future__ import annotations

import pytest
import torch

import torchscope
from torchscope.analysis.profile_peaks import device_peak
from torchscope.analysis.profile_rollup import Stat, bytes_moved, outliers


@pytest.mark.parametrize(
    ("name", "dtype", "tf32", "tflops", "bandwidth"),
    [
        ("NVIDIA H100 80GB HBM3", "bfloat16", False, 989.4, 3.35),
        ("NVIDIA H100 PCIe", "float16", False, 756, 2.0),
        ("NVIDIA H100 80GB HBM3", "float32", False, 66.9, 3.35),
        ("NVIDIA H100 80GB HBM3", "float32", True, 494.7, 3.35),
        ("NVIDIA GH200 480GB", "bfloat16", False, 989.4, 4.0),  # not taken for an H200
        ("NVIDIA H200", "bfloat16", False, 989.4, 4.8),
        ("NVIDIA A100-SXM4-80GB", "bfloat16", False, 312, 2.0),
        ("NVIDIA A100-SXM4-40GB", "bfloat16", False, 312, 1.555),
        ("NVIDIA L4", "bfloat16", False, 121, 0.3),
        ("AMD Instinct MI300X", "bfloat16", False, 1307.4, 5.3),
    ],
)
def test_peaks_of_known_devices(
    name: str, dtype: str, tf32: bool, tflops: float, bandwidth: float
) -> None:
    spec = device_peak(name, dtype, tf32)
    assert spec is not None
    assert (spec.tflops, spec.bandwidth_tbs) == (tflops, bandwidth)
    assert spec.ridge == pytest.approx(tflops / bandwidth)


def test_unknown_devices_and_dtypes_have_no_peak_unless_given() -> None:
    assert device_peak("", "float32") is None  # the CPU
    assert device_peak("Tesla V100-SXM2-16GB", "bfloat16") is None  # no bf16 tensor cores
    given = device_peak("", "float32", tflops=2.5)
    assert given is not None and (given.flops, given.source, given.ridge) == (2.5e12, "given", None)


def test_stat_is_median_and_median_absolute_deviation() -> None:
    s = Stat.of([1.0, 2.0, 3.0, 4.0, 100.0])
    assert (s.median, s.spread, s.low, s.high) == (3.0, 1.0, 1.0, 100.0)
    assert Stat.of([]) == Stat(0.0, 0.0, 0.0, 0.0)


def test_outliers_are_far_in_spreads_and_share() -> None:
    layers = {f"layers.{i}": 10.0 + 0.1 * (i % 3) for i in range(12)}
    assert outliers(layers) == []
    layers["layers.7"] = 14.0
    assert outliers(layers) == ["layers.7"]
    assert outliers({"a": 1.0, "b": 9.0}) == []  # two copies name no outlier


def test_bytes_moved_counts_inputs_outputs_and_weights_once_per_op() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Flatten())
    graph = torchscope.trace(net, input_size=(2, 8))
    moved = bytes_moved(graph)
    linear = 4 * (2 * 8 + 2 * 4 + 8 * 4 + 4)
    relu = 4 * (2 * 4 + 2 * 4)
    assert (moved["0"], moved["1"], moved["2"]) == (linear, relu, 0)  # a view moves nothing
    assert moved[""] == linear + relu
