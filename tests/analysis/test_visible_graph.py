"""The visible graph: clusters to a depth, rolled repeats, hidden trivia, re-routed edges."""

from __future__ import annotations

import graphlib
import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

import torchscope
from tests.models import SharedActBlock, SharedTwice, Stack, TinyAttention, TinyUNet
from torchscope.analysis.visible_graph import (
    ColorScale,
    VisibleGraph,
    auto_depth,
    visible_graph,
)
from torchscope.model.graph import ModelGraph


def _edges(view: VisibleGraph) -> list[tuple[str, str, list[tuple[int, ...]]]]:
    """Edges as (source label, destination label, shapes)."""
    label = {n.id: n.label for n in view.nodes}
    return [(label[e.src], label[e.dst], [t.shape for t in e.tensors]) for e in view.edges]


@pytest.fixture(scope="module")
def stack() -> ModelGraph:
    torch.manual_seed(0)
    return torchscope.trace(Stack(), input_size=(2, 16))


def test_depth_two_rolls_five_identical_blocks_into_one_node(stack: ModelGraph) -> None:
    view = visible_graph(stack, depth=2)
    modules = [(n.label, n.type, n.repeat) for n in view.nodes if n.kind == "module"]
    assert modules == [("layers.0-4", "Sequential", 5), ("layers.5", "Sequential", 1)]
    # the ModuleList itself never ran: it draws no box, and 0→1→…→4 edges fold away
    assert view.clusters == []
    assert _edges(view) == [
        ("args[0]", "layers.0-4", [(2, 16)]),
        ("layers.0-4", "layers.5", [(2, 16)]),
        ("layers.5", "tensor", [(2, 4)]),
    ]
    rolled = view.nodes[1]
    assert rolled.params == 16 * 16 + 16  # one copy: Linear(16, 16)
    assert rolled.macs == 2 * 16 * 16


def test_depth_three_draws_the_run_as_one_cluster_with_its_inside(stack: ModelGraph) -> None:
    view = visible_graph(stack, depth=3)
    assert [(c.label, c.type, c.repeat, c.parent) for c in view.clusters] == [
        ("layers.0-4", "Sequential", 5, None),
        ("layers.5", "Sequential", 1, None),
    ]
    inside = {c.id: [n.label for n in view.nodes if n.cluster == c.id] for c in view.clusters}
    assert list(inside.values()) == [["0", "1"], ["0"]]
    assert [(s, d) for s, d, _ in _edges(view)] == [
        ("args[0]", "0"), ("0", "1"), ("1", "0"), ("0", "tensor")
    ]  # fmt: skip
    assert view.clusters[0].params == 5 * (16 * 16 + 16) // 5  # per copy, like the nodes


def test_no_roll_draws_every_block(stack: ModelGraph) -> None:
    view = visible_graph(stack, depth=2, roll=False)
    labels = [n.label for n in view.nodes if n.kind == "module"]
    assert labels == [f"layers.{i}" for i in range(6)]
    assert all(n.repeat == 1 for n in view.nodes)
    chain = ["args[0]", *labels, "tensor"]
    assert [(s, d) for s, d, _ in _edges(view)] == list(itertools.pairwise(chain))


def test_depth_zero_is_one_node_for_the_whole_model(stack: ModelGraph) -> None:
    view = visible_graph(stack, depth=0)
    assert [(n.kind, n.type) for n in view.nodes] == [
        ("input", "float32"), ("module", "Stack"), ("output", "float32")
    ]  # fmt: skip
    assert view.nodes[1].params == stack.total_params == 5 * 272 + 68


