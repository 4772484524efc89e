"""``Profile``: where the time and memory of a training step go, module by module.

Built from a captured ModelGraph (MACs, tensor sizes, structure) and a ``Measurement``
(profiled steps): per module, medians over the repeated steps of forward and backward
time (inclusive and self), peak and retained memory, achieved FLOP/s, arithmetic
intensity and, with a known peak, MFU and the side of the roofline it sits on.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from torchscope._display import Displayable
from torchscope.analysis.color_scale import NamedValues
from torchscope.analysis.profile_attribution import attribute_step
from torchscope.analysis.profile_modules import (
    NS_PER_MS,
    ModuleProfile,
    OpTime,
    ProfileRow,
    attributed_ns,
    module_profiles,
    op_totals,
    rate,
    table_rows,
)
from torchscope.analysis.profile_peaks import PeakSpec, device_peak
from torchscope.analysis.profile_rollup import Stat
from torchscope.capture.profile_trace import Measurement
from torchscope.model.graph import ModelGraph

__all__ = ["ModuleProfile", "OpTime", "Profile", "ProfileRow", "build_profile"]


@dataclass
class Profile(Displayable):
    """A profiled training step: per-module table, op totals, and the measurement's cost."""

    model: str
    device: str
    device_name: str
    dtype: str
    backward: bool
    repeat: int
    step: Stat
    attributed_ms: float  # median over steps of the time inside modules
    modules: list[ModuleProfile]
    rows: list[ProfileRow]
    op_totals: list[OpTime]
    baseline_ms: float
    profiled_ms: float
    analysis_s: float = 0.0
    peak: PeakSpec | None = None
    step_macs: int = 0
    graph: ModelGraph | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"Profile({self.model!r} on {self.device}: step {self.step.median:.2f} ms, "
            f"{len(self.modules)} modules, {self.repeat} repeats)"
        )

    @property
    def total_ms(self) -> float:
        return self.step.median

    @property
    def outside_ms(self) -> float:
        """Step time not inside any module (loss outside the model, autograd's engine)."""
        return self.step.median - self.attributed_ms

    @property
    def overhead(self) -> float | None:
        """Profiled step over an unprofiled one: what measuring cost (None: not measured)."""
        return self.profiled_ms / self.baseline_ms if self.baseline_ms else None

    @property
    def achieved_flops(self) -> float | None:
        return rate(self.step_macs, self.step.median)

    @property
    def mfu(self) -> float | None:
        rate = self.achieved_flops
        return rate / self.peak.flops if rate is not None and self.peak else None

    def module(self, name: str) -> ModuleProfile:
        """The profile of the module with this qualified name."""
        return next(m for m in self.modules if m.name == name)

    def top(self, k: int = 10) -> list[ModuleProfile]:
        """The ``k`` modules with the most self time (forward + backward)."""
        ranked = sorted(self.modules, key=lambda m: m.self_ms, reverse=True)
        return [m for m in ranked[:k] if m.self_ms > 0]

    def time_by_module(self) -> NamedValues:
        """Module name → inclusive ms (forward + backward): ``draw(color_by=...)`` takes it,
        and its legend says ``time (ms)``."""
        return NamedValues({m.name: m.total_ms for m in self.modules}, "time (ms)")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (``--json``): totals, then ``modules``, ``rows``, ``top`` and ``ops``."""
        return {
            "model": self.model,
            "device": self.device,
            "device_name": self.device_name,
            "dtype": self.dtype,
            "backward": self.backward,
            "repeat": self.repeat,
            "total_ms": self.total_ms,
            "total_spread_ms": self.step.spread,
            "step_ms": asdict(self.step),
            "attributed_ms": self.attributed_ms,
            "outside_ms": self.outside_ms,
            "baseline_ms": self.baseline_ms,
            "profiled_ms": self.profiled_ms,
            "overhead": self.overhead,
            "analysis_s": self.analysis_s,
            "macs": self.step_macs,
            "achieved_flops": self.achieved_flops,
            "mfu": self.mfu,
            "peak": asdict(self.peak) if self.peak else None,
            "modules": [_module_dict(m) for m in self.modules],
            "rows": [_row_dict(r) for r in self.rows],
            "top": [m.name for m in self.top()],
            "ops": [asdict(o) for o in self.op_totals],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        """A Profile back from ``to_dict()`` (a run store's ``"profile"``), without its graph.

        Raises ValueError when ``d`` is not a profile's dict.
        """
        try:
            peak = d.get("peak")
            return cls(
                model=str(d["model"]), device=str(d["device"]),
                device_name=str(d["device_name"]), dtype=str(d["dtype"]),
                backward=bool(d["backward"]), repeat=int(d["repeat"]),
                step=Stat(**_fields(Stat, d["step_ms"])),
                attributed_ms=float(d["attributed_ms"]),
                modules=[_module_from(m) for m in d["modules"]],
                rows=[ProfileRow(**_fields(ProfileRow, r)) for r in d["rows"]],
                op_totals=[OpTime(**_fields(OpTime, o)) for o in d["ops"]],
                baseline_ms=float(d["baseline_ms"]), profiled_ms=float(d["profiled_ms"]),
                analysis_s=float(d["analysis_s"]),
                peak=PeakSpec(**_fields(PeakSpec, peak)) if peak else None,
                step_macs=int(d["macs"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a torchscope profile: {type(exc).__name__}: {exc}") from None


def _fields(cls: Any, d: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``d`` that are fields of the dataclass ``cls`` (derived keys dropped)."""
    names = set(cls.__dataclass_fields__)
    return {k: v for k, v in d.items() if k in names}


def _module_from(d: dict[str, Any]) -> ModuleProfile:
    fields = _fields(ModuleProfile, d)
    fields["ops"] = [OpTime(**_fields(OpTime, o)) for o in fields.get("ops", [])]
    return ModuleProfile(**fields)


def _module_dict(m: ModuleProfile) -> dict[str, Any]:
    d = asdict(m)
    d["total_ms"], d["self_ms"] = m.total_ms, m.self_ms
    return d


def _row_dict(r: ProfileRow) -> dict[str, Any]:
    d = asdict(r)
    d["repeat"], d["total_ms"] = r.repeat, r.total_ms
    return d


def build_profile(
    graph: ModelGraph, measured: Measurement, *, depth: int = 3, peak_tflops: float | None = None
) -> Profile:
    """Reduce the measured steps to medians per module and lay out the table."""
    steps = [attribute_step(s) for s in measured.steps]
    peak = device_peak(measured.device_name, measured.dtype, measured.tf32, peak_tflops)
    modules = module_profiles(graph, measured, steps, peak)
    by_name = {m.name: m for m in modules}
    step = Stat.of([t.step_ns / NS_PER_MS for t in steps])
    # per step, then the median: a stall lands in a different module each step
    attributed = statistics.median(attributed_ns(t) for t in steps) / NS_PER_MS if steps else 0.0
    baseline = measured.baseline_ns[1:] or measured.baseline_ns
    return Profile(
        model=graph.model_type,
        device=measured.device,
        device_name=measured.device_name,
        dtype=measured.dtype,
        backward=measured.backward,
        repeat=len(steps),
        step=step,
        attributed_ms=attributed,
        modules=modules,
        rows=table_rows(graph, by_name, depth, measured.compiled, measured.modules),
        op_totals=op_totals(steps),
        baseline_ms=statistics.median(baseline) / NS_PER_MS if baseline else 0.0,
        profiled_ms=statistics.median(s.wall_ns for s in measured.steps) / NS_PER_MS,
        peak=peak,
        step_macs=(modules[0].macs + modules[0].backward_macs) if modules else 0,
        graph=graph,
    )
