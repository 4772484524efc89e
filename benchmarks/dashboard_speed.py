"""Live dashboard speed in headless Chromium: torchscope serve vs TensorBoard, same data.

Measured in one run (Debian chromium through Playwright, each server in its own process):

* **first paint**: 10 runs × 1,000,000 points of one metric (``--runs``, ``--points``), from
  navigation start to the first view painted (``data-ready``), three page loads;
* **zoom re-query**: a drag to 10% of the x range, re-read at full resolution, until painted;
* **server memory**: resident and peak RSS of the torchscope server after those requests,
  on the same number of runs with 10× fewer points (it must not grow with the data);
* **1,000 runs listed**: ``--many`` small runs, navigation start to the list painted;
* **live latency**: ``Monitor.log`` in a training loop to the step shown by the page
  (``data-last-step``), per logged point, p50/p95, with the Monitor's default writer and
  with a 0.2 s commit interval;
* **TensorBoard** on the same points (event files written with ``tb_events.py``): time until
  the 10 runs' chart data reached the page, how many points per run it keeps, whether the
  spike among them survived, and the time until a newly written point reached the page.

    .venv/bin/python benchmarks/dashboard_speed.py
    .venv/bin/python benchmarks/dashboard_speed.py --points 200000 --many 200 --no-tensorboard
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from tb_events import append_scalar, write_scalars

from torchscope.store import RunWriter

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SPIKE = 40.0


def _values(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = 2.0 * np.exp(-np.arange(n) / (n / 5)) + 0.05 * rng.standard_normal(n) + 0.1
    y[int(rng.integers(n // 10, n - n // 10))] = SPIKE  # one spike per run
    return y


def _bulk_run(run_dir: Path, name: str, values: np.ndarray, chunk: int = 100_000) -> None:
    """A closed torchscope run holding ``loss`` at every step (chunks inserted directly)."""
    with RunWriter(run_dir, run_name=name):
        pass
    conn = sqlite3.connect(run_dir / "run.sqlite", isolation_level=None)
    conn.execute("BEGIN")
    sid = conn.execute(
        "INSERT INTO series (family, scope, name) VALUES ('scalar', 'train', 'loss')"
    ).lastrowid
    steps = np.arange(len(values), dtype="<i8")
    walls = time.time() + (np.arange(len(values), dtype="<f8") - len(values)) * 1e-3
    for a in range(0, len(values), chunk):
        s, v, t = steps[a : a + chunk], values[a : a + chunk], walls[a : a + chunk]
        conn.execute(
            "INSERT INTO chunks (series, first_step, last_step, n, steps, vals, wall_times) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                sid,
                int(s[0]),
                int(s[-1]),
                len(s),
                s.tobytes(),
                v.astype("<f8").tobytes(),
                t.tobytes(),
            ),
        )
    conn.execute("COMMIT")
    conn.close()


class Server:
    """A server in its own process: ``torchscope serve`` or ``tensorboard``."""

    def __init__(self, argv: list[str], url_pattern: str) -> None:
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.url = ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            m = re.search(url_pattern, line)
            if m:
                self.url = m.group(1)
                break
        self.start_s = time.perf_counter() - self.t0
        if not self.url:
            raise RuntimeError(f"{argv[0]} printed no URL")

    def rss_mb(self) -> dict[str, float]:
        """The server's memory, MB: its own (anonymous) pages, the store pages it has mapped
        (file-backed, shared with the page cache, dropped under pressure) and the peak."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = dict(re.findall(r"(\w+):\s+(\d+) kB", status))
        return {
            k: int(kb[v]) / 1024
            for k, v in (("anon", "RssAnon"), ("file", "RssFile"), ("peak", "VmHWM"))
        }

    def cpu_s(self) -> float:
        """CPU seconds the server process has used (all threads, user + system)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def torchscope_server(logdir: Path) -> Server:
    cmd = [sys.executable, "-m", "torchscope.cli", "serve", str(logdir), "--port", "0"]
    return Server(cmd, r"(http://\S+)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tensorboard_server(logdir: Path) -> Server:
    exe = str(Path(sys.executable).with_name("tensorboard"))
    cmd = [exe, "--logdir", str(logdir), "--port", str(_free_port()), "--host", "127.0.0.1"]
    return Server(cmd, r"at (http://\S+) ")


def _page(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url)
    page.wait_for_selector("html[data-ready='1']", timeout=120_000)
    return page


def first_paint(browser: Any, url: str, tries: int = 3) -> dict[str, Any]:
    """Navigation start → first view painted, and the chart request's share of it."""
    ready, chart = [], []
    for _ in range(tries):
        page = _page(browser, url)
        ready.append(page.evaluate("window.__torchscope_dashboard.readyMs"))
        chart.append(
            page.evaluate(
                "Math.max(...performance.getEntriesByType('resource')"
                ".filter(e => e.name.includes('api/chart')).map(e => e.responseEnd - e.startTime))"
            )
        )
        shown = page.evaluate(
            "[...document.querySelectorAll('[data-testid=chart]')].map(c => [c.dataset.metric, "
            "+c.dataset.points, +c.dataset.shown])"
        )
        page.close()
    return {"ready_ms": ready, "chart_request_ms": chart, "charts": shown}


