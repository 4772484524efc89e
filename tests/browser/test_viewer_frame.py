"""The viewer inside a frame that starts with no size (a sandboxed notebook frame, a report's
frame loaded lazily): it refits as the frame grows, until the user moves the view."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.render.models_viewer import repeat_net_graph
from torchscope.render import graph_html

pytestmark = pytest.mark.browser

ASSETS = Path(graph_html.__file__).parent / "assets"
if not (ASSETS / "viewer.js").exists():
    pytest.skip("viewer bundle not built: run `make frontend`", allow_module_level=True)

TRANSFORM_JS = Path(__file__).resolve().parents[2] / "frontend" / "src" / "transform.js"
MIN_READABLE = float(re.findall(r"MIN_READABLE = ([\d.]+)", TRANSFORM_JS.read_text())[0])

# (minimum canvas width) => the view is fitted to a canvas at least that wide: the graph
# (narrower than the canvas here) centred across it
REFITTED = (
    "(least => { const v = window.__torchscope.view(); "
    "const w = document.getElementById('ts-canvas').getBoundingClientRect().width; "
    "return w >= least && Math.abs(v.x - (w - v.width * v.k) / 2) < 0.1; })"
)


@pytest.fixture()
def framed(browser: Any, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """An outer page holding the viewer in a 0×0 frame sandboxed as notebook_html's is."""
    viewer = graph_html.graph_to_html(repeat_net_graph(), title="Repeat net")
    outer = tmp_path / "outer.html"
    outer.write_text(
        '<!DOCTYPE html><html><body style="margin:0"><iframe id="f" sandbox="allow-scripts" '
        f'style="width:0;height:0;border:0" srcdoc="{html.escape(viewer, quote=True)}">'
        "</iframe></body></html>",
        encoding="utf-8",
    )
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(outer.as_uri())
    frame = page.frames[1]
    frame.wait_for_function("window.__torchscope && window.__torchscope.ready")
    yield page, frame
    page.close()
    assert errors == []


def _resize(page: Any, width: int, height: int) -> None:
    page.evaluate(
        "([w, h]) => { const f = document.getElementById('f'); f.style.width = w + 'px'; "
        "f.style.height = h + 'px'; }",
        [width, height],
    )


def _canvas(frame: Any) -> dict[str, float]:
    rect: dict[str, float] = frame.evaluate(
        "(() => { const r = document.getElementById('ts-canvas').getBoundingClientRect(); "
        "return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width}; "
        "})()"
    )
    return rect


def test_a_frame_that_grows_from_nothing_shows_the_graph_readable(framed: Any) -> None:
    page, frame = framed
    assert _canvas(frame)["width"] == 0  # the viewer started in a frame of no size
    _resize(page, 1000, 800)
    frame.wait_for_function(f"{REFITTED}(500)")
    view = frame.evaluate("window.__torchscope.view()")
    canvas = _canvas(frame)
    assert view["k"] >= MIN_READABLE
    drawn = view["width"] * view["k"]
    assert drawn <= canvas["width"]  # this graph fits across: the fit centres it
    assert view["x"] == pytest.approx((canvas["width"] - drawn) / 2, abs=0.1)
    # labels are on screen, inside the canvas, and at least 9 px tall
    boxes = frame.eval_on_selector_all(
        ".ts-n .ts-l",
        "els => els.map(e => { const r = e.getBoundingClientRect(); "
        "return [r.left, r.top, r.right, r.bottom]; })",
    )
    assert boxes
    for left, top, right, bottom in boxes:
        assert canvas["left"] <= left and right <= canvas["right"] + 1
        assert canvas["top"] <= top and bottom <= canvas["bottom"] + 1
        assert bottom - top >= 9


def test_once_the_user_moves_the_view_a_resize_keeps_it(framed: Any) -> None:
    page, frame = framed
    _resize(page, 900, 700)
    frame.wait_for_function("window.__torchscope.view().x !== 20")
    page.mouse.move(300, 300)
    page.mouse.wheel(0, 120)  # scrolls the graph: the user's view from now on
    frame.wait_for_function("window.__torchscope.view().y !== 20")
    chosen = frame.evaluate("window.__torchscope.view()")
    _resize(page, 600, 500)
    frame.wait_for_function("document.getElementById('ts-canvas').clientWidth < 400")
    page.wait_for_timeout(100)  # a refit would have run by the next frame
    assert frame.evaluate("window.__torchscope.view()") == chosen
    frame.click("#ts-fit")  # Fit hands the view back to the frame's size
    _resize(page, 1000, 800)
    # refitted to the grown canvas: the graph centred across its new width
    frame.wait_for_function(f"{REFITTED}(500)")
