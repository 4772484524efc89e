"""Report size, build time and opening time: GPT-2 small with a 100,000-step run.

Writes a run shaped like a Monitor's on GPT-2 small for 100,000 steps (train loss, lr and
gradient norm every step; val loss and accuracy every 1,000; gradient norm, weight norm
and update ratio of all 148 parameters every 25 steps; the dead fraction of every module's
activations every 100; weight and gradient histograms of every parameter every 5,000),
then runs ``torchscope report hf:GPT2LMHeadModel --run RUN -o report.html`` twice in fresh
processes and prints: the file's size (goal ≤ 20 MB), whether the two builds are
byte-identical, each build's wall time, and, in headless chromium, the requests made
(goal: none but the file itself) and the time until every chart is drawn (goal ≤ 2 s).

    .venv/bin/python benchmarks/report_size.py            # about 5 minutes on 2 cores
    .venv/bin/python benchmarks/report_size.py --steps 10000 --keep /tmp/report-bench
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from torchscope.store.writer import RunWriter


def gpt2_names() -> tuple[list[str], list[str]]:
    """GPT-2 small's parameter names and module names (built on the meta device)."""
    from torchscope.sources.spec import load_model

    model = load_model("hf:GPT2LMHeadModel", device="meta").model
    params = [n for n, _ in model.named_parameters()]
    modules = [n for n, m in model.named_modules() if n and not any(True for _ in m.children())]
    return params, modules


def write_run(path: Path, steps: int) -> float:
    """The synthetic run; seconds it took to write."""
    params, modules = gpt2_names()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    edges = np.linspace(-0.2, 0.2, 65).tolist()
    with RunWriter(path, run_name="gpt2-100k") as w:
        w.set_meta("config", {"model": "gpt2", "steps": steps, "lr": 6e-4, "batch": 8})
        w.set_meta("environment", {"torch": "2.x", "device": "cuda", "world_size": 1})
        w.set_meta("start_time", 1_760_000_000.0)
        w.set_meta("wall_time_s", 86_400.0)
        for step in range(steps):
            loss = 3.0 + 8.0 * math.exp(-step / 8000) + 0.05 * float(rng.normal())
            w.log_scalars(step, {"loss": loss, "lr": 6e-4 * min(1.0, step / 2000),
                                 "grad_norm": 1.0 + 0.2 * float(rng.random())})  # fmt: skip
            if step % 1000 == 999:
                w.log_scalars(step, {"loss": loss + 0.1, "accuracy": 0.3 + step / (4 * steps)},
                              split="val")  # fmt: skip
            if step % 25 == 0:
                norms = rng.random(len(params))
                w.log_layer_stats(
                    step, "grad", {n: {"norm": float(v)} for n, v in zip(params, norms)}
                )
                w.log_layer_stats(
                    step, "weight", {n: {"norm": 10 + float(v)} for n, v in zip(params, norms)}
                )
                w.log_layer_stats(
                    step,
                    "update_ratio",
                    {n: {"ratio": 1e-3 * float(v)} for n, v in zip(params, norms)},
                )
            if step % 100 == 0:
                w.log_layer_stats(step, "activation", {m: {"dead_fraction": 0.1} for m in modules})
            if step % 5000 == 0:
                counts = (1000 * np.exp(-(np.linspace(-3, 3, 64) ** 2))).tolist()
                for n in params:
                    w.log_histogram(step, "weight", n, edges, counts)
                    w.log_histogram(step, "grad", n, edges, counts)
    return time.perf_counter() - start


def build(run: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "torchscope.cli", "report", "hf:GPT2LMHeadModel", "--run",
         str(run), "-o", str(out)],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def open_in_chromium(path: Path) -> tuple[float, list[str], int]:
    """Seconds from navigation to every chart drawn, the non-file requests, charts drawn."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        start = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_function("document.documentElement.dataset.ready === '1'")
        seconds = time.perf_counter() - start
        charts = int(page.evaluate("window.__tsReport.charts"))
        browser.close()
    return seconds, [u for u in requests if not u.startswith("file:")], charts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the run and reports here and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    run = folder / "run"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    if not (run / "run.sqlite").exists():
        print(f"wrote the {args.steps:,}-step run in {write_run(run, args.steps):.1f} s")
    a, b = folder / "a.html", folder / "b.html"
    times = [build(run, a), build(run, b)]
    same = hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    size = a.stat().st_size
    print(f"report: {size / 1e6:.2f} MB ({size:,} bytes; goal ≤ 20 MB)")
    print(f"builds: {times[0]:.1f} s and {times[1]:.1f} s; byte-identical: {same}")
    opened = [open_in_chromium(a) for _ in range(3)]
    seconds = min(o[0] for o in opened)
    print(f"chromium: every chart ({opened[0][2]}) drawn {seconds:.2f} s after navigation "
          f"(best of 3: {', '.join(f'{o[0]:.2f}' for o in opened)}; goal ≤ 2 s); "
          f"outside requests: {opened[0][1] or 'none'}")  # fmt: skip
    print(f"load at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
