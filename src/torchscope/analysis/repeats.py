"""Recognise repeated identical blocks (80 decoder layers) so they can be shown once.

Identical means the same structure: types, parameter shapes, ops and their shapes.
Hyper-parameters that change none of these (EfficientNet's drop-path rate, which grows
block by block) do not stop a run; the values that differ are listed with the run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from torchscope.analysis.settings import free_settings, structural_repr
from torchscope.model.graph import ModelGraph, ModuleNode, ParamInfo

__all__ = [
    "RunMap",
    "crosses_copies",
    "fold_label",
    "repeated_runs",
    "run_map",
    "structure_signatures",
    "varying_settings",
]


def structure_signatures(graph: ModelGraph) -> dict[str, str]:
    """A digest per module of its type, parameters, children, ops and shapes.

    Two modules with equal digests are structurally identical: same types, same parameter
    shapes, same op sequence with the same output shapes, recursively.
    """
    params_by_owner: dict[str, list[ParamInfo]] = {}
    for p in graph.params:
        owner = p.name.rpartition(".")[0]
        params_by_owner.setdefault(owner, []).append(p)
    ops = graph.ops
    signatures: dict[str, str] = {}
    for node in reversed(graph.modules):  # children before parents
        parts = [
            node.type,
            structural_repr(node.type, node.extra_repr),
            *(
                f"{p.name.rpartition('.')[2]}:{p.shape}:{p.dtype}"
                for p in params_by_owner.get(node.path, [])
            ),
            *(signatures.get(child, "") for child in node.children),
            *(f"{ops[i].name}{[o.shape for o in ops[i].outputs]}" for i in node.ops),
            str([o.shape for o in node.output_shapes]),
        ]
        signatures[node.path] = hashlib.blake2b(
            "|".join(parts).encode(), digest_size=12
        ).hexdigest()
    return signatures


def repeated_runs(children: list[ModuleNode], signatures: dict[str, str]) -> list[list[ModuleNode]]:
    """Split siblings into runs of consecutive, numbered, structurally identical modules.

    Only numbered siblings (entries of a ModuleList or Sequential) fold: two named
    attributes that happen to match (``input_layernorm``, ``post_attention_layernorm``)
    keep their own rows.
    """
    runs: list[list[ModuleNode]] = []
    for child in children:
        previous = runs[-1][-1] if runs else None
        if (
            previous is not None
            and previous.name.isdigit()
            and child.name.isdigit()
            and signatures[previous.path] == signatures[child.path]
        ):
            runs[-1].append(child)
        else:
            runs.append([child])
    return runs


def fold_label(run: list[ModuleNode]) -> str:
    """``layers.0-79`` for a run of numbered siblings."""
    first, last = run[0], run[-1]
    if len(run) == 1:
        return first.path
    prefix = first.path.rpartition(".")[0]
    dotted = f"{prefix}." if prefix else ""
    return f"{dotted}{first.name}-{last.name}"


@dataclass
class RunMap:
    """Every module's place among rolled runs, for drawing each run once.

    ``canon`` maps a module to the module drawn for it: copies of a run stand in for their
    first member (``layers.7.mlp`` → ``layers.0.mlp``). ``membership`` lists, outermost
    first, the runs a module sits in as (first member's path, copy index).
    """

    canon: dict[str, str]
    membership: dict[str, tuple[tuple[str, int], ...]]
    repeat: dict[str, int]  # first member's path → number of copies
    label: dict[str, str]  # first member's path → ``layers.0-79``
    varies: dict[str, list[str]] = field(default_factory=dict)  # first member → settings


def run_map(
    graph: ModelGraph, roll: bool = True, signatures: dict[str, str] | None = None
) -> RunMap:
    """The RunMap of ``graph``; with ``roll=False`` every module stands for itself.

    ``signatures`` are ``structure_signatures(graph)`` when the caller has them already.
    """
    if not roll:
        signatures = {}
    elif signatures is None:
        signatures = structure_signatures(graph)
    runs = RunMap({"": ""}, {"": ()}, {}, {})
    for node in graph.modules:  # parents come before their children
        children = [graph.module(c) for c in node.children]
        groups = repeated_runs(children, signatures) if roll else [[c] for c in children]
        parent_canon = runs.canon[node.path]
        for group in groups:
            first = group[0]
            runs.repeat[first.path] = len(group)
            runs.label[first.path] = fold_label(group)
            if len(group) > 1:
                varies = varying_settings(graph, group)
                if varies:
                    runs.varies[first.path] = varies
            for index, child in enumerate(group):
                runs.canon[child.path] = (
                    f"{parent_canon}.{first.name}" if parent_canon else first.name
                )
                extra = ((first.path, index),) if len(group) > 1 else ()
                runs.membership[child.path] = runs.membership[node.path] + extra
    return runs


def crosses_copies(a: tuple[tuple[str, int], ...], b: tuple[tuple[str, int], ...]) -> bool:
    """True when two memberships place modules in different copies of one rolled run."""
    index_in_a = dict(a)
    return any(key in index_in_a and index_in_a[key] != i for key, i in b)


def varying_settings(graph: ModelGraph, run: list[ModuleNode], limit: int = 4) -> list[str]:
    """The free settings that differ between the copies of a run, one line each.

    ``["dropout.p 0.0125 … 0.05 (4 values)"]`` for blocks whose dropout rate grows; at
    most ``limit`` lines (then ``+N more``).

    Example:
        >>> import torch, torchscope
        >>> net = torch.nn.Sequential(*[torch.nn.Dropout(p / 10) for p in range(3)])
        >>> g = torchscope.trace(net.eval(), input_size=(1, 4))
        >>> varying_settings(g, [g.module(str(i)) for i in range(3)])
        ['p 0, 0.1, 0.2']
    """
    first = run[0]
    lines = []
    for sub in [first, *_descendants(graph, first)]:
        rel = sub.path[len(first.path) + 1 :] if sub.path != first.path else ""
        values: dict[str, list[str]] = {}
        for copy in run:
            try:
                module = graph.module(f"{copy.path}.{rel}" if rel else copy.path)
            except KeyError:
                continue
            for key, value in free_settings(module.type, module.extra_repr).items():
                values.setdefault(key, []).append(value)
        for key, seen in values.items():
            if len(set(seen)) > 1:
                lines.append(f"{rel + '.' if rel else ''}{key} {_spread(seen)}")
    if len(lines) > limit:
        lines = [*lines[:limit], f"+{len(lines) - limit} more"]
    return lines


def _descendants(graph: ModelGraph, node: ModuleNode) -> list[ModuleNode]:
    found, todo = [], list(node.children)
    while todo:
        child = graph.module(todo.pop(0))
        found.append(child)
        todo.extend(child.children)
    return found


def _spread(values: list[str]) -> str:
    """``0.1, 0.2, 0.3`` for a few values, ``0.0125 … 0.05 (9 values)`` for many."""
    distinct = list(dict.fromkeys(_number(v) for v in values))
    if len(distinct) <= 3:
        return ", ".join(distinct)
    return f"{distinct[0]} … {distinct[-1]} ({len(distinct)} values)"


def _number(text: str) -> str:
    """``0.0036363636363636364`` → ``0.00364``: a rate with three significant digits."""
    try:
        return f"{float(text):.3g}"
    except ValueError:
        return text
