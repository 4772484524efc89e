"""Capture on toy models: counts, attribution, odd inputs/outputs, failures, no side effects."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import torchscope
from tests.models import (
    MLP,
    BrokenMiddle,
    DataDependent,
    DictInDataclassOut,
    SharedTwice,
    TiedLM,
    TinyAttention,
)
from torchscope.model.graph import ModelGraph, TensorMeta


def test_mlp_counts_macs_params_and_edges() -> None:
    g = torchscope.trace(MLP(), input_size=(2, 20))
    assert g.total_params == 20 * 30 + 30 + 30 * 10 + 10
    assert g.total_macs == 2 * (20 * 30 + 30 * 10)
    assert [op.name for op in g.ops] == ["linear", "relu", "linear"]
    assert [op.module for op in g.ops] == ["fc1", "act", "fc2"]
    assert g.ops[0].params == ["fc1.weight", "fc1.bias"]
    assert g.ops[0].target == "torch.nn.functional.linear"
    assert [(e.src, e.dst) for e in g.edges] == [
        ("input0", "op0"),
        ("op0", "op1"),
        ("op1", "op2"),
        ("op2", "output0"),
    ]
    assert g.module("fc2").output_shapes == [TensorMeta((2, 10), "float32")]


def test_memory_saved_for_backward_and_peak_live() -> None:
    g = torchscope.trace(MLP(), input_size=(2, 20))
    # autograd keeps the input (for fc1's weight grad) and relu's output (for relu and fc2);
    # weights are not activations. float32: 2*20*4 + 2*30*4.
    assert g.saved_activation_bytes == 160 + 240
    # peak: input + fc1 output + relu output alive together.
    assert g.peak_activation_bytes == 160 + 240 + 240
    assert g.ops[0].activation_bytes == 240
    assert g.ops[1].activation_bytes == 240


def test_conv_macs_follow_the_formula() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
    g = torchscope.trace(model, input_size=(1, 3, 16, 16))
    assert g.total_macs == 8 * 16 * 16 * 3 * 3 * 3
    assert g.module("0").extra_repr.startswith("3, 8, kernel_size=(3, 3)")
    assert g.module("1").total_buffers == 8 + 8 + 1


def test_tied_weight_counted_once_with_alias() -> None:
    model = TiedLM(vocab=50, dim=8)
    g = torchscope.trace(model, torch.randint(0, 50, (1, 7)))
    assert g.total_params == 50 * 8 + 8 * 8 + 8
    assert sum(p.numel() for p in model.parameters()) == g.total_params
    embed = next(p for p in g.params if p.name == "embed.weight")
    assert embed.aliases == ["head.weight"]
    assert g.module("head").total_params == 0
    assert g.module("head").tied == {"head.weight": "embed.weight"}
    assert g.total_macs == 7 * (8 * 8 + 8 * 50)
    head_op = next(op for op in g.ops if op.module == "head")
    assert head_op.params == ["embed.weight"]


def test_shared_module_called_twice() -> None:
    g = torchscope.trace(SharedTwice(), input_size=(3, 6))
    assert [m.path for m in g.modules] == ["", "block"]
    assert g.module("block").calls == 2
    assert g.total_params == 6 * 6 + 6
    assert g.total_macs == 2 * 3 * 6 * 6
    assert [op.module for op in g.ops] == ["block", "", "block"]


def test_dict_input_and_dataclass_output() -> None:
    batch = {"left": torch.randn(2, 4), "right": torch.randn(2, 5)}
    g = torchscope.trace(DictInDataclassOut(), batch, scale=0.5)
    assert [i.name for i in g.inputs] == ["args[0].left", "args[0].right"]
    assert [o.name for o in g.outputs] == ["mean", "extras.left", "extras.pair"]
    assert all(o.tensor.shape == (2, 3) for o in g.outputs)
    assert g.total_macs == 2 * (4 * 3 + 5 * 3)


def test_data_dependent_branch_on_cpu_and_clear_error_on_meta() -> None:
    x = torch.ones(1, 4)
    g = torchscope.trace(DataDependent(), x)
    assert g.module("pos").calls == 1 and g.module("neg").calls == 0
    with pytest.raises(torchscope.TraceError) as info:
        torchscope.trace(DataDependent(), x, device="meta")
    text = str(info.value)
    assert "meta device does not have" in text and "device='cpu'" in text


def test_failing_layer_names_module_and_shapes_and_keeps_partial_graph() -> None:
    with pytest.raises(torchscope.TraceError) as info:
        torchscope.trace(BrokenMiddle(), input_size=(2, 8))
    text = str(info.value)
    assert "module 'middle.1' (Linear)" in text
    assert "float32[2, 16]" in text
    assert "2x16 and 12x4" in text
    partial = info.value.partial
    assert partial is not None and partial.failure is not None
    assert partial.failure.module == "middle.1"
    assert [op.module for op in partial.ops] == ["first", "middle.0"]
    assert partial.module("first").macs == 2 * 8 * 16


def test_attention_macs_on_cpu_and_meta_agree() -> None:
    model = TinyAttention(dim=32, heads=4)
    cpu = torchscope.trace(model, input_size=(2, 10, 32))
    meta = torchscope.trace(model, input_size=(2, 10, 32), device="meta")
    linear = 2 * 10 * (32 * 96 + 32 * 32)
    attention = 2 * (2 * 4 * 10 * 10 * 8)  # QK^T and AV, per head dim 8
    assert cpu.total_macs == meta.total_macs == linear + attention
    assert cpu.uncounted_ops == {} and meta.uncounted_ops == {}


def test_uncounted_ops_are_reported_not_silently_zero() -> None:
    class Cholesky(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.linalg.cholesky(x @ x.mT + torch.eye(3))

    g = torchscope.trace(Cholesky(), input_size=(3, 3))
    assert g.total_macs == 27  # the matmul is counted
    assert "linalg_cholesky_ex" in g.uncounted_ops


def test_rnn_and_mv_have_formulas() -> None:
    g = torchscope.trace(nn.LSTM(8, 16, batch_first=True), input_size=(2, 5, 8))
    assert g.total_macs == 2 * 5 * (64 * 8 + 64 * 16)
    assert g.uncounted_ops == {}


_State = tuple[bool, list[tuple[str, torch.device, torch.dtype, bool, torch.Tensor]], list[int]]


def _state(model: nn.Module) -> _State:
    return (
        model.training,
        [
            (n, p.device, p.dtype, p.requires_grad, p.data.clone())
            for n, p in model.named_parameters()
        ],
        [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()],
    )


def _same(a: _State, b: _State) -> bool:
    params_equal = all(x[:4] == y[:4] and torch.equal(x[4], y[4]) for x, y in zip(a[1], b[1]))
    return a[0] == b[0] and params_equal and a[2] == b[2]


@pytest.mark.parametrize("device", [None, "meta"])
def test_tracing_leaves_the_model_as_it_was(device: str | None) -> None:
    model = MLP()
    model.eval()
    model.fc1.weight.requires_grad_(False)
    model.fc2.register_forward_hook(lambda *a: None)
    before = _state(model)
    rng = torch.get_rng_state()
    x = torch.randn(2, 20)
    reference = model(x)
    torch.set_rng_state(rng)
    torchscope.trace(nn.Sequential(model, nn.Dropout(0.5)).train(), x, device=device)
    model.eval()  # the Sequential wrapper's .train() above is the caller's doing
    assert torch.equal(torch.get_rng_state(), rng)
    assert _same(before, _state(model))
    assert torch.equal(model(x), reference)
    assert all(p.grad is None for p in model.parameters())


def test_meta_trace_of_a_cpu_model_allocates_nothing_and_matches() -> None:
    model = MLP()
    cpu = torchscope.trace(model, input_size=(4, 20))
    meta = torchscope.trace(model, input_size=(4, 20), device="meta")
    assert meta.device == "meta" and cpu.device == "cpu"
    assert meta.total_macs == cpu.total_macs
    assert meta.saved_activation_bytes == cpu.saved_activation_bytes
    assert next(model.parameters()).device.type == "cpu"


def test_dtype_option_casts_the_pass_not_the_model() -> None:
    model = MLP()
    g = torchscope.trace(model, input_size=(2, 20), dtype="bfloat16", device="meta")
    assert {p.dtype for p in g.params} == {"float32"}  # what the model holds
    assert g.ops[0].outputs[0].dtype == "bfloat16"
    assert next(model.parameters()).dtype == torch.float32


def test_graph_json_round_trip() -> None:
    g = torchscope.trace(TiedLM(), torch.randint(0, 50, (1, 5)))
    again = ModelGraph.from_json(g.to_json())
    assert again.to_dict() == g.to_dict()
    assert again.schema_version == 2
    bad = g.to_dict() | {"schema_version": 999}
    with pytest.raises(ValueError, match="schema version 999"):
        ModelGraph.from_dict(bad)


def test_model_already_on_meta() -> None:
    with torch.device("meta"):
        model = MLP(d_in=1000, hidden=4000, d_out=1000)
    g = torchscope.trace(model, input_size=(8, 1000))
    assert g.device == "meta"
    assert g.total_macs == 8 * (1000 * 4000 + 4000 * 1000)
    assert math.isclose(g.saved_activation_bytes, 8 * 1000 * 4 + 8 * 4000 * 4)


class _CastsThenAdds(nn.Module):
    """A norm-like block: a no-op cast and a no-op ``contiguous`` of the input, an in-place
    ReLU, then a residual read of the input."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.to(torch.float32)  # the same tensor back: no aten op ran
        h = self.fc(y.contiguous())
        h = torch.relu_(h)  # in place: the same tensor back, changed
        return h + x


def test_a_call_that_gives_its_input_back_unchanged_makes_no_new_producer() -> None:
    g = torchscope.trace(_CastsThenAdds(), input_size=(2, 4))
    names = [op.name for op in g.ops]
    assert names == ["to", "contiguous", "linear", "relu_", "add"]
    edges = {(e.src, e.dst) for e in g.edges}
    # the residual comes from the input, not out of the cast (or of contiguous)
    assert ("input0", "op4") in edges and ("op0", "op4") not in edges
    assert ("input0", "op2") in edges  # the linear reads the input itself
    assert ("op3", "op4") in edges  # the in-place relu did make what the add reads
    assert not any(src in ("op0", "op1") for src, _ in edges)
