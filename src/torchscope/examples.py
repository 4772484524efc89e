"""Built-in examples: a two-layer MLP for 28×28 images and a short run on synthetic digits.

``torchscope demo`` (commands/demo.py) shows the whole picture with them; they are importable
for notebooks and tests too.

The data is made here (ten noisy class prototypes), so the demo needs no download.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

__all__ = ["DEMO_INPUT_SIZE", "DemoMLP", "synthetic_digits", "train_demo"]

DEMO_INPUT_SIZE = (1, 1, 28, 28)


class DemoMLP(nn.Sequential):
    """Flatten → Linear(784, 256) → ReLU → Dropout → Linear(256, 10)."""

    def __init__(self, hidden: int = 256, classes: int = 10) -> None:
        super().__init__(
            nn.Flatten(),
            nn.Linear(28 * 28, hidden),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(hidden, classes),
        )


def synthetic_digits(
    n: int, generator: torch.Generator, classes: int = 10
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` 1×28×28 images and labels: faint class prototypes under strong noise.

    The classes overlap enough that a small MLP reaches about 80% and confuses some pairs,
    which gives the confusion matrix and the per-class metrics something to show.
    """
    prototypes = 0.08 * torch.randn(classes, 1, 28, 28, generator=torch.Generator().manual_seed(7))
    labels = torch.randint(0, classes, (n,), generator=generator)
    images = prototypes[labels] + torch.randn(n, 1, 28, 28, generator=generator)
    return images, labels


def train_demo(model: nn.Module, logdir: Path, steps: int = 300, batch: int = 64) -> Path:
    """Train ``model`` briefly under a Monitor, logging loss, lr and validation metrics."""
    from torchscope.monitor.monitor import Monitor

    generator = torch.Generator().manual_seed(0)
    val_x, val_y = synthetic_digits(512, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    config = {"steps": steps, "batch": batch, "optimizer": "Adam(lr=1e-3)"}
    with Monitor(
        model, optimizer, logdir=str(logdir), config=config,
        every=5, activations_every=25, histograms_every=100,
    ) as monitor:  # fmt: skip
        for step in range(steps):
            x, y = synthetic_digits(batch, generator)
            model.train()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            monitor.log(step, loss=loss.detach(), lr=optimizer.param_groups[0]["lr"])
            if step % 50 == 49 or step == steps - 1:
                model.eval()
                with torch.no_grad():
                    logits = model(val_x)
                monitor.log(step, split="val", loss=loss_fn(logits, val_y))
                monitor.log_classification(step, logits, val_y, split="val")
    return logdir
