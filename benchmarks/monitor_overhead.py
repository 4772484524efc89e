"""Training-step overhead of torchscope's Monitor against the usual alternatives.

Configurations take turns training ONE model and optimizer, round-robin (in an order
rotated every round) in blocks of ``--block`` steps, so machine noise hits all alike:

* ``none``: the bare training step;
* ``none-again``: the bare step once more — its "overhead" is the noise floor of the run;
* ``torchscope``: ``Monitor(model, opt)`` at its defaults (statistics every 25 steps,
  activations every 100, histograms every 500, the model output checked for non-finite
  values every step and every module's output every 10), writing a
  real store in a temporary directory (one Monitor, paused outside its blocks);
* ``torchscope-all``: ``Monitor(..., every=1, activations_every=1, histograms_every=1)``;
* ``item-norms``: the common hand-written recipe, ``p.grad.norm().item()`` per parameter
  every step;
* ``tensorboard``: ``SummaryWriter.add_histogram`` of every weight and gradient every step.

CPU runs use one torch thread by default (``--threads``): on a shared machine two OpenMP
threads spin-wait and swing a small step's time by 50x. A block's time divided by its
steps is one sample (so periodic statistics are amortised
over the block). The overhead of a configuration is its total time over all rounds
divided by the total of ``none`` (interleaved, so slow drifts of a shared machine hit
both alike; totals, not medians, because the monitor's periodic work lands in some steps
only), for wall time and for this process's CPU time (all its threads, so background
writers count). Blocks are 100 steps, a multiple of the monitor's statistics (25) and
activation (100) intervals, so each block holds the same share of periodic work except
histograms (every 500th step).

Models: on the CPU a small CNN on 32×32 images and an MLP; on CUDA (when available) GPT-2
small built from a transformers config, batch 8×1024, bf16 autocast, AdamW.

Run (about 15 minutes on 2 cores; TensorBoard's blocks take most of it):

    .venv/bin/python benchmarks/monitor_overhead.py
    .venv/bin/python benchmarks/monitor_overhead.py --models cnn --rounds 10 --json out.json
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from torchscope.monitor import Monitor

CONFIGS = ("none", "none-again", "torchscope", "torchscope-all", "item-norms", "tensorboard")


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 16, 256), nn.ReLU(), nn.Linear(256, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _mlp() -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    for d_in, d_out in ((784, 1024), (1024, 1024), (1024, 512)):
        layers += [nn.Linear(d_in, d_out), nn.GELU()]
    return nn.Sequential(*layers, nn.Linear(512, 10))


class Workload:
    """A model factory, a batch and a step function for one benchmark model."""

    def __init__(self, name: str, device: str) -> None:
        self.name, self.device = name, device
        torch.manual_seed(0)
        if name == "cnn":
            self.model: nn.Module = CNN()
            self.batch = (torch.randn(32, 3, 32, 32), torch.randint(0, 10, (32,)))
        elif name == "mlp":
            self.model = _mlp()
            self.batch = (torch.randn(64, 784), torch.randint(0, 10, (64,)))
        else:
            self.model, self.batch = _gpt2(device)
        self.model.to(device)
        self.batch = tuple(t.to(device) for t in self.batch)

    def copy(self) -> tuple[nn.Module, torch.optim.Optimizer]:
        model = copy.deepcopy(self.model)
        return model, torch.optim.AdamW(model.parameters(), lr=1e-4)

    def loss(self, model: nn.Module) -> torch.Tensor:
        x, y = self.batch
        if self.name == "gpt2":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return model(input_ids=x, labels=y).loss  # type: ignore[no-any-return]
        return nn.functional.cross_entropy(model(x), y)


def _gpt2(device: str) -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config())
    ids = torch.randint(0, 50257, (8, 1024))
    return model, (ids, ids)


class Trainer:
    """One model and optimizer that every configuration trains in turn.

    Separate model copies would not do: identical bare copies of the MLP differed by up to
    9% per step on this machine (memory placement), more than the effects measured here.
    """

    def __init__(self, work: Workload) -> None:
        self.work = work
        self.model, self.opt = work.copy()

    def step(self) -> torch.Tensor:
        loss = self.work.loss(self.model)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss


@dataclass
class Attached:
    """A configuration on the shared model: what runs after each step, and its switches."""

    after: Callable[[int, torch.Tensor], None] = lambda step, loss: None
    start: Callable[[], None] = lambda: None  # before each of its blocks
    stop: Callable[[], None] = lambda: None  # after each of its blocks
    close: Callable[[], None] = lambda: None


def _attach(config: str, trainer: Trainer, logdir: str) -> Attached:
    """Set a configuration up on the shared model, switched off until its first block.

    A Monitor is paused outside its own blocks (``Monitor.pause`` removes every hook), so
    each one sees its schedule as in one continuous run.
    """
    model, opt = trainer.model, trainer.opt
    if config in ("torchscope", "torchscope-all"):
        settings = {"every": 1, "activations_every": 1, "histograms_every": 1}
        mon = Monitor(model, opt, logdir=logdir, **(settings if config.endswith("all") else {}))
        mon.pause()
        return Attached(
            lambda step, loss: mon.log(step, loss=loss), mon.resume, mon.pause, mon.close
        )
    if config == "item-norms":

        def norms(step: int, loss: torch.Tensor) -> None:
            [p.grad.norm().item() for p in model.parameters() if p.grad is not None]

        return Attached(norms)
    if config == "tensorboard":
        from torch.utils.tensorboard import SummaryWriter

        tb = SummaryWriter(logdir)

        def hook(step: int, loss: torch.Tensor) -> None:
            for name, p in model.named_parameters():
                tb.add_histogram(name, p, step)
                tb.add_histogram(f"{name}.grad", p.grad, step)

        return Attached(hook, close=tb.close)
    return Attached()


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def measure(
    work: Workload, rounds: int, block: int, warmup: int, configs: tuple[str, ...] = CONFIGS
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Return wall and process-CPU ms/step samples (one per block and round) per configuration."""
    samples: dict[str, list[float]] = {c: [] for c in configs}
    cpu_samples: dict[str, list[float]] = {c: [] for c in configs}
    steps = dict.fromkeys(configs, 0)  # each configuration's own step count
    trainer = Trainer(work)
    with tempfile.TemporaryDirectory() as tmp:
        attached = {c: _attach(c, trainer, f"{tmp}/{c}") for c in configs}
        for _ in range(warmup):
            trainer.step()
        _sync(work.device)
        names = list(configs)
        for r in range(rounds):
            # rotate the order: a block must not always follow the one whose background
            # writer threads (tensorboard, torchscope) are still busy
            for config in names[r % len(names) :] + names[: r % len(names)]:
                this = attached[config]
                this.start()
                _sync(work.device)
                start, cpu = time.perf_counter(), time.process_time()
                for _ in range(block):
                    this.after(steps[config], trainer.step())
                    steps[config] += 1
                _sync(work.device)
                samples[config].append((time.perf_counter() - start) * 1000 / block)
                cpu_samples[config].append((time.process_time() - cpu) * 1000 / block)
                this.stop()
        for this in attached.values():
            this.close()
    return samples, cpu_samples


