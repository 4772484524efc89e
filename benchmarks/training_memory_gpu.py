"""Training-memory estimate vs. what a real CUDA training step allocates.

For each model: torchscope's estimate (traced on the meta device, nothing allocated) next to
``torch.cuda.max_memory_allocated()`` over real AdamW steps, and the ratio. Goal: within 10%.
Needs a CUDA device; on a machine without one it says so and exits 0.

    python benchmarks/training_memory_gpu.py [--steps 3]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import torch

import torchscope

GiB = 2**30


def _gpt2(batch: int, seq: int) -> tuple[torch.nn.Module, dict[str, Any]]:
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config())
    ids = torch.randint(0, 50257, (batch, seq))
    return model, {"input_ids": ids, "labels": ids}


def _resnet50(batch: int, _: int) -> tuple[torch.nn.Module, dict[str, Any]]:
    from transformers import ResNetConfig, ResNetForImageClassification

    model = ResNetForImageClassification(ResNetConfig(num_labels=1000))
    return model, {
        "pixel_values": torch.randn(batch, 3, 224, 224),
        "labels": torch.randint(0, 1000, (batch,)),
    }


CASES: dict[str, tuple[Callable[[int, int], tuple[torch.nn.Module, dict[str, Any]]], int, int]] = {
    "gpt2-small 8x1024": (_gpt2, 8, 1024),
    "resnet50 b32": (_resnet50, 32, 0),
}


def estimate(model: torch.nn.Module, inputs: dict[str, Any]) -> int:
    """torchscope's training estimate (AdamW), traced on meta."""
    summary = torchscope.summary(model, device="meta", **inputs)
    return summary.memory.training


def measure(model: torch.nn.Module, inputs: dict[str, Any], steps: int) -> int:
    """Peak bytes CUDA allocated over ``steps`` real AdamW steps."""
    model = model.cuda().train()
    batch = {k: v.cuda() for k, v in inputs.items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    torch.cuda.reset_peak_memory_stats()
    for _ in range(steps):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    return int(torch.cuda.max_memory_allocated())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to compare (run this on a GPU machine)")
        return 0
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}")
    print(f"{'model':22} {'estimate GiB':>13} {'measured GiB':>13} {'ratio':>7}")
    for name, (build, batch, seq) in CASES.items():
        torch.manual_seed(0)
        model, inputs = build(batch, seq)
        predicted = estimate(model, inputs)
        measured = measure(model, inputs, args.steps)
        print(
            f"{name:22} {predicted / GiB:13.2f} {measured / GiB:13.2f} {predicted / measured:7.3f}"
        )
        del model
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
