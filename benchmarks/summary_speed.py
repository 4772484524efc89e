"""Wall time and peak memory of a model summary: torchscope vs torchinfo vs torchview.

For each model (a Llama-3-70B-shaped LlamaForCausalLM on the meta device, GPT-2 small and
ResNet-50 on the CPU; all built from transformers configs, nothing downloaded) this measures,
each in its own fresh subprocess:

* torchscope: the whole CLI command ``torchscope summary SPEC ... --json`` (wall time and
  peak RSS of the process; run as ``python -c`` + the console script's two lines, so that it
  can seed torch like the other runs), plus, in a second process, the analysis time alone:
  ``load_model`` + ``torchscope.summary`` with torch/transformers/torchscope already imported;
* torchinfo: ``torchinfo.summary(model, input_data=..., device=..., verbose=0)``;
* torchview: ``torchview.draw_graph(model, input_data=..., device=..., expand_nested=True)``,
  capture only: the graphviz object is built but never rendered.

"wall s" is the whole subprocess (interpreter start, imports, model build, analysis);
"analysis s" is model build + the tool's call; "call s" the tool's call alone; the CPU
columns are user + system time (all threads), which a busy machine inflates less than wall.
Peak RSS is the child's ``ru_maxrss`` from ``os.wait4``. Timeouts and errors are reported in
the table.
Every process seeds torch and flushes denormal floats, so all tools see the same weights and
a CPU forward's speed does not depend on the random init. Run it on an otherwise idle machine
(the 1-minute load average is printed first).

Run (about 2 minutes on an idle 2-core CPU machine):

    .venv/bin/python benchmarks/summary_speed.py
    .venv/bin/python benchmarks/summary_speed.py --in-process   # issue 14: same-process ratio
    .venv/bin/python benchmarks/summary_speed.py --models gpt2 resnet50 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TOOLS = ("torchscope", "torchinfo", "torchview")
DEFAULT_TIMEOUT = 300.0
# torchview on the 80-layer Llama is the slow pair; cap it so the whole run stays short.
SLOW_PAIRS = {("llama70b", "torchview"): 180.0}
# Every process seeds torch (same random weights for every tool) and flushes denormals: with
# some random inits a CPU forward otherwise runs ~10x slower on denormal floats, which would
# measure the seed, not the tool.
SEED = 0
_STABLE = f"torch.manual_seed({SEED}); torch.set_flush_denormal(True)"
# the ``torchscope`` console script is ``sys.exit(main())``; this is that plus the line above
CLI_LAUNCHER = f"import sys, torch; {_STABLE}; from torchscope.cli import main; sys.exit(main())"


@dataclass(frozen=True)
class ModelCase:
    """One benchmark model: how torchscope's CLI names it and how the workers build it."""

    key: str
    label: str
    spec: str
    config: dict[str, Any]
    device: str
    seq_len: int = 128
    input_size: tuple[int, ...] | None = None
    published: str = ""

    def cli_args(self) -> list[str]:
        args = ["summary", self.spec, "--device", self.device, "--seq-len", str(self.seq_len)]
        if self.input_size:
            args += ["--input-size", ",".join(str(d) for d in self.input_size)]
        if self.config:
            args += ["--config", *(f"{k}={v}" for k, v in self.config.items())]
        return [*args, "--json"]


MODELS: dict[str, ModelCase] = {
    case.key: case
    for case in (
        ModelCase(
            key="llama70b",
            label="Llama-3-70B shape (meta, 128 tok)",
            spec="hf:LlamaForCausalLM",
            config={
                "hidden_size": 8192,
                "intermediate_size": 28672,
                "num_hidden_layers": 80,
                "num_attention_heads": 64,
                "num_key_value_heads": 8,
                "vocab_size": 128256,
            },
            device="meta",
            published="70.55 B params",
        ),
        ModelCase(
            key="gpt2",
            label="GPT-2 small (cpu, 128 tok)",
            spec="hf:GPT2LMHeadModel",
            config={},
            device="cpu",
            published="124,439,808 params, 16.11 GMACs",
        ),
        ModelCase(
            key="resnet50",
            label="ResNet-50 (cpu, 1×3×224×224)",
            spec="hf:ResNetForImageClassification",
            config={"num_labels": 1000},
            device="cpu",
            input_size=(1, 3, 224, 224),
            published="25,557,032 params, 4.089 GMACs",
        ),
    )
}


