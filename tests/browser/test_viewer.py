"""The interactive viewer in a real browser: expand, collapse, search, details, export."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.render.models_viewer import HOSTILE, repeat_net_graph
from torchscope.model.graph import ModelGraph
from torchscope.render import graph_html

pytestmark = pytest.mark.browser

if not (Path(graph_html.__file__).parent / "assets" / "viewer.js").exists():
    pytest.skip("viewer bundle not built: run `make frontend`", allow_module_level=True)


@pytest.fixture(scope="module")
def graph() -> ModelGraph:
    g = repeat_net_graph()
    assert isinstance(g, ModelGraph)
    return g


class Page:
    """A viewer page plus everything it reported: console messages, errors, dialogs."""

    def __init__(self, browser: Any, html_path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1300, "height": 900}, accept_downloads=True)
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.goto(html_path.as_uri())
        self.page.wait_for_function("window.__torchscope && window.__torchscope.ready")

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def _console(self, msg: Any) -> None:
        if msg.type in ("error", "warning"):
            self.problems.append(f"console {msg.type}: {msg.text}")

    def labels(self) -> list[str]:
        return list(
            self.page.eval_on_selector_all(".ts-n .ts-l", "els => els.map(e => e.textContent)")
        )

    def node(self, label: str) -> Any:
        return self.page.locator(".ts-n", has=self.page.locator(".ts-l", has_text=label)).first

    def details(self) -> dict[str, str]:
        rows = self.page.eval_on_selector_all(
            "#ts-details .ts-kv tr",
            "rs => rs.map(r => [r.cells[0].textContent, r.cells[1].textContent])",
        )
        return dict(rows)


@pytest.fixture()
def page(browser: Any, graph: ModelGraph, tmp_path: Path) -> Iterator[Page]:
    path = tmp_path / "viewer.html"
    path.write_text(graph_html.graph_to_html(graph, title="Repeat net"), encoding="utf-8")
    p = Page(browser, path)
    yield p
    p.page.close()
    assert p.problems == []


def test_first_view_rolls_up_repeats(page: Page) -> None:
    # depth 2: the root and the (op-less) ModuleList are open, the 4 identical blocks are
    # one run node with a ×4 badge, blocks.4 differs and keeps its own node; the transpose
    # is hidden as trivia, as in the static graph
    assert set(page.labels()) == {"args[0]", "stem", "blocks.0-3", "4", HOSTILE, "mean",
                                  "tensor"}  # fmt: skip
    assert page.page.locator(".ts-badge text").all_text_contents() == ["×4"]


def test_expand_and_collapse_on_click(page: Page) -> None:
    page.node("blocks.0-3").click()
    assert {"0", "1", "2", "3"} <= set(page.labels())
    page.node("2").click()
    labels = page.labels()
    assert "fc" in labels and "act" in labels and "add" in labels
    page.page.locator(".ts-g .ts-gl", has_text="2").first.click()  # the group's header
    assert "fc" not in page.labels()
    page.page.locator(".ts-g .ts-gl", has_text="blocks.0-3").click()
    assert "blocks.0-3" in page.labels() and "0" not in page.labels()


def _linear_matches(graph: ModelGraph) -> int:
    """The nodes a search for "linear" finds: linear ops and modules named or typed so."""
    ops = sum(op.name == "linear" or "linear" in op.target.lower() for op in graph.ops)
    return ops + sum("linear" in (m.path + m.type).lower() for m in graph.modules)


def _stop_clock(page: Page) -> None:
    """Typing searches 200 ms after the last key, Enter at once. The page's clock becomes a
    stopped fake that moves only in ``clock.run_for``, so which comes first is the test's
    choice, never the machine's load (a busy machine let the typed search run first)."""
    start = 1_700_000_000.0  # seconds; any fixed time
    page.page.clock.install(time=start)
    page.page.clock.pause_at(start + 1)


def test_search_reveals_and_highlights_matches(page: Page, graph: ModelGraph) -> None:
    expected = _linear_matches(graph)
    _stop_clock(page)
    page.page.fill("#ts-search", "linear")
    page.page.press("#ts-search", "Enter")  # before the typed search is due: searches now
    assert page.page.text_content("#ts-search-count") == f"1 / {expected}"
    # every match was revealed (few enough) and is drawn highlighted
    assert page.page.locator(".ts-hit").count() == expected
    page.page.press("#ts-search", "Enter")
    assert page.page.text_content("#ts-search-count") == f"2 / {expected}"
    page.page.clock.run_for(1000)  # Enter cancelled the typed search: it never runs
    assert page.page.text_content("#ts-search-count") == f"2 / {expected}"


