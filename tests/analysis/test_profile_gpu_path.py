"""The accelerator path without an accelerator: kineto events, kernel time, MFU, roofline.

Fake profiler events stand in for a GPU's (kernels linked to the CPU op that launched
them by correlation id) and a hand-made measurement names an H100: what a GPU run would
hand to the analysis, checked number by number.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch.autograd import DeviceType

import torchscope
from torchscope.analysis.profile import build_profile
from torchscope.capture.profile_kineto import trace_records
from torchscope.capture.profile_trace import (
    MODULE_PREFIX,
    STEP_RANGE,
    Measurement,
    OpRecord,
    StepTrace,
)


@dataclass
class FakeEvent:
    """The methods of torch's ``_KinetoEvent`` that ``trace_records`` reads."""

    _name: str
    _start: int
    _duration: int
    _device: DeviceType = DeviceType.CPU
    _corr: int = 0
    _linked: int = 0
    _seq: int = -1
    _nbytes: int = 0
    _async: bool = False
    _thread: int = 7

    def name(self) -> str:
        return self._name

    def start_ns(self) -> int:
        return self._start

    def duration_ns(self) -> int:
        return self._duration

    def device_type(self) -> DeviceType:
        return self._device

    def correlation_id(self) -> int:
        return self._corr

    def linked_correlation_id(self) -> int:
        return self._linked

    def sequence_nr(self) -> int:
        return self._seq

    def nbytes(self) -> int:
        return self._nbytes

    def is_async(self) -> bool:
        return self._async

    def start_thread_id(self) -> int: return self._thread  # fmt: skip


def test_kernels_are_charged_to_the_op_that_launched_them() -> None:
    cuda = DeviceType.CUDA
    events = [
        FakeEvent("aten::addmm", 100, 50, _corr=11, _seq=3),
        FakeEvent("aten::relu", 200, 10, _corr=12, _seq=2**64 - 1),
        FakeEvent("ampere_sgemm_128x64", 120, 400, cuda, _linked=11),
        FakeEvent("splitK_reduce", 530, 30, cuda, _linked=11),
        FakeEvent("relu_kernel", 560, 20, cuda, _linked=12),
        FakeEvent("[memory]", 105, 0, cuda, _nbytes=4096),
        FakeEvent("[memory]", 106, 0, DeviceType.CPU, _nbytes=64),  # the host's: not kept
        FakeEvent("cudaLaunchKernel", 110, 5, _async=True),
    ]
    ops, memory = trace_records(events, "cuda:0")
    assert [(o.name, o.seq, o.device_ns) for o in ops] == [
        ("aten::addmm", 3, 430),
        ("aten::relu", -1, 20),  # UINT64_MAX: no sequence number
    ]
    assert [(m.time_ns, m.nbytes) for m in memory] == [(105, 4096)]
    _, memory_cpu = trace_records(events, "cpu")
    assert [(m.time_ns, m.nbytes) for m in memory_cpu] == [(106, 64)]


def test_mfu_and_roofline_side_on_a_named_gpu() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU())
    graph = torchscope.trace(net, input_size=(8, 64))
    ms = 1_000_000
    ops = [
        OpRecord(STEP_RANGE, 0, 10 * ms, 1),
        OpRecord(f"{MODULE_PREFIX}0", 0, 9 * ms, 1),
        OpRecord(f"{MODULE_PREFIX}1", 0, 5 * ms, 1),
        OpRecord("aten::addmm", 0, 5 * ms, 1, seq=0, device_ns=2_000),
        OpRecord(f"{MODULE_PREFIX}2", 6 * ms, 9 * ms, 1),
        OpRecord("aten::relu", 6 * ms, 9 * ms, 1, seq=1, device_ns=500),
    ]
    trace = StepTrace(ops, [], [(0, 0), (0, 1), (1, -2), (1, 2), (2, -3), (2, -1)], 10 * ms, 4_000)
    measured = Measurement(
        modules=["", "0", "1"], steps=[trace], baseline_ns=[5_000], device="cuda:0",
        device_name="NVIDIA H100 80GB HBM3", dtype="bfloat16", backward=False,
    )  # fmt: skip
    p = build_profile(graph, measured)
    assert p.peak is not None and p.peak.tflops == 989.4
    linear = p.module("0")
    assert (linear.forward_ms, p.total_ms) == (0.002, 0.004)  # kernel time, CUDA-event step
    assert linear.achieved_flops == pytest.approx(2 * 8 * 64 * 64 / 2e-6)
    assert linear.mfu == pytest.approx(linear.achieved_flops / 989.4e12)
    ridge = 989.4e12 / 3.35e12
    assert linear.intensity is not None and linear.intensity < ridge
    assert linear.bound == "memory"
    assert p.outside_ms == pytest.approx(0.004 - 0.0025)
    assert p.mfu == pytest.approx(2 * 8 * 64 * 64 / 4e-6 / 989.4e12)
