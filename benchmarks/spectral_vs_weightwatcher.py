"""Spectral analysis: torchscope vs WeightWatcher on the same models, in the same run.

For ResNet-50 (transformers' ResNetForImageClassification, num_labels=1000) and GPT-2
small (GPT2LMHeadModel(GPT2Config())), both with seeded random weights (nothing is
downloaded), this times

* WeightWatcher: ``WeightWatcher(model=model).analyze()`` with its defaults;
* torchscope, spectral only: every eligible weight through ``SpectralRunner`` (the ESD and
  power-law fit that ``inspect_params(spectral=True)`` adds);
* torchscope, full report: ``inspect_params(model, spectral=True)`` (statistics too);

two ways: each tool's first call in a fresh process (what a user running it once sees;
median of ``--fresh`` runs, alternating), and warm in this process (best of ``--repeat``
alternating runs, wall and CPU seconds). It prints the speed ratios and the per-layer
differences of alpha (WeightWatcher analyses a tied weight
under each of its names; torchscope once, so those layers are compared with the one).
Run it on an otherwise idle machine (the load average is printed before and after):

    .venv/bin/python benchmarks/spectral_vs_weightwatcher.py
    .venv/bin/python benchmarks/spectral_vs_weightwatcher.py --models gpt2 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

TOLERANCE = 0.05  # the issue's bound on |alpha_torchscope − alpha_weightwatcher|
GOAL = 10.0  # at least this many times faster


def build(name: str) -> torch.nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel, ResNetConfig, ResNetForImageClassification

    torch.manual_seed(0)
    if name == "resnet50":
        return ResNetForImageClassification(ResNetConfig(num_labels=1000)).eval()
    return GPT2LMHeadModel(GPT2Config()).eval()


class Timer:
    """Wall and CPU seconds (all threads of this process) of a block."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def run_weightwatcher(model: torch.nn.Module) -> tuple[Timer, dict[str, float]]:
    import weightwatcher

    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    with Timer() as timer, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        details = weightwatcher.WeightWatcher(model=model).analyze()
    return timer, {row.longname: float(row.alpha) for row in details.itertuples()}


def run_torchscope_spectral(model: torch.nn.Module) -> tuple[Timer, dict[str, float]]:
    from torchscope.analysis.spectral import SpectralRunner, spectral_kind
    from torchscope.sources.tensors import module_source

    with Timer() as timer:
        source = module_source(model)
        with SpectralRunner() as runner:
            for entry, tensor in source:
                kind = spectral_kind(entry.name, entry.shape, entry.module_type)
                if kind is not None:
                    runner.submit(entry.name, tensor, kind)
            report = runner.report()
    alphas = {x.name.removesuffix(".weight"): x.alpha for x in report.layers}
    for entry in source.entries:  # a tied weight under each of its names, as WeightWatcher
        for alias in entry.aliases:
            key = entry.name.removesuffix(".weight")
            if key in alphas:
                alphas[alias.removesuffix(".weight")] = alphas[key]
    return timer, alphas


def run_torchscope_full(model: torch.nn.Module) -> Timer:
    from torchscope._api import inspect_params

    with Timer() as timer:
        inspect_params(model, spectral=True)
    return timer


def compare(name: str, repeat: int) -> dict[str, Any]:
    model = build(name)
    ww_times: list[Timer] = []
    ts_times: list[Timer] = []
    full_times: list[Timer] = []
    ww_alpha: dict[str, float] = {}
    ts_alpha: dict[str, float] = {}
    for _ in range(repeat):
        timer, ww_alpha = run_weightwatcher(model)
        ww_times.append(timer)
        timer, ts_alpha = run_torchscope_spectral(model)
        ts_times.append(timer)
        full_times.append(run_torchscope_full(model))
    both = sorted(set(ww_alpha) & set(ts_alpha))
    fitted = [n for n in both if ww_alpha[n] > 0 and ts_alpha[n] > 0]
    diffs = np.array([ts_alpha[n] - ww_alpha[n] for n in fitted])
    ww, ts, full = (min(t.wall for t in times) for times in (ww_times, ts_times, full_times))
    ww_cpu, ts_cpu = (min(t.cpu for t in times) for times in (ww_times, ts_times))
    return {
        "model": name,
        "weightwatcher_s": ww,
        "torchscope_spectral_s": ts,
        "torchscope_full_s": full,
        "speedup": ww / ts,
        "speedup_full": ww / full,
        "weightwatcher_first_s": ww_times[0].wall,
        "weightwatcher_cpu_s": ww_cpu,
        "torchscope_cpu_s": ts_cpu,
        "cpu_ratio": ww_cpu / ts_cpu,
        "layers_weightwatcher": len(ww_alpha),
        "layers_torchscope": len(ts_alpha),
        "layers_compared": len(fitted),
        "only_weightwatcher": sorted(set(ww_alpha) - set(ts_alpha)),
        "only_torchscope": sorted(set(ts_alpha) - set(ww_alpha)),
        "max_abs_alpha_diff": float(np.abs(diffs).max()) if len(diffs) else float("nan"),
        "mean_abs_alpha_diff": float(np.abs(diffs).mean()) if len(diffs) else float("nan"),
        "within_tolerance": int((np.abs(diffs) <= TOLERANCE).sum()),
        "per_layer": {n: [ww_alpha[n], ts_alpha[n]] for n in fitted},
    }