ZOOM_JS = """async ([lo, hi]) => {
    const app = window.__torchscope_dashboard;
    const t0 = performance.now();
    app.state.set({lo, hi}, {notify: false});
    await app.show();
    const c = app.pages.scalars.charts.get('loss');
    return [performance.now() - t0, +c.el.dataset.points, +c.el.dataset.shown];
}"""


def zoom(browser: Any, url: str, n: int, repeats: int = 5) -> dict[str, Any]:
    page = _page(browser, url)
    out = []
    for i in range(repeats):
        lo = n * (0.1 + 0.15 * i)
        out.append(page.evaluate(ZOOM_JS, [lo, lo + n / 10]))
    page.close()
    return {"ms": [o[0] for o in out], "points_in_range": out[0][1], "shown": out[0][2]}


def many_runs(root: Path, count: int) -> None:
    rng = np.random.default_rng(1)
    for i in range(count):
        with RunWriter(root / f"run-{i:04d}", run_name=f"run-{i:04d}") as w:
            for s in range(20):
                w.log_scalars(s, {"loss": float(rng.random())})
            w.set_meta("config", {"lr": float(10 ** -rng.uniform(2, 4)), "seed": i})
            w.set_meta("wall_time_s", 1.0)


LATENCY_JS = """() => {
    window.__seen = {};
    const note = () => {
        for (const r of document.querySelectorAll('[data-testid=run-row]')) {
            const s = r.dataset.lastStep;
            if (s !== '' && !(s in window.__seen)) window.__seen[s] = Date.now() / 1000;
        }
    };
    new MutationObserver(note).observe(document.body, {subtree: true, attributes: true,
        attributeFilter: ['data-last-step']});
    note();
}"""


def live_latency(
    browser: Any, root: Path, writer_interval: float | None, steps: int
) -> dict[str, Any]:
    """Monitor.log of a training loop → the step shown by an open page, per point."""
    import torch
    from torch import nn

    from torchscope.monitor.monitor import Monitor

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    writer = RunWriter(root / "live", flush_interval=writer_interval) if writer_interval else None
    mon = Monitor(model, opt, logdir=str(root / "live"), writer=writer)

    def step(i: int) -> float:
        loss = model(torch.randn(16, 32)).square().mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        t = time.time()
        mon.log(i, loss=loss.detach())
        return t

    step(0)
    mon.flush()
    server = torchscope_server(root)
    page = _page(browser, server.url)
    page.evaluate(LATENCY_JS)
    logged = {}
    for i in range(1, steps + 1):
        logged[i] = step(i)
        time.sleep(0.04)  # about 20 steps per second
    # Training goes on (unmeasured) for 3 s: the Monitor sends scalars when a step ends, so
    # the last measured points leave with the steps after them, as in a real run.
    for i in range(steps + 1, steps + 76):
        step(i)
        time.sleep(0.04)
    seen = {int(k): v for k, v in page.evaluate("window.__seen").items()}
    mon.close()
    page.close()
    server.stop()
    shown = sorted(seen)
    latencies = []
    for s, t in logged.items():
        later = [seen[x] for x in shown if x >= s]  # shown with it or with a later step
        if later:
            latencies.append(min(later) - t)
    q = np.quantile(latencies, [0.5, 0.95]) if latencies else [float("nan")] * 2
    return {
        "points": len(logged),
        "seen": len(latencies),
        "p50_s": float(q[0]),
        "p95_s": float(q[1]),
        "max_s": max(latencies, default=float("nan")),
    }


