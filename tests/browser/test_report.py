"""The report in a real browser: no request leaves the page, the charts answer the mouse,
the viewer loads, hostile names stay text, and the print layout drops the chrome."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import torchscope
from tests.models import MLP
from tests.render.report_runs import IMG, SCRIPT, HostileNet, write_run
from torchscope.render import report_page

pytestmark = pytest.mark.browser

if not (Path(report_page.__file__).parent / "assets" / "report.js").exists():
    pytest.skip("report bundle not built: run `make frontend`", allow_module_level=True)


class Opened:
    """A report page plus every request, console message, error and dialog it caused."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on(
            "dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss())
        )
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri())
        self.page.wait_for_function("document.documentElement.dataset.ready === '1'")

    def _route(self, route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            route.abort()

    def _console(self, msg: Any) -> None:
        if msg.type in ("error", "warning"):
            self.problems.append(f"console {msg.type}: {msg.text}")

    def outside_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "about:", "data:"))]

    def load_viewer(self) -> Any:
        self.page.eval_on_selector("[data-viewer]", "e => e.scrollIntoView()")
        self.page.wait_for_selector("iframe.ts-viewer-frame")
        frame = self.page.frames[-1]
        frame.wait_for_function("window.__torchscope && window.__torchscope.ready")
        return frame


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser-report")
    run = write_run(tmp / "run")
    torch.manual_seed(0)
    return torchscope.report(MLP(), input_size=(2, 20), run=run, title="MLP").save(tmp / "r.html")


@pytest.fixture
def opened(browser: Any, report_file: Path) -> Iterator[Opened]:
    page = Opened(browser, report_file)
    yield page
    page.page.close()


def chart_data(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    start = text.index('id="ts-report-data">') + len('id="ts-report-data">')
    return json.loads(text[start : text.index("</script>", start)])["charts"]


def test_the_page_opens_offline_and_draws_every_chart(opened: Opened, report_file: Path) -> None:
    charts = opened.page.evaluate("window.__tsReport.charts")
    assert charts == len(chart_data(report_file)) > 5
    assert opened.page.locator(".ts-chart-error").count() == 0
    frame = opened.load_viewer()
    assert frame.evaluate("window.__torchscope.stats().nodes") > 0
    # fitted to its frame (a frame that started with no size fitted the graph to nothing)
    transform = frame.eval_on_selector(".ts-viewport", "e => e.getAttribute('transform')")
    assert float(re.search(r"scale\(([\d.]+)\)", transform).group(1)) > 0.3  # type: ignore[union-attr]
    assert opened.outside_requests() == [] and opened.problems == []
    assert [u for u in opened.requests if u.startswith("file:")] == [report_file.as_uri()]


def test_hovering_a_curve_reads_its_bucket(opened: Opened, report_file: Path) -> None:
    loss_id, loss = next(
        (k, c) for k, c in chart_data(report_file).items() if c.get("title") == "loss"
    )
    chart = opened.page.locator(f'[data-chart="{loss_id}"]')
    chart.scroll_into_view_if_needed()
    overlay = chart.locator(".ts-overlay")
    box = overlay.bounding_box()
    assert box is not None
    opened.page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    text = chart.locator(".ts-readout").inner_text()
    found = re.search(
        r"train, steps ([\d,]+)–([\d,]+): (\S+) \(mean of ([\d,]+) points, min (\S+), max (\S+)\)",
        text,
    )
    assert found is not None, text
    (train,) = [s for s in loss["series"] if s["name"] == "train"]
    i = train["x"].index(int(found.group(1).replace(",", "")))
    assert train["x2"][i] == int(found.group(2).replace(",", ""))
    assert float(found.group(3)) == pytest.approx(train["y"][i], rel=1e-3)
    assert int(found.group(4).replace(",", "")) == train["n"][i]
    assert float(found.group(6)) == pytest.approx(train["hi"][i], rel=1e-3)


def test_dragging_zooms_and_double_click_zooms_out(opened: Opened, report_file: Path) -> None:
    loss_id = next(k for k, c in chart_data(report_file).items() if c.get("title") == "loss")
    chart = opened.page.locator(f'[data-chart="{loss_id}"]')
    ticks = "e => [...e.querySelectorAll('.ts-axes text')].map(t => t.textContent)"
    chart.scroll_into_view_if_needed()
    before = chart.evaluate(ticks)
    box = chart.locator(".ts-overlay").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    opened.page.mouse.move(box["x"] + box["width"] * 0.6, y)
    opened.page.mouse.down()
    opened.page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=4)
    opened.page.mouse.up()
    after = chart.evaluate(ticks)
    assert after != before and chart.get_by_text("zoom out").is_visible()
    steps = [int(t.replace(",", "")) for t in after if re.fullmatch(r"[\d,]+", t) and "," in t]
    assert steps and min(steps) >= 2900 and max(steps) <= 3700  # 60–70% of 0–4,999
    chart.locator(".ts-overlay").dblclick()
    assert chart.evaluate(ticks) == before


