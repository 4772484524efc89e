"""Speed of the interactive HTML viewer in a real browser (headless Debian chromium).

The page is the one ``graph_to_html`` writes for the Llama-3-70B-shaped LlamaForCausalLM
(meta device, ~4.7k ops, 80 decoder layers). Every figure is measured inside the page with
``performance.now()`` and includes the browser's style, layout and paint (the timer stops in
a task queued after the next animation frame):

* first render: navigation start → first view painted (HTML + JSON parse, tree, layout, SVG);
* expanding the ×80 run, then one decoder layer, then a second one (its layout is cached);
* expand all: every module and run open, ~4.9k nodes and ~6.1k edges drawn.

Baselines in the same run, same page, same graph:

* expand all without sharing layouts between identical groups (each of the ~1k groups laid
  out on its own, still per group);
* one dagre layout of the whole flat op graph, what a viewer without per-group layout pays.

Run (about a minute on an idle 2-core machine, most of it tracing the model):

    .venv/bin/python benchmarks/viewer_speed.py
    .venv/bin/python benchmarks/viewer_speed.py --repeat 5 --keep /tmp/llama70b.html
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LLAMA_70B = dict(
    hidden_size=8192,
    intermediate_size=28672,
    num_hidden_layers=80,
    num_attention_heads=64,
    num_key_value_heads=8,
    vocab_size=128256,
)
TARGETS_MS = {"first render": 1000.0, "expand decoder layer": 200.0, "expand all": 5000.0}


def build_page(path: Path) -> dict[str, float]:
    """Trace the 70B-shaped Llama on meta and write its viewer page; returns timings."""
    import torchscope
    from torchscope.render.graph_html import graph_to_html
    from torchscope.sources.spec import load_model

    t0 = time.perf_counter()
    lm = load_model("hf:LlamaForCausalLM", dict(LLAMA_70B), device="meta")
    graph = torchscope.trace(lm.model, device="meta", **lm.kwargs)
    t1 = time.perf_counter()
    html = graph_to_html(graph, title="Llama-3-70B-shaped")
    t2 = time.perf_counter()
    path.write_text(html, encoding="utf-8")
    return {
        "trace s": t1 - t0,
        "graph_to_html s": t2 - t1,
        "page MiB": len(html.encode()) / 2**20,
        "ops": len(graph.ops),
        "modules": len(graph.modules),
        "edges": len(graph.edges),
    }


def one_session(browser: Any, url: str) -> dict[str, Any]:
    """Open the page fresh and time every action in it."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.__torchscope && window.__torchscope.firstPaintMs")
    ts = "window.__torchscope"
    out: dict[str, Any] = {"first render": page.evaluate(f"{ts}.firstPaintMs")}
    out["expand ×80 run"] = page.evaluate(f"{ts}.painted('expandRuns')")
    out["expand decoder layer"] = page.evaluate(f"{ts}.painted('expand', 'model.layers.0')")
    out["expand 2nd layer (cached)"] = page.evaluate(f"{ts}.painted('expand', 'model.layers.1')")
    page.evaluate(f"{ts}.reset()")
    out["expand all"] = page.evaluate(f"{ts}.painted('expandAll')")
    out["drawn"] = page.evaluate(f"{ts}.stats()")
    page.evaluate(f"{ts}.reset()")
    page.evaluate(f"{ts}.uncachedLayouts()")
    out["expand all, no shared layouts"] = page.evaluate(f"{ts}.painted('expandAll')")
    out["flat dagre"] = page.evaluate(f"{ts}.flatLayoutMs()")
    out["problems"] = problems
    page.close()
    return out


def report(build: dict[str, float], runs: list[dict[str, Any]]) -> None:
    print(
        f"graph: {build['ops']} ops, {build['modules']} modules, {build['edges']} edges; "
        f"trace {build['trace s']:.1f} s, graph_to_html {build['graph_to_html s']:.2f} s, "
        f"page {build['page MiB']:.2f} MiB"
    )
    drawn = runs[-1]["drawn"]
    print(f"expand all draws {drawn['nodes']} nodes and {drawn['edges']} edges\n")
    print(f"{'action':34} {'median ms':>10} {'min ms':>9} {'target ms':>10}")
    keys = [
        "first render",
        "expand ×80 run",
        "expand decoder layer",
        "expand 2nd layer (cached)",
        "expand all",
        "expand all, no shared layouts",
    ]
    for key in keys:
        values = [r[key] for r in runs]
        target = TARGETS_MS.get(key)
        flag = (
            ""
            if target is None
            else f"{target:>10.0f}" + (" ok" if max(values) < target else " MISSED")
        )
        print(f"{key:34} {statistics.median(values):>10.0f} {min(values):>9.0f} {flag}")
    flat = runs[-1]["flat dagre"]
    best = statistics.median(r["expand all"] for r in runs)
    unshared = statistics.median(r["expand all, no shared layouts"] for r in runs)
    print(f"\nshared layouts vs none: {unshared / best:.1f}x faster expand-all")
    if flat["error"]:
        failed = f"FAILED after {flat['ms']:.0f} ms ({flat['error']})"
        print(f"one dagre layout of the flat op graph: {failed}")
    else:
        print(
            f"one dagre layout of the flat op graph: {flat['ms']:.0f} ms ({flat['ms'] / best:.1f}x)"
        )
    problems = [p for r in runs for p in r["problems"]]
    print("page errors:", problems or "none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh page loads to time")
    parser.add_argument("--keep", type=Path, help="also keep the page at this path")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} not found: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    print(f"load average (1 min): {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "llama70b.html"
        build = build_page(path)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            print(f"chromium {browser.version}")
            runs = [one_session(browser, path.resolve().as_uri()) for _ in range(args.repeat)]
            browser.close()
    report(build, runs)


if __name__ == "__main__":
    main()
