"""How much each parameter tensor and layer matters: weight magnitude, and first-order
Taylor saliency |w · ∂L/∂w| on a batch (Molchanov et al., 2017/2019).

A score summed over a layer grows with its size (an embedding of 50k rows outranks any
attention block by Σ|w| alone), so every row also has its score per value (mean |w|,
mean |w · ∂L/∂w|), which compares layers of different sizes.

Taylor saliency runs one forward and backward pass through ``torch.autograd.grad``: the
model's ``.grad`` fields, train/eval mode and RNG state are left as they were.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from torchscope.analysis.param_stats import TensorStats

__all__ = ["Importance", "ImportanceRow", "magnitude_importance", "taylor_importance"]


@dataclass(frozen=True)
class ImportanceRow:
    """One tensor or layer: its ``score``, its ``share`` of the total, and score per value
    (``per_value``: ``score / numel``, e.g. mean |w|)."""

    name: str
    score: float
    share: float
    numel: int

    @property
    def per_value(self) -> float:
        return self.score / self.numel if self.numel else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "per_value": self.per_value}


@dataclass
class Importance:
    """Scores ranked from most to least important, per tensor and per layer (module).

    ``method`` is ``magnitude`` (score Σ|w|) or ``taylor`` (score Σ|w · ∂L/∂w|, with
    the batch's ``loss``).
    """

    method: str
    tensors: list[ImportanceRow]
    layers: list[ImportanceRow]
    loss: float | None = None

    def by_value(self) -> list[ImportanceRow]:
        """Layers ranked by score per value (mean |w| for magnitude), whatever their size.

        Example:
            >>> import torch
            >>> from torchscope.analysis.param_stats import describe_tensor
            >>> imp = magnitude_importance([describe_tensor("big.weight", torch.ones(100)),
            ...                             describe_tensor("small.weight", 3 * torch.ones(4))])
            >>> [r.name for r in imp.layers], [r.name for r in imp.by_value()]
            (['big', 'small'], ['small', 'big'])
        """
        return sorted(self.layers, key=lambda r: -r.per_value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "loss": self.loss,
            "tensors": [r.to_dict() for r in self.tensors],
            "layers": [r.to_dict() for r in self.layers],
        }


def _ranked(
    method: str, scores: Sequence[tuple[str, float, int]], loss: float | None = None
) -> Importance:
    share = _shares([s for _, s, _ in scores])
    tensors = [ImportanceRow(n, s, share(s), k) for n, s, k in scores]
    # a layer's share is the sum of its tensors' shares: its score alone may overflow to
    # inf (Σ|w| past float64's max) while every tensor's is finite
    by_layer: dict[str, tuple[float, float, int]] = {}
    for row in tensors:
        s, p, k = by_layer.get(row.name.rpartition(".")[0], (0.0, 0.0, 0))
        by_layer[row.name.rpartition(".")[0]] = (s + row.score, p + row.share, k + row.numel)
    layers = [ImportanceRow(n, s, p, k) for n, (s, p, k) in by_layer.items()]
    return Importance(
        method,
        sorted(tensors, key=lambda r: -r.score),
        sorted(layers, key=lambda r: -r.score),
        loss,
    )


def _shares(scores: Sequence[float]) -> Callable[[float], float]:
    """score → its share of the total. Infinite scores share the whole between them; finite
    ones are summed in units of the largest, so a total past float64's max (weights near
    its limits) still gives each its share."""
    infinite = sum(math.isinf(s) for s in scores)
    if infinite:
        return lambda s: 1.0 / infinite if math.isinf(s) else 0.0
    top = max((abs(s) for s in scores if math.isfinite(s)), default=0.0) or 1.0
    total = sum(s / top for s in scores if math.isfinite(s)) or 1.0
    return lambda s: s / top / total


def magnitude_importance(stats: Sequence[TensorStats]) -> Importance:
    """Σ|w| per tensor and per layer, from already computed statistics; ``per_value`` of each
    row (and ``Importance.by_value``) is mean |w|, which does not grow with size.

    Example:
        >>> import torch
        >>> from torchscope.analysis.param_stats import describe_tensor
        >>> imp = magnitude_importance([describe_tensor("a.weight", torch.ones(2, 2)),
        ...                             describe_tensor("b.weight", -torch.ones(2))])
        >>> [(r.name, r.score, round(r.share, 3)) for r in imp.layers]
        [('a', 4.0, 0.667), ('b', 2.0, 0.333)]
    """
    scores = [(s.name, s.mean_abs * s.finite_count, s.numel) for s in stats if s.finite_count]
    return _ranked("magnitude", scores)


LossFn = Callable[..., torch.Tensor]


def taylor_importance(model: nn.Module, batch: Any, loss_fn: LossFn | None = None) -> Importance:
    """First-order Taylor saliency Σ|w · ∂L/∂w| of every trainable tensor on one batch.

    The batch and loss function pair up in one of three ways:

    * ``(inputs, target)`` with ``loss_fn(output, target)``, e.g. ``F.cross_entropy``
      (``inputs`` may be a tuple of positional inputs);
    * a dict of keyword inputs, with ``loss_fn(output, batch)`` or, by default, the
      output's ``loss`` (transformers models given ``labels``);
    * a tensor, with ``loss_fn(output)``.

    Example:
        >>> import torch, torch.nn.functional as F
        >>> net = torch.nn.Linear(4, 3)
        >>> imp = taylor_importance(net, (torch.randn(8, 4), torch.randint(0, 3, (8,))),
        ...                         F.cross_entropy)
        >>> sorted(r.name for r in imp.tensors), imp.loss > 0
        (['bias', 'weight'], True)
    """
    from torchscope.capture.structure import unique_tensors
    from torchscope.capture.untouched import untouched

    infos, _ = unique_tensors(model)
    named = dict(model.named_parameters(remove_duplicate=False))
    params = [(i.name, named[i.name]) for i in infos if not i.is_buffer and i.trainable]
    if not params:
        raise ValueError("the model has no trainable parameters to score")
    # a forward in train mode moves BatchNorm statistics: untouched puts them back
    with untouched(model):
        loss = _loss(model, batch, loss_fn)
        grads = torch.autograd.grad(loss, [p for _, p in params], allow_unused=True)
    scores = []
    for (name, p), g in zip(params, grads):
        score = 0.0 if g is None else float((p.detach() * g).abs().sum(dtype=torch.float64))
        scores.append((name, score, p.numel()))
    return _ranked("taylor", scores, float(loss.detach()))


def _loss(model: nn.Module, batch: Any, loss_fn: LossFn | None) -> torch.Tensor:
    if isinstance(batch, Mapping):
        output = model(**batch)
        if loss_fn is not None:
            return _scalar(loss_fn(output, batch))
        loss = output.get("loss") if isinstance(output, Mapping) else getattr(output, "loss", None)
        if loss is None:
            raise ValueError("the output has no .loss: pass labels in the batch, or a loss_fn")
        return _scalar(loss)
    if loss_fn is None:
        raise ValueError("a loss_fn is needed unless the batch is a dict of inputs with labels")
    if isinstance(batch, tuple | list) and len(batch) == 2 and _arity(loss_fn) != 1:
        inputs, target = batch
        args = tuple(inputs) if isinstance(inputs, tuple | list) else (inputs,)
        return _scalar(loss_fn(model(*args), target))
    return _scalar(loss_fn(model(batch)))


def _arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.default is p.empty and p.kind in positional for p in params)


def _scalar(loss: Any) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"the loss must be a scalar tensor, got {type(loss).__name__}")
    return loss.reshape(())
