"""What changed between two sets of weights (fine-tuned vs base, step 1000 vs 2000).

Tensors are matched by name — after stripping a wrapper's prefix that only one side has
(``module.`` from DDP, ``_orig_mod.`` from ``torch.compile``, ``model.``), which the result
reports — and compared one pair at a time, in float64: relative change ‖b − a‖ / ‖a‖,
cosine similarity, and the largest change of one value. Values equal in both, or NaN in
both at the same place, are unchanged: a model compared with itself shows exactly zero
change, even where it holds NaN or inf. A NaN in one side only makes the change NaN.
Changes of dtype (fp32 → fp16) and of shape are listed apart.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from torchscope._display import Displayable
from torchscope.analysis._chunked import Chunk, split_map
from torchscope.analysis.eval_result import strict
from torchscope.errors import NothingToCompare
from torchscope.model.dtypes import dtype_name

__all__ = [
    "WRAPPER_PREFIXES",
    "ModuleChange",
    "NameMatch",
    "ParamDiff",
    "TensorChange",
    "match_names",
    "tensor_change",
]

# Prefixes that wrappers add to every name: DDP/DataParallel, torch.compile, and the
# ``model.`` of a task model around its base (Hugging Face ``…ForCausalLM``, Lightning).
WRAPPER_PREFIXES = ("module.", "_orig_mod.", "model.")


@dataclass(frozen=True)
class TensorChange:
    """One tensor present in both with the same shape.

    ``cosine`` is 1 for identical tensors; ``rel_change`` is inf when ``a`` is all zero
    and ``b`` is not.
    """

    name: str
    shape: tuple[int, ...]
    dtype_a: str
    dtype_b: str
    norm_a: float
    norm_b: float
    diff_norm: float
    rel_change: float
    cosine: float
    max_abs_change: float

    @property
    def module(self) -> str:
        return self.name.rpartition(".")[0]

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModuleChange:
    """A module's tensors together: ‖Δ‖ / ‖a‖ over all of them."""

    name: str
    tensors: int
    numel: int
    rel_change: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ParamDiff(Displayable):
    """Two sets of weights compared: matched tensors, and those added, removed, reshaped or
    retyped (dtype changed). Names are those after stripping ``prefixes`` (A's, B's)."""

    a: str
    b: str
    changes: list[TensorChange]
    added: dict[str, list[int]] = field(default_factory=dict)
    removed: dict[str, list[int]] = field(default_factory=dict)
    reshaped: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)
    prefixes: tuple[str, str] = ("", "")

    @property
    def modules(self) -> list[ModuleChange]:
        """Per-module change, in the order the modules first appear."""
        acc: dict[str, list[float]] = {}
        for c in self.changes:
            entry = acc.setdefault(c.module, [0, 0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += math.prod(c.shape)
            entry[2] += c.diff_norm**2
            entry[3] += c.norm_a**2
        return [
            ModuleChange(name, int(n), int(k), _ratio(math.sqrt(d), math.sqrt(a)))
            for name, (n, k, d, a) in acc.items()
        ]

    @property
    def rel_change(self) -> float:
        """‖b − a‖ / ‖a‖ over every matched tensor; NaN when no tensor's values were compared
        (every name that matched changed shape or dtype, or is not floating point)."""
        if not self.changes:
            return math.nan
        diff = math.sqrt(sum(c.diff_norm**2 for c in self.changes))
        return _ratio(diff, math.sqrt(sum(c.norm_a**2 for c in self.changes)))

    @property
    def identical(self) -> bool:
        """True when nothing was added, removed, reshaped or retyped and no value changed."""
        return not (self.added or self.removed or self.reshaped or self.retyped) and all(
            c.diff_norm == 0 for c in self.changes
        )

    @property
    def verdict(self) -> str:
        """``identical``, ``relative change …``, or why no value was compared."""
        if self.identical:
            return "identical"
        if self.changes:
            return f"relative change {self.rel_change:.4g}"
        why = [f"{len(v)} {k}" for k, v in (("reshaped", self.reshaped),
               ("retyped", self.retyped), ("skipped", self.skipped)) if v]  # fmt: skip
        return "no values compared" + (f" ({', '.join(why)})" if why else "")

    def __repr__(self) -> str:
        """One line: a notebook or debugger must not dump every tensor's change."""
        return (
            f"ParamDiff({self.a!r} → {self.b!r}: {len(self.changes)} tensors compared, "
            f"{len(self.added)} added, {len(self.removed)} removed, {self.verdict})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "rel_change": self.rel_change,
            "identical": self.identical,
            "added": self.added,
            "removed": self.removed,
            "reshaped": {k: [list(a), list(b)] for k, (a, b) in self.reshaped.items()},
            "retyped": {k: [a, b] for k, (a, b) in self.retyped.items()},
            "prefixes": {"a": self.prefixes[0], "b": self.prefixes[1]},
            "skipped": self.skipped,
            "modules": [m.to_dict() for m in self.modules],
            "tensors": [c.to_dict() for c in self.changes],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON: NaN and infinities (a tensor holding NaN, an all-zero ``a``) are null."""
        return json.dumps(strict(self.to_dict()), indent=indent, allow_nan=False)

    def to_dataframe(self, level: str = "tensors") -> Any:
        """``tensors`` or ``modules`` as a pandas DataFrame, one row each."""
        import pandas as pd

        rows = self.changes if level == "tensors" else self.modules
        return pd.DataFrame([r.to_dict() for r in rows])


def _ratio(num: float, den: float) -> float:
    if num == 0:
        return 0.0
    return num / den if den > 0 else math.inf


def tensor_change(name: str, a: torch.Tensor, b: torch.Tensor) -> TensorChange:
    """Compare two same-shaped tensors in float64 (on ``a``'s device).

    Values equal in both (inf included) or NaN in both count as unchanged.

    Example:
        >>> import torch
        >>> c = tensor_change("w", torch.tensor([3.0, 4.0]), torch.tensor([3.0, 4.5]))
        >>> c.rel_change, c.max_abs_change
        (0.1, 0.5)
    """
    a, b = a.detach(), b.detach().to(a.device)
    rows = (a.shape[0], -1) if a.ndim > 1 and a.numel() else (-1,)
    parts = split_map(_change_part, a.reshape(rows), b.reshape(rows))
    sums = [sum(p[i] for p in parts) for i in range(3)]
    tops = [p[3] for p in parts]
    top = math.nan if any(math.isnan(t) for t in tops) else max(tops)
    na, nb, nd = (math.sqrt(s) for s in sums)
    if nd == 0:
        cosine = 1.0
    elif na == 0 or nb == 0:
        cosine = math.nan
    else:  # from the norms, which keeps 1 − cos accurate for small changes
        cosine = max(-1.0, min(1.0, (sums[0] + sums[1] - sums[2]) / (2 * na * nb)))
    return TensorChange(
        name=name,
        shape=tuple(a.shape),
        dtype_a=dtype_name(a.dtype),
        dtype_b=dtype_name(b.dtype),
        norm_a=na,
        norm_b=nb,
        diff_norm=nd,
        rel_change=_ratio(nd, na),
        cosine=cosine,
        max_abs_change=top,
    )


def _change_part(chunks: list[Chunk]) -> tuple[float, float, float, float]:
    aa = bb = dd = top = 0.0
    for ca, cb in chunks:
        x, y = ca.double().reshape(-1), cb.double().reshape(-1)
        unchanged = (x == y) | (x.isnan() & y.isnan())  # inf − inf and NaN − NaN are NaN
        d = torch.where(unchanged, 0.0, y - x)
        aa += float(torch.dot(x, x))
        bb += float(torch.dot(y, y))
        dd += float(torch.dot(d, d))
        if d.numel():
            part = float(d.abs().max())
            top = math.nan if math.isnan(part) or math.isnan(top) else max(top, part)
    return aa, bb, dd, top


@dataclass(frozen=True)
class NameMatch:
    """How two sources' tensor names correspond: each side's stripped prefix."""

    prefix_a: str = ""
    prefix_b: str = ""

    def key_a(self, name: str) -> str:
        return _strip(name, self.prefix_a)

    def key_b(self, name: str) -> str:
        return _strip(name, self.prefix_b)


def match_names(names_a: list[str], names_b: list[str]) -> NameMatch:
    """The prefixes to strip (from ``WRAPPER_PREFIXES`` and their chains) under which most
    names match; none unless stripping matches more. Raises NothingToCompare when no name
    matches at all.

    Example:
        >>> match_names(["module.fc.weight"], ["fc.weight"])
        NameMatch(prefix_a='module.', prefix_b='')
    """
    best, best_score = NameMatch(), -1
    for pa in _candidates(names_a):
        keys_a = _keys(names_a, pa)
        for pb in _candidates(names_b):
            keys_b = _keys(names_b, pb)
            if keys_a is None or keys_b is None:
                continue  # stripping would give two tensors one name
            score = len(keys_a & keys_b)
            if score > best_score or (
                score == best_score and len(pa + pb) < len(best.prefix_a + best.prefix_b)
            ):
                best, best_score = NameMatch(pa, pb), score
    if best_score <= 0:
        raise NothingToCompare(_no_match(names_a, names_b))
    return best


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def _keys(names: list[str], prefix: str) -> set[str] | None:
    keys = {_strip(n, prefix) for n in names}
    return keys if len(keys) == len(names) else None


def _candidates(names: list[str]) -> list[str]:
    """``""`` and every chain of wrapper prefixes some name starts with (``module._orig_mod.``)."""
    found = {""}
    for name in names:
        chain = ""
        for _ in range(len(WRAPPER_PREFIXES)):  # a chain is at most one of each wrapper
            prefix = next((p for p in WRAPPER_PREFIXES if name.startswith(chain + p)), "")
            if not prefix:
                break
            chain += prefix
            found.add(chain)
    return sorted(found, key=len)


def _no_match(names_a: list[str], names_b: list[str]) -> str:
    if not names_a or not names_b:
        empty = " and ".join(s for s, n in (("A", names_a), ("B", names_b)) if not n)
        return f"nothing to compare: {empty} holds no tensors"
    return (
        f"no tensor of A matches a tensor of B by name, even with the prefixes "
        f"{', '.join(WRAPPER_PREFIXES)} stripped: A has {len(names_a)} tensors "
        f"(e.g. {names_a[0][:80]!r}), B has {len(names_b)} (e.g. {names_b[0][:80]!r}). "
        "Are these the same architecture?"
    )
