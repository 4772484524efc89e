"""``torchscope.profile`` of GPT-2 small: do the numbers add up, and what does measuring cost?

One process, GPT-2 small built from its transformers config (random weights, nothing
downloaded), one training step = forward with labels (the LM loss) + backward, B=1, T=128
by default. It measures, in this order:

1. unprofiled steps (``--baseline`` of them, after two warm-up steps): the step's median;
2. ``torchscope.profile(model, warmup=3, repeat=10)``; checks that the per-module self
   times (forward + backward) add up to the measured step (within 5 %, per step and as
   the sum of per-module medians), and the profiled step against step 1 (at most 1.5×);
3. the same steps twice over: torchscope's op totals (from the raw events of its
   ``StepProfiler``) against ``key_averages()`` of that very profiler session, per op
   above 1 % of the step (within 10 %); and, as context only, against a separate plain
   ``torch.profiler`` run (two runs differ by the machine's noise, not by the method);
   plus the process CPU time of profiled and unprofiled steps (steadier than wall time
   on a shared machine);
4. side by side, where they install (``pip install -c constraints.txt -e '.[bench]'``):
   fvcore's ``FlopCountAnalysis`` and DeepSpeed's ``FlopsProfiler`` on the same model and
   inputs; a tool that is missing or fails is reported with its error.

Run (a few minutes on a 2-core CPU):

    .venv/bin/python benchmarks/profile_gpt2.py
    .venv/bin/python benchmarks/profile_gpt2.py --threads 2 --seq-len 64 --json out.json

``--threads 1`` is the default: on a machine shared with other jobs, a second intra-op
thread spins waiting for a core and makes every op's time a lottery.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import traceback
from typing import Any

import torch

SHARE = 0.01  # ops above this share of the step are compared with key_averages


def build(seq_len: int) -> tuple[Any, dict[str, torch.Tensor]]:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config())
    ids = torch.randint(0, model.config.vocab_size, (1, seq_len))
    return model, {"input_ids": ids, "labels": ids}


def step(model: Any, inputs: dict[str, torch.Tensor]) -> None:
    model(**inputs).loss.backward()
    for p in model.parameters():
        p.grad = None


def unprofiled_ms(model: Any, inputs: dict[str, torch.Tensor], n: int) -> list[float]:
    for _ in range(2):
        step(model, inputs)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        step(model, inputs)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def key_averages_ms(model: Any, inputs: dict[str, torch.Tensor], repeat: int) -> dict[str, float]:
    """Self CPU ms per op name and step, from torch.profiler's own key_averages()."""
    from torch.profiler import ProfilerActivity, profile

    step(model, inputs)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(repeat):
            step(model, inputs)
    return {e.key: e.self_cpu_time_total / 1e3 / repeat for e in prof.key_averages()}


def compare_ops(
    ours: dict[str, float], reference: dict[str, float], step_ms: float
) -> list[dict[str, Any]]:
    """Per op above SHARE of the step: both times, their difference, and each as a share of
    its own run's total (two runs on a loaded machine differ in speed, not in shares)."""
    rows = []
    ours_total = sum(ours.values())
    ref_total = sum(v for k, v in reference.items() if not k.startswith("torchscope::"))
    for name, ms in sorted(ours.items(), key=lambda kv: -kv[1]):
        if ms < SHARE * step_ms or name.startswith("torchscope::"):
            continue
        ref = reference.get(name)
        diff = (ms - ref) / ref if ref else None
        shares = (ms / ours_total, ref / ref_total) if ref and ours_total and ref_total else None
        share_diff = shares[0] / shares[1] - 1 if shares else None
        rows.append({"op": name, "torchscope_ms": ms, "key_averages_ms": ref, "diff": diff,
                     "share_diff": share_diff})  # fmt: skip
    return rows


def same_steps(model: Any, inputs: dict[str, torch.Tensor], repeat: int) -> dict[str, Any]:
    """torchscope's attribution and torch's key_averages() over one profiler session."""
    from torchscope.analysis.profile_attribution import attribute_step
    from torchscope.capture.profile_live import StepProfiler

    live = StepProfiler(model, "cpu")
    cpu: list[float] = []
    with live.installed(), live.recording():
        for _ in range(repeat):
            start = time.process_time()
            live.begin_step()
            model(**inputs).loss.backward()
            live.end_step()
            cpu.append((time.process_time() - start) * 1e3)
            for p in model.parameters():
                p.grad = None
    steps = [attribute_step(t) for t in live.traces]
    ours: dict[str, float] = {}
    for t in steps:
        for name, (own, _, _) in t.op_totals.items():
            ours[name] = ours.get(name, 0.0) + own / 1e6 / repeat
    reference = {e.key: e.self_cpu_time_total / 1e3 / repeat for e in live.profiler.key_averages()}
    step_ms = statistics.mean(t.step_ns for t in steps) / 1e6
    return {"ops": compare_ops(ours, reference, step_ms), "cpu_ms": cpu, "step_ms": step_ms}