@dataclass
class Result:
    """One tool on one model; ``status`` is ok, error or timeout."""

    model: str
    tool: str
    status: str = "ok"
    wall_s: float | None = None
    cpu_s: float | None = None
    analysis_s: float | None = None
    analysis_cpu_s: float | None = None
    call_s: float | None = None
    build_s: float | None = None
    peak_rss_mb: float | None = None
    params: int | None = None
    macs: int | None = None
    error: str | None = None
    timeout_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- workers
# Run in a fresh interpreter: ``summary_speed.py --worker TOOL MODEL OUT``. Imports come
# first and are not timed; the JSON written to OUT holds build, call and tool-reported counts.


def _build(case: ModelCase) -> tuple[Any, dict[str, Any]]:
    from torchscope.sources.spec import load_model

    loaded = load_model(case.spec, dict(case.config), device=case.device, seq_len=case.seq_len)
    return loaded.model, dict(loaded.kwargs)


def _competitor_inputs(case: ModelCase, kwargs: dict[str, Any]) -> Any:
    import torch

    if case.input_size is not None:
        return torch.randn(*case.input_size, device=case.device)
    return {k: v.to(case.device) for k, v in kwargs.items()}


def _worker(tool: str, case: ModelCase, state: dict[str, float]) -> dict[str, Any]:
    import torch  # imported before timing starts
    import transformers

    torch.manual_seed(SEED)
    torch.set_flush_denormal(True)

    getattr(transformers, case.spec.removeprefix("hf:"))  # resolve the lazy import now
    out: dict[str, Any] = {}
    if tool == "torchscope":
        import torchscope

        t0 = state["t0"] = time.perf_counter()
        c0 = time.process_time()
        model, kwargs = _build(case)
        t1 = time.perf_counter()
        if case.input_size is not None:
            s = torchscope.summary(model, input_size=case.input_size, device=case.device)
        else:
            s = torchscope.summary(model, device=case.device, **kwargs)
        t2 = time.perf_counter()
        out.update(params=s.totals.total_params, macs=s.totals.macs)
    elif tool == "torchinfo":
        import torchinfo

        t0 = state["t0"] = time.perf_counter()
        c0 = time.process_time()
        model, kwargs = _build(case)
        data = _competitor_inputs(case, kwargs)
        t1 = time.perf_counter()
        stats = torchinfo.summary(model, input_data=data, device=case.device, verbose=0)
        t2 = time.perf_counter()
        out.update(
            params=int(stats.total_params),
            macs=int(stats.total_mult_adds),
            trainable_params=int(stats.trainable_params),
        )
    elif tool == "torchview":
        import torchview

        t0 = state["t0"] = time.perf_counter()
        c0 = time.process_time()
        model, kwargs = _build(case)
        data = _competitor_inputs(case, kwargs)
        t1 = time.perf_counter()
        graph = torchview.draw_graph(
            model,
            input_data=data,
            device=case.device,
            graph_dir="TB",
            expand_nested=True,
            directory=tempfile.gettempdir(),
        )
        t2 = time.perf_counter()
        out.update(nodes=len(graph.node_set), edges=len(graph.edge_list))
    else:
        raise ValueError(f"unknown tool {tool!r}")
    out.update(
        build_s=t1 - t0, call_s=t2 - t1, analysis_s=t2 - t0, analysis_cpu_s=time.process_time() - c0
    )
    return out


def _worker_main(tool: str, model_key: str, out_path: str) -> int:
    state: dict[str, float] = {}
    try:
        payload = _worker(tool, MODELS[model_key], state)
        code = 0
    except BaseException as exc:  # report it; the parent turns it into an "error" row
        payload = {"error": _short_error(exc)}
        if "t0" in state:
            payload["failed_after_s"] = time.perf_counter() - state["t0"]
        code = 1
    Path(out_path).write_text(json.dumps(payload))
    return code


