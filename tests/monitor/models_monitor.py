"""Small models and a training loop shared by the monitor tests."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from torchscope.monitor import Monitor


class SmallCNN(nn.Module):
    def __init__(self, classes: int = 10, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.act1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.act2 = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(16 * 2 * 2, 32)
        self.act3 = nn.Tanh()
        self.head = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.act1(self.conv1(x)))
        x = self.pool(self.act2(self.conv2(x)))
        return self.head(self.act3(self.fc(self.flat(self.drop(x)))))


class Poison(nn.Module):
    """Identity that writes a NaN into its output at one chosen call."""

    def __init__(self, at_call: int) -> None:
        super().__init__()
        self.at_call, self.calls = at_call, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls - 1 == self.at_call:
            x = x.clone()
            x[0, 0] = float("nan")
        return x


def digits(n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Return sklearn's 8×8 digits as ([n, 1, 8, 8] float, [n] labels)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.images[:n], dtype=torch.float32).unsqueeze(1) / 16.0
    return x, torch.tensor(data.target[:n])


def train(
    steps: int,
    make_monitor: Callable[[nn.Module, torch.optim.Optimizer], Monitor | None],
    batch: int = 32,
    seed: int = 0,
) -> tuple[list[torch.Tensor], nn.Module, Monitor | None]:
    """Train SmallCNN on digits with a fixed seed; return the losses, model and monitor."""
    torch.manual_seed(seed)
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    mon = make_monitor(model, opt)
    x, y = digits()
    losses = []
    for step in range(steps):
        i = (step * batch) % len(x)
        logits = model(x[i : i + batch])
        loss = nn.functional.cross_entropy(logits, y[i : i + batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if mon is not None:
            mon.log(step, loss=loss, lr=opt.param_groups[0]["lr"])
            mon.log_classification(step, logits, y[i : i + batch], split="train")
        losses.append(loss.detach().clone())
    if mon is not None:
        mon.close()
    return losses, model, mon