def test_trivial_ops_are_contracted_with_the_consumers_shape() -> None:
    graph = torchscope.trace(TinyAttention(), input_size=(2, 5, 32))
    shown = visible_graph(graph, depth=1, hide_trivial=True)
    assert [n.label for n in shown.nodes] == [
        "args[0]", "qkv", "scaled_dot_product_attention", "out", "tensor"
    ]  # fmt: skip
    assert _edges(shown) == [
        ("args[0]", "qkv", [(2, 5, 32)]),
        ("qkv", "scaled_dot_product_attention", [(2, 4, 5, 8)]),  # q, k and v merged
        ("scaled_dot_product_attention", "out", [(2, 5, 32)]),
        ("out", "tensor", [(2, 5, 32)]),
    ]
    assert shown.edges[1].count == 3
    assert shown.hidden_ops == 5  # view, permute, unbind, transpose, reshape
    everything = visible_graph(graph, depth=1, hide_trivial=False)
    ops = [n.label for n in everything.nodes if n.kind == "op"]
    assert ops == ["view", "permute", "unbind", "scaled_dot_product_attention", "transpose",
                   "reshape"]  # fmt: skip
    # nothing contracted: every captured edge is drawn (q, k, v as one arrow of 3)
    assert sum(e.count for e in everything.edges) == len(graph.edges) == 11


class _PositionEmbedding(nn.Module):
    """Adds an embedding of ``arange``: a constant op feeding a module."""

    def __init__(self) -> None:
        super().__init__()
        self.pos = nn.Embedding(8, 4)
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(x.shape[1]).unsqueeze(0)
        return self.drop(x + self.pos(positions))


def test_constants_and_dropout_in_eval_are_hidden() -> None:
    model = _PositionEmbedding().eval()
    graph = torchscope.trace(model, input_size=(1, 8, 4))
    view = visible_graph(graph, depth=1)
    assert [n.label for n in view.nodes] == ["args[0]", "pos", "add", "tensor"]
    assert _edges(view) == [
        ("args[0]", "add", [(1, 8, 4)]),
        ("pos", "add", [(1, 8, 4)]),
        ("add", "tensor", [(1, 8, 4)]),
    ]
    training = visible_graph(torchscope.trace(model.train(), input_size=(1, 8, 4)), depth=1)
    assert "drop" in [n.label for n in training.nodes]  # dropout computes in training


def test_gpt2_rolls_blocks_and_their_cache_outputs() -> None:
    pytest.importorskip("transformers")
    from torchscope.sources.spec import load_model

    config = {"n_layer": 3, "n_embd": 32, "n_head": 2, "vocab_size": 100, "n_positions": 32}
    loaded = load_model("hf:GPT2LMHeadModel", config, device="meta", seq_len=16)
    graph = torchscope.trace(loaded.model, device="meta", **loaded.kwargs)
    view = visible_graph(graph, depth=4)
    (block,) = [c for c in view.clusters if c.repeat > 1]
    assert (block.label, block.type, block.repeat) == ("h.0-2", "GPT2Block", 3)
    inside = [n.label for n in view.nodes if n.cluster == block.id]
    assert inside == ["ln_1", "attn", "add", "ln_2", "mlp", "add"]
    outputs = [(n.label, n.repeat) for n in view.nodes if n.kind == "output"]
    assert outputs == [
        ("logits", 1),
        ("past_key_values.layers[*].keys", 3),
        ("past_key_values.layers[*].values", 3),
    ]
    block_params = graph.module("transformer.h.0").total_params
    assert block.params == block_params == 12 * 32 * 32 + 13 * 32
    # every op lands somewhere: nodes + hidden trivia account for the whole block
    attn = next(n for n in view.nodes if n.label == "attn")
    assert attn.macs == graph.module("transformer.h.0.attn").macs


def test_each_call_of_a_module_is_its_own_node() -> None:
    graph = torchscope.trace(SharedTwice(), input_size=(2, 6))
    view = visible_graph(graph, depth=1)
    calls = [(n.label, n.call, n.calls, n.macs) for n in view.nodes if n.kind == "module"]
    # each call's own MACs (2 × 6 × 6), not the module's total over both calls
    assert calls == [("block (call 1)", 1, 2, 72), ("block (call 2)", 2, 2, 72)]
    assert graph.module("block").macs == 144
    assert _edges(view) == [
        ("args[0]", "block (call 1)", [(2, 6)]),
        ("block (call 1)", "relu", [(2, 6)]),
        ("relu", "block (call 2)", [(2, 6)]),
        ("block (call 2)", "tensor", [(2, 6)]),
    ]


def _acyclic(view: VisibleGraph) -> bool:
    sorter = graphlib.TopologicalSorter[str]()
    for e in view.edges:
        sorter.add(e.dst, e.src)
    try:
        list(sorter.static_order())
    except graphlib.CycleError:
        return False
    return True