def test_typing_searches_after_a_pause_and_enter_goes_on(page: Page, graph: ModelGraph) -> None:
    expected = _linear_matches(graph)
    _stop_clock(page)
    page.page.fill("#ts-search", "linear")
    page.page.clock.run_for(199)
    assert page.page.text_content("#ts-search-count") == ""  # still typing
    page.page.clock.run_for(1)
    assert page.page.text_content("#ts-search-count") == f"1 / {expected}"
    page.page.press("#ts-search", "Enter")  # the search has run: Enter shows the next match
    assert page.page.text_content("#ts-search-count") == f"2 / {expected}"


def test_details_panel_reads_the_selected_module(page: Page, graph: ModelGraph) -> None:
    page.node("stem").click()
    d = page.details()
    stem = graph.module("stem")
    assert d["Path"] == "stem" and d["Type"] == "Conv1d"
    assert d["Parameters"] == f"{stem.total_params:,}" == "160"
    assert d["Outputs"] == "[2, 16, 10] float32"
    assert d["MACs"] == f"{stem.macs / 1e3:.2f} K (FLOPs {2 * stem.macs / 1e3:.2f} K)"
    attributes = page.page.eval_on_selector_all(
        "#ts-details h3 + table tr",
        "rs => rs.map(r => r.cells[0].textContent + '=' + r.cells[1].textContent)",
    )
    # Conv1d.extra_repr gives "3, 16, kernel_size=(3,), …": positional values stay unnamed
    assert attributes[:4] == ["·=3", "·=16", "kernel_size=(3,)", "stride=(1,)"]


def test_details_of_an_op_list_shapes_and_parameters(page: Page) -> None:
    page.page.evaluate("window.__torchscope.expand('blocks.4.fc')")
    page.node("linear").click()
    d = page.details()
    assert d["Function"] == "torch.nn.functional.linear" and d["Module"] == "blocks.4.fc"
    assert d["Inputs"] == "[2, 10, 16] float32"
    assert d["Parameters used"] == "blocks.4.fc.weight"
    assert d["MACs"].startswith("5.12 K")


def test_hostile_module_name_is_shown_as_text(page: Page) -> None:
    assert page.page.locator("img").count() == 0
    assert HOSTILE in page.labels()
    page.node("onerror").click()
    assert page.page.text_content("#ts-details h2") == HOSTILE
    assert page.details()["Path"] == HOSTILE
    assert page.page.evaluate("typeof window.__xss") == "undefined"


def test_svg_export_is_valid_and_complete(page: Page) -> None:
    text = page.page.evaluate("window.__torchscope.exportSVG()")
    root = ET.fromstring(text)
    ns = "{http://www.w3.org/2000/svg}"
    labels = [t.text or "" for t in root.iter(f"{ns}text") if t.get("class") == "ts-l"]
    assert sorted(labels) == sorted(page.labels())
    assert root.find(f"{ns}style") is not None and HOSTILE in labels


def test_png_export_downloads_a_png_of_the_whole_view(page: Page, tmp_path: Path) -> None:
    with page.page.expect_download() as info:
        page.page.click("#ts-export-png")
    path = tmp_path / "view.png"
    info.value.save_as(path)
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    size = page.page.evaluate("window.__torchscope.viewer.size")
    assert (width, height) == (round((size[0] + 20) * 2), round((size[1] + 20) * 2))
    assert info.value.suggested_filename == "Repeat_net.png"


def test_expand_all_then_reset(page: Page, graph: ModelGraph) -> None:
    page.page.evaluate("window.__torchscope.expandAll()")
    stats = page.page.evaluate("window.__torchscope.stats()")
    # every op but the trivia, plus the graph input and output, is a drawn leaf
    data = graph_html.viewer_data(graph)
    shown = [op for op in data["ops"] if not op.get("h")]
    assert len(shown) == len(graph.ops) - data["hidden"] == len(graph.ops) - 1  # transpose
    assert stats["nodes"] == len(shown) + len(graph.inputs) + len(graph.outputs)
    assert stats["edges"] == len({tuple(e) for e in data["edges"]})
    page.page.click("#ts-collapse")
    assert "blocks.0-3" in page.labels()