def tensorboard(browser: Any, root: Path, runs: int, n: int, live_timeout: float) -> dict:
    """The same runs in TensorBoard: chart data time, points kept, spikes, a new point."""
    paths = [
        write_scalars(root / f"run-{i}", "loss", np.arange(n), _values(n, i)) for i in range(runs)
    ]
    server = tensorboard_server(root)
    read_s = _tb_read_all(server, runs, n)
    loads = []
    for _ in range(2):  # once every file is read: what opening the page then costs
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        got: dict[str, Any] = {}

        def on_response(r: Any, got: dict[str, Any] = got) -> None:
            if "timeseries/timeSeries" in r.url and "t" not in got:
                body = r.json()
                series = [s for item in body for s in item.get("runToSeries", {}).items()]
                if len(series) == runs and all(v[-1]["step"] == n - 1 for _, v in series):
                    got["t"] = time.perf_counter()
                    got["kept"] = [len(v) for _, v in series]
                    got["spikes"] = sum(any(p["value"] == SPIKE for p in v) for _, v in series)

        page.on("response", on_response)
        t0 = time.perf_counter()
        page.goto(server.url)
        while "t" not in got and time.perf_counter() - t0 < 60:
            page.wait_for_timeout(200)
        loads.append(
            {"s": got.get("t", float("nan")) - t0, **{k: v for k, v in got.items() if k != "t"}}
        )
        page.close()
    # A new point: TensorBoard's page reloads nothing by default (auto-reload is off); with
    # auto-reload on at its shortest period (30 s) it asks again on that timer.
    live = {"default": _tb_new_point(browser, server.url, paths[0], n + 10, None, live_timeout)}
    live["auto_reload_30s"] = _tb_new_point(
        browser, server.url, paths[0], n + 20, 30_000, live_timeout
    )
    server.stop()
    return {
        "read_s": read_s,
        "loads": loads,
        "new_point_s": live,
        "new_point_timeout_s": live_timeout,
    }


def _tb_read_all(server: Server, runs: int, n: int, timeout: float = 600) -> float:
    """Seconds from TensorBoard's start until it serves every run up to its last step."""
    import httpx

    pending = set(range(runs))
    while pending and time.perf_counter() - server.t0 < timeout:
        for i in list(pending):
            r = httpx.get(
                f"{server.url}data/plugin/scalars/scalars",
                params={"run": f"run-{i}", "tag": "loss"},
                timeout=60,
            )
            if r.status_code == 200 and r.json() and r.json()[-1][1] == n - 1:
                pending.discard(i)
        time.sleep(0.2)
    return time.perf_counter() - server.t0


def _tb_new_point(
    browser: Any, url: str, path: Path, step: int, reload_ms: int | None, timeout: float
) -> float:
    """Seconds from writing a point to TensorBoard's page receiving it (NaN: not in time)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    if reload_ms is not None:
        settings = json.dumps({"autoReload": True, "autoReloadPeriodInMs": reload_ms})
        page.add_init_script(f"localStorage.setItem('_tb_global_settings', '{settings}')")
    seen: dict[str, float] = {}

    def on_response(r: Any) -> None:
        if "timeseries/timeSeries" not in r.url:
            return
        seen.setdefault("loaded", time.perf_counter())
        for item in r.json():
            for v in item.get("runToSeries", {}).values():
                if v and v[-1]["step"] == step:
                    seen.setdefault("t", time.perf_counter())

    page.on("response", on_response)
    page.goto(url)
    while "loaded" not in seen:
        page.wait_for_timeout(200)
    t0 = time.perf_counter()
    append_scalar(path, "loss", step, 1.0)
    while "t" not in seen and time.perf_counter() - t0 < timeout:
        page.wait_for_timeout(250)
    page.close()
    return seen.get("t", float("nan")) - t0


def _memory_probe(n: int) -> None:
    """In its own process: the server's own memory reading an n-point series six times."""
    from torchscope.store.live import LiveRun
    from torchscope.store.windows import series_window

    def anon() -> float:
        return int(re.findall(r"RssAnon:\s+(\d+)", Path("/proc/self/status").read_text())[0]) / 1024

    with tempfile.TemporaryDirectory() as tmp:
        _bulk_run(Path(tmp) / "r", "r", _values(n, 0))
        before = anon()
        run = LiveRun(Path(tmp) / "r" / "run.sqlite")
        key = run.find_series("scalar", "train", "loss")
        assert key is not None
        for _ in range(3):
            series_window(run, key, width=600)
            series_window(run, key, width=600, lo=n * 0.4, hi=n * 0.5)
        print(json.dumps({"points": n, "before_mb": before, "after_mb": anon()}))


