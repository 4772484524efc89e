"""A graph JSON is input: every malformed one is refused with one clear GraphFormatError."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

import torchscope
from tests.models import SharedTwice
from torchscope.errors import GraphFormatError, TorchscopeError
from torchscope.model.graph import ModelGraph


@pytest.fixture(scope="module")
def valid() -> dict[str, Any]:
    return json.loads(torchscope.trace(SharedTwice(), input_size=(2, 6)).to_json())


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting ``a.0.b`` to ``value`` (``DEL`` removes the key)."""

    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            d = d[int(key)] if isinstance(d, list) else d[key]
        if value == "DEL":
            del d[last]
        elif isinstance(d, list):
            d[int(last)] = value
        else:
            d[last] = value

    return mutate


CASES = [
    ("model_type", "DEL", "model_type is missing"),
    ("modules.1.calls", "DEL", "modules[1].calls is missing"),
    ("modules.0.total_params", "78", "modules[0].total_params must be an integer, not a string"),
    ("modules.0.total_params", True, "must be an integer, not a boolean"),
    ("modules.0.total_params", -5, "must not be negative"),
    ("ops.0.macs", 7.5, "ops[0].macs must be an integer, not 7.5"),
    ("ops.0.inputs.0.shape", ["2", "6"], "shape[0] must be a non-negative integer"),
    ("ops", {"0": {}}, "ops must be a list, not an object"),
    ("modules", [], "modules is empty"),
    ("edges.0.dst", 'op0 [URL="javascript:alert(1)"]', "is not a node of the graph"),
    ("edges.0.src", "op99", "edges[0].src is 'op99', which is not a node"),
    ("edges.0.src", "output0", None),  # a valid name: outputs feed nothing, but it exists
    ("ops.1.module", "nowhere", "ops[1].module names 'nowhere', which is not a module"),
    ("ops.1.call", 17, "ops[1].call names a call the graph does not have"),
    ("calls.1.parent", 5, "calls[1].parent must name an earlier call"),
    ("modules.1.parent", "ghost", "modules[1].parent names 'ghost'"),
    ("modules.0.children", ["x" * 5000], "which is not a module of the graph"),
    ("extra", 1, "extra is not part of the ModelGraph schema"),
    ("schema_version", 999, "schema version 999 is not supported"),
    ("schema_version", "2", "schema_version must be an integer"),
    ("failure", [], "failure: expected a JSON object, got a list"),
    ("ops.0.inputs.0.shape", [-1, 6], "shape[0] must be a non-negative integer, not -1"),
    # the module tree: a cycle or a huge depth sent the readers into endless loops
    ("modules.1.parent", "block", "modules[1].parent must name a module listed before it"),
    ("modules.1.depth", 10**9, "modules[1].depth must be its parent's depth + 1, not 1000000000"),
    ("modules.0.depth", 3, "modules[0].depth must be 0, not 3"),
    ("modules.1.children", ["block"], "modules[1].children names 'block', whose parent is"),
]


@pytest.mark.parametrize(("path", "value", "message"), CASES)
def test_malformed_graphs_are_refused_with_the_place(
    valid: dict[str, Any], path: str, value: Any, message: str | None
) -> None:
    bad = copy.deepcopy(valid)
    _set(path, value)(bad)
    if message is None:
        assert ModelGraph.from_dict(bad).edges[0].src == value
        return
    with pytest.raises(GraphFormatError) as info:
        ModelGraph.from_json(json.dumps(bad))
    assert message in str(info.value)
    assert isinstance(info.value, (TorchscopeError, ValueError))
    assert len(str(info.value)) < 300  # one line, a foreign value cut short


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "expected a JSON object, got a list"),
        ("{", "invalid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('"a graph"', "got a string"),
    ],
)
def test_not_a_graph_at_all(text: str, message: str) -> None:
    with pytest.raises(GraphFormatError, match=message):
        ModelGraph.from_json(text)


def test_a_valid_graph_round_trips_and_version_1_is_still_read(valid: dict[str, Any]) -> None:
    graph = ModelGraph.from_dict(copy.deepcopy(valid))
    assert json.loads(graph.to_json()) == valid
    assert [(c.module, c.number, c.parent) for c in graph.calls] == [
        ("", 1, -1), ("block", 1, 0), ("block", 2, 0)
    ]  # fmt: skip
    old = copy.deepcopy(valid)
    old["schema_version"] = 1
    del old["calls"]
    for op in old["ops"]:
        del op["call"]
    legacy = ModelGraph.from_dict(old)
    assert legacy.calls == [] and all(op.call == -1 for op in legacy.ops)
    from torchscope.analysis.visible_graph import visible_graph

    # a version-1 graph knows no calls: the module is drawn once, as it was then
    labels = [n.label for n in visible_graph(legacy, depth=1).nodes if n.kind == "module"]
    assert labels == ["block"]
