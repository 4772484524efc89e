"""Attribution of a step's time and memory to modules, on hand-made traces."""

from __future__ import annotations

from torchscope.analysis.profile_attribution import (
    BETWEEN_OPS,
    OUTSIDE,
    SeqOwners,
    attribute_step,
)
from torchscope.capture.profile_trace import (
    BACKWARD_PREFIX,
    MODULE_PREFIX,
    STEP_RANGE,
    MemRecord,
    OpRecord,
    StepTrace,
)

ACC = BACKWARD_PREFIX + "torch::autograd::AccumulateGrad"


def op(name: str, start: int, end: int, seq: int = -1, thread: int = 1, dev: int = 0) -> OpRecord:
    return OpRecord(name, start, end, thread, seq, dev)


def m(i: int) -> str:
    return f"{MODULE_PREFIX}{i}"


def two_linear_step() -> StepTrace:
    """root (0) calls fc1 (1) then fc2 (2); backward runs fc2's node, fc1's, their grads."""
    ops = [
        op(STEP_RANGE, 0, 1000),
        op(m(0), 10, 400),
        op(m(1), 20, 150),
        op("aten::addmm", 30, 130, seq=5),
        op(m(2), 200, 380),
        op("aten::addmm", 210, 370, seq=6),
        op("aten::ones_like", 410, 420),  # the gradient seed: outside every module
        op(BACKWARD_PREFIX + "AddmmBackward0", 500, 700, seq=6),
        op("aten::mm", 510, 690),
        op(ACC, 700, 720),  # right after fc2's node: fc2's weight gradient
        op(BACKWARD_PREFIX + "AddmmBackward0", 730, 900, seq=5),
        op("aten::mm", 740, 890),
        op(ACC, 900, 930),
    ]
    boundaries = [(5, 0), (5, 1), (6, -2), (6, 2), (7, -3), (7, -1)]
    return StepTrace(ops=ops, memory=[], boundaries=boundaries, wall_ns=1000)


def test_sequence_numbers_find_the_module_that_made_the_node() -> None:
    owners = SeqOwners([(5, 0), (5, 1), (6, -2), (6, 2), (7, -3), (7, -1)])
    assert [owners.owner(s) for s in (4, 5, 6, 7, 100, -1)] == [OUTSIDE, 1, 2, OUTSIDE, OUTSIDE,
                                                                  OUTSIDE]  # fmt: skip


def test_a_module_that_raised_does_not_keep_its_children_open() -> None:
    # module 1 raised inside its child 2: 2's end never came, 1's did
    owners = SeqOwners([(0, 0), (1, 1), (2, 2), (3, -2), (4, -1)])
    assert [owners.owner(s) for s in (0, 1, 2, 3, 4)] == [0, 1, 2, 0, OUTSIDE]


def test_forward_and_backward_times_by_module() -> None:
    t = attribute_step(two_linear_step())
    assert t.step_ns == 1000
    assert dict(t.forward_ns) == {0: 390, 1: 130, 2: 180}
    assert dict(t.self_forward_ns) == {0: 80, 1: 130, 2: 180}
    # fc2: its node (200) and the AccumulateGrad after it (20); fc1: 170 + 30
    assert dict(t.backward_ns) == {2: 220, 1: 200}
    assert t.calls == {0: 1, 1: 1, 2: 1}


def test_self_times_add_up_to_the_step_less_what_is_outside() -> None:
    t = attribute_step(two_linear_step())
    inside = sum(t.self_forward_ns.values()) + sum(t.backward_ns.values())
    # outside: before/after the root (10 + 600 - …), the seed op, gaps between nodes
    assert inside == 390 + 420
    assert t.ops[(OUTSIDE, "forward", "aten::ones_like")] == 10


def test_op_breakdown_adds_up_to_each_modules_self_time() -> None:
    t = attribute_step(two_linear_step())
    for module in (0, 1, 2):
        fwd = sum(v for (i, phase, _), v in t.ops.items() if i == module and phase == "forward")
        bwd = sum(v for (i, phase, _), v in t.ops.items() if i == module and phase == "backward")
        assert fwd == t.self_forward_ns[module]
        assert bwd == t.backward_ns.get(module, 0)
    assert t.ops[(1, "forward", "aten::addmm")] == 100
    assert t.ops[(1, "forward", BETWEEN_OPS)] == 30
    assert t.ops[(2, "backward", "aten::mm")] == 180
    assert t.op_totals["aten::mm"] == [330, 330, 2]
    assert t.op_totals["aten::addmm"] == [260, 260, 2]


def test_on_a_gpu_kernel_time_is_charged_and_the_step_is_the_device_time() -> None:
    ops = [
        op(STEP_RANGE, 0, 1000),
        op(m(0), 10, 400),
        op(m(1), 20, 150),
        op("aten::addmm", 30, 130, seq=5, dev=40),
        op(m(2), 200, 380),
        op("aten::addmm", 210, 370, seq=6, dev=70),
        op(BACKWARD_PREFIX + "AddmmBackward0", 500, 700, seq=6),
        op("aten::mm", 510, 690, dev=90),
    ]
    trace = StepTrace(ops, [], [(5, 0), (5, 1), (6, -2), (6, 2), (7, -3), (7, -1)], 1000, 500)
    t = attribute_step(trace)
    assert t.step_ns == 500
    assert dict(t.forward_ns) == {0: 110, 1: 40, 2: 70}
    assert dict(t.self_forward_ns) == {0: 0, 1: 40, 2: 70}
    assert dict(t.backward_ns) == {2: 90}


def test_backward_on_another_thread_is_charged_by_sequence_number() -> None:
    ops = [
        op(STEP_RANGE, 0, 1000),
        op(m(0), 10, 100),
        op("aten::mul", 20, 90, seq=3),
        op(BACKWARD_PREFIX + "MulBackward0", 500, 600, seq=3, thread=2),
    ]
    t = attribute_step(StepTrace(ops, [], [(3, 0), (4, -1)], 1000))
    assert dict(t.backward_ns) == {0: 100}


def test_peak_and_retained_memory_of_each_module() -> None:
    ops = [op(STEP_RANGE, 0, 1000), op(m(0), 10, 400), op(m(1), 20, 150), op(m(2), 200, 380)]
    memory = [
        MemRecord(5, 100),  # before the root: its baseline
        MemRecord(30, 960),  # fc1's output
        MemRecord(40, 4000),  # fc1's workspace…
        MemRecord(50, -4000),  # …freed
        MemRecord(210, 320),  # fc2's output
        MemRecord(390, -960),  # fc1's output freed by the root
    ]
    t = attribute_step(StepTrace(ops, memory, [], 1000))
    assert dict(t.peak_bytes) == {0: 4960, 1: 4960, 2: 320}
    assert dict(t.retained_bytes) == {0: 320, 1: 960, 2: 320}


def test_range_maximum_matches_a_scan() -> None:
    import random

    from torchscope.analysis.profile_attribution import _RangeMax

    rng = random.Random(0)
    values = [rng.randint(-50, 50) for _ in range(37)]
    table = _RangeMax(values)
    for lo in range(len(values)):
        for hi in range(lo + 1, len(values) + 1):
            assert table.query(lo, hi) == max(values[lo:hi])
