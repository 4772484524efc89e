"""DOT text and its Graphviz rendering, checked through Graphviz's own parse (``dot -Tjson``).

The JSON layout says which clusters hold which nodes, what text each label draws and where
everything lands, so the tests read the picture as Graphviz drew it.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import torchscope
from tests.hf_graphs import tiny_graph
from tests.models import Stack
from torchscope._api import draw
from torchscope.analysis.visible_graph import ColorScale, visible_graph
from torchscope.model.graph import ModelGraph
from torchscope.render.dot import (
    PALETTE,
    GraphvizNotFound,
    graph_to_dot,
    render_dot,
    value_color,
)
from torchscope.render.graph_view import GraphView

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")


def _layout(dot: str) -> dict[str, Any]:
    """Graphviz's parse and layout of ``dot``: objects by name with their drawn texts."""
    done = subprocess.run(["dot", "-Tjson"], input=dot.encode(), capture_output=True, check=True)
    data = json.loads(done.stdout)
    objects = {}
    for obj in data["objects"]:
        obj["texts"] = [d["text"] for d in obj.get("_ldraw_", []) if d["op"] == "T"]
        objects[obj["name"]] = obj
    data["by_name"] = objects
    return data


def _boxes(layout: dict[str, Any]) -> dict[str, tuple[float, float, float, float]]:
    """Node rectangles (x0, y0, x1, y1) in points."""
    boxes = {}
    for obj in layout["objects"]:
        if "pos" in obj:
            x, y = (float(v) for v in obj["pos"].split(","))
            w, h = float(obj["width"]) * 72 / 2, float(obj["height"]) * 72 / 2
            boxes[obj["name"]] = (x - w, y - h, x + w, y + h)
    return boxes


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1


@pytest.fixture(scope="module")
def stack_graph() -> ModelGraph:
    torch.manual_seed(0)
    return torchscope.trace(Stack(), input_size=(2, 16))


@needs_dot
def test_clusters_badges_and_shape_labels_as_graphviz_reads_them(
    stack_graph: ModelGraph,
) -> None:
    layout = _layout(draw(stack_graph, depth=3).to_dot())
    objects = layout["by_name"]
    rolled, last = objects["cluster_0"], objects["cluster_1"]
    # a rolled box says which figures are per copy and which are the total of all copies
    assert rolled["texts"] == ["layers.0-4", "  ", "Sequential", "×5",
                               "each: 272 params · 512 MACs",
                               "all 5: 1.36 K params · 2.56 K MACs"]  # fmt: skip
    assert last["texts"][0] == "layers.5" and "×" not in "".join(last["texts"])
    names = [o["name"] for o in layout["objects"]]
    assert sorted(names[i] for i in rolled["nodes"]) == ["m0", "m1"]
    assert [names[i] for i in last["nodes"]] == ["m2"]
    # the layer's settings (Linear 16 → 16), its figures and its output shape, unclicked
    assert objects["m0"]["texts"] == ["0", "  ", "Linear", "16→16", "272 params · 512 MACs",
                                      "→ 2×16"]  # fmt: skip
    edges = [(names[e["tail"]], names[e["head"]], e["label"].strip()) for e in layout["edges"]]
    assert edges == [
        ("input0", "m0", "2×16"),
        ("m0", "m1", "2×16"),
        ("m1", "m2", "2×16"),
        ("m2", "output0", "2×4"),
    ]
    assert objects["input0"]["texts"] == ["args[0]", "2×16 float32"]


class _Inner(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 6)
        self.norm = nn.LayerNorm(6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x))


class _Outer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = _Inner()
        self.head = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.inner(x) + x)


