"""torch.profiler's raw events → the plain records of ``profile_trace``.

The profiler's own ``key_averages()`` builds a Python object per event (seconds for a
GPT-2 step); reading the raw kineto events is about a hundred times faster and keeps what
attribution needs: ranges with their thread and autograd sequence number, kernel time
linked to the CPU op that launched it (as torch links them: a device event's
``linked_correlation_id`` is the launching op's ``correlation_id``), and memory events.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from torchscope.capture.profile_trace import NO_SEQ, STEP_RANGE, MemRecord, OpRecord

__all__ = ["normal_seq", "split_steps", "trace_records"]

_MEMORY = "[memory]"
_SEQ_LIMIT = 2**63  # AccumulateGrad nodes carry UINT64_MAX: no sequence number


def normal_seq(seq: int) -> int:
    """An autograd sequence number, or NO_SEQ for "none" (negative or UINT64_MAX)."""
    return seq if 0 <= seq < _SEQ_LIMIT else NO_SEQ


def trace_records(events: Any, memory_device: str) -> tuple[list[OpRecord], list[MemRecord]]:
    """CPU ranges (with their kernels' device time) and ``memory_device``'s memory events."""
    from torch.autograd import DeviceType

    wanted = DeviceType.CUDA if memory_device.startswith("cuda") else DeviceType.CPU
    device_ns: dict[int, int] = defaultdict(int)
    cpu: list[Any] = []
    memory: list[MemRecord] = []
    for e in events:
        kind = e.device_type()
        if e.name() == _MEMORY:
            if kind == wanted:
                memory.append(MemRecord(e.start_ns(), e.nbytes()))
        elif kind == DeviceType.CPU:
            if not e.is_async():
                cpu.append(e)
        elif e.linked_correlation_id() > 0:
            device_ns[e.linked_correlation_id()] += e.duration_ns()
    ops = [
        OpRecord(
            name=e.name(),
            start_ns=e.start_ns(),
            end_ns=e.start_ns() + e.duration_ns(),
            thread=e.start_thread_id(),
            seq=normal_seq(e.sequence_nr()),
            device_ns=device_ns.get(e.correlation_id(), 0),
        )
        for e in cpu
    ]
    ops.sort(key=lambda r: (r.start_ns, -r.end_ns))
    memory.sort(key=lambda m: m.time_ns)
    return ops, memory


def split_steps(
    ops: list[OpRecord], memory: list[MemRecord]
) -> list[tuple[list[OpRecord], list[MemRecord]]]:
    """The records inside each ``torchscope::step`` range, any thread, in step order."""
    steps = [r for r in ops if r.name == STEP_RANGE]
    result = []
    for step in steps:
        inside = [r for r in ops if step.start_ns <= r.start_ns and r.end_ns <= step.end_ns]
        mem = [m for m in memory if step.start_ns <= m.time_ns <= step.end_ns]
        result.append((inside, mem))
    return result
