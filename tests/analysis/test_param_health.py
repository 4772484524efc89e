"""Health flags: non-finite values as errors, weights far above any initialisation's scale,
and scale outliers within a layer type, without flags on sound models."""

from __future__ import annotations

import math

import pytest
import torch

from tests.models import MLP
from torchscope._api import inspect_params
from torchscope.analysis.param_health import LARGE_SCALE, SCALE_Z, health_flags, init_scale
from torchscope.analysis.param_stats import describe_tensor


def _warnings(report) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(f.tensor, f.check) for f in report.flags if f.severity != "info"]


def test_a_weight_scaled_by_1000_is_flagged_in_a_small_model() -> None:
    model = MLP()
    assert _warnings(inspect_params(model)) == []
    with torch.no_grad():
        model.fc1.weight.mul_(1000)
    report = inspect_params(model)
    assert _warnings(report) == [("fc1.weight", "large_scale")]
    flag = next(f for f in report.flags if f.check == "large_scale")
    stats = report.tensor("fc1.weight")
    fan_in = min(stats.shape)
    assert flag.value == pytest.approx(stats.std * math.sqrt(fan_in)) and flag.value > 100
    assert flag.threshold == LARGE_SCALE and f"std {stats.std:.4g}" in flag.message
    assert not report.has_errors


def test_init_scale_is_std_times_the_root_of_the_fan_in() -> None:
    linear = describe_tensor("fc.weight", torch.randn(300, 40) * 0.1, kind="Linear.weight")
    assert init_scale(linear) == pytest.approx(linear.std * math.sqrt(40))
    embed = describe_tensor("wte.weight", torch.randn(500, 64))  # one-hot rows: fan-in 1
    assert embed.kind == "embedding.weight" and init_scale(embed) == pytest.approx(embed.std)
    assert math.isnan(init_scale(describe_tensor("ln.weight", torch.ones(8))))


def test_non_finite_values_make_the_report_say_it_has_errors() -> None:
    model = MLP()
    with torch.no_grad():
        model.fc2.weight[0, 0] = math.nan
    report = inspect_params(model)
    assert report.has_errors and ("fc2.weight", "non_finite") in _warnings(report)
    errors = [f for f in report.flags if f.severity == "error"]
    assert [f.message for f in errors] == ["1 NaN and 0 Inf of 300 values"]


def test_scale_outliers_compare_rms_not_size() -> None:
    sizes = [(32, 32)] * 6 + [(32, 128)] * 6  # one layer type, two sizes, one init scale
    tensors = [
        describe_tensor(f"h.{i}.fc.weight", torch.randn(shape) * 0.02, kind="Linear.weight")
        for i, shape in enumerate(sizes)
    ]
    assert health_flags(tensors) == []  # L2 norms differ 2×; RMS does not
    tensors.append(describe_tensor("h.x.fc.weight", torch.randn(32, 32) / 2, kind="Linear.weight"))
    (flag,) = health_flags(tensors)
    assert (flag.tensor, flag.check, flag.threshold) == ("h.x.fc.weight", "scale_outlier", SCALE_Z)
    assert flag.value > SCALE_Z and "above the median" in flag.message
    # 8× apart, as T5's query and key initialisations are by design: not flagged
    tensors[-1] = describe_tensor("h.x.fc.weight", torch.randn(32, 32) / 6, kind="Linear.weight")
    assert health_flags(tensors) == []