@needs_dot
def test_module_hierarchy_is_nested_clusters_down_to_depth() -> None:
    class Wrapper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = _Outer()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x)

    graph = torchscope.trace(Wrapper(), input_size=(1, 6))
    layout = _layout(graph_to_dot(visible_graph(graph, depth=3)))
    objects, names = layout["by_name"], [o["name"] for o in layout["objects"]]
    body, inner = objects["cluster_0"], objects["cluster_1"]
    assert body["texts"][:3] == ["body", "  ", "_Outer"]
    assert inner["texts"][:3] == ["inner", "  ", "_Inner"]  # relative to its box
    assert [names[i] for i in body["subgraphs"]] == ["cluster_1"]
    in_inner = {objects[names[i]]["texts"][0] for i in inner["nodes"]}
    assert in_inner == {"proj", "norm"}
    in_body = {objects[names[i]]["texts"][0] for i in body["nodes"]} - in_inner
    assert in_body == {"add", "head"}  # the residual add belongs to body's own forward
    collapsed = _layout(graph_to_dot(visible_graph(graph, depth=2)))
    assert "cluster_1" not in collapsed["by_name"]
    assert collapsed["by_name"]["m0"]["texts"][:3] == ["inner", "  ", "_Inner"]


@pytest.fixture(scope="module")
def gpt2() -> ModelGraph:
    return tiny_graph("hf:GPT2LMHeadModel", n_layer=3, n_embd=32, n_head=2, vocab_size=100)


@pytest.fixture(scope="module")
def resnet() -> ModelGraph:
    return tiny_graph(
        "hf:ResNetForImageClassification",
        embedding_size=8, hidden_sizes=[16, 32], depths=[3, 2], num_labels=10,
    )  # fmt: skip


@needs_dot
@pytest.mark.parametrize("direction", ["TB", "LR"])
@pytest.mark.parametrize("model", ["gpt2", "resnet"])
def test_no_two_nodes_or_edge_labels_overlap(
    model: str, direction: str, request: pytest.FixtureRequest
) -> None:
    graph = request.getfixturevalue(model)
    layout = _layout(draw(graph, direction=direction, color_by="params").to_dot())
    boxes = _boxes(layout)
    assert len(boxes) >= 15
    for label in (e for e in layout["edges"] if "lp" in e):
        x, y = (float(v) for v in label["lp"].split(","))
        boxes[f"label{label['_gvid']}"] = (x - 1, y - 1, x + 1, y + 1)  # its centre point
    items = list(boxes.items())
    clashes = [
        (a, b) for i, (a, box) in enumerate(items) for b, other in items[i + 1 :]
        if _overlap(box, other)
    ]  # fmt: skip
    assert clashes == []


@needs_dot
def test_direction_sets_the_flow(stack_graph: ModelGraph) -> None:
    for direction, axis, sign in (("TB", 1, -1), ("LR", 0, 1)):
        boxes = _boxes(_layout(draw(stack_graph, depth=2, direction=direction).to_dot()))
        start, end = boxes["input0"], boxes["output0"]
        assert sign * (end[axis] - start[axis]) > 0  # Graphviz's y axis points up
    with pytest.raises(ValueError, match="TB or LR"):
        graph_to_dot(visible_graph(stack_graph), direction="BT")


@needs_dot
def test_png_draws_the_badge_and_the_legend(stack_graph: ModelGraph) -> None:
    from PIL import Image

    png = draw(stack_graph, depth=3, color_by="params").render("png")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width > 300 and image.height > 400
    counted = image.getcolors(maxcolors=1 << 20)
    assert counted is not None  # fewer colours than maxcolors
    colors = {rgb for _, rgb in counted}
    assert (0xD9, 0x48, 0x0F) in colors  # the ×5 badge
    palette = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in PALETTE}
    assert palette <= colors  # every legend swatch is drawn


@needs_dot
def test_legend_names_the_value_and_its_range(stack_graph: ModelGraph) -> None:
    layout = _layout(draw(stack_graph, depth=3, color_by="params").to_dot())
    texts = [t.strip() for t in layout["by_name"]["legend"]["texts"] if t.strip()]
    assert texts == ["parameters", "(linear, per copy of a ×N block)", "0", "272"]
    layout = _layout(draw(stack_graph, depth=3, color_by="activation").to_dot())
    texts = layout["by_name"]["legend"]["texts"]
    assert texts[0] == "activation bytes" and texts[-1].endswith(" B")


