"""The interactive viewer and the static graph draw one computation: same nodes, same edges.

Both hide trivia (views, casts, constants) and re-route edges past them, each in its own
code (``render/viewer_data.py`` for the browser, ``analysis/view_builder.py`` for DOT). Here
the viewer's data is collapsed in Python at a depth, exactly as the static graph collapses
calls, and the two edge sets must be equal: a module call whose every op is trivia
(``nn.Flatten``) once dangled in the viewer with no edge, while the SVG drew it in line.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import torchscope
from tests.hf_graphs import tiny_graph
from torchscope.analysis.visible_graph import visible_graph
from torchscope.examples import DEMO_INPUT_SIZE, SimpleNet
from torchscope.model.graph import ModelGraph
from torchscope.render.viewer_data import viewer_data

Node = tuple[str, int] | str  # (module path, call) for a collapsed call, else the node id


def static_edges(graph: ModelGraph, depth: int) -> set[tuple[Node, Node]]:
    """The static graph's edges at ``depth``, unrolled, by module call or op/io id."""
    view = visible_graph(graph, depth=depth, roll=False)
    key: dict[str, Node] = {
        n.id: (n.path, n.call) if n.kind == "module" else n.id for n in view.nodes
    }
    return {(key[e.src], key[e.dst]) for e in view.edges}


def viewer_edges(graph: ModelGraph, depth: int) -> set[tuple[Node, Node]]:
    """The viewer data's edges with every op inside a collapsed call moved to that call."""
    data = viewer_data(graph)
    scopes: list[dict[str, Any]] = data["scopes"]

    def collapsed(name: str) -> Node:
        if not name.startswith("op"):
            return name  # input<N> / output<N>
        chain, s = [], data["ops"][int(name[2:])]["sc"]
        while s != -1:
            chain.append(s)
            s = scopes[s]["par"]
        for s in reversed(chain):  # from the root down: the first call drawn as a node
            module = graph.modules[scopes[s]["m"]]
            if not (module.depth < depth and module.children):
                return (module.path, scopes[s]["c"])
        return name

    pairs = {(collapsed(a), collapsed(b)) for a, b in data["edges"]}
    return {(a, b) for a, b in pairs if a != b}


def _models() -> dict[str, Any]:
    llama = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100}  # fmt: skip
    gpt2 = {"n_layer": 2, "n_embd": 32, "n_head": 2, "vocab_size": 100}
    resnet = {"embedding_size": 8, "hidden_sizes": [16, 32], "depths": [2, 1], "num_labels": 10}
    return {
        "simplenet": lambda: torchscope.trace(SimpleNet(), input_size=DEMO_INPUT_SIZE),
        "llama": lambda: tiny_graph("hf:LlamaForCausalLM", **llama),
        "resnet": lambda: tiny_graph("hf:ResNetForImageClassification", **resnet),
        "gpt2": lambda: tiny_graph("hf:GPT2LMHeadModel", **gpt2),
    }


@pytest.fixture(scope="module", params=list(_models()))
def graph(request: pytest.FixtureRequest) -> ModelGraph:
    g = _models()[request.param]()
    assert isinstance(g, ModelGraph)
    return g


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_viewer_and_static_graph_draw_the_same_edges(graph: ModelGraph, depth: int) -> None:
    static = static_edges(graph, depth)
    assert len(static) >= 3
    assert viewer_edges(graph, depth) == static


def test_a_module_made_only_of_trivia_keeps_its_place_in_the_flow() -> None:
    graph = torchscope.trace(SimpleNet(), input_size=DEMO_INPUT_SIZE)
    data = viewer_data(graph)
    flatten = next(i for i, op in enumerate(data["ops"]) if op["n"] == "flatten")
    assert "h" not in data["ops"][flatten]  # kept: it is all that nn.Flatten ran
    assert ["input0", f"op{flatten}"] in data["edges"]
    fc1 = next(i for i, op in enumerate(data["ops"]) if op["n"] == "linear")
    assert [f"op{flatten}", f"op{fc1}"] in data["edges"]
    assert ["input0", f"op{fc1}"] not in data["edges"]


def test_a_view_inside_a_layer_with_real_work_is_still_hidden() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Flatten(0))
    data = viewer_data(torchscope.trace(model, input_size=(2, 4)))
    # Flatten's one op is its whole call: kept; nothing else is trivia here
    assert [op["n"] for op in data["ops"] if op.get("h")] == []
    block = torch.nn.Sequential(torch.nn.Linear(4, 4))
    graph = torchscope.trace(_Reshaping(block), input_size=(2, 4))
    hidden = [op["n"] for op in viewer_data(graph)["ops"] if op.get("h")]
    assert hidden == ["reshape"]  # the root ran real work too: its reshape stays hidden


class _Reshaping(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x).reshape(-1)