def test_hovering_a_heatmap_names_layer_steps_and_value(opened: Opened) -> None:
    canvas = opened.page.locator(".ts-heat-canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    opened.page.mouse.move(box["x"] + box["width"] * 0.99, box["y"] + box["height"] * 0.9)
    text = (
        opened.page.locator(".ts-heat-canvas")
        .first.locator("xpath=../../..")
        .locator(".ts-readout")
        .inner_text()
    )
    assert text.startswith("fc2.weight · steps") and text.endswith(": 3000")


def test_hostile_names_execute_nothing(browser: Any, tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", hostile=True)
    path = torchscope.report(HostileNet(), inputs=torch.randn(1, 4), run=run, title=SCRIPT).save(
        tmp_path / "hostile.html"
    )
    opened = Opened(browser, path)
    frame = opened.load_viewer()
    for canvas in opened.page.locator(".ts-heat-canvas").all():
        canvas.hover()
    assert opened.page.evaluate("top.__pwned") is None
    assert frame.evaluate("top.__pwned") is None
    assert opened.page.title().startswith(SCRIPT)  # the title is text
    labels = opened.page.eval_on_selector_all(".ts-heat-label", "els => els.map(e => e.title)")
    assert IMG in labels
    assert opened.problems == [] and opened.outside_requests() == []
    opened.page.close()


def test_a_script_that_slipped_in_would_not_run(
    browser: Any, report_file: Path, tmp_path: Path
) -> None:
    """Defence in depth: the policy runs only the page's own scripts, by hash."""
    text = report_file.read_text(encoding="utf-8")
    planted = tmp_path / "planted.html"
    planted.write_text(text.replace("</body>", "<script>top.__pwned = 3</script></body>"))
    opened = Opened(browser, planted)
    assert opened.page.evaluate("top.__pwned") is None
    assert any("Content Security Policy" in p for p in opened.problems)
    opened.page.close()


def test_print_layout_drops_navigation_and_controls(opened: Opened, tmp_path: Path) -> None:
    opened.page.emulate_media(media="print")
    hidden = "sel => getComputedStyle(document.querySelector(sel)).display"
    for selector in (".ts-toc", ".ts-chart-tools", ".ts-viewer"):
        assert opened.page.evaluate(hidden, selector) == "none"
    pdf = opened.page.pdf(path=str(tmp_path / "r.pdf"))
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000


@pytest.mark.slow
def test_gpt2_with_a_monitored_run(browser: Any, tmp_path: Path) -> None:
    """Issue 13's check: GPT-2 small and a monitored run open with no outside request, and
    the same report builds to the same bytes (time to open: benchmarks/report_size.py)."""
    pytest.importorskip("transformers")
    from torchscope.sources.spec import load_model

    torch.manual_seed(0)
    loaded = load_model("hf:GPT2LMHeadModel", seq_len=32)
    model = loaded.model
    ids = loaded.kwargs["input_ids"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    with torchscope.Monitor(model, optimizer, logdir=str(tmp_path / "run"), every=1,
                            activations_every=1, histograms_every=2) as mon:  # fmt: skip
        for step in range(3):
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            mon.log(step, loss=loss)
    report = torchscope.report(model, inputs=dict(loaded.kwargs), run=tmp_path / "run")
    first = report.save(tmp_path / "gpt2.html")
    assert report.to_html().encode("utf-8") == first.read_bytes()
    assert report.params is not None and len(report.params.tensors) == 148
    opened = Opened(browser, first)
    assert opened.outside_requests() == [] and opened.problems == []
    assert opened.page.locator(".ts-chart-error").count() == 0
    frame = opened.load_viewer()
    assert "GPT2LMHeadModel" in frame.title()
    opened.page.close()
