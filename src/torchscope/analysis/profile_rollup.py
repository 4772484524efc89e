"""The maths under a profile: medians and spreads, bytes moved, roll-up of repeated blocks.

Example:
    >>> Stat.of([3.0, 1.0, 2.0, 10.0]).median
    2.5
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from torchscope.analysis.repeats import fold_label, repeated_runs, structure_signatures
from torchscope.model.graph import ModelGraph, ModuleNode

__all__ = ["Run", "Stat", "bytes_moved", "outliers", "table_runs"]

OUTLIER_MADS = 3.0  # a copy this many spreads from the run's median is named…
OUTLIER_SHARE = 0.10  # …when it is also at least this far from it, relatively


@dataclass(frozen=True)
class Stat:
    """Median of a sample and its spread (median absolute deviation), with min and max."""

    median: float
    spread: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        if not values:
            return cls(0.0, 0.0, 0.0, 0.0)
        median = statistics.median(values)
        spread = statistics.median(abs(v - median) for v in values)
        return cls(median, spread, min(values), max(values))


def bytes_moved(graph: ModelGraph) -> dict[str, int]:
    """Bytes each module's forward reads and writes (subtree), from the captured shapes.

    An op that computes (MACs) or allocates a fresh output reads its inputs and weights
    and writes its outputs; views and in-place metadata changes move nothing.
    """
    param_bytes: dict[str, int] = {}
    for p in graph.params:
        for name in (p.name, *p.aliases):
            param_bytes[name] = p.nbytes
    own: dict[str, int] = {m.path: 0 for m in graph.modules}
    for op in graph.ops:
        if op.module not in own or not (op.macs or op.activation_bytes):
            continue
        moved = sum(t.nbytes for t in op.inputs) + sum(t.nbytes for t in op.outputs)
        own[op.module] += moved + sum(param_bytes.get(n, 0) for n in op.params)
    total = dict(own)
    for node in reversed(graph.modules):
        if node.parent is not None and node.parent in total:
            total[node.parent] += total[node.path]
    return total


@dataclass(frozen=True)
class Run:
    """One table row: a module, or a run of identical numbered siblings (``layers.0-79``)."""

    paths: tuple[str, ...]
    label: str
    depth: int
    per_copy: bool  # inside a folded run: figures describe one copy


def table_runs(graph: ModelGraph, depth: int, fold: bool = True) -> list[Run]:
    """Rows of the module tree to ``depth`` in pre-order, runs of repeats folded."""
    signatures = structure_signatures(graph) if fold else {}
    rows: list[Run] = []
    _add(graph, [[graph.root]], depth, signatures, rows, per_copy=False)
    return rows


def _add(
    graph: ModelGraph,
    runs: list[list[ModuleNode]],
    depth: int,
    signatures: dict[str, str],
    rows: list[Run],
    per_copy: bool,
) -> None:
    for run in runs:
        first = run[0]
        label = fold_label(run) if first.path else graph.model_type
        rows.append(Run(tuple(m.path for m in run), label, first.depth, per_copy))
        children = [graph.module(c) for c in first.children]
        if first.depth < depth and children:
            groups = repeated_runs(children, signatures) if signatures else [[c] for c in children]
            _add(graph, groups, depth, signatures, rows, per_copy or len(run) > 1)


def outliers(values: dict[str, float]) -> list[str]:
    """Members of a run far from its median (by ``OUTLIER_MADS`` spreads and 10 %)."""
    if len(values) < 3:
        return []
    stat = Stat.of(list(values.values()))
    limit = max(OUTLIER_MADS * stat.spread, OUTLIER_SHARE * abs(stat.median))
    return [path for path, v in values.items() if abs(v - stat.median) > limit]
