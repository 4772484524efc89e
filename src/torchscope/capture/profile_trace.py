"""Plain records of profiled training steps: what ``capture/profile.py`` hands to analysis.

The profiler's own events are turned into these small records (no torch objects), so the
attribution of time to modules (``analysis/profile_attribution.py``) is a pure function
that tests can feed with hand-made traces, GPU kernels included.

Names the measurement gives its own ranges: a module's forward is ``torchscope::m<i>``
(``i`` indexes ``StepTrace.modules``); a whole step is ``torchscope::step``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BACKWARD_PREFIX",
    "MODULE_PREFIX",
    "NO_SEQ",
    "STEP_RANGE",
    "Measurement",
    "MemRecord",
    "OpRecord",
    "StepTrace",
]

MODULE_PREFIX = "torchscope::m"
STEP_RANGE = "torchscope::step"
BACKWARD_PREFIX = "autograd::engine::evaluate_function: "
NO_SEQ = -1  # an op that created no autograd node (or a node with no sequence number)


@dataclass(frozen=True)
class OpRecord:
    """One CPU-side range: an op, an autograd node's backward, or one of our markers.

    ``seq`` is the autograd sequence number (forward ops share it with the backward node
    they create); ``device_ns`` the accelerator time of the kernels this op launched itself.
    """

    name: str
    start_ns: int
    end_ns: int
    thread: int
    seq: int = NO_SEQ
    device_ns: int = 0

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass(frozen=True)
class MemRecord:
    """One allocation (``nbytes`` > 0) or free (< 0) on the profiled device."""

    time_ns: int
    nbytes: int


@dataclass
class StepTrace:
    """One profiled step: its ranges, memory events and autograd sequence boundaries.

    ``boundaries`` are ``(sequence number, module index)`` pairs written by the module
    hooks: the module whose forward starts (index ``i``) or ends (``-i - 1``) when the
    autograd counter stands at that number, so each backward node finds its module.
    ``device_step_ns`` is the step's accelerator wall time (CUDA events), 0 on the CPU.
    """

    ops: list[OpRecord]
    memory: list[MemRecord]
    boundaries: list[tuple[int, int]]
    wall_ns: int
    device_step_ns: int = 0


@dataclass
class Measurement:
    """Everything one ``profile`` run measured, before analysis.

    ``backward_macs_by_seq`` maps autograd sequence numbers to the MACs their nodes ran (in
    one extra, untimed step: ``count_boundaries`` of that step resolve its sequence
    numbers); ``baseline_ns`` are unprofiled step times (the warm-up).
    """

    modules: list[str]
    steps: list[StepTrace]
    baseline_ns: list[int]
    device: str
    device_name: str = ""
    dtype: str = "float32"
    backward: bool = True
    compiled: dict[int, str] = field(default_factory=dict)
    backward_macs_by_seq: dict[int, int] = field(default_factory=dict)
    count_boundaries: list[tuple[int, int]] = field(default_factory=list)
    backward_counted: bool = False  # the counting step ran (the Monitor's one step does not)
    tf32: bool = False
