"""Charge the time and memory of one profiled step to the modules that spent it.

Pure functions over ``capture.profile_trace`` records, so hand-made traces test them.

- Forward: a module's inclusive time is its range; its self time is that minus its direct
  child modules' ranges. Every record's self time (its duration less its children's) goes
  to its innermost module, so a module's op breakdown adds up to its self time.
- Backward: each autograd node (``evaluate_function: XBackward0``) is charged to the module
  whose forward created it, found from its sequence number and the counter values the
  module hooks noted; ``AccumulateGrad`` (no sequence number) runs right after the node
  that produced its gradient and goes with it.
- On an accelerator the same walk sums the kernel time each op launched instead of host
  time, and the step is the device's wall time.
- Memory: the running total of allocations; a module's peak is the highest level during
  its forward over the level at its start, and what it retains is the level at its end
  over that at its start (the activations it leaves for backward, and its output).

Module index -1 stands for "not inside any module".
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

from torchscope.capture.profile_trace import (
    BACKWARD_PREFIX,
    MODULE_PREFIX,
    NO_SEQ,
    STEP_RANGE,
    MemRecord,
    OpRecord,
    StepTrace,
)

__all__ = ["OUTSIDE", "SeqOwners", "StepTimes", "attribute_step"]

OUTSIDE = -1
FORWARD, BACKWARD = "forward", "backward"
BETWEEN_OPS = "(between ops)"  # a module range's own time: Python between its ops


class SeqOwners:
    """Which module's forward created the autograd node with a given sequence number."""

    def __init__(self, boundaries: list[tuple[int, int]]) -> None:
        owner_at: dict[int, int] = {}
        stack: list[int] = []
        for counter, index in boundaries:
            if index >= 0:
                stack.append(index)
            elif stack and stack[-1] == -index - 1:
                stack.pop()
            elif -index - 1 in stack:  # a module that raised left entries above it
                del stack[stack.index(-index - 1) :]
            owner_at[counter] = stack[-1] if stack else OUTSIDE
        self._starts = sorted(owner_at)
        self._owners = [owner_at[s] for s in self._starts]

    def owner(self, seq: int) -> int:
        if seq == NO_SEQ:
            return OUTSIDE
        i = bisect.bisect_right(self._starts, seq) - 1
        return self._owners[i] if i >= 0 else OUTSIDE