def fresh_call(tool: str, name: str) -> Timer:
    """One call of ``tool`` on a freshly built model in a new interpreter (a user's first run)."""
    code = (
        f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from spectral_vs_weightwatcher import build, run_weightwatcher, run_torchscope_spectral\n"
        f"model = build({name!r})\n"
        f"timer, _ = {'run_weightwatcher' if tool == 'ww' else 'run_torchscope_spectral'}(model)\n"
        "print(json.dumps([timer.wall, timer.cpu]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    timer = Timer()
    timer.wall, timer.cpu = json.loads(out.strip().splitlines()[-1])
    return timer


def fresh(name: str, rounds: int) -> dict[str, float]:
    """Median wall seconds of each tool's first call in a fresh process, alternating."""
    ww, ts = [], []
    for _ in range(rounds):
        ww.append(fresh_call("ww", name).wall)
        ts.append(fresh_call("ts", name).wall)
    return {
        "fresh_weightwatcher_s": float(np.median(ww)),
        "fresh_torchscope_s": float(np.median(ts)),
        "fresh_speedup": float(np.median(ww) / np.median(ts)),
        "fresh_runs": [ww, ts],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=["resnet50", "gpt2"], choices=["resnet50", "gpt2"]
    )
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per tool; best is kept")
    parser.add_argument("--fresh", type=int, default=3, help="fresh-process runs per tool")
    parser.add_argument("--json", help="also write the results (with per-layer alphas) here")
    parser.add_argument("--per-layer", action="store_true", help="print every layer's alphas")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    results = []
    for name in args.models:
        r = (
            {**fresh(name, args.fresh), **compare(name, args.repeat)}
            if args.fresh
            else compare(name, args.repeat)
        )
        results.append(r)
        print(f"{name}: {json.dumps({k: v for k, v in r.items() if k != 'per_layer'})}", flush=True)
        if args.per_layer:
            for layer, (ww, ts) in r["per_layer"].items():
                print(f"  {layer:55s} ww {ww:10.4f}  ts {ts:10.4f}  Δ {ts - ww:+.2e}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print()
    print(f"{'':10s}{'fresh process (median)':>30s}{'warm, best of ' + str(args.repeat):>34s}")
    header = ["model", "WW s", "ts s", "speedup", "WW s", "ts s", "speedup", "CPU ratio"]
    print(f"{header[0]:10s}" + "".join(f"{h:>10s}" for h in header[1:]) + "  max|Δα|  in ±0.05")
    for r in results:
        row = f"{r['model']:10s}"
        if args.fresh:
            row += f"{r['fresh_weightwatcher_s']:10.2f}{r['fresh_torchscope_s']:10.2f}"
            row += f"{r['fresh_speedup']:9.1f}x"
        else:
            row += " " * 30
        row += f"{r['weightwatcher_s']:10.2f}{r['torchscope_spectral_s']:10.2f}"
        row += f"{r['speedup']:9.1f}x{r['cpu_ratio']:9.1f}x"
        row += f"  {r['max_abs_alpha_diff']:7.1e}  {r['within_tolerance']}/{r['layers_compared']}"
        print(row)
    print(f"\ngoal: >= {GOAL:.0f}x faster with every alpha within ±{TOLERANCE}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
