"""Throughput and peak memory of ``inspect_params`` on a multi-GB checkpoint.

Builds a Llama-shaped float32 checkpoint of several GB — safetensors by default (written
tensor by tensor, so building it needs little memory), or with ``--format pt`` a
``torch.save`` zip file (built in memory: needs the file's size in RAM) — then, each in a
fresh subprocess:

* ``baseline``: import torch and torchscope and open the file (the fixed overhead);
* ``torchscope``: ``torchscope.inspect_params(path)``, the full statistics (moments,
  |w|, zeros, dead rows, NaN/Inf, percentiles, histograms, flags, aggregates);
* ``naive``: what one would write by hand: ``safetensors.torch.load_file`` (for ``pt``:
  ``torch.load(weights_only=True, mmap=True)``) and, per tensor, torch's
  mean/std/min/max/|w|/norm/zero fraction/isnan/histc — fewer statistics, and for
  safetensors the whole file in memory.

Throughput is checkpoint bytes / wall seconds; peak RSS is the child's ``ru_maxrss``. This
parent process imports only the standard library (the file is built by a child too): a
child's ``ru_maxrss`` also counts its parent's memory at the moment it was spawned.
The goal: ≥ 1 GB/s and peak RSS < 2 × the largest tensor + the baseline. The file is
read warm (it was just written, so it sits in the page cache) and deleted at the end.
Run on an otherwise idle machine (the load average is printed):

    .venv/bin/python benchmarks/params_streaming.py            # ~4.3 GB checkpoint
    .venv/bin/python benchmarks/params_streaming.py --gb 2 --json out.json
    .venv/bin/python benchmarks/params_streaming.py --gb 1 --format pt
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHILD_BASELINE = """
import torch, torchscope._api
from torchscope.sources.checkpoint import open_checkpoint
with open_checkpoint({path!r}) as source:
    print(len(source.entries))
"""

CHILD_TORCHSCOPE = """
import time, torch
from torchscope._api import inspect_params
start, cpu = time.perf_counter(), time.process_time()
report = inspect_params({path!r})
print(time.perf_counter() - start, time.process_time() - cpu, report.total.numel)
"""

CHILD_NAIVE = """
import time, torch
from safetensors.torch import load_file
start, cpu = time.perf_counter(), time.process_time()
numel = 0
path = {path!r}
if path.endswith(".pt"):
    tensors = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
else:
    tensors = load_file(path)
for name, t in tensors.items():
    x = t.float()
    stats = (x.mean(), x.std(), x.min(), x.max(), x.abs().mean(), x.norm(),
             (x == 0).float().mean(), x.isnan().sum(), torch.histc(x, 64))
    numel += x.numel()
print(time.perf_counter() - start, time.process_time() - cpu, numel)
"""


def llama_like_shapes(target_gb: float) -> list[tuple[str, tuple[int, ...]]]:
    """Tensors of a Llama-style model (hidden 4096, MLP 11008) until ``target_gb`` of float32."""
    hidden, mlp, vocab = 4096, 11008, 32000
    shapes: list[tuple[str, tuple[int, ...]]] = [("model.embed_tokens.weight", (vocab, hidden))]
    layer = [
        ("input_layernorm.weight", (hidden,)),
        ("self_attn.q_proj.weight", (hidden, hidden)),
        ("self_attn.k_proj.weight", (hidden, hidden)),
        ("self_attn.v_proj.weight", (hidden, hidden)),
        ("self_attn.o_proj.weight", (hidden, hidden)),
        ("post_attention_layernorm.weight", (hidden,)),
        ("mlp.gate_proj.weight", (mlp, hidden)),
        ("mlp.up_proj.weight", (mlp, hidden)),
        ("mlp.down_proj.weight", (hidden, mlp)),
    ]
    i = 0
    while _gb(shapes) < target_gb:
        shapes += [(f"model.layers.{i}.{name}", shape) for name, shape in layer]
        i += 1
    return shapes


def _gb(shapes: list[tuple[str, tuple[int, ...]]]) -> float:
    return sum(4 * _numel(s) for _, s in shapes) / 1e9


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def write_checkpoint(path: Path, shapes: list[tuple[str, tuple[int, ...]]]) -> None:
    """A valid float32 safetensors file, generated and written one tensor at a time."""
    import torch

    header: dict[str, Any] = {}
    offset = 0
    for name, shape in shapes:
        size = 4 * _numel(shape)
        header[name] = {
            "dtype": "F32",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    generator = torch.Generator().manual_seed(0)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape in shapes:
            scale = 1.0 if name.endswith("norm.weight") else 0.02
            t = torch.randn(shape, generator=generator) * scale
            if name.endswith("norm.weight"):
                t += 1.0
            f.write(t.numpy().tobytes())


def write_torch_checkpoint(path: Path, shapes: list[tuple[str, tuple[int, ...]]]) -> None:
    """The same tensors as a ``torch.save`` zip file (built whole in memory first)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    tensors = {}
    for name, shape in shapes:
        scale = 1.0 if name.endswith("norm.weight") else 0.02
        t = torch.randn(shape, generator=generator) * scale
        tensors[name] = t + 1.0 if name.endswith("norm.weight") else t
    torch.save(tensors, path)


