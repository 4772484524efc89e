"""Capture speed, issue 14: torchscope.summary vs torchinfo.summary in one process, and what
the whole ``torchscope summary`` command and torchscope's imports cost beyond torch.

Run by ``summary_speed.py --in-process`` (or alone). Three measurements, each in a fresh
subprocess so that no import is already warm:

1. **in-process ratio**: one process imports torch, transformers, torchinfo and
   torchscope, builds the 70B-shaped Llama on meta, then alternates ``torchscope.summary``
   and ``torchinfo.summary`` of that same model (``--rounds`` times each), timing each call
   in CPU seconds (steadier on a shared machine) and wall seconds; the figures are checked
   (70,553,706,496 params, 8,917,694,283,776 MACs) so speed never comes from skipping work;
2. **whole command**: wall and CPU of ``torchscope summary hf:LlamaForCausalLM … --json``
   against a process that only imports torch and transformers, builds the model and runs
   torchinfo's summary (best of ``--rounds``);
3. **import cost**: ``python -X importtime`` of what the summary command imports, after
   torch and transformers: the sum of the self times of every module imported after them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LLAMA = {
    "hidden_size": 8192, "intermediate_size": 28672, "num_hidden_layers": 80,
    "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 128256,
}  # fmt: skip
PARAMS, MACS = 70_553_706_496, 8_917_694_283_776
SPEC = "hf:LlamaForCausalLM"
CLI_ARGS = ["summary", SPEC, "--device", "meta", "--seq-len", "128", "--json", "--config",
            *(f"{k}={v}" for k, v in LLAMA.items())]  # fmt: skip
SUMMARY_IMPORTS = (
    "torchscope.cli, torchscope.commands.summary, torchscope._api, torchscope.capture.trace, "
    "torchscope.analysis.summary, torchscope.render.summary_text, torchscope.sources.spec, "
    "torchscope.sources.hf"
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def in_process(rounds: int) -> dict[str, Any]:
    """Alternate both tools on one built model; medians and minima of each call."""
    import torch
    import torchinfo

    import torchscope
    from torchscope.sources.spec import load_model

    torch.manual_seed(0)
    loaded = load_model(SPEC, dict(LLAMA), device="meta", seq_len=128)
    times: dict[str, list[tuple[float, float]]] = {"torchscope": [], "torchinfo": []}
    for _ in range(rounds):
        cpu, wall = _cpu(), time.perf_counter()
        s = torchscope.summary(loaded.model, device="meta", **loaded.kwargs)
        times["torchscope"].append((_cpu() - cpu, time.perf_counter() - wall))
        assert (s.totals.total_params, s.totals.macs) == (PARAMS, MACS), s.totals
        cpu, wall = _cpu(), time.perf_counter()
        torchinfo.summary(loaded.model, input_data=dict(loaded.kwargs), device="meta", verbose=0)
        times["torchinfo"].append((_cpu() - cpu, time.perf_counter() - wall))
    result: dict[str, Any] = {}
    for tool, pairs in times.items():
        result[tool] = {
            "cpu_median": statistics.median(c for c, _ in pairs),
            "cpu_min": min(c for c, _ in pairs),
            "wall_median": statistics.median(w for _, w in pairs),
            "wall_min": min(w for _, w in pairs),
        }
    ts, ti = result["torchscope"], result["torchinfo"]
    result["ratio_cpu_median"] = ts["cpu_median"] / ti["cpu_median"]
    result["ratio_wall_median"] = ts["wall_median"] / ti["wall_median"]
    return result


def _child(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds of ``python -c code`` and the CPU seconds it reports on its last line."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=env, text=True, timeout=600
    )
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"child failed: {proc.stderr[-500:]}")
    return wall, float(proc.stdout.strip().splitlines()[-1])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_VERBOSITY": "error"}  # fmt: skip


_CPU_LINE = (
    "import resource as _r; _u = _r.getrusage(_r.RUSAGE_SELF); print(_u.ru_utime + _u.ru_stime)"
)


def whole_command(rounds: int) -> dict[str, Any]:
    """The CLI against imports + build + torchinfo, each its own process, best of rounds."""
    cli = (
        "import sys, io, contextlib; from torchscope.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): code = main({CLI_ARGS!r})\n"
        f"assert code == 0\n{_CPU_LINE}"
    )
    baseline = (
        "import torch, transformers, torchinfo\n"
        "from transformers import LlamaConfig, LlamaForCausalLM\n"
        f"cfg = LlamaConfig(**{LLAMA!r})\n"
        "with torch.device('meta'): model = LlamaForCausalLM(cfg)\n"
        "ids = torch.zeros(1, 128, dtype=torch.long, device='meta')\n"
        "torchinfo.summary(model, input_data={'input_ids': ids}, device='meta', verbose=0)\n"
        f"{_CPU_LINE}"
    )
    imports = f"import torch, transformers\n{_CPU_LINE}"
    found: dict[str, list[tuple[float, float]]] = {"cli": [], "torchinfo": [], "imports": []}
    for _ in range(rounds):
        for key, code in (("cli", cli), ("torchinfo", baseline), ("imports", imports)):
            wall, cpu = _child(code, _env())
            found[key].append((wall, cpu))
    best = {
        k: {"wall": min(w for w, _ in v), "cpu": min(c for _, c in v)} for k, v in found.items()
    }
    best["cli_over_torchinfo_wall"] = best["cli"]["wall"] / best["torchinfo"]["wall"]
    best["cli_over_torchinfo_cpu"] = best["cli"]["cpu"] / best["torchinfo"]["cpu"]
    return best


def import_cost() -> dict[str, Any]:
    """``-X importtime``: self time of every module imported after torch and transformers."""
    code = f"import torch, transformers\nimport {SUMMARY_IMPORTS}"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
        env=_env(), timeout=600, check=True,
    )  # fmt: skip
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = (p.strip() for p in line[len("import time:") :].split("|"))
        rows.append((name, int(self_us), int(cumulative)))
    first = next(i for i, (name, _, _) in enumerate(rows) if name.strip().startswith("torchscope"))
    # entries print when their import finishes, children first: everything after the last
    # top-level module of torch/transformers belongs to the torchscope imports
    start = max(i for i, (name, _, _) in enumerate(rows[:first]) if not name.startswith(" ")) + 1
    after = rows[start:]
    heaviest = sorted(after, key=lambda r: -r[1])[:8]
    return {
        "beyond_torch_s": sum(s for _, s, _ in after) / 1e6,
        "torchscope_own_s": sum(s for n, s, _ in after if n.strip().startswith("torchscope")) / 1e6,
        "heaviest": [(n.strip(), s / 1e6) for n, s, _ in heaviest],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part", choices=["all", "in-process", "command", "imports"],
                        default="all")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    figures: dict[str, Any] = {}
    if args.part in ("all", "imports"):
        figures["imports"] = import_cost()
        print(json.dumps(figures["imports"], indent=1), flush=True)
    if args.part in ("all", "in-process"):
        figures["in_process"] = in_process(args.rounds)
        print(json.dumps(figures["in_process"], indent=1), flush=True)
    if args.part in ("all", "command"):
        figures["command"] = whole_command(args.rounds)
        print(json.dumps(figures["command"], indent=1), flush=True)
    figures["load_average_end"] = os.getloadavg()
    print(f"load average at end: {figures['load_average_end']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
