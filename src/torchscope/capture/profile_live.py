"""Profile steps that someone else runs: module ranges, torch.profiler, step markers.

``StepProfiler`` is shared by ``profile()`` (which runs its own steps) and the training
Monitor (``profile_at``: one real step of the user's loop, optimizer included). While it
records, every module's forward is a profiler range (``torchscope::m<i>``) and the module
hooks note the autograd sequence counter at its start and end; ``begin_step``/``end_step``
bracket a step (``torchscope::step``), timed on the host and, on CUDA, by CUDA events.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from torchscope.capture.profile_kineto import split_steps, trace_records
from torchscope.capture.profile_trace import MODULE_PREFIX, STEP_RANGE, StepTrace

__all__ = ["ModuleHooks", "StepProfiler", "is_compiled", "timed"]


def is_compiled(module: nn.Module) -> bool:
    """True for a ``torch.compile`` wrapper or a module compiled in place (``.compile()``)."""
    wrapper = type(module).__module__ == "torch._dynamo.eval_frame"
    return wrapper or getattr(module, "_compiled_call_impl", None) is not None


def timed(step: Callable[[], Any], cuda: bool) -> tuple[int, int]:
    """Host wall time of one step (ns), and its device time from CUDA events (0 on the CPU)."""
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


class ModuleHooks:
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


class StepProfiler:
    """torch.profiler (memory included) around steps marked with ``begin_step``/``end_step``.

    Example:
        >>> live = StepProfiler(torch.nn.Linear(4, 2), "cpu")
        >>> with live.installed(), live.recording():  # doctest: +SKIP
        ...     live.begin_step(); model(x).sum().backward(); live.end_step()
        >>> len(live.traces)  # doctest: +SKIP
        1
    """

    def __init__(self, model: nn.Module, device: str) -> None:
        self.hooks = ModuleHooks(list(model.named_modules()))
        self.device = device
        self.cuda = device.startswith("cuda")
        self.traces: list[StepTrace] = []
        self.profiler: Any = None  # torch's profile object of the last recording
        self._walls: list[tuple[int, int]] = []
        self._boundaries: list[list[tuple[int, int]]] = []
        self._step: Any = None
        self._started = 0
        self._events: tuple[Any, Any] | None = None

    def installed(self) -> contextlib.AbstractContextManager[None]:
        return self.hooks.installed()

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Profile while the block runs; the steps it marked are in ``traces`` afterwards."""
        from torch.profiler import ProfilerActivity, profile

        # kineto prints "USDT: profiler_start/stop" lines on stderr at every recording, in
        # the middle of our tables; only its top level is silent (its errors too, which the
        # profile object reports anyway). Read once, at its first start; a set value wins.
        os.environ.setdefault("KINETO_LOG_LEVEL", "6")
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.cuda else [])
        self.hooks.ranges = True
        try:
            with profile(activities=activities, profile_memory=True) as prof:
                yield
        finally:
            self.hooks.ranges = False
            self._step = None
        self.profiler = prof
        ops, memory = trace_records(prof.profiler.kineto_results.events(), self.device)
        self.traces = [
            StepTrace(ops=o, memory=m, boundaries=b, wall_ns=w, device_step_ns=d)
            for (o, m), b, (w, d) in zip(split_steps(ops, memory), self._boundaries, self._walls)
        ]

    def begin_step(self) -> None:
        self.hooks.boundaries = []
        if self.cuda:
            torch.cuda.synchronize()
            self._events = (
                torch.cuda.Event(enable_timing=True),
                torch.cuda.Event(enable_timing=True),
            )
            self._events[0].record()
        self._started = time.perf_counter_ns()
        self._step = torch.ops.profiler._record_function_enter_new(STEP_RANGE, None)

    @property
    def in_step(self) -> bool:
        return self._step is not None

    def end_step(self) -> None:
        if self._step is None:
            return
        torch.ops.profiler._record_function_exit._RecordFunction(self._step)
        self._step = None
        device_ns = 0
        if self._events is not None:
            self._events[1].record()
            torch.cuda.synchronize()
            device_ns = int(self._events[0].elapsed_time(self._events[1]) * 1e6)
        self._walls.append((time.perf_counter_ns() - self._started, device_ns))
        self._boundaries.append(self.hooks.boundaries)
