"""The viewer page by content: embedded data, repeats, colours, escaping, offline."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from tests.render.models_viewer import HOSTILE, repeat_net_graph
from torchscope.errors import ViewerBundleMissing
from torchscope.model.graph import ModelGraph
from torchscope.render import graph_html
from torchscope.render.color_ramp import PALETTE
from torchscope.render.graph_html import (
    OP_KINDS,
    graph_to_html,
    op_kind,
    viewer_data,
)

ASSETS = Path(graph_html.__file__).parent / "assets"
needs_bundle = pytest.mark.skipif(
    not (ASSETS / "viewer.js").exists(), reason="viewer bundle not built: run `make frontend`"
)


@pytest.fixture(scope="module")
def graph() -> ModelGraph:
    g = repeat_net_graph()
    assert isinstance(g, ModelGraph)
    return g


def _embedded(html: str) -> tuple[str, dict[str, Any]]:
    match = re.search(r'<script type="application/json" id="ts-data">(.*?)</script>', html, re.S)
    assert match is not None
    return match.group(1), json.loads(match.group(1))


def test_data_mirrors_the_graph(graph: ModelGraph) -> None:
    data = viewer_data(graph)
    assert [m["p"] for m in data["modules"]] == [m.path for m in graph.modules]
    assert [op["n"] for op in data["ops"]] == [op.name for op in graph.ops]
    index = {m.path: i for i, m in enumerate(graph.modules)}
    for entry, module in zip(data["modules"], graph.modules):
        assert entry["par"] == (-1 if module.parent is None else index[module.parent])
        assert (entry["np"], entry["mc"], entry["ab"], entry["c"]) == (
            module.total_params,
            module.macs,
            module.activation_bytes,
            module.calls,
        )
    conv = data["ops"][0]
    assert conv["i"] == [["[2, 3, 10]", "float32"]] and conv["o"] == [["[2, 16, 10]", "float32"]]
    assert conv["mc"] == 16 * 3 * 3 * 10 * 2  # out channels × in × kernel × length × batch
    assert data["totals"] == {"params": graph.total_params, "macs": graph.total_macs}
    assert data["modules"][index["stem"]]["st"] == "3→16, kernel 3, pad 1"


def test_trivia_are_hidden_and_edges_pass_through_them(graph: ModelGraph) -> None:
    data = viewer_data(graph)
    hidden = [op["n"] for op in data["ops"] if op.get("h")]
    assert hidden == ["transpose"] and data["hidden"] == 1  # as the static graph hides it
    transpose = next(i for i, op in enumerate(data["ops"]) if op.get("h"))
    assert all(f"op{transpose}" not in edge for edge in data["edges"])
    # the conv now feeds the first block's linear and its residual add directly
    fed_by_conv = {dst for src, dst in data["edges"] if src == "op0"}
    assert {data["ops"][int(d[2:])]["n"] for d in fed_by_conv} == {"linear", "add"}
    kept = [[e.src, e.dst] for e in graph.edges if f"op{transpose}" not in (e.src, e.dst)]
    assert all(edge in data["edges"] for edge in kept)


def test_scopes_are_the_calls_and_hold_the_runs(graph: ModelGraph) -> None:
    data = viewer_data(graph)
    scopes = data["scopes"]
    assert [data["modules"][s["m"]]["p"] for s in scopes[:4]] == ["", "stem", "blocks",
                                                                  "blocks.0"]  # fmt: skip
    blocks = scopes[2]
    assert blocks["c"] == 0  # a ModuleList is never called: a container scope
    assert blocks["r"] == [[0, 3]]  # blocks.4 has no bias: it keeps its own node
    assert [scopes[c]["c"] for c in blocks["ch"]] == [1] * 5
    sig = {m["p"]: m["s"] for m in data["modules"]}
    assert sig["blocks.0"] == sig["blocks.3"] != sig["blocks.4"]
    assert all(s["r"] == [] for s in scopes if s is not blocks)
    for op_index, op in enumerate(data["ops"]):  # each op sits in the scope that lists it
        assert op.get("h") or op_index in scopes[op["sc"]]["ops"]


def test_each_call_is_a_scope_with_its_own_figures() -> None:
    import torchscope
    from tests.models import TinyUNet

    graph = torchscope.trace(TinyUNet().eval(), input_size=(1, 1, 16, 16))
    data = viewer_data(graph)
    pool = [s for s in data["scopes"] if data["modules"][s["m"]]["p"] == "pool"]
    assert [(s["c"], s["out"]) for s in pool] == [
        (1, [["[1, 4, 8, 8]", "float32"]]),
        (2, [["[1, 8, 4, 4]", "float32"]]),
    ]
    root = data["scopes"][0]
    assert [s for s in root["ch"] if data["scopes"][s] in pool] == [
        data["scopes"].index(s) for s in pool
    ]


def test_op_kinds_and_module_kinds(graph: ModelGraph) -> None:
    names = {kind: i for i, (kind, _, _) in enumerate(OP_KINDS)}
    assert op_kind("linear") == op_kind("conv2d") == names["matmul / conv"]
    assert op_kind("scaled_dot_product_attention") == names["attention"]
    assert op_kind("gelu") == names["activation"]
    assert op_kind("transpose") == op_kind("view") == len(OP_KINDS)
    kinds = {m["p"]: m["k"] for m in viewer_data(graph)["modules"]}
    # a block's MACs are all in its linear layer; GELU alone is an activation
    assert kinds["blocks.0"] == kinds["stem"] == names["matmul / conv"]
    assert kinds["blocks.0.act"] == names["activation"]


def test_color_by_macs_gives_positions_on_one_scale(graph: ModelGraph) -> None:
    from torchscope.analysis.color_scale import color_scale
    from torchscope.analysis.scopes import call_scopes

    data = viewer_data(graph, color_by="macs")
    tree = call_scopes(graph)
    values = [float(s.macs) for s in tree.scopes[1:]] + [float(op.macs) for op in graph.ops]
    scale = color_scale("MACs", values)
    assert scale is not None
    legend = data["legend"]
    assert (legend["mode"], legend["label"], legend["min"], legend["max"], legend["log"]) == (
        "value", "MACs", scale.minimum, scale.maximum, scale.log
    )  # fmt: skip
    assert legend["ramp"] == list(PALETTE)  # the static graph's ramp, carried to the page
    for entry, scope in zip(data["scopes"][1:], tree.scopes[1:]):
        assert entry["cv"] == scope.macs
        assert entry["v"] == pytest.approx(scale.position(scope.macs), abs=1e-4)
    assert "v" not in data["scopes"][0]  # the root is the page, not a coloured node
    assert [op["cv"] for op in data["ops"]] == [float(op.macs) for op in graph.ops]


def test_color_by_params_counts_parameters_each_op_uses(graph: ModelGraph) -> None:
    data = viewer_data(graph, color_by="params")
    linear = next(op for op in data["ops"] if op["n"] == "linear")
    assert linear["cv"] == 16 * 16 + 16
    assert next(op for op in data["ops"] if op["n"] == "gelu")["cv"] == 0


def test_color_by_mapping_reaches_ops_of_that_module(graph: ModelGraph) -> None:
    data = viewer_data(graph, color_by={"blocks.1.fc": 0.5, "stem": 2.0, "nan": math.nan})
    values = {data["modules"][s["m"]]["p"]: s.get("cv") for s in data["scopes"]}
    assert values["blocks.1.fc"] == 0.5 and values["stem"] == 2.0 and values["blocks.0"] is None
    op_values = [op.get("cv") for op in data["ops"]]
    assert op_values[0] == 2.0 and op_values[5] == 0.5
    assert sum(v is not None for v in op_values) == 2
    assert (data["legend"]["min"], data["legend"]["max"]) == (0.5, 2.0)


def test_unknown_color_name_is_refused(graph: ModelGraph) -> None:
    with pytest.raises(ValueError, match="color_by must be one of"):
        viewer_data(graph, color_by="flops-per-watt")


@needs_bundle
def test_page_is_self_contained_and_offline(graph: ModelGraph) -> None:
    html = graph_to_html(graph, title="Repeat net")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Repeat net · torchscope</title>" in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    js = (ASSETS / "viewer.js").read_text(encoding="utf-8")
    assert js in html  # the whole bundle is inlined
    _, data = _embedded(html)
    assert data == json.loads(json.dumps(viewer_data(graph, title="Repeat net")))


@needs_bundle
def test_model_strings_are_escaped_everywhere(graph: ModelGraph) -> None:
    title = "</script><script>alert('t')</script>"
    html = graph_to_html(graph, title=title)
    assert HOSTILE not in html
    assert "<script>alert" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;" in html  # <title>
    raw, data = _embedded(html)
    assert "</" not in raw and "<" not in raw
    assert data["title"] == title
    assert HOSTILE in [m["p"] for m in data["modules"]]  # round-trips exactly


@needs_bundle
def test_depth_and_title_defaults(graph: ModelGraph) -> None:
    _, data = _embedded(graph_to_html(graph, depth=3))
    assert data["depth"] == 3 and data["title"] == "RepeatNet"


def test_missing_bundle_names_the_build_command(
    graph: ModelGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.resources

    monkeypatch.setattr(importlib.resources, "files", lambda package: tmp_path)
    with pytest.raises(ViewerBundleMissing, match="make frontend"):
        graph_to_html(graph)
