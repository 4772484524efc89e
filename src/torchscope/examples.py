"""Built-in examples: the classic two-layer ``SimpleNet`` and real handwritten digits.

``torchscope demo`` (commands/demo.py, which holds the training loop) trains ``SimpleNet``
on scikit-learn's bundled digits (1,797 scanned 8×8 images, shipped with the package:
nothing is downloaded), upsampled to 28×28 like MNIST. Both are importable for notebooks
and tests too. The data needs scikit-learn: ``pip install 'torchscope[demo]'``.

Example:
    >>> import torch
    >>> from torchscope.examples import SimpleNet
    >>> SimpleNet()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

__all__ = [
    "DEMO_INPUT_SIZE",
    "Digits",
    "SimpleNet",
    "digits",
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
