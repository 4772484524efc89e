"""Leave a model as it was after running it: buffers (values and bindings) and the RNG.

A forward in train mode updates buffers in place — BatchNorm's ``running_mean``,
``running_var`` and ``num_batches_tracked``, spectral norm's ``u``/``v``, caches — and may
rebind them (``self.buf = new``); dropout and random inputs draw from the global RNG.
Analysing a model must change none of that, so every pass that runs a user's forward
(``trace``, the profile's steps) runs inside ``untouched``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["untouched"]


@contextlib.contextmanager
def untouched(model: nn.Module) -> Iterator[None]:
    """Run the body with the RNG forked, then put back every buffer of ``model`` bitwise.

    Example:
        >>> import torch
        >>> bn = torch.nn.BatchNorm1d(3)
        >>> with untouched(bn):
        ...     _ = bn(torch.randn(4, 3))
        >>> int(bn.num_batches_tracked), float(bn.running_mean.abs().sum())
        (0, 0.0)
    """
    bindings = [(module, dict(module._buffers)) for module in model.modules()]
    saved = _snapshot(model)
    try:
        with torch.random.fork_rng(devices=_cuda_devices(model)):
            yield
    finally:
        _rebind(bindings)
        _restore(saved)


def _cuda_devices(model: nn.Module) -> list[int]:
    """The CUDA devices whose RNG the body may draw from: the model's and the current one."""
    if not torch.cuda.is_initialized():
        return []
    tensors = [*model.parameters(), *model.buffers()]
    used = {t.device.index or 0 for t in tensors if t.device.type == "cuda"}
    return sorted(used | {torch.cuda.current_device()})


def _snapshot(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(buffer, a copy) for every real buffer (meta ones hold no values)."""
    return [(b, b.detach().clone()) for b in model.buffers() if b.device.type != "meta"]


def _restore(saved: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    # Always copied back: the version counter cannot tell what changed, as batch_norm's
    # in-place update of its running statistics does not bump it.
    for buffer, copy in saved:
        # an inference tensor (made under inference_mode) is writable only there
        with torch.inference_mode() if buffer.is_inference() else torch.no_grad():
            buffer.copy_(copy)


def _rebind(bindings: list[tuple[nn.Module, dict[str, torch.Tensor | None]]]) -> None:
    """Put back the buffer objects a forward replaced (``self.buf = new``) or added."""
    for module, was in bindings:
        now = module._buffers
        if len(now) != len(was) or any(k not in now or now[k] is not v for k, v in was.items()):
            now.clear()
            now.update(was)
