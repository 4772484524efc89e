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
from torchscope.analysis.profile_attribution import OUTSIDE, SeqOwners, StepTimes, attribute_step
from torchscope.analysis.profile_peaks import PeakSpec, device_peak
from torchscope.analysis.profile_rollup import Stat, bytes_moved, outliers, table_runs
from torchscope.capture.profile_trace import Measurement
from torchscope.model.graph import ModelGraph

__all__ = ["ModuleProfile", "OpTime", "Profile", "ProfileRow", "build_profile"]

_NS_PER_MS = 1e6


@dataclass
class OpTime:
    """An op's share of a module's self time (``phase`` forward or backward), or of the step."""

    name: str
    phase: str
    ms: float
    calls: int


@dataclass
class ModuleProfile:
    """One module's medians over the profiled steps; ``forward_ms``/``backward_ms`` inclusive."""

    name: str
    type: str
    depth: int
    calls: int
    forward_ms: float
    forward_spread_ms: float
    self_forward_ms: float
    backward_ms: float
    backward_spread_ms: float
    self_backward_ms: float
    macs: int
    backward_macs: int
    bytes_moved: int
    peak_bytes: int
    retained_bytes: int
    achieved_flops: float | None = None
    forward_flops_per_s: float | None = None
    intensity: float | None = None
    mfu: float | None = None
    bound: str | None = None
    compiled: str | None = None
    ops: list[OpTime] = field(default_factory=list)

    @property
    def total_ms(self) -> float:
        return self.forward_ms + self.backward_ms

    @property
    def self_ms(self) -> float:
        return self.self_forward_ms + self.self_backward_ms


@dataclass
class ProfileRow:
    """A table row: one module or a folded run (figures summed over its copies)."""

    label: str
    paths: list[str]
    type: str
    depth: int
    per_copy: bool
    forward_ms: float
    backward_ms: float
    self_ms: float
    macs: int
    peak_bytes: int
    retained_bytes: int
    achieved_flops: float | None
    intensity: float | None
    copy_mean_ms: float | None = None
    copy_std_ms: float | None = None
    outliers: dict[str, float] = field(default_factory=dict)

    @property
    def repeat(self) -> int:
        return len(self.paths)

    @property
    def total_ms(self) -> float:
        return self.forward_ms + self.backward_ms


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
        return _rate(self.step_macs, self.step.median)

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

    def time_by_module(self) -> dict[str, float]:
        """Module name → inclusive ms (forward + backward): ``draw(color_by=...)`` takes it."""
        return {m.name: m.total_ms for m in self.modules}

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


def _rate(macs: int, ms: float) -> float | None:
    return 2 * macs / (ms / 1e3) if macs and ms > 0 else None


def _plain(path: str) -> str:
    """A module path as the capture of the uncompiled model names it."""
    return ".".join(p for p in path.split(".") if p != "_orig_mod")


def build_profile(
    graph: ModelGraph, measured: Measurement, *, depth: int = 3, peak_tflops: float | None = None
) -> Profile:
    """Reduce the measured steps to medians per module and lay out the table."""
    steps = [attribute_step(s) for s in measured.steps]
    peak = device_peak(measured.device_name, measured.dtype, measured.tf32, peak_tflops)
    modules = _modules(graph, measured, steps, peak)
    by_name = {m.name: m for m in modules}
    step = Stat.of([t.step_ns / _NS_PER_MS for t in steps])
    # per step, then the median: a stall lands in a different module each step
    attributed = statistics.median(_attributed_ns(t) for t in steps) / _NS_PER_MS if steps else 0.0
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
        rows=_rows(graph, by_name, depth, measured.compiled, measured.modules),
        op_totals=_op_totals(steps),
        baseline_ms=statistics.median(baseline) / _NS_PER_MS if baseline else 0.0,
        profiled_ms=statistics.median(s.wall_ns for s in measured.steps) / _NS_PER_MS,
        peak=peak,
        step_macs=(modules[0].macs + modules[0].backward_macs) if modules else 0,
        graph=graph,
    )


def _attributed_ns(t: StepTimes) -> int:
    """One step's time inside modules: every module's self time, forward and backward."""
    inside = [i for i in set(t.self_forward_ns) | set(t.backward_ns) if i != OUTSIDE]
    return sum(t.self_forward_ns.get(i, 0) + t.backward_ns.get(i, 0) for i in inside)


def _median_ms(steps: list[StepTimes], attr: str, index: int) -> Stat:
    return Stat.of([getattr(t, attr).get(index, 0) / _NS_PER_MS for t in steps])


def _inclusive(values: dict[int, float], parents: list[int]) -> dict[int, float]:
    total = dict(values)
    for i in range(len(parents) - 1, 0, -1):
        if parents[i] >= 0:
            total[parents[i]] = total.get(parents[i], 0.0) + total.get(i, 0.0)
    return total


def _parents(paths: list[str]) -> list[int]:
    index = {p: i for i, p in enumerate(paths)}
    return [index.get(p.rpartition(".")[0], 0) if p else -1 for p in paths]


def _backward_macs(measured: Measurement, parents: list[int]) -> dict[int, float]:
    owners = SeqOwners(measured.count_boundaries)
    own: dict[int, float] = {}
    for seq, macs in measured.backward_macs_by_seq.items():
        i = owners.owner(seq)
        if i != OUTSIDE:
            own[i] = own.get(i, 0) + macs
    return _inclusive(own, parents)


