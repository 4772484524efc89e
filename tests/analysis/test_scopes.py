"""The call tree: one scope per call, placed inside the call that ran it."""

from __future__ import annotations

import torch
from torch import nn

import torchscope
from tests.models import Stack, TinyUNet
from torchscope.analysis.scopes import call_scopes
from torchscope.analysis.trivia import contract
from torchscope.analysis.visible_graph import visible_graph
from torchscope.model.graph import Edge, TensorMeta


class _Encoder(nn.Module):
    def __init__(self, act: nn.Module) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 4)
        self.act = act  # the same module the root owns: registered under "act" first
        self.fc2 = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _Foreign(nn.Module):
    """The root's ``act`` is called from inside ``enc``, as T5's stacks call ``shared``."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU()
        self.enc = _Encoder(self.act)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.enc(x)))


def test_a_module_called_from_elsewhere_is_drawn_where_it_ran() -> None:
    graph = torchscope.trace(_Foreign(), input_size=(1, 4))
    tree = call_scopes(graph)
    scope = {(s.path, s.call): s for s in tree.scopes}
    assert scope[("act", 1)].parent == scope[("enc", 1)].index  # called by enc
    assert scope[("act", 2)].parent == 0  # called by the root's own forward
    collapsed = visible_graph(graph, depth=1)
    labels = {n.id: n.label for n in collapsed.nodes}
    edges = [(labels[e.src], labels[e.dst]) for e in collapsed.edges]
    # enc's first act call is inside enc: no enc → act → enc cycle when enc is one node
    assert edges == [("args[0]", "enc"), ("enc", "act (call 2)"), ("act (call 2)", "head"),
                     ("head", "tensor")]  # fmt: skip
    inside = visible_graph(graph, depth=2)
    (box,) = inside.clusters
    assert [n.label for n in inside.nodes if n.cluster == box.id] == ["fc1", "act (call 1)", "fc2"]


def test_containers_get_a_scope_per_enclosing_call_and_unused_modules_one() -> None:
    model = Stack(n=3)
    model.spare = nn.Linear(2, 2)  # never called
    tree = call_scopes(torchscope.trace(model, input_size=(1, 16)))
    by_path = {s.path: s for s in tree.scopes}
    layers = by_path["layers"]
    assert (layers.call, layers.parent) == (0, 0)  # the ModuleList never runs itself
    assert [tree.scopes[c].path for c in layers.children] == [f"layers.{i}" for i in range(4)]
    assert (by_path["spare"].call, by_path["spare"].parent, by_path["spare"].ops) == (0, 0, [])


def test_each_call_has_its_own_figures_adding_up_to_the_module() -> None:
    graph = torchscope.trace(TinyUNet(), input_size=(1, 1, 16, 16))
    tree = call_scopes(graph)
    for module in graph.modules:
        calls = [s for s in tree.scopes if s.path == module.path and s.call > 0]
        assert len(calls) == module.calls
        assert sum(s.macs for s in calls) == module.macs
        assert sum(s.activation_bytes for s in calls) == module.activation_bytes
    pool = [s for s in tree.scopes if s.path == "pool"]
    assert [s.outputs[0].shape for s in pool] == [(1, 4, 8, 8), (1, 8, 4, 4)]
    assert sorted(i for s in tree.scopes for i in s.ops) == list(range(len(graph.ops)))


def test_contracting_a_long_chain_of_hidden_nodes_needs_no_recursion() -> None:
    t = TensorMeta((1,), "float32")
    n = 50_000  # far past Python's recursion limit
    chain = [Edge("a", "h0", t)]
    chain += [Edge(f"h{i}", f"h{i + 1}", t) for i in range(n - 1)]
    chain += [Edge(f"h{n - 1}", "b", t), Edge("h7", "h3", t)]  # and a loop among the hidden
    hidden = {f"h{i}" for i in range(n)}
    assert [(e.src, e.dst) for e in contract(chain, hidden)] == [("a", "b")]