@dataclass
class StepTimes:
    """One step's figures by module index (ns and bytes); ``ops`` by (module, phase, name)."""

    step_ns: int
    forward_ns: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    self_forward_ns: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    backward_ns: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    calls: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    ops: dict[tuple[int, str, str], int] = field(default_factory=lambda: defaultdict(int))
    op_calls: dict[tuple[int, str, str], int] = field(default_factory=lambda: defaultdict(int))
    op_totals: dict[str, list[int]] = field(default_factory=dict)  # name → [self, total, calls]
    peak_bytes: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    retained_bytes: dict[int, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class _Node:
    """A record placed in its thread's nesting, with what it inherits from its ancestors."""

    record: OpRecord
    module: int  # innermost enclosing module range (this one, if it is a range)
    module_range: _Node | None  # the nearest enclosing module-range node, itself excluded
    bw_owner: int | None  # the module of the enclosing backward node; None in forward
    children_ns: int = 0
    children_device_ns: int = 0
    device_ns: int = 0  # kernels launched by this record and everything inside it


def attribute_step(trace: StepTrace, seq_owners: SeqOwners | None = None) -> StepTimes:
    """Split one step's time, op by op, among modules (see the module docstring)."""
    owners = seq_owners or SeqOwners(trace.boundaries)
    on_device = trace.device_step_ns > 0
    step = next((r for r in trace.ops if r.name == STEP_RANGE), None)
    wall = step.duration_ns if step is not None else trace.wall_ns
    times = StepTimes(step_ns=trace.device_step_ns if on_device else wall)
    nodes: list[_Node] = []
    by_thread: dict[int, list[OpRecord]] = defaultdict(list)
    for record in trace.ops:
        by_thread[record.thread].append(record)
    for records in by_thread.values():
        nodes.extend(_nest(records, owners))
    for node in nodes:
        _charge(node, times, on_device)
    _memory(trace.memory, nodes, times)
    return times


def _module_index(name: str) -> int | None:
    if name.startswith(MODULE_PREFIX):
        tail = name[len(MODULE_PREFIX) :]
        return int(tail) if tail.isdigit() else None
    return None


def _nest(records: list[OpRecord], owners: SeqOwners) -> list[_Node]:
    """Nodes of one thread's records (sorted by start), each knowing its ancestors."""
    stack: list[_Node] = []
    nodes: list[_Node] = []
    last_backward = OUTSIDE
    for record in sorted(records, key=lambda r: (r.start_ns, -r.end_ns)):
        while stack and stack[-1].record.end_ns <= record.start_ns:
            _close(stack.pop(), stack)
        parent = stack[-1] if stack else None
        index = _module_index(record.name)
        module = index if index is not None else (parent.module if parent else OUTSIDE)
        enclosing = None
        if parent is not None:
            enclosing = parent if _module_index(parent.record.name) is not None else None
            enclosing = enclosing or parent.module_range
        bw_owner = parent.bw_owner if parent else None
        if bw_owner is None and record.name.startswith(BACKWARD_PREFIX):
            owner = owners.owner(record.seq) if record.seq != NO_SEQ else last_backward
            bw_owner = last_backward = owner
        node = _Node(record, module, enclosing, bw_owner, device_ns=record.device_ns)
        nodes.append(node)
        stack.append(node)
    while stack:
        _close(stack.pop(), stack)
    return nodes


def _close(node: _Node, stack: list[_Node]) -> None:
    if stack:
        stack[-1].children_ns += node.record.duration_ns
        stack[-1].device_ns += node.device_ns


def _charge(node: _Node, times: StepTimes, on_device: bool) -> None:
    record = node.record
    if record.name == STEP_RANGE:
        return
    index = _module_index(record.name)
    own = record.device_ns if on_device else record.duration_ns - node.children_ns
    if index is not None:  # a module's forward range
        total = node.device_ns if on_device else record.duration_ns
        times.forward_ns[index] += total
        times.self_forward_ns[index] += total
        times.calls[index] += 1
        if node.module_range is not None:
            times.self_forward_ns[node.module_range.module] -= total
        name = BETWEEN_OPS
    else:
        name = record.name
        totals = times.op_totals.setdefault(name, [0, 0, 0])
        totals[0] += own
        totals[1] += node.device_ns if on_device else record.duration_ns
        totals[2] += 1
    if node.bw_owner is not None:
        module, phase = node.bw_owner, BACKWARD
        times.backward_ns[module] += own
    else:
        module, phase = node.module, FORWARD
    times.ops[(module, phase, name)] += own
    times.op_calls[(module, phase, name)] += 1


def _memory(memory: list[MemRecord], nodes: list[_Node], times: StepTimes) -> None:
    """Peak and retained bytes of each module range (several calls: max peak, summed kept)."""
    if not memory:
        return
    stamps = [m.time_ns for m in memory]
    levels: list[int] = []
    level = 0
    for m in memory:
        level += m.nbytes
        levels.append(level)
    highest = _RangeMax(levels)
    for node in nodes:
        index = _module_index(node.record.name)
        if index is None:
            continue
        lo = bisect.bisect_left(stamps, node.record.start_ns)
        hi = bisect.bisect_right(stamps, node.record.end_ns)
        start = levels[lo - 1] if lo > 0 else 0
        end = levels[hi - 1] if hi > 0 else 0
        peak = max(highest.query(lo, hi), start) - start
        times.peak_bytes[index] = max(times.peak_bytes[index], peak)
        times.retained_bytes[index] += end - start


class _RangeMax:
    """Maximum of ``values[lo:hi]`` in constant time (a sparse table: n log n to build)."""

    def __init__(self, values: list[int]) -> None:
        self.table = [values]
        width = 1
        while 2 * width <= len(values):
            row = self.table[-1]
            self.table.append([max(row[i], row[i + width]) for i in range(len(row) - width)])
            width *= 2

    def query(self, lo: int, hi: int) -> int:
        if hi <= lo:
            return -(2**63)
        k = (hi - lo).bit_length() - 1
        row = self.table[k]
        return max(row[lo], row[hi - (1 << k)])
