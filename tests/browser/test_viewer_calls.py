"""The viewer draws the computation as it ran: a node per call, no cycles, readable text."""

from __future__ import annotations

import graphlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import torchscope
from tests.browser.test_viewer import Page
from tests.models import SharedActBlock, TinyAttention, TinyUNet
from torchscope.analysis.visible_graph import visible_graph
from torchscope.model.graph import ModelGraph
from torchscope.render import graph_html

pytestmark = pytest.mark.browser

if not (Path(graph_html.__file__).parent / "assets" / "viewer.js").exists():
    pytest.skip("viewer bundle not built: run `make frontend`", allow_module_level=True)

READABLE = 0.75  # the fit's lowest zoom: 12 px labels at 9 px


def _t5() -> ModelGraph:
    pytest.importorskip("transformers")
    from torchscope.sources.spec import load_model

    config = {"d_model": 16, "d_ff": 32, "d_kv": 8, "num_heads": 2, "num_layers": 2,
              "num_decoder_layers": 2, "vocab_size": 50}  # fmt: skip
    loaded = load_model("hf:T5ForConditionalGeneration", config, device="meta", seq_len=8)
    # as built (training mode): its stacks' dropout, called twice each, is drawn
    return torchscope.trace(loaded.model, *loaded.args, device="meta", **loaded.kwargs)


CASES: dict[str, Callable[[], ModelGraph]] = {
    "unet": lambda: torchscope.trace(TinyUNet().eval(), input_size=(1, 1, 16, 16)),
    "shared act": lambda: torchscope.trace(SharedActBlock().eval(), input_size=(1, 8, 8, 8)),
    "t5": _t5,
}


def _open(browser: Any, graph: ModelGraph, tmp_path: Path) -> Page:
    path = tmp_path / "viewer.html"
    path.write_text(graph_html.graph_to_html(graph), encoding="utf-8")
    return Page(browser, path)


def _acyclic(edges: list[list[Any]]) -> bool:
    sorter = graphlib.TopologicalSorter[int]()
    for src, dst, *_ in edges:
        sorter.add(dst, src)
    try:
        list(sorter.static_order())
    except graphlib.CycleError:
        return False
    return True


@pytest.mark.parametrize("case", list(CASES))
def test_each_call_is_a_node_and_the_drawing_is_acyclic(
    browser: Any, case: str, tmp_path: Path
) -> None:
    graph = CASES[case]()
    reused = [m for m in graph.modules if m.calls > 1]
    assert reused
    p = _open(browser, graph, tmp_path)
    assert _acyclic(p.page.evaluate("window.__torchscope.drawnEdges()"))
    p.page.evaluate("window.__torchscope.expandAll()")
    edges = p.page.evaluate("window.__torchscope.drawnEdges()")
    assert _acyclic(edges)
    groups = p.page.eval_on_selector_all(
        ".ts-g .ts-gl", "els => els.map(e => e.firstChild.textContent.replace('−  ', '').trim())"
    )
    shown = set(p.labels()) | set(groups)
    for module in reused:
        name = module.path.rpartition(".")[2]
        calls = {f"{name} (call {k})" for k in range(1, module.calls + 1)}
        assert calls <= shown, (module.path, sorted(shown))
    p.page.close()
    assert p.problems == []


@pytest.mark.parametrize("case", ["unet", "t5"])
def test_fit_keeps_text_readable(browser: Any, case: str, tmp_path: Path) -> None:
    p = _open(browser, CASES[case](), tmp_path)
    first = p.page.evaluate("window.__torchscope.view()")
    assert first["k"] >= READABLE  # 5 px text before, for these two models
    p.page.click("#ts-expand-all")
    p.page.click("#ts-fit")
    expanded = p.page.evaluate("window.__torchscope.view()")
    assert expanded["k"] >= READABLE and expanded["height"] * expanded["k"] > 860  # pan for more
    assert expanded["y"] == 20  # the top of the graph is in view
    label_px = p.page.eval_on_selector(".ts-n .ts-l", "e => e.getBoundingClientRect().height")
    assert label_px >= 9
    p.page.close()
    assert p.problems == []


def test_module_nodes_show_settings_params_and_shape_unclicked(
    browser: Any, tmp_path: Path
) -> None:
    p = _open(browser, CASES["unet"](), tmp_path)
    node = p.node("pool (call 2)")
    texts = node.locator("text").all_text_contents()
    assert texts == ["pool (call 2)", "MaxPool2d · kernel 2, stride 2", "[1, 8, 4, 4]", "+"]
    conv = p.page.locator(".ts-n", has=p.page.locator(".ts-s", has_text="1→4")).first
    assert conv.locator(".ts-i").text_content() == "40 params · [1, 4, 16, 16]"
    p.page.close()
    assert p.problems == []


def test_viewer_hides_the_same_trivia_as_the_svg(browser: Any, tmp_path: Path) -> None:
    graph = torchscope.trace(TinyAttention(), input_size=(2, 5, 32))
    svg_labels = [n.label for n in visible_graph(graph, depth=1).nodes]
    assert svg_labels == ["args[0]", "qkv", "scaled_dot_product_attention", "out", "tensor"]
    p = _open(browser, graph, tmp_path)
    assert sorted(p.labels()) == sorted(svg_labels)  # view, permute, unbind… hidden in both
    p.page.close()
    assert p.problems == []
