"""The summary of a ModelGraph: rows of the module tree to a depth, and totals."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from torchscope._display import Displayable
from torchscope.analysis.memory import MemoryEstimate, estimate_memory
from torchscope.analysis.repeats import fold_label, repeated_runs, structure_signatures
from torchscope.model.graph import ModelGraph, ModuleNode, TensorMeta

if TYPE_CHECKING:
    pass

__all__ = ["Summary", "SummaryRow", "Totals", "summarize"]


@dataclass
class SummaryRow:
    """One line of the table: a module, or a run of ``repeat`` identical siblings.

    ``params``/``macs``/``activation_bytes`` cover the whole subtree (all ``repeat``
    copies). A row below a folded run describes a single copy (``per_copy``).
    """

    path: str
    label: str
    type: str
    depth: int
    output_shapes: list[TensorMeta]
    params: int
    trainable_params: int
    macs: int
    activation_bytes: int
    calls: int = 1
    repeat: int = 1
    per_copy: bool = False
    is_leaf_in_view: bool = False
    tied: dict[str, str] = field(default_factory=dict)


@dataclass
class Totals:
    """Whole-model figures; parameters count each shared tensor once."""

    total_params: int
    trainable_params: int
    frozen_params: int
    param_bytes: int
    buffer_bytes: int
    bytes_by_dtype: dict[str, int]
    macs: int
    flops: int
    activation_bytes: int
    shared_params: dict[str, list[str]]
    uncounted_ops: dict[str, int]


@dataclass
class Summary(Displayable):
    """A model's summary: renderable in a terminal (rich), a notebook (HTML) and as JSON."""

    graph: ModelGraph
    rows: list[SummaryRow]
    totals: Totals
    memory: MemoryEstimate
    depth: int

    def __repr__(self) -> str:
        """One line: the dataclass repr would dump the whole captured graph."""
        t = self.totals
        return (
            f"Summary({self.graph.model_type!r}: {t.total_params:,} params, {t.macs:,} MACs, "
            f"{len(self.rows)} rows to depth {self.depth})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain data (``--json``): totals at top level, then ``modules``."""
        t = self.totals
        return {
            "model": self.graph.model_type,
            "device": self.graph.device,
            "inputs": [{"name": i.name, **i.tensor.to_dict()} for i in self.graph.inputs],
            "total_params": t.total_params,
            "trainable_params": t.trainable_params,
            "frozen_params": t.frozen_params,
            "param_bytes": t.param_bytes,
            "buffer_bytes": t.buffer_bytes,
            "bytes_by_dtype": t.bytes_by_dtype,
            "macs": t.macs,
            "flops": t.flops,
            "activation_bytes": t.activation_bytes,
            "shared_params": t.shared_params,
            "uncounted_ops": t.uncounted_ops,
            "memory": self.memory.to_dict(),
            "failure": asdict(self.graph.failure) if self.graph.failure else None,
            "modules": [_row_dict(r) for r in self.rows],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _row_dict(row: SummaryRow) -> dict[str, Any]:
    return {
        "name": row.label,
        "path": row.path,
        "type": row.type,
        "depth": row.depth,
        "params": row.params,
        "trainable_params": row.trainable_params,
        "macs": row.macs,
        "activation_bytes": row.activation_bytes,
        "output_shapes": [list(s.shape) for s in row.output_shapes],
        "calls": row.calls,
        "repeat": row.repeat,
        "per_copy": row.per_copy,
        "tied": row.tied,
    }


def summarize(graph: ModelGraph, depth: int = 4, fold: bool = True) -> Summary:
    """Summarise a captured graph: rows to ``depth`` (folding repeats) and totals."""
    signatures = structure_signatures(graph) if fold else {}
    rows: list[SummaryRow] = []
    _add_rows(graph, [[graph.root]], depth, signatures, rows, per_copy=False)
    return Summary(graph, rows, _totals(graph), estimate_memory(graph), depth)


def _add_rows(
    graph: ModelGraph,
    runs: list[list[ModuleNode]],
    depth: int,
    signatures: dict[str, str],
    rows: list[SummaryRow],
    per_copy: bool,
) -> None:
    for run in runs:
        first = run[0]
        children = [graph.module(c) for c in first.children]
        expand = first.depth < depth and bool(children)
        rows.append(
            SummaryRow(
                path=first.path,
                label=fold_label(run) if first.path else graph.model_type,
                type=first.type,
                depth=first.depth,
                output_shapes=first.output_shapes,
                params=sum(m.total_params for m in run),
                trainable_params=sum(m.trainable_params for m in run),
                macs=sum(m.macs for m in run),
                activation_bytes=sum(m.activation_bytes for m in run),
                calls=first.calls,
                repeat=len(run),
                per_copy=per_copy,
                is_leaf_in_view=not expand,
                tied={a: o for m in run for a, o in m.tied.items()},
            )
        )
        if expand:
            child_runs = (
                repeated_runs(children, signatures) if signatures else [[c] for c in children]
            )
            _add_rows(graph, child_runs, depth, signatures, rows, per_copy or len(run) > 1)


def _totals(graph: ModelGraph) -> Totals:
    weights = [p for p in graph.params if not p.is_buffer]
    by_dtype: dict[str, int] = {}
    for p in graph.params:
        by_dtype[p.dtype] = by_dtype.get(p.dtype, 0) + p.nbytes
    total = sum(p.numel for p in weights)
    trainable = sum(p.numel for p in weights if p.trainable)
    macs = graph.total_macs
    return Totals(
        total_params=total,
        trainable_params=trainable,
        frozen_params=total - trainable,
        param_bytes=sum(p.nbytes for p in weights),
        buffer_bytes=sum(p.nbytes for p in graph.params if p.is_buffer),
        bytes_by_dtype=by_dtype,
        macs=macs,
        flops=2 * macs,
        activation_bytes=sum(op.activation_bytes for op in graph.ops),
        shared_params={p.name: p.aliases for p in graph.params if p.aliases},
        uncounted_ops=dict(graph.uncounted_ops),
    )
