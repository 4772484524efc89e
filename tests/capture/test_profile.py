"""``torchscope.profile`` on real (small) models: counts, memory, attribution, no harm.

No test asserts a time: times vary from run to run. They assert what is exact: MACs,
bytes, calls, op counts, and invariants between the figures of one run.
"""

from __future__ import annotations

import collections

import pytest
import torch
from torch import nn

import torchscope
from tests.fixtures import single_torch_thread
from tests.models import MLP, SharedTwice
from torchscope.analysis.profile_attribution import attribute_step
from torchscope.capture.profile import measure

__all__ = ["single_torch_thread"]


@pytest.fixture(scope="module")
def mlp_profile() -> torchscope.Profile:
    torch.manual_seed(0)
    return torchscope.profile(MLP(), input_size=(8, 20), warmup=1, repeat=3)


def test_macs_forward_and_backward_per_module(mlp_profile: torchscope.Profile) -> None:
    fc1, fc2 = mlp_profile.module("fc1"), mlp_profile.module("fc2")
    assert (fc1.macs, fc2.macs) == (8 * 20 * 30, 8 * 30 * 10)
    # fc1's input needs no gradient: only its weight gradient (one matmul); fc2: two
    assert (fc1.backward_macs, fc2.backward_macs) == (8 * 20 * 30, 2 * 8 * 30 * 10)
    root = mlp_profile.module("")
    assert root.macs == fc1.macs + fc2.macs
    assert mlp_profile.step_macs == root.macs + root.backward_macs


def test_memory_of_each_forward(mlp_profile: torchscope.Profile) -> None:
    out = {name: mlp_profile.module(name) for name in ("fc1", "act", "fc2", "")}
    assert [out[n].peak_bytes for n in ("fc1", "act", "fc2")] == [960, 960, 320]
    assert [out[n].retained_bytes for n in ("fc1", "act", "fc2")] == [960, 960, 320]
    # fc1's output is freed once ReLU has made its own: the root keeps ReLU's and fc2's
    assert (out[""].peak_bytes, out[""].retained_bytes) == (1920, 1280)


def test_rates_follow_from_counts_and_times(mlp_profile: torchscope.Profile) -> None:
    fc1 = mlp_profile.module("fc1")
    assert fc1.bytes_moved == 4 * (8 * 20 + 8 * 30 + 20 * 30 + 30)  # in, out, weight, bias
    assert fc1.intensity == pytest.approx(2 * fc1.macs / fc1.bytes_moved)
    assert fc1.achieved_flops == pytest.approx(
        2 * (fc1.macs + fc1.backward_macs) / (fc1.total_ms / 1e3)
    )
    assert fc1.mfu is None  # no peak known for a CPU


def test_op_breakdown_adds_up_to_self_time(mlp_profile: torchscope.Profile) -> None:
    for m in mlp_profile.modules:
        assert {o.phase for o in m.ops} <= {"forward", "backward"}
    fc2 = mlp_profile.module("fc2")
    names = {(o.phase, o.name) for o in fc2.ops}
    assert {("forward", "aten::addmm"), ("backward", "aten::mm")} <= names


def test_each_step_splits_into_modules_and_outside() -> None:
    torch.manual_seed(0)
    model, x = MLP(), torch.randn(8, 20)
    measured = measure(
        model, (x,), {}, device=torch.device("cpu"), dtype=None, backward=True,
        warmup=1, repeat=2,
    )  # fmt: skip
    for trace in measured.steps:
        t = attribute_step(trace)
        inside = sum(t.self_forward_ns[i] + t.backward_ns.get(i, 0) for i in t.self_forward_ns)
        assert 0 < inside <= t.step_ns
        assert t.calls == {0: 1, 1: 1, 2: 1, 3: 1}
        for i in t.self_forward_ns:
            ops = sum(v for (j, phase, _), v in t.ops.items() if j == i and phase == "forward")
            assert ops == t.self_forward_ns[i]


