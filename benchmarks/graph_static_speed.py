"""Static graph images: torchscope (trace → view → Graphviz SVG) against torchview + Graphviz.

Each (tool, model) pair runs in its own subprocess with a time limit, building the model
first (not timed) and then timing one complete "model → SVG bytes" call with each tool's
default settings. Printed: seconds per pair, the SVG size, and torchview / torchscope.

    python benchmarks/graph_static_speed.py              # GPT-2, ResNet-50, Llama-3-70B shape
    python benchmarks/graph_static_speed.py --timeout 540
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

MODELS: dict[str, tuple[str, dict[str, Any], str]] = {
    "gpt2": ("hf:GPT2LMHeadModel", {}, "cpu"),
    "gpt2-meta": ("hf:GPT2LMHeadModel", {}, "meta"),
    "resnet50": ("hf:ResNetForImageClassification", {"num_labels": 1000}, "meta"),
    "llama3-70b": (
        "hf:LlamaForCausalLM",
        {
            "hidden_size": 8192, "intermediate_size": 28672, "num_hidden_layers": 80,
            "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 128256,
        },
        "meta",
    ),
}  # fmt: skip
# torchview raises KeyError on the KV cache these models return by default: it gets the
# models without one (torchscope draws them with theirs).
TORCHVIEW_CONFIG = {"gpt2": {"use_cache": False}, "gpt2-meta": {"use_cache": False},
                    "llama3-70b": {"use_cache": False}}  # fmt: skip


def _build(name: str, tool: str) -> tuple[Any, dict[str, Any], str]:
    from torchscope.sources.spec import load_model

    spec, config, device = MODELS[name]
    if tool == "torchview":
        config = {**config, **TORCHVIEW_CONFIG.get(name, {})}
    loaded = load_model(spec, config, device=device)
    return loaded.model, loaded.kwargs, device


def _torchscope_svg(model: Any, inputs: dict[str, Any], device: str) -> bytes:
    import torchscope
    from torchscope._api import draw

    graph = torchscope.trace(model, device=device, **inputs)
    return draw(graph).render("svg")


def _torchview_svg(model: Any, inputs: dict[str, Any], device: str) -> bytes:
    from torchview import draw_graph

    graph = draw_graph(model, input_data=inputs, device=device)
    return bytes(graph.visual_graph.pipe(format="svg"))


def one(tool: str, name: str, repeats: int = 3) -> None:
    """Run one pair in this process: best wall and CPU seconds of ``repeats`` calls."""
    import resource

    model, inputs, device = _build(name, tool)
    draw = _torchscope_svg if tool == "torchscope" else _torchview_svg
    walls, cpus = [], []
    for _ in range(repeats):
        before = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        start = time.perf_counter()
        svg = draw(model, inputs, device)
        walls.append(time.perf_counter() - start)
        after = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        cpus.append(sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime
                        for a, b in zip(after, before)))  # fmt: skip
    print(json.dumps({"seconds": min(walls), "cpu": min(cpus), "svg_bytes": len(svg)}))


def measure(tool: str, name: str, timeout: float) -> dict[str, Any]:
    """One pair in a subprocess: its timing, or how it failed."""
    argv = [sys.executable, __file__, "--one", tool, name]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1][:120]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", nargs=2, metavar=("TOOL", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per torchview run")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args()
    if args.one:
        one(*args.one)
        return
    print("best of 3 calls, model → SVG bytes: wall seconds (CPU seconds)")
    print(f"{'model':12} {'device':6} {'torchscope':>22} {'torchview':>22} {'ratio':>8}")
    for name in args.models:
        ours = measure("torchscope", name, timeout=600)
        theirs = measure("torchview", name, timeout=args.timeout)
        row = f"{_cell(ours):>22} {_cell(theirs)[:60]:>22} {_ratio(ours, theirs):>8}"
        print(f"{name:12} {MODELS[name][2]:6} {row}", flush=True)
    if "llama3-70b" in args.models:
        wall, cpu = cli_seconds()
        print(f"\n`torchscope graph` Llama-3-70B shape → SVG, whole command: {wall:.1f} s wall, "
              f"{cpu:.1f} s CPU (best of 3)")  # fmt: skip


def cli_seconds(repeats: int = 3) -> tuple[float, float]:
    """Wall and CPU time of the command a user types, interpreter start and imports included.

    CPU time (user + system of the child) is reported too: on a shared machine it is the
    steadier figure.
    """
    import resource

    spec, config, _ = MODELS["llama3-70b"]
    overrides = [f"{k}={v}" for k, v in config.items() if k != "use_cache"]
    argv = [sys.executable, "-m", "torchscope.cli", "graph", spec, "--device", "meta",
            "-o", "/tmp/torchscope-llama3-70b.svg", "--config", *overrides]  # fmt: skip
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        best = min(best, (wall, cpu))
    return best


def _cell(result: dict[str, Any]) -> str:
    if "error" in result:
        return str(result["error"])
    return f"{result['seconds']:.2f} s ({result['cpu']:.2f} CPU)"


def _ratio(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    if "error" in ours:
        return "-"
    if "error" in theirs:
        limit = theirs_limit(theirs)
        return f">{limit / ours['seconds']:.0f}x" if limit else "-"
    return f"{theirs['seconds'] / ours['seconds']:.1f}x"


def theirs_limit(result: dict[str, Any]) -> float:
    """The time limit a timed-out run reached (0 when it failed otherwise)."""
    text = str(result.get("error", ""))
    return float(text.split()[-2]) if text.startswith("did not finish") else 0.0


if __name__ == "__main__":
    main()