def unprofiled_cpu_ms(model: Any, inputs: dict[str, torch.Tensor], n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.process_time()
        step(model, inputs)
        times.append((time.process_time() - start) * 1e3)
    return times


class _Logits(torch.nn.Module):
    """The model returning its logits only (fvcore's JIT trace refuses HF's cache object)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=ids, use_cache=False).logits


def fvcore_macs(model: Any, inputs: dict[str, torch.Tensor]) -> dict[str, Any]:
    try:
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(_Logits(model), (inputs["input_ids"],))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        total = analysis.total()
        return {
            "macs": int(total),
            "unsupported_ops": dict(analysis.unsupported_ops()),
            "note": "fvcore counts one 'flop' per MAC; forward only, no timing",
        }
    except Exception as exc:
        return _failed(exc)


def _failed(exc: Exception) -> dict[str, Any]:
    return {"error": f"{type(exc).__name__}: {exc}"[:300], "trace": traceback.format_exc()[-600:]}


def deepspeed_profile(model: Any, inputs: dict[str, torch.Tensor]) -> dict[str, Any]:
    """DeepSpeed's flops profiler on one forward (after one warm-up): MACs and latency."""
    try:
        from deepspeed.profiling.flops_profiler import FlopsProfiler

        with torch.no_grad():
            model(input_ids=inputs["input_ids"])
        prof = FlopsProfiler(model)
        prof.start_profile()
        start = time.perf_counter()
        model(input_ids=inputs["input_ids"])
        wall = time.perf_counter() - start
        macs, duration = prof.get_total_macs(), prof.get_total_duration()
        prof.end_profile()
        return {"macs": int(macs), "forward_ms": duration * 1e3, "wall_ms": wall * 1e3}
    except Exception as exc:
        return _failed(exc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--baseline", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-competitors", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    import torchscope

    print(f"load average at start: {os.getloadavg()}", flush=True)
    model, inputs = build(args.seq_len)
    base = unprofiled_ms(model, inputs, args.baseline)
    started = time.perf_counter()
    result = torchscope.profile(model, **inputs, warmup=3, repeat=args.repeat)
    wall_s = time.perf_counter() - started
    print(result)
    self_sum = sum(m.self_ms for m in result.modules)
    figures: dict[str, Any] = {
        "load_average": os.getloadavg(),
        "unprofiled_step_ms": statistics.median(base),
        "unprofiled_steps_ms": base,
        "profile_step_ms": result.total_ms,
        "profile_wall_step_ms": result.profiled_ms,
        "profile_baseline_ms": result.baseline_ms,
        "overhead_vs_unprofiled": result.profiled_ms / statistics.median(base),
        "attributed_ms": result.attributed_ms,
        "per_step_outside_share": result.outside_ms / result.total_ms,
        "sum_of_module_self_medians_ms": self_sum,
        "sum_of_medians_vs_step": self_sum / result.total_ms - 1,
        "profile_call_s": wall_s,
        "analysis_s": result.analysis_s,
        "macs": result.step_macs,
    }
    same = same_steps(model, inputs, args.repeat)
    figures["ops_same_steps"] = same["ops"]
    base_cpu = unprofiled_cpu_ms(model, inputs, args.repeat)
    figures["cpu_ms_unprofiled"] = statistics.median(base_cpu)
    figures["cpu_ms_profiled"] = statistics.median(same["cpu_ms"])
    figures["cpu_overhead"] = figures["cpu_ms_profiled"] / figures["cpu_ms_unprofiled"]
    ours = {o.name: o.ms for o in result.op_totals}
    reference = key_averages_ms(model, inputs, args.repeat)
    figures["ops_separate_run"] = compare_ops(ours, reference, result.total_ms)
    if not args.no_competitors:
        figures["fvcore"] = fvcore_macs(model, inputs)
        figures["deepspeed"] = deepspeed_profile(model, inputs)
    figures["torchscope_forward_macs"] = result.modules[0].macs
    figures["torchscope_forward_ms"] = result.modules[0].forward_ms
    print(json.dumps(figures, indent=1, default=str))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1, default=str)


if __name__ == "__main__":
    main()
