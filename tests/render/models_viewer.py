"""Toy models for the interactive viewer: numbered repeats and a hostile module name."""

from __future__ import annotations

import torch
from torch import nn

from torchscope.model.graph import ModelGraph

HOSTILE = "<img src=x onerror=alert(1)>"


class Block(nn.Module):
    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.fc(x))


class RepeatNet(nn.Module):
    """stem → 4 identical blocks → one wider block → a head named like an HTML tag."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv1d(3, 16, kernel_size=3, padding=1)
        self.blocks = nn.ModuleList([Block() for _ in range(4)] + [Block(16)])
        self.blocks[4].fc = nn.Linear(16, 16, bias=False)  # differs: breaks the run
        self.add_module(HOSTILE, nn.Linear(16, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x).transpose(1, 2)
        for block in self.blocks:
            h = block(h)
        return getattr(self, HOSTILE)(h).mean(dim=1)


def repeat_net_graph() -> ModelGraph:
    """The traced ModelGraph of RepeatNet on a (2, 3, 10) input."""
    import torchscope

    return torchscope.trace(RepeatNet(), torch.randn(2, 3, 10))
