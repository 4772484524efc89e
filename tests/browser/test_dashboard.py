"""The live dashboard in a real headless chromium against a real server on 127.0.0.1.

Live updates, honest decimation (a single spike among a million points stays visible),
resumed runs, zooming, every page, exports, and hostile names that must execute nothing.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from tests.store.sample_runs import write_sample_run
from tests.web.runs import write_bulk
from torchscope.store import RunWriter
from torchscope.web.app import DashboardConfig
from torchscope.web.server import serve_in_background

pytestmark = pytest.mark.browser

if not (Path(__file__).parents[2] / "src/torchscope/web/assets/dashboard.js").exists():
    pytest.skip("dashboard bundle not built: run `make frontend`", allow_module_level=True)

PAYLOAD = '<img src=x onerror="window.__pwned=1">"><script>window.__pwned=2</script>'


class Dash:
    """A dashboard page plus every console message, page error and dialog it produced."""

    def __init__(self, browser: Any, url: str, hash_: str = "") -> None:
        self.page = browser.new_page(viewport={"width": 1300, "height": 900}, accept_downloads=True)
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.goto(url + ("#" + hash_ if hash_ else ""))
        self.page.wait_for_selector("html[data-ready='1']", timeout=20_000)

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def _console(self, msg: Any) -> None:
        if msg.type in ("error", "warning"):
            self.problems.append(f"console {msg.type}: {msg.text}")

    def js(self, code: str) -> Any:
        return self.page.evaluate(code)

    def goto(self, page: str, **state: str) -> None:
        q = "&".join(f"{k}={v}" for k, v in {"page": page, **state}.items())
        self.page.evaluate(f"location.hash = {json.dumps(q)}")
        self.page.wait_for_timeout(1200)

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def dash(browser: Any) -> Iterator[Callable[..., Dash]]:
    servers, pages = [], []

    def open_(*logdirs: Path, hash_: str = "") -> Dash:
        url = serve_in_background(DashboardConfig(list(logdirs), port=0, refresh_s=0.1))
        servers.append(url)
        pages.append(Dash(browser, str(url), hash_))
        return pages[-1]

    yield open_
    for p in pages:
        p.close()
    for s in servers:
        s.stop()


CHART = "[data-testid=chart][data-metric='{}']"
APP = "window.__torchscope_dashboard"


def test_a_logged_point_appears_without_reload(tmp_path: Path, dash: Callable[..., Dash]) -> None:
    w = RunWriter(tmp_path / "live", run_name="live", flush_interval=0.05)
    for s in range(5):
        w.log_scalars(s, {"loss": 1.0 / (s + 1)})
    w.flush()
    d = dash(tmp_path)
    d.js("window.__same_document = true")
    chart = d.page.locator(CHART.format("loss"))
    assert chart.get_attribute("data-points") == "5"
    for s in range(5, 8):
        w.log_scalars(s, {"loss": 1.0 / (s + 1)})
        d.page.wait_for_selector(f"[data-testid=run-row][data-run=live][data-last-step='{s}']")
    d.page.wait_for_selector(CHART.format("loss") + "[data-points='8']")
    assert d.js("window.__same_document") is True  # updated in place, never reloaded
    w.close()
    assert not d.problems


# Ink (dark pixels) on the chart canvas around the spike's column and value, the y range,
# and the largest bucket maximum the chart holds.
SPIKE_PIXELS = """(() => {
    const c = window.__torchscope_dashboard.pages.scalars.charts.get('loss'), u = c.u;
    const X = Math.round(u.valToPos(AT, 'x', true));
    const Y = Math.round(u.valToPos(25, 'y', true));
    const px = u.ctx.getImageData(X - 3, Y - 2, 7, 12).data;
    let ink = 0;
    for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3] > 0 && px[i] + px[i + 1] + px[i + 2] < 600) ink++;
    }
    const maxes = c.series[0].segments[0].max.filter((v) => v !== null);
    return { yMax: u.scales.y.max, ink, bucketMax: Math.max(...maxes) };
})()"""


def test_a_single_spike_in_a_million_points_stays_visible(
    tmp_path: Path, dash: Callable[..., Dash]
) -> None:
    n, at = 1_000_000, 612_345
    y = np.full(n, 1.0) + 0.01 * np.sin(np.arange(n) / 1000)
    y[at] = 25.0
    write_bulk(tmp_path / "big", {("train", "loss"): (np.arange(n), y)}, name="big")
    d = dash(tmp_path)
    chart = d.page.locator(CHART.format("loss"))
    assert chart.get_attribute("data-points") == str(n)
    shown = int(chart.get_attribute("data-shown"))
    assert 100 < shown <= 4096  # per-pixel buckets, not a million points
    seen = d.js(SPIKE_PIXELS.replace("AT", str(at)))
    assert seen["bucketMax"] == 25.0 and seen["yMax"] >= 25.0
    assert seen["ink"] > 0  # the spike's min–max stroke is painted at its column


def test_a_resumed_run_keeps_both_segments(tmp_path: Path, dash: Callable[..., Dash]) -> None:
    steps = np.concatenate([np.arange(0, 1000), np.arange(500, 1500)])
    vals = np.concatenate([np.full(1000, 2.0), np.full(1000, 1.0)])
    write_bulk(tmp_path / "r", {("train", "loss"): (steps, vals)}, name="resumed")
    d = dash(tmp_path)
    chart = d.page.locator(CHART.format("loss"))
    assert chart.get_attribute("data-points") == "2000"
    assert "resumed" in chart.locator(".ts-marks").inner_text()
    segments = d.js(
        f"{APP}.pages.scalars.charts.get('loss').series[0].segments.map(s => "
        "[s.cnt.reduce((a, b) => a + b, 0), s.x[0], s.x[s.x.length - 1], [...new Set(s.last)]])"
    )
    (n1, first1, last1, vals1), (n2, first2, last2, vals2) = segments
    assert (n1, last1, vals1) == (1000, 999, [2]) and first1 < 10
    assert (n2, last2, vals2) == (1000, 1499, [1]) and 500 <= first2 < 510


def test_zoom_asks_for_the_visible_range_at_full_resolution(
    tmp_path: Path, dash: Callable[..., Dash]
) -> None:
    n = 20_000
    write_bulk(tmp_path / "r", {("train", "loss"): (np.arange(n), np.cos(np.arange(n) / 500))})
    d = dash(tmp_path)
    box = d.page.locator(CHART.format("loss") + " .u-over").bounding_box()
    assert box is not None
    d.page.mouse.move(box["x"] + box["width"] * 0.40, box["y"] + 40)
    d.page.mouse.down()
    d.page.mouse.move(box["x"] + box["width"] * 0.40 + 8, box["y"] + 60, steps=4)
    d.page.mouse.up()
    for _ in range(50):  # (wait_for_function's string predicates are blocked by the CSP)
        state = d.js("Object.fromEntries(new URLSearchParams(location.hash.slice(1)))")
        if "lo" in state and d.page.locator(CHART.format("loss")).get_attribute("data-points") \
                != str(n):  # fmt: skip
            break
        time.sleep(0.1)
    lo, hi = float(state["lo"]), float(state["hi"])
    expected = int(np.floor(hi)) - int(np.ceil(lo)) + 1
    chart = d.page.locator(CHART.format("loss"))
    assert 0 < hi - lo < n / 20
    assert int(chart.get_attribute("data-points")) == expected
    assert int(chart.get_attribute("data-shown")) == expected  # every point in the range


def _hostile_graph() -> dict[str, Any]:
    import torchscope

    model = nn.Sequential()
    model.add_module(PAYLOAD.replace(".", "_"), nn.Linear(4, 4))
    model.add_module("<b>bold</b>", nn.ReLU())
    return torchscope.trace(model, torch.randn(1, 4)).to_dict()


def test_script_payloads_in_names_execute_nothing(
    tmp_path: Path, dash: Callable[..., Dash]
) -> None:
    with RunWriter(tmp_path / "h", run_name=PAYLOAD) as w:
        for s in range(20):
            w.log_scalars(s, {PAYLOAD: float(s)}, split=PAYLOAD)
            w.log_layer_stats(s, "grad", {PAYLOAD: {"norm": 1.0 + s}})
        w.log_confusion(19, PAYLOAD, [[3, 1], [0, 4]], labels=[PAYLOAD, "<i>x</i>"])
        w.log_event(5, "nonfinite", {"module": PAYLOAD, "phase": PAYLOAD})
        w.set_meta("config", {PAYLOAD: PAYLOAD})
        w.set_meta("tags", [PAYLOAD])
        w.set_meta("graph", _hostile_graph())
    d = dash(tmp_path)
    row = d.page.locator("[data-testid=run-row]")
    assert row.get_attribute("data-run") == PAYLOAD
    assert row.locator(".ts-run-name").inner_text() == PAYLOAD
    assert d.page.locator("[data-testid=chart] .ts-chart-title").inner_text() == PAYLOAD
    for page in ("runs", "layers", "evaluation", "model"):
        d.goto(page, split=PAYLOAD)
    assert d.page.locator("[data-testid=graph] .ts-n").count() > 0
    graph_text = d.page.locator("[data-testid=graph]").inner_text()
    assert "<img src=x onerror" in graph_text and "pwned=2</script>" in graph_text  # as text
    assert "<b>bold</b>" in graph_text
    assert d.page.locator("img").count() == 0 and d.js("window.__pwned") is None
    assert d.problems == []


def test_every_page_shows_its_panels(tmp_path: Path, dash: Callable[..., Dash]) -> None:
    write_sample_run(tmp_path / "a", name="alpha")
    with RunWriter(tmp_path / "m", run_name="model") as w:
        w.log_scalars(0, {"loss": 1.0})
        w.log_layer_stats(0, "grad", {"0.weight": {"norm": 2.0}, "0.bias": {"norm": 1.0}})
        w.set_meta("graph", torch_graph())
    d = dash(tmp_path, hash_="page=runs")
    assert d.page.locator("[data-testid=run-table-row]").count() == 2
    d.goto("layers", run=run_id(d, "alpha"))
    titles = d.page.locator("[data-testid=heatmap] h3").all_inner_texts()
    assert titles == [
        "Gradient norm",
        "Update / weight ratio ‖ΔW‖/‖W‖",
        "Dead fraction (activations)",
    ]
    assert d.page.locator("[data-testid=health]").count() == 1
    d.goto("evaluation", run=run_id(d, "alpha"))
    assert "accuracy" in d.page.locator("[data-testid=eval-summary]").inner_text()
    assert d.page.locator("[data-testid=per-class] tbody tr").count() == 4  # 3 + macro
    d.goto("model", run=run_id(d, "model"))
    assert d.page.locator("[data-testid=summary-row]").count() >= 2
    assert d.page.locator("[data-testid=graph] .ts-n").count() >= 2
    coloured = d.js("document.querySelector('.ts-model').dataset.coloredModules")
    assert coloured == "1"  # module "0", from its two parameters
    assert d.problems == []


def torch_graph() -> dict[str, Any]:
    import torchscope

    return torchscope.trace(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), torch.randn(1, 4)).to_dict()


def run_id(d: Dash, name: str) -> str:
    return str(d.js(f"{APP}.runs.find(r => r.name === {json.dumps(name)}).id"))


def test_heatmap_and_graph_select_each_other(tmp_path: Path, dash: Callable[..., Dash]) -> None:
    with RunWriter(tmp_path / "m", run_name="model") as w:
        for s in range(10):
            w.log_layer_stats(s, "grad", {"0.weight": {"norm": 2.0}, "2.weight": {"norm": 3.0}})
        w.log_scalars(0, {"loss": 1.0})
        w.set_meta("graph", torchscope_graph3())
    d = dash(tmp_path, hash_="page=model")
    heat = d.page.locator("[data-testid=heatmap] canvas")
    box = heat.bounding_box()
    assert box is not None
    d.page.mouse.click(box["x"] + box["width"] - 10, box["y"] + 20)  # second row: 2.weight
    selected = d.page.locator("[data-testid=graph] .ts-sel").text_content() or ""
    assert selected.startswith("2") and "Linear" in selected
    assert "layer=2.weight" in d.js("location.hash")
    label = d.page.locator(".ts-l", has_text=re.compile(r"^0$"))
    d.page.locator("[data-testid=graph] .ts-n", has=label).click()
    assert d.js(f"{APP}.pages.model.heatmap.selectedLayer") == "0.weight"


def torchscope_graph3() -> dict[str, Any]:
    import torchscope

    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    return torchscope.trace(net, torch.randn(1, 4)).to_dict()


def test_exports(tmp_path: Path, dash: Callable[..., Dash]) -> None:
    write_bulk(tmp_path / "r", {("train", "a<b>"): (np.arange(50), np.arange(50.0))}, name="r")
    d = dash(tmp_path)
    chart = d.page.locator(CHART.format("a<b>"))
    with d.page.expect_download() as png:
        chart.get_by_role("button", name="PNG").click()
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with d.page.expect_download() as svg:
        chart.get_by_role("button", name="SVG").click()
    text = Path(svg.value.path()).read_text()
    assert text.startswith("<svg") and "a&lt;b&gt;" in text and "<b>" not in text
    chart.get_by_role("button", name="CSV").click()
    with d.page.expect_download() as csv:
        chart.locator(".ts-csv a").first.click()
    lines = Path(csv.value.path()).read_text().splitlines()
    assert lines[0] == "step,wall_time,value" and len(lines) == 51
    assert not d.problems
