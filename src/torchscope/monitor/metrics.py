"""Confusion matrices accumulated on the device, one per split, without host syncs."""

from __future__ import annotations

import torch

__all__ = ["ConfusionAccumulator"]


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
