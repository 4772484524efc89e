"""The built-in demo model: a two-layer MLP for 28×28 images (MNIST-sized)."""

from __future__ import annotations

from torch import nn

__all__ = ["DEMO_INPUT_SIZE", "DemoMLP"]

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