def test_op_counts_agree_with_torch_profiler() -> None:
    """The profile's per-op call counts per step equal key_averages() of plain steps."""
    from torch.profiler import ProfilerActivity, profile

    torch.manual_seed(0)
    model, x = MLP(), torch.randn(8, 20)
    result = torchscope.profile(model, x, warmup=1, repeat=2)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model(x).backward(torch.ones(8, 10))
    model.zero_grad(set_to_none=True)
    reference = {e.key: e.count for e in prof.key_averages()}
    ours = {o.name: o.calls for o in result.op_totals}
    for name in ("aten::addmm", "aten::mm", "aten::relu", "aten::threshold_backward"):
        assert ours[name] == reference[name], name


def test_profiling_leaves_the_model_as_it_was() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6), nn.Dropout(0.5))
    model.train()
    model[0].weight.grad = torch.full((6, 6), 7.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    torchscope.profile(model, input_size=(4, 6), warmup=2, repeat=2)
    assert model.training
    assert torch.equal(model[0].weight.grad, torch.full((6, 6), 7.0))
    assert model[0].bias.grad is None
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key  # running statistics put back too
    assert torch.equal(torch.get_rng_state(), rng)


def test_a_module_called_twice_has_both_calls() -> None:
    result = torchscope.profile(SharedTwice(), input_size=(2, 6), warmup=1, repeat=2)
    block = result.module("block")
    assert block.calls == 2
    assert block.macs == 2 * 2 * 6 * 6


def test_forward_only() -> None:
    result = torchscope.profile(MLP(), input_size=(8, 20), backward=False, warmup=1, repeat=2)
    assert not result.backward
    assert all(m.backward_ms == 0 and m.backward_macs == 0 for m in result.modules)
    assert not any(o.phase == "backward" for m in result.modules for o in m.ops)


def test_repeated_blocks_are_rolled_up() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(*[nn.Sequential(nn.Linear(16, 16), nn.ReLU()) for _ in range(5)])
    result = torchscope.profile(net, input_size=(4, 16), warmup=1, repeat=2, depth=2)
    run = next(r for r in result.rows if r.repeat > 1)
    assert (run.label, run.repeat, run.paths) == ("0-4", 5, ["0", "1", "2", "3", "4"])
    members = [result.module(p) for p in run.paths]
    assert run.forward_ms == pytest.approx(sum(m.forward_ms for m in members))
    assert run.copy_mean_ms == pytest.approx(sum(m.total_ms for m in members) / 5)
    assert run.macs == 5 * 4 * 16 * 16
    # below a folded run, rows describe the first copy (as in the summary)
    assert [r.paths for r in result.rows if r.per_copy] == [["0.0"], ["0.1"]]


def test_a_compiled_model_is_one_named_row() -> None:
    torch.manual_seed(0)
    compiled = torch.compile(MLP(), backend="eager")
    result = torchscope.profile(compiled, input_size=(8, 20), warmup=2, repeat=2)
    assert [(m.name, m.type) for m in result.modules] == [("", "compiled MLP")]
    assert result.modules[0].macs == 8 * 20 * 30 + 8 * 30 * 10
    assert [r.label for r in result.rows] == ["MLP"]


def test_meta_is_refused() -> None:
    with pytest.raises(ValueError, match="meta"):
        torchscope.profile(MLP(), input_size=(8, 20), device="meta")


def test_to_dict_has_the_documented_fields(mlp_profile: torchscope.Profile) -> None:
    d = mlp_profile.to_dict()
    assert d["total_ms"] == mlp_profile.total_ms > 0
    assert [m["name"] for m in d["modules"]] == ["", "fc1", "act", "fc2"]
    for m in d["modules"]:
        assert {"name", "forward_ms", "backward_ms", "macs", "achieved_flops", "peak_bytes"} <= set(
            m
        )
    counts = collections.Counter(o["name"] for o in d["ops"])
    assert counts.most_common(1)[0][1] == 1  # one total per op name


def test_a_profile_round_trips_through_its_dict(mlp_profile: torchscope.Profile) -> None:
    import json

    again = torchscope.Profile.from_dict(json.loads(mlp_profile.to_json()))
    assert again.to_dict() == mlp_profile.to_dict()
    with pytest.raises(ValueError, match="not a torchscope profile"):
        torchscope.Profile.from_dict({"model": "x"})