def test_value_colors_run_light_to_dark_with_readable_text() -> None:
    scale = ColorScale("MACs", 10.0, 1e6, log=True)
    assert value_color(scale, 10.0) == (PALETTE[0], "#1f2937")
    assert value_color(scale, 1e6) == (PALETTE[-1], "#ffffff")
    assert value_color(scale, 0.0) == ("#f8fafc", "#1f2937")  # no value on a log scale
    assert value_color(scale, 1e4)[0] == PALETTE[round(0.6 * 8)]


class _Odd(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


@needs_dot
def test_model_strings_are_escaped(tmp_path: Path) -> None:
    name = 'Odd<b>&"quoted"</b>'
    odd = type(name, (_Odd,), {})
    model = nn.Sequential()
    model.add_module("weird", odd())
    graph = torchscope.trace(model, input_size=(1, 3))
    dot = draw(graph, depth=1, title="a <title> & more").to_dot()
    assert name not in dot and "Odd&lt;b&gt;&amp;&quot;quoted&quot;&lt;/b&gt;" in dot
    layout = _layout(dot)
    assert layout["by_name"]["m0"]["texts"][:3] == ["weird", "  ", name]
    svg = render_dot(dot, "svg").decode()
    assert "<b>" not in svg and "Odd&lt;b&gt;&amp;" in svg


def test_missing_graphviz_names_the_install_command(
    stack_graph: ModelGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("torchscope.render.dot.shutil.which", lambda name: None)
    view = draw(stack_graph, depth=2)
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz") as info:
        view.save(tmp_path / "x.svg")
    assert "brew install graphviz" in str(info.value)
    assert view._repr_svg_() is None
    assert view.save(tmp_path / "x.dot").read_text().startswith("digraph")
    saved = ModelGraph.from_json(view.save(tmp_path / "x.json").read_text())
    assert saved.total_macs == stack_graph.total_macs and len(saved.ops) == len(stack_graph.ops)
    assert "<svg" not in view._repr_html_()


def test_render_rejects_other_formats() -> None:
    with pytest.raises(ValueError, match="svg"):
        render_dot("digraph { a }", "gif")


@needs_dot
def test_graph_view_saves_by_extension(stack_graph: ModelGraph, tmp_path: Path) -> None:
    view = draw(stack_graph, depth=3)
    assert view.save(tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")
    assert view.save(tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert view.save(tmp_path / "g.pdf").read_bytes()[:5] == b"%PDF-"
    assert view.save(tmp_path / "g.gv").read_text() == view.to_dot()
    with pytest.raises(ValueError, match=r"\.svg"):
        view.save(tmp_path / "g.jpeg")
    html = view._repr_html_()
    assert html.startswith("<div") and "<svg" in html and "×5" in html


def test_graph_view_as_data_and_text(stack_graph: ModelGraph) -> None:
    from rich.console import Console

    view = draw(stack_graph, depth=3, direction="lr")
    d = json.loads(view.to_json())
    assert d["direction"] == "LR" and d["depth"] == 3
    assert [c["label"] for c in d["clusters"]] == ["layers.0-4", "layers.5"]
    console = Console(width=60, color_system=None, record=True)
    console.print(view)
    assert console.export_text().splitlines() == [
        "Stack · 1.43 K params · 2.69 K MACs · depth 3",  # 5·272+68; 2·(5·256+64)
        "├── layers.0-4 Sequential ×5",
        "│   ├── 0 Linear",
        "│   └── 1 GELU",
        "└── layers.5 Sequential",
        "    └── 0 Linear",
    ]
    assert str(view) == (
        "GraphView(Stack, depth 3: 5 nodes, 2 boxes, 4 edges, rolled: layers.0-4 ×5)"
    )


@needs_dot
def test_html_uses_the_interactive_viewer(stack_graph: ModelGraph, tmp_path: Path) -> None:
    pytest.importorskip("torchscope.render.graph_html")
    page = draw(stack_graph, depth=3).save(tmp_path / "g.html").read_text()
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "layers.0" in page and "https://" not in page.split("</head>")[0]


def test_draw_validates_its_options(stack_graph: ModelGraph) -> None:
    with pytest.raises(ValueError, match="direction"):
        draw(stack_graph, direction="up")
    with pytest.raises(ValueError, match="color_by"):
        draw(stack_graph, color_by="flops")
    assert isinstance(draw(stack_graph), GraphView)