def _t5() -> ModelGraph:
    pytest.importorskip("transformers")
    from torchscope.sources.spec import load_model

    config = {"d_model": 16, "d_ff": 32, "d_kv": 8, "num_heads": 2, "num_layers": 2,
              "num_decoder_layers": 2, "vocab_size": 50}  # fmt: skip
    loaded = load_model("hf:T5ForConditionalGeneration", config, device="meta", seq_len=8)
    return torchscope.trace(loaded.model, *loaded.args, device="meta", **loaded.kwargs)


FEED_FORWARD = {
    "unet": lambda: torchscope.trace(TinyUNet().eval(), input_size=(1, 1, 16, 16)),
    "shared act": lambda: torchscope.trace(SharedActBlock().eval(), input_size=(1, 8, 8, 8)),
    "t5": _t5,
}


@pytest.mark.parametrize("case", list(FEED_FORWARD))
def test_feed_forward_models_draw_acyclic_graphs_at_every_depth(case: str) -> None:
    graph = FEED_FORWARD[case]()
    reused = [m for m in graph.modules if m.calls > 1]
    assert reused  # each case calls one module more than once
    deepest = max(m.depth for m in graph.modules)
    for depth, roll, hide in itertools.product(range(deepest + 1), (True, False), (True, False)):
        view = visible_graph(graph, depth=depth, roll=roll, hide_trivial=hide)
        assert _acyclic(view), (depth, roll, hide)
    for module in reused:  # one node per call where the module is drawn as a node
        labels = [n.label for n in visible_graph(graph, depth=module.depth, roll=False,
                                                 hide_trivial=False).nodes]  # fmt: skip
        name = module.path.rpartition(".")[2]
        assert sum(label.endswith(f"{name} (call {k})") for label in labels
                   for k in range(1, module.calls + 1)) >= module.calls  # fmt: skip


def test_unet_pool_calls_sit_between_the_stages_they_ran_between() -> None:
    graph = FEED_FORWARD["unet"]()
    view = visible_graph(graph, depth=1)
    edges = [(s, d) for s, d, _ in _edges(view)]
    assert ("enc1", "pool (call 1)") in edges and ("pool (call 1)", "enc2") in edges
    assert ("enc2", "pool (call 2)") in edges and ("pool (call 2)", "bottleneck") in edges
    pool = [n for n in view.nodes if n.label.startswith("pool")]
    assert [n.shapes[0].shape for n in pool] == [(1, 4, 8, 8), (1, 8, 4, 4)]  # per call
    assert {n.settings for n in pool} == {"kernel 2, stride 2"}