def memory_by_size(sizes: tuple[int, ...] = (1_000_000, 4_000_000, 16_000_000)) -> list[dict]:
    """The server-side read path's own memory for series of growing length."""
    out = []
    for n in sizes:
        cmd = [sys.executable, __file__, "--memory-probe", str(n)]
        out.append(json.loads(subprocess.run(cmd, capture_output=True, text=True,
                                             check=True).stdout))  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--many", type=int, default=1000)
    ap.add_argument("--live-steps", type=int, default=120)
    ap.add_argument("--no-tensorboard", action="store_true")
    ap.add_argument("--tb-live-timeout", type=float, default=120.0)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--memory-probe", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_probe:
        _memory_probe(args.memory_probe)
        return
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {
        "load_before": os.getloadavg()[0],
        "args": vars(args) | {"json": str(args.json)},
    }
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        root = Path(tmp)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for i in range(args.runs):
            _bulk_run(root / "big" / f"run-{i}", f"run-{i}", _values(args.points, i))
        server = torchscope_server(root / "big")
        results["index_s"] = server.start_s
        cpu = server.cpu_s()
        results["first_paint"] = first_paint(browser, server.url)
        results["first_paint"]["server_cpu_s_per_load"] = (server.cpu_s() - cpu) / 3
        cpu = server.cpu_s()
        results["zoom"] = zoom(browser, server.url, args.points)
        results["zoom"]["server_cpu_s_per_zoom"] = (server.cpu_s() - cpu) / 5
        results["rss_mb"] = server.rss_mb()
        server.stop()
        for i in range(args.runs):
            _bulk_run(root / "small" / f"run-{i}", f"run-{i}", _values(args.points // 10, i))
        small = torchscope_server(root / "small")
        first_paint(browser, small.url, tries=1)
        zoom(browser, small.url, args.points // 10, repeats=2)
        results["rss_mb_tenth_points"] = small.rss_mb()
        small.stop()
        results["memory_by_size"] = memory_by_size()
        many_runs(root / "many", args.many)
        many = torchscope_server(root / "many")
        results["many_runs"] = first_paint(browser, many.url)
        page = _page(browser, many.url)
        results["many_runs"]["rows"] = page.locator("[data-testid=run-row]").count()
        page.close()
        many.stop()
        for label, interval in (("default_writer", None), ("commit_0.2s", 0.2)):
            results[f"live_{label}"] = live_latency(
                browser, root / f"live-{label}", interval, args.live_steps
            )
        if not args.no_tensorboard:
            results["tensorboard"] = tensorboard(
                browser, root / "tb", args.runs, args.points, args.tb_live_timeout
            )
        browser.close()
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=1, default=float))
    _print_summary(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))


def _print_summary(r: dict[str, Any], args: argparse.Namespace) -> None:
    med = statistics.median
    fp, z = r["first_paint"], r["zoom"]
    print(
        f"\n{args.runs} runs × {args.points:,} points, load {r['load_before']:.1f}→"
        f"{r['load_after']:.1f}"
    )
    print(
        f"server CPU per first paint {fp['server_cpu_s_per_load']:.2f} s (index, runs, chart, "
        f"stream), per zoom {z['server_cpu_s_per_zoom']:.2f} s"
    )
    print(
        f"torchscope first paint: median {med(fp['ready_ms']):.0f} ms "
        f"(chart request {med(fp['chart_request_ms']):.0f} ms), charts {fp['charts']}"
    )
    print(
        f"zoom re-query: median {med(z['ms']):.0f} ms, max {max(z['ms']):.0f} ms "
        f"({z['points_in_range']:,} points in range → {z['shown']} shown)"
    )
    full, tenth = r["rss_mb"], r["rss_mb_tenth_points"]
    print(
        f"server memory MB (own / mapped store pages / peak): {full['anon']:.0f} / "
        f"{full['file']:.0f} / {full['peak']:.0f} at full size, {tenth['anon']:.0f} / "
        f"{tenth['file']:.0f} / {tenth['peak']:.0f} with a tenth of the points"
    )
    for row in r["memory_by_size"]:
        print(
            f"  reading {row['points']:,} points: own memory {row['before_mb']:.0f} → "
            f"{row['after_mb']:.0f} MB"
        )
    m = r["many_runs"]
    print(f"{m['rows']} runs listed: median {med(m['ready_ms']):.0f} ms")
    for label in ("default_writer", "commit_0.2s"):
        lv = r[f"live_{label}"]
        print(
            f"live ({label}): p50 {lv['p50_s'] * 1e3:.0f} ms, p95 {lv['p95_s'] * 1e3:.0f} ms "
            f"over {lv['seen']}/{lv['points']} points"
        )
    if "tensorboard" in r:
        tb = r["tensorboard"]
        print(f"TensorBoard read every file after {tb['read_s']:.1f} s (from its start)")
        for i, load in enumerate(tb["loads"]):
            print(
                f"TensorBoard load {i + 1}: chart data after {load['s']:.1f} s, keeps "
                f"{load.get('kept')} points per run, spikes kept {load.get('spikes')}"
            )
        for how, secs in tb["new_point_s"].items():
            print(
                f"TensorBoard new point ({how}): {secs:.1f} s "
                f"(NaN: not within {tb['new_point_timeout_s']:.0f} s)"
            )


if __name__ == "__main__":
    main()