def test_value_coloring_draws_a_scale_legend(
    browser: Any, graph: ModelGraph, tmp_path: Path
) -> None:
    path = tmp_path / "macs.html"
    path.write_text(graph_html.graph_to_html(graph, color_by="macs"), encoding="utf-8")
    p = Page(browser, path)
    legend = p.page.text_content("#ts-legend")
    scale = graph_html.viewer_data(graph, color_by="macs")["legend"]
    assert scale["label"] == "MACs" and scale["log"] is False
    assert (scale["min"], scale["max"]) == (0.0, 25600.0)  # 0 (GELU) to the 5 blocks
    assert legend == "colour: MACs025.60 K"  # the same scale in Python and the page
    fills = p.page.eval_on_selector_all(
        ".ts-n rect:first-of-type", "rs => rs.map(r => r.getAttribute('fill'))"
    )
    assert len(set(fills)) > 2
    p.page.close()
    assert p.problems == []


def test_a_flatten_module_is_drawn_in_the_flow_as_in_the_svg(browser: Any, tmp_path: Path) -> None:
    import torchscope
    from torchscope.examples import DEMO_INPUT_SIZE, SimpleNet

    path = tmp_path / "simplenet.html"
    graph = torchscope.trace(SimpleNet(), input_size=DEMO_INPUT_SIZE)
    path.write_text(graph_html.graph_to_html(graph), encoding="utf-8")
    p = Page(browser, path)
    edges = {(a, b) for _, _, a, b in p.page.evaluate("window.__torchscope.drawnEdges()")}
    # flatten's one op is a view, hidden elsewhere; here it is the whole module: it stays,
    # between the input and fc1, instead of dangling beside them
    assert edges == {("args[0]", "flatten"), ("flatten", "fc1"), ("fc1", "relu"),
                     ("relu", "fc2"), ("fc2", "tensor")}  # fmt: skip
    p.page.close()
    assert p.problems == []


def test_identical_layers_share_one_cached_layout(page: Page) -> None:
    def layouts_after(action: str) -> int:
        before = page.page.evaluate("window.__torchscope.stats().layouts")
        page.page.evaluate(action)
        return int(page.page.evaluate("window.__torchscope.stats().layouts")) - before

    layouts_after("window.__torchscope.expandRuns()")
    first = layouts_after("window.__torchscope.expand('blocks.0')")
    second = layouts_after("window.__torchscope.expand('blocks.1')")
    # blocks.0 needed its own layout plus its ancestors' (run, list, root); blocks.1 reuses
    # blocks.0's and only its ancestors are laid out again
    assert (first, second) == (4, 3)
    assert layouts_after("window.__torchscope.collapse('blocks.1')") == 0  # back to a cached state


def test_hostile_op_and_type_names_from_a_graph_file_run_nothing(
    browser: Any, graph: ModelGraph, tmp_path: Path
) -> None:
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    data = graph.to_dict()
    data["ops"][0]["name"] = payload
    data["modules"][1]["type"] = payload
    data["inputs"][0]["name"] = payload
    data["model_type"] = payload
    hostile = ModelGraph.from_dict(data)
    path = tmp_path / "hostile.html"
    path.write_text(graph_html.graph_to_html(hostile, color_by="macs"), encoding="utf-8")
    p = Page(browser, path)
    p.page.evaluate("window.__torchscope.expandAll()")
    p.page.evaluate("window.__torchscope.search('img')")
    assert p.page.locator("img, iframe, #ts-app script").count() == 0
    assert p.page.evaluate("typeof window.__xss") == "undefined"
    shortened = payload[:18] + "…" + payload[-19:]  # long names lose their middle
    assert p.labels().count(shortened) == 2  # drawn as text: the op and the input
    p.page.click("#ts-fit")  # the graph input sits at the top
    p.node("onerror").click()
    assert p.page.text_content("#ts-details h2") == payload
    p.page.evaluate("window.__torchscope.exportSVG()")
    assert p.page.evaluate("typeof window.__xss") == "undefined"
    p.page.close()
    assert p.problems == []
