"""Confusion matrices accumulated on the device, one per split, without host syncs."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from torchscope.store.checks import check_name, check_step

__all__ = ["ConfusionAccumulator", "ConfusionSplits", "Finished"]

# A split's matrix for one step, ready to write: (step, split, device matrix, labels)
Finished = tuple[int, str, torch.Tensor, "list[str] | None"]


class ConfusionAccumulator:
    """Adds batches of (logits or predicted labels, targets) into an int64 device matrix.

    Targets outside ``[0, num_classes)`` (such as ``-100`` padding) are ignored. Uses
    ``index_add_`` into a fixed-size tensor, because ``torch.bincount`` syncs on CUDA.

    Example:
        >>> acc = ConfusionAccumulator()
        >>> acc.update(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0]))
        >>> acc.matrix.tolist()
        [[1, 1], [0, 0]]
    """

    def __init__(self, num_classes: int | None = None) -> None:
        self.num_classes = num_classes
        self.matrix: torch.Tensor | None = None

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Add one batch: ``outputs`` are logits ``[..., C]`` or integer predictions."""
        outputs = outputs.detach()
        if outputs.is_floating_point():
            classes = self.num_classes or outputs.shape[-1]
            preds = outputs.argmax(dim=-1)
        else:
            if self.num_classes is None:
                raise ValueError("give num_classes when passing predicted labels")
            classes, preds = self.num_classes, outputs
        self.num_classes = classes
        preds = preds.reshape(-1).long()
        truth = targets.detach().reshape(-1).long().to(preds.device)
        valid = (truth >= 0) & (truth < classes) & (preds >= 0) & (preds < classes)
        overflow = classes * classes  # one extra slot collects ignored targets
        idx = torch.where(valid, truth * classes + preds, overflow)
        if self.matrix is None:
            self.matrix = torch.zeros(classes, classes, dtype=torch.long, device=preds.device)
        flat = torch.zeros(overflow + 1, dtype=torch.long, device=preds.device)
        flat.index_add_(0, idx, torch.ones_like(idx))
        self.matrix += flat[:overflow].view(classes, classes)

    def reset(self) -> torch.Tensor | None:
        """Return the accumulated matrix and start a new one."""
        matrix, self.matrix = self.matrix, None
        return matrix


class ConfusionSplits:
    """The open confusion matrix of each split, each for one step until a later one starts.

    Example:
        >>> splits = ConfusionSplits()
        >>> splits.add(5, "val", torch.tensor([1, 0]), torch.tensor([1, 1]), num_classes=2)
        []
        >>> [(step, split, m.tolist()) for step, split, m, _ in splits.before(6)]
        [(5, 'val', [[0, 0], [1, 1]])]
    """

    def __init__(self) -> None:
        self._open: dict[str, tuple[int, ConfusionAccumulator, list[str] | None]] = {}

    def add(
        self,
        step: int,
        split: str,
        outputs: torch.Tensor,
        targets: torch.Tensor,
        labels: Sequence[str] | None = None,
        num_classes: int | None = None,
    ) -> list[Finished]:
        """Add a batch to ``split`` at ``step``; return the split's matrix of an earlier step."""
        step = check_step(step)
        check_name(split, "confusion split")
        names = None if labels is None else [check_name(x, "class label") for x in labels]
        done = []
        entry = self._open.get(split)
        if entry is not None and entry[0] != step:
            done = self._close([split])
            entry = None
        if entry is None:
            entry = self._open[split] = (step, ConfusionAccumulator(num_classes), names)
        entry[1].update(outputs, targets)
        return done

    def before(self, step: int) -> list[Finished]:
        """Close and return the matrices of splits whose step is before ``step``."""
        return self._close([s for s, (at, _, _) in self._open.items() if at < step])

    def all(self) -> list[Finished]:
        """Close and return every open matrix."""
        return self._close(list(self._open))

    def _close(self, splits: list[str]) -> list[Finished]:
        done = []
        for split in splits:
            step, acc, labels = self._open.pop(split)
            matrix = acc.reset()
            if matrix is not None:
                done.append((step, split, matrix, labels))
        return done
