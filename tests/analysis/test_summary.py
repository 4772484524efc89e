"""Summary rows, folding, totals and memory estimates."""

from __future__ import annotations

import json

import torch

import torchscope
from tests.models import MLP, Stack, TiedLM
from torchscope.analysis.summary import SummaryRow


def _children_rows(rows: list[SummaryRow], parent: SummaryRow) -> list[SummaryRow]:
    start = rows.index(parent) + 1
    result = []
    for row in rows[start:]:
        if row.depth <= parent.depth:
            break
        if row.depth == parent.depth + 1:
            result.append(row)
    return result


def test_rows_add_up_to_totals_at_every_level() -> None:
    s = torchscope.summary(Stack(), input_size=(3, 16), fold=False, depth=9)
    root = s.rows[0]
    assert root.params == s.totals.total_params
    assert root.macs == s.totals.macs
    for row in s.rows:
        children = _children_rows(s.rows, row)
        if children:
            own = s.graph.module(row.path)
            assert row.params == own.own_params + sum(c.params for c in children)
            assert row.macs == own.own_macs + sum(c.macs for c in children)


def test_repeated_blocks_fold_into_one_row() -> None:
    s = torchscope.summary(Stack(n=5), input_size=(3, 16), depth=3)
    labels = [(r.label, r.repeat) for r in s.rows if r.depth == 2]
    assert labels == [("layers.0-4", 5), ("layers.5", 1)]
    folded = next(r for r in s.rows if r.repeat == 5)
    assert folded.params == 5 * (16 * 16 + 16)
    assert folded.macs == 5 * 3 * 16 * 16
    copies = [r for r in s.rows if r.per_copy]
    assert [r.label for r in copies] == ["layers.0.0", "layers.0.1"]
    assert copies[0].params == 16 * 16 + 16


def test_no_fold_lists_every_block() -> None:
    s = torchscope.summary(Stack(n=5), input_size=(3, 16), depth=2, fold=False)
    assert [r.label for r in s.rows if r.depth == 2] == [f"layers.{i}" for i in range(6)]


def test_totals_trainable_frozen_and_bytes_by_dtype() -> None:
    model = MLP()
    model.fc1.requires_grad_(False)
    model.register_buffer("steps", torch.zeros(3, dtype=torch.int64))
    s = torchscope.summary(model, input_size=(2, 20))
    assert s.totals.frozen_params == 20 * 30 + 30
    assert s.totals.trainable_params == 30 * 10 + 10
    assert s.totals.bytes_by_dtype == {"float32": 4 * (630 + 310), "int64": 24}
    assert s.totals.buffer_bytes == 24
    assert s.totals.flops == 2 * s.totals.macs


def test_memory_estimate_breakdown() -> None:
    s = torchscope.summary(MLP(), input_size=(2, 20))
    m = s.memory
    weights = 4 * (630 + 310)
    assert m.weights == weights and m.gradients == weights and m.optimizer_state == 2 * weights
    assert m.saved_activations == 400
    assert m.inference == weights + 640
    assert m.training == 4 * weights + 400 + m.outputs + m.backward_transient


def test_to_dict_has_the_documented_keys_and_tied_info() -> None:
    s = torchscope.summary(TiedLM(), torch.randint(0, 50, (1, 4)))
    d = json.loads(s.to_json())
    for key in ("total_params", "trainable_params", "macs", "flops", "param_bytes",
                "activation_bytes", "modules"):  # fmt: skip
        assert key in d
    head = next(m for m in d["modules"] if m["path"] == "head")
    assert head["params"] == 0 and head["tied"] == {"head.weight": "embed.weight"}
    assert head["output_shapes"] == [[1, 4, 50]]
    assert d["shared_params"] == {"embed.weight": ["head.weight"]}


def test_summary_of_a_graph_needs_no_model() -> None:
    g = torchscope.trace(MLP(), input_size=(1, 20))
    s = torchscope.summary(g, depth=1)
    assert s.totals.macs == g.total_macs
    assert [r.label for r in s.rows] == ["MLP", "fc1", "act", "fc2"]


def test_a_module_called_twice_is_one_row_with_its_call_count() -> None:
    from tests.models import TinyUNet
    from torchscope._display import plain_text

    s = torchscope.summary(TinyUNet().eval(), input_size=(1, 1, 16, 16), depth=1)
    pools = [r for r in s.rows if r.path == "pool"]
    assert len(pools) == 1 and pools[0].calls == 2
    graph = s.graph
    # both calls' work in the one row: the ops of the two call records together
    calls = [i for i, c in enumerate(graph.calls) if c.module == "pool"]
    assert [graph.calls[i].number for i in calls] == [1, 2]
    in_calls = [op for op in graph.ops if op.call in calls]
    assert len(in_calls) == 2
    assert pools[0].activation_bytes == sum(op.activation_bytes for op in in_calls) > 0
    assert "pool (MaxPool2d) (2 calls)" in plain_text(s)
    assert [m["calls"] for m in s.to_dict()["modules"] if m["path"] == "pool"] == [2]


def test_folded_rows_say_total_and_copy_rows_say_each() -> None:
    from torchscope._display import plain_text

    text = plain_text(torchscope.summary(Stack(n=5), input_size=(3, 16), depth=3))
    folded = next(line for line in text.splitlines() if "×5" in line)
    assert "layers.0-4 (Sequential) ×5 total" in folded and "1,360" in folded  # 5 × 272
    copy = next(line for line in text.splitlines() if "0 (Linear) each" in line)
    assert "272" in copy