def measure(code: str, timeout: float) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its stdout and its own peak RSS (from wait4)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            return {"error": f"timeout after {timeout:.0f} s"}
        time.sleep(0.05)
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    if status:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"status {status}"}
    return {"out": out.strip(), "peak_rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=4.0, help="checkpoint size to build (float32)")
    parser.add_argument("--dir", help="where to build it (default: a temporary directory)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--format", choices=("safetensors", "pt"), default="safetensors")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--build", help=argparse.SUPPRESS)  # internal: write the file here
    args = parser.parse_args()
    if args.build:
        write = write_torch_checkpoint if args.format == "pt" else write_checkpoint
        write(Path(args.build), llama_like_shapes(args.gb))
        return

    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    shapes = llama_like_shapes(args.gb)
    workdir = Path(tempfile.mkdtemp(dir=args.dir, prefix="ts-stream-"))
    path = workdir / f"model.{args.format}"
    try:
        free_gb = shutil.disk_usage(workdir).free / 1e9
        if free_gb < _gb(shapes) + 1:
            raise SystemExit(f"needs {_gb(shapes) + 1:.1f} GB free in {workdir}, has {free_gb:.1f}")
        start = time.perf_counter()
        build = [sys.executable, __file__, "--gb", str(args.gb), "--format", args.format]
        build += ["--build", str(path)]
        subprocess.run(build, check=True)
        size = path.stat().st_size
        largest = max(4 * _numel(s) for _, s in shapes)
        print(
            f"built {path} in {time.perf_counter() - start:.1f} s: {size / 1e9:.2f} GB, "
            f"{len(shapes)} tensors, largest {largest / 2**20:.0f} MiB",
            flush=True,
        )
        results: dict[str, Any] = {
            "file_bytes": size,
            "tensors": len(shapes),
            "largest_tensor_bytes": largest,
        }
        for label, template in (
            ("baseline", CHILD_BASELINE),
            ("torchscope", CHILD_TORCHSCOPE),
            ("naive", CHILD_NAIVE),
        ):
            row = measure(template.format(path=str(path)), args.timeout)
            if "out" in row and label != "baseline":
                wall, cpu, _ = (float(x) for x in row["out"].split())
                row.update(seconds=wall, cpu_seconds=cpu, gb_per_s=size / wall / 1e9)
            results[label] = row
            print(
                label,
                {
                    k: (round(v, 3) if isinstance(v, float) else v)
                    for k, v in row.items()
                    if k != "out"
                },
                flush=True,
            )
        report(results)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def report(results: dict[str, Any]) -> None:
    largest_mb = results["largest_tensor_bytes"] / 2**20
    base = results["baseline"].get("peak_rss_mb", float("nan"))
    bound = 2 * largest_mb + base
    print()
    print(f"{'tool':12s} {'seconds':>8s} {'GB/s':>6s} {'CPU s':>7s} {'peak RSS':>10s}")
    for label in ("torchscope", "naive"):
        row = results[label]
        if "error" in row:
            print(f"{label:12s} {row['error']}")
            continue
        print(
            f"{label:12s} {row['seconds']:8.2f} {row['gb_per_s']:6.2f} {row['cpu_seconds']:7.2f}"
            f" {row['peak_rss_mb']:8.0f} MB"
        )
    ts = results["torchscope"]
    if "error" not in ts:
        print(
            f"\nbound 2 × largest tensor ({largest_mb:.0f} MiB) + baseline ({base:.0f} MB) = "
            f"{bound:.0f} MB: torchscope peak {ts['peak_rss_mb']:.0f} MB "
            f"({'within' if ts['peak_rss_mb'] < bound else 'OVER'})"
        )
        print(
            f"throughput goal 1 GB/s: {ts['gb_per_s']:.2f} GB/s wall, "
            f"{results['file_bytes'] / ts['cpu_seconds'] / 1e9:.2f} GB per CPU-second"
        )


if __name__ == "__main__":
    main()
