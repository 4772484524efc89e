"""Built-in examples: the classic two-layer ``SimpleNet`` and real handwritten digits.

``torchscope demo`` (commands/demo.py) trains ``SimpleNet`` on scikit-learn's bundled
digits (1,797 scanned 8×8 images, shipped with the package: nothing is downloaded),
upsampled to 28×28 like MNIST, under a Monitor, evaluating on a held-out test set every
epoch. Everything here is importable for notebooks and tests too. The data needs
scikit-learn: ``pip install 'torchscope[demo]'``.

Example:
    >>> import torch
    >>> from torchscope.examples import SimpleNet
    >>> SimpleNet()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

__all__ = [
    "DEMO_INPUT_SIZE",
    "Digits",
    "SimpleNet",
    "digits",
    "evaluate_digits",
    "train_digits",
]

DEMO_INPUT_SIZE = (1, 1, 28, 28)
SIDE = 28


class SimpleNet(nn.Module):
    """The seed workflow's network: Flatten → Linear(784, 128) → ReLU → Linear(128, 10)."""

    def __init__(self, hidden: int = 128, classes: int = 10) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(SIDE * SIDE, hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu(self.fc1(self.flatten(x))))


@dataclass(frozen=True)
class Digits:
    """The digits as train and test loaders, and what they hold."""

    train: DataLoader[Any]
    test: DataLoader[Any]
    labels: list[str]
    train_size: int
    test_size: int


def digits(batch_size: int = 32, test_fraction: float = 0.25, seed: int = 0) -> Digits:
    """scikit-learn's handwritten digits, 28×28, standardised, split into train and test.

    The split is stratified (every digit in the same share on both sides) and fixed by
    ``seed``; the images are upsampled bilinearly from 8×8 and standardised with the
    training images' mean and standard deviation. The train loader shuffles with its own
    seeded generator, so two runs see the same batches.
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        from torchscope.errors import MissingDependency

        raise MissingDependency(
            "the demo's data set comes with scikit-learn, which is not installed: "
            "pip install 'torchscope[demo]' (or scikit-learn)"
        ) from None
    data = load_digits()
    images = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = nn.functional.interpolate(images, size=(SIDE, SIDE), mode="bilinear")
    labels = torch.tensor(data.target, dtype=torch.int64)
    index = torch.arange(len(labels)).numpy()
    train_idx, test_idx = train_test_split(
        index, test_size=test_fraction, stratify=data.target, random_state=seed
    )
    x_train, x_test = images[train_idx], images[test_idx]
    mean, std = x_train.mean(), x_train.std()
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    generator = torch.Generator().manual_seed(seed)
    return Digits(
        train=DataLoader(
            TensorDataset(x_train, labels[train_idx]),
            batch_size=batch_size,
            shuffle=True,
            generator=generator,
        ),
        test=DataLoader(TensorDataset(x_test, labels[test_idx]), batch_size=256),
        labels=[str(n) for n in data.target_names],
        train_size=len(train_idx),
        test_size=len(test_idx),
    )


def evaluate_digits(
    model: nn.Module, loader: DataLoader[Any], monitor: Any, step: int, labels: list[str]
) -> dict[str, float]:
    """Test loss and accuracy over ``loader``, stored in the run (split ``test``) at ``step``
    with the confusion matrix; the model's train/eval mode is restored."""
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    try:
        with torch.inference_mode():
            for x, y in loader:
                logits = model(x)
                total += float(loss_fn(logits, y))
                correct += int((logits.argmax(1) == y).sum())
                count += len(y)
                monitor.log_classification(step, logits, y, split="test", labels=labels)
    finally:
        model.train(training)
    metrics = {"loss": total / count, "accuracy": correct / count}
    monitor.log(step, split="test", loss=metrics["loss"])
    return metrics


def train_digits(
    model: nn.Module,
    data: Digits,
    logdir: str | Path,
    *,
    epochs: int = 12,
    lr: float = 1e-3,
    on_step: Callable[[int], None] | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> Path:
    """Train ``model`` with Adam under a Monitor, evaluating on the test set every epoch.

    ``on_step(step)`` is called after each optimizer step and ``on_epoch(epoch, metrics)``
    after each evaluation (progress bars hook in there). Returns the run directory.
    """
    from torchscope.monitor.monitor import Monitor

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    config = {
        "model": "SimpleNet(784 → 128 → 10)",
        "data": f"sklearn digits 8×8 → 28×28, {data.train_size} train / {data.test_size} test",
        "epochs": epochs,
        "batch_size": data.train.batch_size,
        "optimizer": f"Adam(lr={lr:g})",
    }
    step = 0
    example = (torch.zeros(DEMO_INPUT_SIZE),)  # the Monitor stores the summary with the run
    with Monitor(
        model, optimizer, logdir=str(logdir), config=config, example_input=example,
        every=5, activations_every=20, histograms_every=100, run_name="digits-simplenet",
    ) as monitor:  # fmt: skip
        for epoch in range(1, epochs + 1):
            model.train()
            for x, y in data.train:
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                monitor.log(step, loss=loss.detach(), lr=optimizer.param_groups[0]["lr"])
                step += 1
                if on_step is not None:
                    on_step(step)
            metrics = evaluate_digits(model, data.test, monitor, step - 1, data.labels)
            if on_epoch is not None:
                on_epoch(epoch, metrics)
    return Path(logdir)
