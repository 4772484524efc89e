"""Recognise repeated identical blocks (80 decoder layers) so they can be shown once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from torchscope.model.graph import ModelGraph, ModuleNode, ParamInfo

__all__ = [
    "RunMap",
    "crosses_copies",
    "fold_label",
    "repeated_runs",
    "run_map",
    "structure_signatures",
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
            node.extra_repr,
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


def run_map(graph: ModelGraph, roll: bool = True) -> RunMap:
    """The RunMap of ``graph``; with ``roll=False`` every module stands for itself."""
    signatures = structure_signatures(graph) if roll else {}
    runs = RunMap({"": ""}, {"": ()}, {}, {})
    for node in graph.modules:  # parents come before their children
        children = [graph.module(c) for c in node.children]
        groups = repeated_runs(children, signatures) if roll else [[c] for c in children]
        parent_canon = runs.canon[node.path]
        for group in groups:
            first = group[0]
            runs.repeat[first.path] = len(group)
            runs.label[first.path] = fold_label(group)
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