class _DropBlock(nn.Module):
    """A block whose dropout rate grows with its index, as in EfficientNet's drop path."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.drop = nn.Dropout(rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.conv(x))


def test_blocks_differing_only_in_a_dropout_rate_roll_up_listing_the_rates() -> None:
    model = nn.Sequential(*[_DropBlock(0.05 * i) for i in range(5)]).eval()
    graph = torchscope.trace(model, input_size=(1, 4, 6, 6))
    (node,) = [n for n in visible_graph(graph, depth=1).nodes if n.kind == "module"]
    assert (node.label, node.repeat) == ("0-4", 5)
    assert node.varies == ["drop.p 0 … 0.2 (5 values)"]
    assert visible_graph(graph, depth=1, roll=False).nodes[1].varies == []
    rows = torchscope.summary(graph, depth=1).rows
    assert [(r.label, r.repeat) for r in rows] == [("Sequential", 1), ("0-4", 5)]


def test_nodes_carry_the_layer_settings_and_attention_heads() -> None:
    graph = torchscope.trace(TinyAttention(), input_size=(2, 5, 32))
    (whole,) = [n for n in visible_graph(graph, depth=0).nodes if n.kind == "module"]
    assert whole.settings == "heads 4"  # read from the attention op's [B, heads, T, D] query
    qkv = next(n for n in visible_graph(graph, depth=1).nodes if n.label == "qkv")
    assert qkv.settings == "32→96"


def test_auto_depth_keeps_about_thirty_nodes(stack: ModelGraph) -> None:
    assert auto_depth(stack) == 3  # the deepest level: 5 nodes
    assert visible_graph(stack).depth == 3
    wide = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(40)])
    graph = torchscope.trace(wide, input_size=(1, 4))
    assert auto_depth(graph, roll=False) == 1  # 40 nodes at depth 1 already; never below 1
    assert auto_depth(graph, roll=True) == 2


def test_color_by_parameters_on_a_log_scale(stack: ModelGraph) -> None:
    view = visible_graph(stack, depth=3, color_by="params")
    values = {n.label + str(n.cluster): n.value for n in view.nodes if n.kind == "module"}
    assert values == {"0cluster_0": 272.0, "1cluster_0": 0.0, "0cluster_1": 68.0}
    assert view.color == ColorScale("parameters", 0.0, 272.0, log=False)
    assert view.color.position(68.0) == pytest.approx(68 / 272)


def test_color_scale_matches_numpy_interpolation() -> None:
    scale = ColorScale("MACs", 1e3, 1e9, log=True)
    for v in (1e3, 3.3e4, 2e6, 1e9, 5e9):
        expected = np.interp(math.log10(v), [3, 9], [0, 1])
        assert scale.position(v) == pytest.approx(expected)
    assert scale.position(0) == 0.0
    graph = torchscope.trace(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2000)), input_size=(1, 2))
    view = visible_graph(graph, depth=1, color_by="macs")
    assert view.color is not None and view.color.log  # 4 vs 4000 MACs: > 100×
    assert (view.color.minimum, view.color.maximum) == (4.0, 4000.0)


def test_color_by_a_mapping_averages_the_rolled_copies(stack: ModelGraph) -> None:
    mapping = {f"layers.{i}": float(i) for i in range(6)}
    rolled = visible_graph(stack, depth=2, color_by=mapping)
    assert [n.value for n in rolled.nodes if n.kind == "module"] == [2.0, 5.0]  # mean of 0..4
    expanded = visible_graph(stack, depth=2, roll=False, color_by=mapping)
    assert [n.value for n in expanded.nodes if n.kind == "module"] == [0, 1, 2, 3, 4, 5]
    assert expanded.color == ColorScale("value", 0.0, 5.0, log=False)
    with pytest.raises(ValueError, match="color_by must be one of"):
        visible_graph(stack, color_by="flops")


def test_to_dict_round_trips_through_json(stack: ModelGraph) -> None:
    import json

    view = visible_graph(stack, depth=3, color_by="macs")
    d = json.loads(view.to_json())
    assert d["depth"] == 3 and len(d["nodes"]) == len(view.nodes)
    assert d["clusters"][0]["repeat"] == 5 and d["color"]["name"] == "MACs"
    assert d["edges"][0]["tensors"][0]["shape"] == [2, 16]


@pytest.mark.slow
def test_efficientnet_blocks_roll_up_despite_their_growing_drop_rates() -> None:
    pytest.importorskip("transformers")
    from torchscope.sources.spec import load_model

    loaded = load_model("hf:EfficientNetModel", {"image_size": 64}, device="meta")
    graph = torchscope.trace(loaded.model.eval(), *loaded.args, device="meta", **loaded.kwargs)
    blocks = graph.module("encoder.blocks").children
    assert len(blocks) == 55  # the default config: blocks each with their own dropout rate
    rates = {graph.module(f"{b}.projection.dropout").extra_repr for b in blocks}
    assert len(rates) == 55
    view = visible_graph(graph, depth=3)
    rolled = [n for n in view.nodes if n.kind == "module" and n.repeat > 1]
    assert sum(n.repeat for n in rolled) + sum(
        1 for n in view.nodes if n.kind == "module" and n.path.startswith("encoder.blocks.")
        and n.repeat == 1
    ) == 55  # fmt: skip
    assert len(rolled) == 7  # a run per stage after its first, shape-changing block
    assert rolled and all(n.varies[0].startswith("projection.dropout.p ") for n in rolled)
    summary_runs = [r for r in torchscope.summary(graph, depth=3).rows if r.repeat > 1]
    assert [r.repeat for r in summary_runs] == [n.repeat for n in rolled]
