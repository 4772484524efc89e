"""Measure real training steps of a model: time, memory and backward MACs per module.

``measure`` runs ``warmup`` plain steps (timed: the unprofiled baseline), one untimed step
that counts the MACs each autograd node runs in backward, then ``repeat`` steps under
``torch.profiler`` with a range around each module's forward. Module hooks also note the
autograd sequence counter as each forward starts and ends, so every backward node (the
profiler names it with the sequence number of the forward op that made it) is charged to
the module that created it. On CUDA, CUDA events time each step on the device.

Nothing about the model changes: gradients, buffers (BatchNorm statistics) and the RNG
state are put back afterwards, hooks removed; with ``device``/``dtype`` the steps run on
copies of the weights (gradients land on the copies).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from torchscope.capture.flops import aten_macs
from torchscope.capture.nested import tensors_in
from torchscope.capture.placement import Placement, move_inputs
from torchscope.capture.profile_kineto import normal_seq
from torchscope.capture.profile_live import StepProfiler, is_compiled, timed
from torchscope.capture.profile_trace import Measurement, StepTrace
from torchscope.capture.structure import unique_tensors
from torchscope.capture.trace import _as_dtype, _model_device, random_inputs
from torchscope.capture.untouched import untouched
from torchscope.model.dtypes import dtype_name

__all__ = ["is_compiled", "measure", "placed_inputs", "preserved"]

Call = Callable[[], Any]


def placed_inputs(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    input_size: Any,
    device: str | torch.device | None,
    dtype: str | torch.dtype | None,
) -> tuple[torch.device, torch.dtype | None, tuple[Any, ...], dict[str, Any]]:
    """The run device and dtype, and the inputs made (``input_size``) or moved there."""
    target = torch.device(device) if device is not None else None
    run_device = target or _model_device(model)
    if run_device.type == "meta":
        raise ValueError("profiling measures real work: use device='cpu' or 'cuda', not meta")
    cast = _as_dtype(dtype)
    if input_size is not None:
        if args:
            raise ValueError("give either positional inputs or input_size, not both")
        args = tuple(random_inputs(input_size, run_device, cast))
    return run_device, cast, move_inputs(args, target, cast), move_inputs(kwargs, target, cast)


def measure(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    device: torch.device,
    dtype: torch.dtype | None,
    backward: bool,
    warmup: int,
    repeat: int,
) -> Measurement:
    """Run and profile training steps of ``model`` on ``args``/``kwargs`` (already placed)."""
    canonical = unique_tensors(model)[1]
    placement = Placement(model, canonical, device, dtype)
    step, clear = _step(model, placement, args, kwargs, backward)
    cuda = device.type == "cuda"
    live = StepProfiler(model, str(device))
    result = Measurement(
        modules=[path for path, _ in live.hooks.modules],
        steps=[],
        baseline_ns=[],
        device=str(device),
        device_name=torch.cuda.get_device_name(device) if cuda else "",
        dtype=_run_dtype(model, dtype),
        backward=backward,
        tf32=cuda and torch.backends.cuda.matmul.allow_tf32,
    )
    with preserved(model):
        for _ in range(max(warmup, 1)):
            result.baseline_ns.append(timed(step, cuda)[0])
            clear()
        with live.installed():
            result.compiled = live.hooks.compiled
            if backward:
                live.hooks.boundaries = []
                result.backward_macs_by_seq = _count_backward_macs(step)
                result.count_boundaries = live.hooks.boundaries
                result.backward_counted = True
                clear()
            result.steps = _profiled_steps(step, clear, live, repeat)
    return result


def _run_dtype(model: nn.Module, dtype: torch.dtype | None) -> str:
    if dtype is not None:
        return dtype_name(dtype)
    first = next((p for p in model.parameters() if p.is_floating_point()), None)
    return dtype_name(first.dtype) if first is not None else "float32"


def _step(
    model: nn.Module,
    placement: Placement,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    backward: bool,
) -> tuple[Call, Call]:
    """One training step without the optimizer (forward, then backward from the loss), and
    what clears its gradients for the next."""

    def run() -> None:
        out = placement.call(model, args, kwargs)
        if backward:
            roots = [t for t in tensors_in(out) if t.is_floating_point() and t.requires_grad]
            if not roots:
                raise ValueError("backward=True, but no output of the model requires grad")
            if roots[0].dim() == 0:  # a loss (HF models given labels): a real training step
                roots[0].backward()
            else:  # otherwise a gradient of ones on every output that has one
                torch.autograd.backward(roots, [torch.ones_like(t) for t in roots])
        del out

    holders = _grad_holders(model, placement)

    def clear() -> None:
        for p in holders:
            p.grad = None

    return run, clear


def _grad_holders(model: nn.Module, placement: Placement) -> list[torch.Tensor]:
    if placement.substitutes:
        return [t for t in placement.substitutes.values() if t.requires_grad]
    return [p for p in model.parameters() if p.requires_grad]


@contextlib.contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Gradients, buffers (BatchNorm statistics) and RNG as they were, whatever ran inside."""
    grads = [(p, p.grad) for p in model.parameters()]
    for p, _ in grads:  # else the steps' backward would add into the caller's gradients
        p.grad = None
    try:
        with untouched(model), torch.enable_grad():
            yield
    finally:
        for p, grad in grads:
            p.grad = grad


class _BackwardMacs(TorchDispatchMode):
    """MACs of every aten op run in backward, by the sequence number of the running node."""

    def __init__(self) -> None:
        super().__init__()
        self.by_seq: dict[int, int] = defaultdict(int)

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        node = torch._C._current_autograd_node()
        if node is not None:
            macs = aten_macs(func, args, kwargs, out)
            if macs:
                self.by_seq[normal_seq(node._sequence_nr())] += macs
        return out


def _count_backward_macs(step: Call) -> dict[int, int]:
    """One untimed step with the MAC counter on (it sees only nodes run by autograd)."""
    counter = _BackwardMacs()
    with counter:
        step()
    return dict(counter.by_seq)


def _profiled_steps(step: Call, clear: Call, live: StepProfiler, repeat: int) -> list[StepTrace]:
    with live.recording():
        for _ in range(max(repeat, 1)):
            live.begin_step()
            step()
            live.end_step()
            clear()
    return live.traces