def _short_error(exc: BaseException) -> str:
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 4:
        chain.append(chain[-1].__cause__)
    root = chain[-1]
    first = str(root).strip().splitlines()[0] if str(root).strip() else ""
    where = ""
    frames = traceback.extract_tb(root.__traceback__)
    if frames:  # the innermost frame says which library and step failed
        last = frames[-1]
        where = f" (in {Path(last.filename).parent.name}/{Path(last.filename).name}:{last.name})"
    return f"{type(root).__name__}: {first[:150]}{where}"


# --------------------------------------------------------------------------- parent


@dataclass
class ChildRun:
    """A finished (or killed) subprocess: exit code, wall time, peak RSS and captured output."""

    returncode: int | None
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    timed_out: bool


def run_child(cmd: list[str], timeout: float) -> ChildRun:
    """Run ``cmd``; wall time and this child's own peak RSS (``os.wait4``), killed at timeout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True)
        deadline = start + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        return ChildRun(
            returncode=None if timed_out else proc.returncode,
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=usage.ru_maxrss / 1024,  # Linux: KiB
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            timed_out=timed_out,
        )


def _fail(result: Result, run: ChildRun, timeout: float, message: str | None) -> Result:
    result.wall_s = run.wall_s
    result.cpu_s = run.cpu_s
    result.peak_rss_mb = run.peak_rss_mb
    if run.timed_out:
        result.status = "timeout"
        result.timeout_s = timeout
        result.error = f"killed after {timeout:.0f} s"
    else:
        result.status = "error"
        tail = [line for line in run.stderr.strip().splitlines() if line.strip()]
        result.error = message or (tail[-1][:200] if tail else f"exit code {run.returncode}")
    return result


def run_worker(tool: str, case: ModelCase, timeout: float) -> tuple[ChildRun, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "result.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", tool, case.key, out_path]
        run = run_child(cmd, timeout)
        payload = json.loads(Path(out_path).read_text()) if os.path.exists(out_path) else {}
    return run, payload


def measure_torchscope(case: ModelCase, timeout: float) -> Result:
    result = Result(model=case.key, tool="torchscope")
    run = run_child([sys.executable, "-c", CLI_LAUNCHER, *case.cli_args()], timeout)
    if run.timed_out or run.returncode != 0:
        return _fail(result, run, timeout, None)
    data = json.loads(run.stdout)
    result.wall_s = run.wall_s
    result.cpu_s = run.cpu_s
    result.peak_rss_mb = run.peak_rss_mb
    result.params = data["total_params"]
    result.macs = data["macs"]
    result.extra["cli"] = " ".join(["torchscope", *case.cli_args()])
    # the analysis alone, in a second fresh process (imports done before the clock starts)
    api_run, payload = run_worker("torchscope", case, timeout)
    if api_run.timed_out or "error" in payload or api_run.returncode != 0:
        result.extra["api_error"] = payload.get("error") or "timeout or crash"
        return result
    result.analysis_s = payload["analysis_s"]
    result.analysis_cpu_s = payload["analysis_cpu_s"]
    result.call_s = payload["call_s"]
    result.build_s = payload["build_s"]
    result.extra["api_wall_s"] = api_run.wall_s
    result.extra["api_peak_rss_mb"] = api_run.peak_rss_mb
    if (payload["params"], payload["macs"]) != (result.params, result.macs):
        result.extra["api_counts_differ"] = [payload["params"], payload["macs"]]
    return result


def measure_competitor(tool: str, case: ModelCase, timeout: float) -> Result:
    result = Result(model=case.key, tool=tool)
    run, payload = run_worker(tool, case, timeout)
    if run.timed_out or "error" in payload or run.returncode != 0:
        if "failed_after_s" in payload:
            result.extra["failed_after_s"] = payload["failed_after_s"]
        return _fail(result, run, timeout, payload.get("error"))
    result.wall_s = run.wall_s
    result.cpu_s = run.cpu_s
    result.peak_rss_mb = run.peak_rss_mb
    result.analysis_s = payload["analysis_s"]
    result.analysis_cpu_s = payload["analysis_cpu_s"]
    result.call_s = payload["call_s"]
    result.build_s = payload["build_s"]
    result.params = payload.get("params")
    result.macs = payload.get("macs")
    result.extra.update(
        {
            k: v
            for k, v in payload.items()
            if k not in ("analysis_s", "analysis_cpu_s", "call_s", "build_s")
        }
    )
    result.extra.pop("params", None)
    result.extra.pop("macs", None)
    return result


def best_of(tries: list[Result]) -> Result:
    """Fold repeats: the fastest successful try per time, the smallest peak RSS."""
    ok = [r for r in tries if r.status == "ok"]
    if not ok:
        return tries[-1]
    tried = [
        {k: getattr(r, k) for k in ("status", "wall_s", "cpu_s", "analysis_s", "peak_rss_mb")}
        for r in tries
    ]
    best = min(ok, key=lambda r: r.wall_s or 0.0)

    def low(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return min(known) if known else None

    best.cpu_s = low([r.cpu_s for r in ok])
    best.analysis_s = low([r.analysis_s for r in ok])
    best.analysis_cpu_s = low([r.analysis_cpu_s for r in ok])
    best.call_s = low([r.call_s for r in ok])
    best.build_s = low([r.build_s for r in ok])
    best.peak_rss_mb = low([r.peak_rss_mb for r in ok])
    if len(tries) > 1:
        best.extra["tries"] = tried
    if len(ok) < len(tries):
        best.extra["failed_tries"] = [r.error for r in tries if r.status != "ok"]
    return best


# --------------------------------------------------------------------------- report


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "—"
    return f"{value / base:.1f}×"


def _macs(value: int | None) -> str:
    return "—" if value is None else f"{value / 1e9:,.3f} G"


def _torchview_note(r: Result) -> str:
    return f"no counts; graph of {r.extra['nodes']} nodes, {r.extra['edges']} edges (depth 3)"


def _note(r: Result) -> str:
    note = r.error or ""
    if r.tool == "torchview" and r.status == "ok":
        note = _torchview_note(r)
    if r.tool == "torchscope" and "api_error" in r.extra:
        note = f"analysis run failed: {r.extra['api_error']}"
    if "failed_after_s" in r.extra:
        note += f"; failed {r.extra['failed_after_s']:.1f} s into build + call"
    return note if r.status == "ok" else f"{r.status}: {note}"


COLUMNS = (
    "model",
    "tool",
    "wall s",
    "CPU s",
    "analysis s",
    "analysis CPU s",
    "call s",
    "peak RSS MB",
    "params",
    "MACs",
    "÷ts wall",
    "÷ts CPU",
    "÷ts analysis",
    "÷ts analysis CPU",
    "÷ts RSS",
    "note",
)


def _rows(results: list[Result]) -> list[tuple[Result, list[str]]]:
    """Table cells per result (same order as COLUMNS); ratios only for successful rows."""
    base = {r.model: r for r in results if r.tool == "torchscope" and r.status == "ok"}
    rows = []
    for r in results:
        ts = base.get(r.model)
        ts = ts if ts is not None and r.tool != "torchscope" and r.status == "ok" else None
        rows.append(
            (
                r,
                [
                    MODELS[r.model].label,
                    r.tool,
                    _fmt(r.wall_s, 1) + ("+" if r.status == "timeout" else ""),
                    _fmt(r.cpu_s, 1),
                    _fmt(r.analysis_s),
                    _fmt(r.analysis_cpu_s),
                    _fmt(r.call_s),
                    _fmt(r.peak_rss_mb, 0),
                    "—" if r.params is None else f"{r.params:,}",
                    _macs(r.macs),
                    _ratio(r.wall_s, ts.wall_s) if ts else "",
                    _ratio(r.cpu_s, ts.cpu_s) if ts else "",
                    _ratio(r.analysis_s, ts.analysis_s) if ts else "",
                    _ratio(r.analysis_cpu_s, ts.analysis_cpu_s) if ts else "",
                    _ratio(r.peak_rss_mb, ts.peak_rss_mb) if ts else "",
                    _note(r),
                ],
            )
        )
    return rows


def markdown_table(results: list[Result]) -> str:
    """The same table as GitHub markdown, for RESULTS.md."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|---|" + "---:|" * 13 + "---|"]
    for _, cells in _rows(results):
        cells[-1] = cells[-1].replace("|", "\\|")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_table(results: list[Result], versions: dict[str, str], repeat: int = 1) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title="Model summary: wall time, CPU time, analysis time and peak RSS "
        f"(one fresh process each{f', fastest of {repeat}' if repeat > 1 else ''})",
        caption="torchscope: wall, CPU and RSS of the CLI process, analysis and call from a "
        "second process; ratios: competitor ÷ torchscope; "
        + ", ".join(f"{k} {v}" for k, v in versions.items()),
    )
    for name in COLUMNS:
        if name == "note":
            table.add_column(name, overflow="fold", max_width=40)
        else:
            table.add_column(name, justify="left" if name in ("model", "tool") else "right")
    rows = _rows(results)
    for i, (r, cells) in enumerate(rows):
        cells = [escape(c) for c in cells]
        if r.status != "ok":
            cells[-1] = f"[red]{cells[-1]}[/]"
        if i and rows[i - 1][0].model == r.model:
            cells[0] = ""
        last_of_model = i + 1 == len(rows) or rows[i + 1][0].model != r.model
        table.add_row(*cells, end_section=last_of_model)
    console = Console(width=220)
    console.print(table)
    for key in dict.fromkeys(r.model for r in results):
        case = MODELS[key]
        if case.published:
            console.print(f"[dim]{case.label}: published {case.published}[/]")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for pkg in ("torchscope", "torch", "transformers", "torchinfo", "torchview"):
        try:
            found[pkg] = version(pkg)
        except PackageNotFoundError:
            found[pkg] = "missing"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", choices=list(MODELS), default=list(MODELS), help="subset to run"
    )
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help=f"seconds per run (default {DEFAULT_TIMEOUT:.0f}; "
        + ", ".join(f"{t} on {m}: {s:.0f}" for (m, t), s in SLOW_PAIRS.items())
        + ")",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run everything N times (round robin) and keep the fastest of each; use 3 on a "
        "machine that is not idle",
    )
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="issue 14's capture-speed figures instead: torchscope.summary / torchinfo.summary "
        "of the 70B-shaped Llama in one process, the whole command, and -X importtime "
        "(benchmarks/summary_inprocess.py)",
    )
    parser.add_argument(
        "--worker", nargs=3, metavar=("TOOL", "MODEL", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.worker:
        return _worker_main(*args.worker)
    if args.in_process:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from summary_inprocess import main as in_process_main

        extra = ["--rounds", str(max(args.repeat, 3))]
        return in_process_main(extra + (["--json", str(args.json)] if args.json else []))

    load = os.getloadavg()[0]
    print(f"1-minute load average before the run: {load:.2f} on {os.cpu_count()} CPUs")
    if load > 0.5:
        print("warning: the machine is busy; wall times will be inflated")
    versions = _versions()
    runs: dict[tuple[str, str], list[Result]] = {}
    for rep in range(args.repeat):
        for key in args.models:
            case = MODELS[key]
            for tool in (t for t in TOOLS if t in args.tools):
                timeout = args.timeout or SLOW_PAIRS.get((key, tool), DEFAULT_TIMEOUT)
                if rep == 0 and args.timeout is None and (key, tool) in SLOW_PAIRS:
                    print(f"note: {tool} on {key} gets a shorter timeout of {timeout:.0f} s")
                print(f"[{rep + 1}/{args.repeat}] {tool} on {case.label}…", flush=True)
                if tool == "torchscope":
                    result = measure_torchscope(case, timeout)
                else:
                    result = measure_competitor(tool, case, timeout)
                runs.setdefault((key, tool), []).append(result)
                print(f"  {result.status}: wall {_fmt(result.wall_s, 1)} s", flush=True)
    results = [best_of(tries) for tries in runs.values()]
    print_table(results, versions, args.repeat)
    if args.markdown:
        print(markdown_table(results))
    if args.json:
        payload = {
            "versions": versions,
            "python": sys.version.split()[0],
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "load_average_before": load,
            "repeat": args.repeat,
            "cpus": os.cpu_count(),
            "results": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
