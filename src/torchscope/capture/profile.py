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
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from torchscope.capture.flops import aten_macs
from torchscope.capture.nested import tensors_in
from torchscope.capture.placement import Placement, move_inputs
from torchscope.capture.profile_kineto import normal_seq, split_steps, trace_records
from torchscope.capture.profile_trace import (
    MODULE_PREFIX,
    STEP_RANGE,
    Measurement,
    StepTrace,
)
from torchscope.capture.structure import unique_tensors
from torchscope.capture.trace import _as_dtype, _model_device, random_inputs
from torchscope.model.dtypes import dtype_name

__all__ = ["is_compiled", "measure", "placed_inputs"]

Call = Callable[[], Any]


def is_compiled(module: nn.Module) -> bool:
    """True for a ``torch.compile`` wrapper or a module compiled in place (``.compile()``)."""
    wrapper = type(module).__module__ == "torch._dynamo.eval_frame"
    return wrapper or getattr(module, "_compiled_call_impl", None) is not None


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
    step = _step(model, placement, args, kwargs, backward)
    modules = list(model.named_modules())
    cuda = device.type == "cuda"
    result = Measurement(
        modules=[path for path, _ in modules],
        steps=[],
        baseline_ns=[],
        device=str(device),
        device_name=torch.cuda.get_device_name(device) if cuda else "",
        dtype=_run_dtype(model, dtype),
        backward=backward,
        tf32=cuda and torch.backends.cuda.matmul.allow_tf32,
    )
    with _preserved(model, placement):
        for _ in range(max(warmup, 1)):
            result.baseline_ns.append(_timed(step, cuda)[0])
        hooks = _ModuleHooks(modules)
        result.compiled = hooks.compiled
        with hooks.installed():
            if backward:
                result.backward_macs_by_seq = _count_backward_macs(step, hooks)
                result.count_boundaries = hooks.boundaries
            result.steps = _profiled_steps(step, hooks, repeat, str(device), cuda)
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
) -> Call:
    """One training step without the optimizer: forward, then backward from the loss."""

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
        for p in _grad_holders(model, placement):
            p.grad = None

    return run


def _grad_holders(model: nn.Module, placement: Placement) -> list[torch.Tensor]:
    if placement.substitutes:
        return [t for t in placement.substitutes.values() if t.requires_grad]
    return [p for p in model.parameters() if p.requires_grad]


@contextlib.contextmanager
def _preserved(model: nn.Module, placement: Placement) -> Iterator[None]:
    """Gradients, buffers and RNG as they were, whatever the steps did."""
    grads = [(p, p.grad) for p in model.parameters()]
    buffers = [(b, b.detach().clone()) for b in model.buffers() if b.device.type != "meta"]
    devices = [torch.cuda.current_device()] if torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=devices), torch.enable_grad():
            yield
    finally:
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
        for p, grad in grads:
            p.grad = grad


def _timed(step: Call, cuda: bool) -> tuple[int, int]:
    """Host wall time of one step, and its device time from CUDA events (0 on the CPU)."""
    if not cuda:
        start = time.perf_counter_ns()
        step()
        return time.perf_counter_ns() - start, 0
    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start = time.perf_counter_ns()
    begin.record()
    step()
    end.record()
    torch.cuda.synchronize()
    return time.perf_counter_ns() - start, int(begin.elapsed_time(end) * 1e6)


class _ModuleHooks:
    """A profiler range around each module's forward, and the sequence counter at its ends.

    A compiled module (``torch.compile``) is one range: hooks inside it would be traced into
    the compiled graph, so its submodules get none and its time is the compiled region's.
    """

    def __init__(self, modules: list[tuple[str, nn.Module]]) -> None:
        self.modules = modules
        self.boundaries: list[tuple[int, int]] = []
        self.compiled: dict[int, str] = {}
        self.ranges = False
        self._open: list[Any] = []

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        handles = []
        skip: tuple[str, ...] = ()
        for index, (path, module) in enumerate(self.modules):
            if skip and any(path.startswith(s) for s in skip):
                continue
            if is_compiled(module):
                self.compiled[index] = type(getattr(module, "_orig_mod", module)).__name__
                skip += (f"{path}." if path else "",)
            handles.append(module.register_forward_pre_hook(self._pre(index)))
            handles.append(module.register_forward_hook(self._post(index), always_call=True))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def _pre(self, index: int) -> Callable[..., None]:
        name = f"{MODULE_PREFIX}{index}"
        enter = torch.ops.profiler._record_function_enter_new
        counter = torch._C._autograd._get_sequence_nr

        def pre(module: nn.Module, args: Any) -> None:
            self.boundaries.append((counter(), index))
            if self.ranges:
                self._open.append(enter(name, None))

        return pre

    def _post(self, index: int) -> Callable[..., None]:
        leave = torch.ops.profiler._record_function_exit._RecordFunction
        counter = torch._C._autograd._get_sequence_nr

        def post(module: nn.Module, args: Any, output: Any) -> None:
            if self.ranges and self._open:
                leave(self._open.pop())
            self.boundaries.append((counter(), -index - 1))

        return post


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


def _count_backward_macs(step: Call, hooks: _ModuleHooks) -> dict[int, int]:
    """One untimed step with the MAC counter on (it sees only nodes run by autograd)."""
    hooks.boundaries = []
    counter = _BackwardMacs()
    with counter:
        step()
    return dict(counter.by_seq)


def _profiled_steps(
    step: Call, hooks: _ModuleHooks, repeat: int, device: str, cuda: bool
) -> list[StepTrace]:
    from torch.profiler import ProfilerActivity, profile, record_function

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    walls: list[tuple[int, int]] = []
    boundaries: list[list[tuple[int, int]]] = []
    hooks.ranges = True
    try:
        with profile(activities=activities, profile_memory=True) as prof:
            for _ in range(max(repeat, 1)):
                hooks.boundaries = []

                def marked() -> None:
                    with record_function(STEP_RANGE):
                        step()

                walls.append(_timed(marked, cuda))
                boundaries.append(hooks.boundaries)
    finally:
        hooks.ranges = False
    ops, memory = trace_records(prof.profiler.kineto_results.events(), device)
    steps = split_steps(ops, memory)
    return [
        StepTrace(ops=o, memory=m, boundaries=b, wall_ns=w, device_step_ns=d)
        for (o, m), b, (w, d) in zip(steps, boundaries, walls)
    ]