def _modules(
    graph: ModelGraph, measured: Measurement, steps: list[StepTimes], peak: PeakSpec | None
) -> list[ModuleProfile]:
    paths = measured.modules
    parents = _parents(paths)
    moved = bytes_moved(graph)
    bw_macs = _backward_macs(measured, parents)
    backward = [_inclusive(dict(t.backward_ns), parents) for t in steps]
    hooked = set().union(*(t.calls for t in steps)) if steps else set()
    ops = _ops_by_module(steps)
    result = []
    for i, path in enumerate(paths):
        if i not in hooked and i != 0:
            continue  # inside a compiled region, or never called
        node = graph.module(_plain(path))
        bwd = Stat.of([b.get(i, 0) / _NS_PER_MS for b in backward])
        fwd = _median_ms(steps, "forward_ns", i)
        m = ModuleProfile(
            name=path,
            type=f"compiled {measured.compiled[i]}" if i in measured.compiled else node.type,
            depth=path.count(".") + 1 if path else 0,
            calls=int(statistics.median(t.calls.get(i, 0) for t in steps)) if steps else 0,
            forward_ms=fwd.median,
            forward_spread_ms=fwd.spread,
            self_forward_ms=_median_ms(steps, "self_forward_ns", i).median,
            backward_ms=bwd.median,
            backward_spread_ms=bwd.spread,
            self_backward_ms=_median_ms(steps, "backward_ns", i).median,
            macs=node.macs,
            backward_macs=int(bw_macs.get(i, 0)),
            bytes_moved=moved.get(node.path, 0),
            peak_bytes=max((t.peak_bytes.get(i, 0) for t in steps), default=0),
            retained_bytes=int(statistics.median(t.retained_bytes.get(i, 0) for t in steps)),
            compiled=measured.compiled.get(i),
            ops=ops.get(i, []),
        )
        _rates(m, peak, measured.backward_counted or not measured.backward)
        result.append(m)
    return result


def _rates(m: ModuleProfile, peak: PeakSpec | None, counted: bool) -> None:
    """Achieved FLOP/s, intensity, MFU and roofline side of one module.

    Without counted backward MACs (a Monitor's step) the rate is the forward's alone.
    """
    m.forward_flops_per_s = _rate(m.macs, m.forward_ms)
    m.achieved_flops = _rate(m.macs + m.backward_macs, m.total_ms) if counted else None
    m.achieved_flops = m.achieved_flops or m.forward_flops_per_s
    m.intensity = 2 * m.macs / m.bytes_moved if m.bytes_moved and m.macs else None
    if peak is not None and m.achieved_flops is not None:
        m.mfu = m.achieved_flops / peak.flops
    ridge = peak.ridge if peak else None
    if ridge is not None and m.intensity is not None:
        m.bound = "compute" if m.intensity >= ridge else "memory"


def _ops_by_module(steps: list[StepTimes]) -> dict[int, list[OpTime]]:
    """Each module's ops (median ms and calls over the steps), slowest first."""
    keys: dict[int, set[tuple[int, str, str]]] = {}
    for t in steps:
        for key in t.ops:
            keys.setdefault(key[0], set()).add(key)
    result = {}
    for index, own in keys.items():
        ops = [
            OpTime(
                name=name,
                phase=phase,
                ms=statistics.median(t.ops.get(key, 0) for t in steps) / _NS_PER_MS,
                calls=int(statistics.median(t.op_calls.get(key, 0) for t in steps)),
            )
            for key in own
            for _, phase, name in [key]
        ]
        result[index] = sorted(ops, key=lambda o: o.ms, reverse=True)
    return result


def _op_totals(steps: list[StepTimes]) -> list[OpTime]:
    """Per op name over the whole step: self time (``ms``), as key_averages' self CPU."""
    names = {n for t in steps for n in t.op_totals}
    totals = [
        OpTime(
            name=n,
            phase="step",
            ms=statistics.median(t.op_totals.get(n, [0, 0, 0])[0] for t in steps) / _NS_PER_MS,
            calls=int(statistics.median(t.op_totals.get(n, [0, 0, 0])[2] for t in steps)),
        )
        for n in names
    ]
    return sorted(totals, key=lambda o: o.ms, reverse=True)


def _rows(
    graph: ModelGraph,
    by_name: dict[str, ModuleProfile],
    depth: int,
    compiled: dict[int, str],
    paths: list[str],
) -> list[ProfileRow]:
    by_plain = {_plain(name): m for name, m in by_name.items()}
    regions = [_plain(paths[i]) for i in compiled]
    rows = []
    for run in table_runs(graph, depth):
        first = run.paths[0]
        inside = any(first != r and (r == "" or first.startswith(r + ".")) for r in regions)
        members = [by_plain[p] for p in run.paths if p in by_plain]
        if inside or not members:
            continue
        rows.append(_row(run.label, members, run.depth, run.per_copy))
    return rows


def _row(label: str, members: list[ModuleProfile], depth: int, per_copy: bool) -> ProfileRow:
    macs = sum(m.macs for m in members)
    moved = sum(m.bytes_moved for m in members)
    total = sum(m.total_ms for m in members)
    row = ProfileRow(
        label=label,
        paths=[m.name for m in members],
        type=members[0].type,
        depth=depth,
        per_copy=per_copy,
        forward_ms=sum(m.forward_ms for m in members),
        backward_ms=sum(m.backward_ms for m in members),
        self_ms=sum(m.self_ms for m in members),
        macs=macs,
        peak_bytes=max(m.peak_bytes for m in members),
        retained_bytes=sum(m.retained_bytes for m in members),
        achieved_flops=_rate(macs + sum(m.backward_macs for m in members), total),
        intensity=2 * macs / moved if moved and macs else None,
    )
    if len(members) > 1:
        copies = {m.name: m.total_ms for m in members}
        row.copy_mean_ms = statistics.fmean(copies.values())
        row.copy_std_ms = statistics.pstdev(copies.values())
        row.outliers = {name: copies[name] for name in outliers(copies)}
    return row
