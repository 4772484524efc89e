"""One module's profile and the table rows: medians per module, rates, roll-up rows.

``analysis/profile.py`` assembles these into a ``Profile``; this module turns the
attributed steps (``profile_attribution``) and the captured graph into per-module figures.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from torchscope.analysis.profile_attribution import OUTSIDE, SeqOwners, StepTimes
from torchscope.analysis.profile_peaks import PeakSpec
from torchscope.analysis.profile_rollup import Stat, bytes_moved, outliers, table_runs
from torchscope.capture.profile_trace import Measurement
from torchscope.model.graph import ModelGraph

__all__ = [
    "ModuleProfile",
    "OpTime",
    "ProfileRow",
    "attributed_ns",
    "module_profiles",
    "op_totals",
    "plain_path",
    "rate",
    "table_rows",
]

NS_PER_MS = 1e6


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


def rate(macs: int, ms: float) -> float | None:
    return 2 * macs / (ms / 1e3) if macs and ms > 0 else None


def plain_path(path: str) -> str:
    """A module path as the capture of the uncompiled model names it."""
    return ".".join(p for p in path.split(".") if p != "_orig_mod")


def attributed_ns(t: StepTimes) -> int:
    """One step's time inside modules: every module's self time, forward and backward."""
    inside = [i for i in set(t.self_forward_ns) | set(t.backward_ns) if i != OUTSIDE]
    return sum(t.self_forward_ns.get(i, 0) + t.backward_ns.get(i, 0) for i in inside)


def _median_ms(steps: list[StepTimes], attr: str, index: int) -> Stat:
    return Stat.of([getattr(t, attr).get(index, 0) / NS_PER_MS for t in steps])


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


def module_profiles(
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
        node = graph.module(plain_path(path))
        bwd = Stat.of([b.get(i, 0) / NS_PER_MS for b in backward])
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
    m.forward_flops_per_s = rate(m.macs, m.forward_ms)
    m.achieved_flops = rate(m.macs + m.backward_macs, m.total_ms) if counted else None
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
                ms=statistics.median(t.ops.get(key, 0) for t in steps) / NS_PER_MS,
                calls=int(statistics.median(t.op_calls.get(key, 0) for t in steps)),
            )
            for key in own
            for _, phase, name in [key]
        ]
        result[index] = sorted(ops, key=lambda o: o.ms, reverse=True)
    return result


def op_totals(steps: list[StepTimes]) -> list[OpTime]:
    """Per op name over the whole step: self time (``ms``), as key_averages' self CPU."""
    names = {n for t in steps for n in t.op_totals}
    totals = [
        OpTime(
            name=n,
            phase="step",
            ms=statistics.median(t.op_totals.get(n, [0, 0, 0])[0] for t in steps) / NS_PER_MS,
            calls=int(statistics.median(t.op_totals.get(n, [0, 0, 0])[2] for t in steps)),
        )
        for n in names
    ]
    return sorted(totals, key=lambda o: o.ms, reverse=True)


def table_rows(
    graph: ModelGraph,
    by_name: dict[str, ModuleProfile],
    depth: int,
    compiled: dict[int, str],
    paths: list[str],
) -> list[ProfileRow]:
    by_plain = {plain_path(name): m for name, m in by_name.items()}
    regions = [plain_path(paths[i]) for i in compiled]
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
        achieved_flops=rate(macs + sum(m.backward_macs for m in members), total),
        intensity=2 * macs / moved if moved and macs else None,
    )
    if len(members) > 1:
        copies = {m.name: m.total_ms for m in members}
        row.copy_mean_ms = statistics.fmean(copies.values())
        row.copy_std_ms = statistics.pstdev(copies.values())
        row.outliers = {name: copies[name] for name in outliers(copies)}
    return row
