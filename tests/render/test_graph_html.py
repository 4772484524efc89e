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
    assert data["edges"] == [[e.src, e.dst] for e in graph.edges]
    index = {m.path: i for i, m in enumerate(graph.modules)}
    for entry, module in zip(data["modules"], graph.modules):
        assert entry["ch"] == [index[c] for c in module.children]
        assert entry["par"] == (-1 if module.parent is None else index[module.parent])
        assert (entry["np"], entry["mc"], entry["ab"]) == (
            module.total_params,
            module.macs,
            module.activation_bytes,
        )
    conv = data["ops"][0]
    assert conv["i"] == [["[2, 3, 10]", "float32"]] and conv["o"] == [["[2, 16, 10]", "float32"]]
    assert conv["mc"] == 16 * 3 * 3 * 10 * 2  # out channels × in × kernel × length × batch
    assert data["totals"] == {"params": graph.total_params, "macs": graph.total_macs}


def test_identical_numbered_blocks_fold_into_one_run(graph: ModelGraph) -> None:
    data = viewer_data(graph)
    blocks = data["modules"][[m.path for m in graph.modules].index("blocks")]
    assert blocks["r"] == [[0, 3]]  # blocks.4 has no bias: it keeps its own node
    sig = {m["p"]: m["s"] for m in data["modules"]}
    assert sig["blocks.0"] == sig["blocks.3"] != sig["blocks.4"]
    assert sig["blocks.0.fc"] == sig["blocks.2.fc"]
    assert all(m["r"] == [] for m in data["modules"] if m["p"] != "blocks")


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


def test_colour_by_macs_gives_values_and_legend(graph: ModelGraph) -> None:
    data = viewer_data(graph, color_by="macs")
    assert [m["v"] for m in data["modules"]] == [float(m.macs) for m in graph.modules]
    assert [op["v"] for op in data["ops"]] == [float(op.macs) for op in graph.ops]
    positive = [m.macs for m in graph.modules if m.macs] + [o.macs for o in graph.ops if o.macs]
    legend = data["legend"]
    assert (legend["mode"], legend["min"], legend["max"]) == ("value", min(positive), max(positive))
    assert legend["log"] is (max(positive) / min(positive) > 100)


def test_colour_by_params_counts_parameters_each_op_uses(graph: ModelGraph) -> None:
    data = viewer_data(graph, color_by="params")
    linear = next(op for op in data["ops"] if op["n"] == "linear")
    assert linear["v"] == 16 * 16 + 16
    assert next(op for op in data["ops"] if op["n"] == "gelu")["v"] == 0


def test_colour_by_mapping_reaches_ops_of_that_module(graph: ModelGraph) -> None:
    data = viewer_data(graph, color_by={"blocks.1.fc": 0.5, "stem": 2.0, "nan": math.nan})
    values = {m["p"]: m.get("v") for m in data["modules"]}
    assert values["blocks.1.fc"] == 0.5 and values["stem"] == 2.0 and values["blocks.0"] is None
    op_values = [op.get("v") for op in data["ops"]]
    assert op_values[0] == 2.0 and op_values[5] == 0.5
    assert sum(v is not None for v in op_values) == 2
    assert (data["legend"]["min"], data["legend"]["max"]) == (0.5, 2.0)


def test_unknown_colour_name_is_refused(graph: ModelGraph) -> None:
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