def table(
    name: str, samples: dict[str, list[float]], cpu: dict[str, list[float]]
) -> list[dict[str, Any]]:
    """Print and return median ms/step and overheads of total time (wall, CPU) per configuration."""
    rows = []
    print(f"\n{name}: median of {len(samples['none'])} blocks")
    print(f"{'configuration':<16} {'ms/step':>9} {'overhead':>9} {'CPU ms':>9} {'CPU ovh':>9}")
    for config, values in samples.items():
        wall, used = statistics.median(values), statistics.median(cpu[config])
        row = {
            "model": name,
            "config": config,
            "ms_per_step": wall,
            "overhead_pct": _overhead_of_totals(values, samples["none"]),
            "cpu_ms_per_step": used,
            "cpu_overhead_pct": _overhead_of_totals(cpu[config], cpu["none"]),
        }
        rows.append(row)
        print(
            f"{config:<16} {wall:9.2f} {row['overhead_pct']:8.1f}% "
            f"{used:9.2f} {row['cpu_overhead_pct']:8.1f}%"
        )
    return rows


def _overhead_of_totals(values: list[float], base: list[float]) -> float:
    """Total time over the rounds relative to the bare configuration's, in percent."""
    return (sum(values) / sum(base) - 1) * 100


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["cnn", "mlp", "gpt2"])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    parser.add_argument(
        "--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS,
        help="configurations to compare ('none' is always included)",
    )  # fmt: skip
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    torch.set_flush_denormal(True)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    for name in args.models:
        device = "cuda" if name == "gpt2" else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            print(f"\n{name}: skipped (no CUDA device)")
            continue
        work = Workload(name, device)
        label = f"{name} ({torch.cuda.get_device_name() if device == 'cuda' else 'cpu'})"
        configs = ("none", *[c for c in args.configs if c != "none"])
        rows += table(label, *measure(work, args.rounds, args.block, args.warmup, configs))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
