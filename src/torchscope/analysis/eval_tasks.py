"""What an evaluation measures, recognised from the first batch's output and target.

- ``multiclass``: output ``[..., C]`` (C ≥ 2) and integer target ``[...]`` (class indices;
  ``ignore_index`` entries, -100 by default as in ``cross_entropy``, are left out);
  sequence outputs ``[B, T, C]`` count every position as a sample.
- ``binary``: one score per sample, output ``[N]`` or ``[N, 1]``, target of 0/1.
- ``multilabel``: output ``[N, C]`` (C ≥ 2) and a 0/1 target of the same shape.
- ``regression``: a floating target of the output's shape whose values are not all 0/1;
  the last dimension of a 2-D or larger output holds the outputs (``[N, D]``).

Outputs are logits (softmax over the classes, sigmoid for binary and multi-label) unless
``probabilities=True`` says they are probabilities already. A floating 0/1 target of the
output's shape reads as binary or multi-label; pass ``task="regression"`` when it is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["TASKS", "Prepared", "detect_task", "prepare"]

TASKS = ("multiclass", "binary", "multilabel", "regression")


def _is_01(t: torch.Tensor) -> bool:
    return t.dtype == torch.bool or bool(((t == 0) | (t == 1)).all())


def _shapes(output: torch.Tensor, target: torch.Tensor) -> str:
    return f"output {tuple(output.shape)} and target {tuple(target.shape)}"


def detect_task(output: torch.Tensor, target: torch.Tensor) -> str:
    """The task a batch's output and target shapes and values say (module docstring)."""
    if not output.is_floating_point():
        raise ValueError(f"the model output must hold floating scores, not {output.dtype}")
    out, tgt = tuple(output.shape), tuple(target.shape)
    classes = out[-1] if out else 0
    if (
        out[:-1] == tgt
        and classes >= 2
        and (not target.is_floating_point() or bool((target == target.round()).all()))
    ):
        return "multiclass"
    one_score = (out == tgt and len(out) == 1) or out == (*tgt, 1)
    if out == tgt or one_score:
        if target.is_floating_point() and not _is_01(target):
            return "regression"
        if not _is_01(target):
            raise ValueError(f"{_shapes(output, target)}: a target of this shape must be 0/1")
        return "binary" if one_score or (len(out) >= 2 and classes == 1) else "multilabel"
    raise ValueError(
        f"cannot tell the task from {_shapes(output, target)}: expected [..., C] with "
        "[...] class indices, [N] or [N, 1] with a 0/1 target, [N, C] with a 0/1 target "
        "of the same shape, or a floating target shaped like the output (or pass task=)"
    )


@dataclass(frozen=True)
class Prepared:
    """One batch in the form the task's accumulator takes, still on its device."""

    probs: (
        torch.Tensor
    )  # [n, C] float32: class probabilities (binary: [1-p, p]); regression: predictions
    target: (
        torch.Tensor
    )  # [n] long (multiclass, binary), [n, C] bool (multilabel), [n, D] (regression)
    scores: torch.Tensor  # [n, K] float32 the curves rank by: probabilities, or logits for sigmoids


def prepare(
    task: str,
    output: torch.Tensor,
    target: torch.Tensor,
    *,
    probabilities: bool = False,
    ignore_index: int | None = -100,
) -> Prepared:
    """Flatten one batch to rows and turn scores into probabilities for ``task``."""
    output = output.detach()
    target = target.detach().to(output.device)
    if task == "multiclass":
        return _multiclass(output, target, probabilities, ignore_index)
    if task == "binary":
        logit = output.reshape(-1, 1).float()
        p = logit if probabilities else torch.sigmoid(logit)
        truth = target.reshape(-1)
        _check_01(truth, output, target)
        return Prepared(torch.cat([1 - p, p], dim=1), truth.long(), logit)
    if task == "multilabel":
        scores = output.reshape(-1, output.shape[-1]).float()
        truth = target.reshape(scores.shape)
        _check_01(truth, output, target)
        p = scores if probabilities else torch.sigmoid(scores)
        return Prepared(p, truth.bool(), scores)
    if task == "regression":
        width = output.shape[-1] if output.dim() >= 2 else 1
        pred = output.reshape(-1, width)
        return Prepared(pred, target.reshape(pred.shape), pred)
    raise ValueError(f"task must be 'auto' or one of {', '.join(TASKS)}, not {task!r}")


def _multiclass(
    output: torch.Tensor, target: torch.Tensor, probabilities: bool, ignore_index: int | None
) -> Prepared:
    classes = output.shape[-1]
    if output.shape[:-1] != target.shape:
        raise ValueError(
            f"{_shapes(output, target)}: expected a target of shape [...] for [..., C]"
        )
    scores = output.reshape(-1, classes)
    truth = target.reshape(-1).long()
    if ignore_index is not None:
        keep = truth != ignore_index
        scores, truth = scores[keep], truth[keep]
    bad = (truth < 0) | (truth >= classes)
    if bool(bad.any()):
        value = int(truth[bad][0])
        raise ValueError(f"target class {value} is outside the output's {classes} classes")
    probs = scores.float() if probabilities else torch.softmax(scores.float(), dim=-1)
    return Prepared(probs, truth, probs)


def _check_01(truth: torch.Tensor, output: torch.Tensor, target: torch.Tensor) -> None:
    if not _is_01(truth):
        raise ValueError(
            f"{_shapes(output, target)}: the target holds values other than 0 and 1 "
            "(pass task='regression' for a numeric target)"
        )
