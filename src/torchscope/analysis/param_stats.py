"""Statistics of parameter tensors, and their aggregates per module and model.

Each tensor is read in two sweeps over cache-sized chunks on its own device: the first
finds its range and mean, the second everything else (centred variance, |w|, zeros,
dead units, and a fine histogram from which the percentiles and the display histogram
come). Sums accumulate in float64. Aggregates are exact for moments, counts and extremes;
their percentiles and histograms come from per-tensor quantile sketches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from torchscope.analysis._chunked import Chunk, as_float, split_map
from torchscope.analysis.quantile_sketch import SKETCH_PROBS, MixtureCdf, quantiles_from_histogram
from torchscope.model.dtypes import dtype_name

__all__ = [
    "PERCENTILES",
    "GroupStats",
    "TensorStats",
    "ValueStats",
    "aggregate",
    "describe_tensor",
    "layer_kind",
]

PERCENTILES = (1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0)
HIST_BINS = 64
NEAR_ZERO = 1e-3  # near zero: |w| <= NEAR_ZERO × max|w| of the tensor
_FINE_PER_BIN = 1024  # the fine histogram behind the percentiles has bins × 1024 bins


@dataclass
class ValueStats:
    """Statistics of a set of values: a tensor's, or several tensors' together.

    Moments, fractions and percentiles cover the finite values; ``std`` is the population
    standard deviation (numpy's default). ``hist`` counts values in equal bins over
    ``hist_range``. ``dead_units`` counts rows (output units, filters) of 2+ dimensional
    tensors whose values are all zero, out of ``units`` rows.
    """

    name: str
    numel: int
    mean: float
    std: float
    min: float
    max: float
    mean_abs: float
    l2_norm: float
    zero_frac: float
    near_zero_frac: float
    nan_count: int
    inf_count: int
    units: int
    dead_units: int
    percentiles: dict[str, float]
    hist: list[float]
    hist_range: tuple[float, float]

    @property
    def finite_count(self) -> int:
        return self.numel - self.nan_count - self.inf_count

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "sketch"}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@dataclass
class TensorStats(ValueStats):
    """Statistics of one tensor. Its ``percentiles`` (``"p1"``…) are read from a histogram of
    ``bins × 1024`` bins over [min, max], each within one such bin of numpy's exact value;
    ``hist`` holds exact counts. ``sketch`` (quantiles at 129 evenly spaced probabilities)
    lets groups of tensors be aggregated."""

    shape: tuple[int, ...] = ()
    dtype: str = ""
    kind: str = ""
    near_zero_threshold: float = 0.0
    aliases: tuple[str, ...] = ()
    sketch: list[float] = field(default_factory=list, repr=False)

    @property
    def module(self) -> str:
        """The owning module's path (``""`` for a top-level tensor)."""
        return self.name.rpartition(".")[0]


@dataclass
class GroupStats(ValueStats):
    """Aggregated statistics of several tensors (a module's, or the whole model's).

    Moments, extremes, counts and fractions are exact; ``percentiles`` and ``hist``
    (float counts) are estimated from the tensors' quantile sketches.
    """

    tensors: int = 0


def layer_kind(name: str, shape: Sequence[int], module_type: str = "") -> str:
    """A tensor's layer type for grouping: ``Linear.weight`` from a model, else by shape.

    Checkpoints carry no module classes, so their tensors are typed by dimensions:
    ``matrix.weight``, ``conv.weight``, ``vector.bias``, ``embedding.weight``…
    """
    leaf = name.rpartition(".")[2]
    if module_type:
        return f"{module_type}.{leaf}"
    ndim = len(shape)
    lowered = name.lower()
    if ndim == 2 and any(k in lowered for k in ("embed", "wte", "wpe", "tok_")):
        shape_kind = "embedding"
    else:
        shape_kind = {0: "scalar", 1: "vector", 2: "matrix"}.get(ndim, "conv")
    return f"{shape_kind}.{leaf}"


# --- one tensor -------------------------------------------------------------------------


def describe_tensor(
    name: str,
    tensor: torch.Tensor,
    *,
    kind: str = "",
    bins: int = HIST_BINS,
    near_zero: float = NEAR_ZERO,
    percentiles: Sequence[float] = PERCENTILES,
    aliases: Sequence[str] = (),
) -> TensorStats:
    """Statistics of one floating-point tensor, computed where it lies.

    Example:
        >>> import torch
        >>> s = describe_tensor("w", torch.tensor([[0.0, 1.0], [0.0, 3.0]]))
        >>> s.mean, s.max, s.zero_frac, s.l2_norm
        (1.0, 3.0, 0.5, 3.1622776601683795)
    """
    x = tensor.detach()
    if not x.is_floating_point():
        x = x.float()
    rows = x.reshape(x.shape[0], -1) if x.ndim >= 2 and x.numel() else x.reshape(-1)
    finite, nan_count, inf_count, lo, hi, total = _finite_values(rows)
    n = finite.numel()
    # Values near the dtype's limits are divided by a power of two (exactly) so that no
    # difference, square or sum below overflows; results are multiplied back at the end.
    unit = _unit(max(abs(lo), abs(hi)), n, x.dtype) if n else 1.0
    mean_u = _mean(finite, lo, hi, total, unit)
    threshold = near_zero * max(abs(lo), abs(hi)) if n else 0.0
    lo_u, hi_u = lo / unit, hi / unit
    sweep = _Sweep(lo_u, hi_u, mean_u, threshold / unit, bins * _FINE_PER_BIN, unit)
    sweep = _Sweep.merge(split_map(sweep, finite))
    dead = _dead_rows(rows) if finite is not rows else sweep.dead
    fine = sweep.fine_hist
    values = quantiles_from_histogram(fine, lo_u, hi_u, [q / 100 for q in percentiles], unit)
    return TensorStats(
        name=name,
        shape=tuple(tensor.shape),
        dtype=dtype_name(tensor.dtype),
        kind=kind or layer_kind(name, tuple(tensor.shape)),
        numel=tensor.numel(),
        mean=mean_u * unit,
        std=math.sqrt(sweep.m2 / n) * unit if n else math.nan,
        min=lo if n else math.nan,
        max=hi if n else math.nan,
        mean_abs=sweep.sum_abs / n * unit if n else math.nan,
        l2_norm=math.sqrt(sweep.m2 + n * mean_u * mean_u) * unit if n else math.nan,
        zero_frac=(n - sweep.nonzero) / n if n else math.nan,
        near_zero_frac=sweep.near / n if n else math.nan,
        near_zero_threshold=threshold,
        nan_count=nan_count,
        inf_count=inf_count,
        percentiles=dict(zip(map(_pname, percentiles), values)),
        hist=fine.reshape(bins, _FINE_PER_BIN).sum(1).tolist() if n else [0] * bins,
        hist_range=(lo, hi) if n else (0.0, 0.0),
        units=rows.shape[0] if rows.ndim == 2 else 0,
        dead_units=dead,
        aliases=tuple(aliases),
        sketch=quantiles_from_histogram(fine, lo_u, hi_u, SKETCH_PROBS, unit) if n else [],
    )


def _finite_values(rows: torch.Tensor) -> tuple[torch.Tensor, int, int, float, float, float]:
    """The finite values (``rows`` itself when all are), NaN and Inf counts, range and sum."""
    lo, hi, total = _range_and_sum(rows)
    if math.isfinite(lo) and math.isfinite(hi):
        return rows, 0, 0, lo, hi, total
    mask = torch.isfinite(rows)
    nan_count = int(torch.isnan(rows).sum())
    inf_count = int(rows.numel() - mask.sum()) - nan_count
    finite = rows[mask]
    return (finite, nan_count, inf_count, *_range_and_sum(finite))


def _unit(magnitude: float, n: int, dtype: torch.dtype) -> float:
    """1, or the power of two that brings ``magnitude`` into [1, 2) when sums of ``n``
    squared differences of values that large could overflow the dtype they are summed in.

    Values so small that their squares underflow (subnormals among them) are scaled up
    instead, as far as the smallest normal power of two allows (dividing by it stays
    exact): their squares would read as 0 and the histogram's scale (bins / range) would
    overflow to inf.
    """
    summed = torch.float64 if dtype == torch.float64 else torch.float32
    info = torch.finfo(summed)
    if 0 < magnitude < math.sqrt(info.tiny):
        return 2.0 ** max(math.frexp(magnitude)[1] - 1, math.frexp(info.tiny)[1] - 1)
    if magnitude <= math.sqrt(info.max / (8 * max(n, 1))):
        return 1.0
    return 2.0 ** (math.frexp(magnitude)[1] - 1)


def _mean(finite: torch.Tensor, lo: float, hi: float, total: float, unit: float) -> float:
    """The mean of the finite values in units of ``unit``, within [lo, hi] despite rounding."""
    n = finite.numel()
    if not n:
        return math.nan
    if hi == lo:  # a constant tensor: its value, whatever the rounding of the sum
        return lo / unit
    if not math.isfinite(total):  # a float64 sum past 1.8e308
        return _scaled_sum(finite, unit) / n
    return min(max(total / unit / n, lo / unit), hi / unit)


def _scaled_sum(x: torch.Tensor, unit: float) -> float:
    """Σ x / unit in float64."""

    def part(chunks: list[Chunk]) -> float:
        return sum(float((as_float(c) / unit).sum(dtype=torch.float64)) for (c,) in chunks)

    return sum(split_map(part, x))


def _pname(q: float) -> str:
    return f"p{q:g}"


def _range_and_sum(x: torch.Tensor) -> tuple[float, float, float]:
    if x.numel() == 0:
        return 0.0, 0.0, 0.0
    parts = split_map(_range_part, x)
    lo, hi = min(p[0] for p in parts), max(p[1] for p in parts)
    if math.isnan(lo) or math.isnan(hi) or any(math.isnan(p[0]) for p in parts):
        return math.nan, math.nan, math.nan
    return lo, hi, sum(p[2] for p in parts)


def _range_part(chunks: list[Chunk]) -> tuple[float, float, float]:
    lo, hi, total = math.inf, -math.inf, 0.0
    for (raw,) in chunks:
        c = as_float(raw)
        c_lo, c_hi = torch.aminmax(c)
        if torch.isnan(c_lo) or torch.isnan(c_hi):
            return math.nan, math.nan, math.nan
        lo, hi = min(lo, float(c_lo)), max(hi, float(c_hi))
        total += float(c.sum(dtype=torch.float64))
    return lo, hi, total


class _Sweep:
    """The second pass over a tensor's finite values: one instance per group of chunks."""

    def __init__(
        self, lo: float, hi: float, mean: float, near: float, fine: int, unit: float = 1.0
    ) -> None:
        """Bounds, mean and near-zero threshold are in units of ``unit`` (see ``_unit``)."""
        self.lo, self.mean, self.threshold, self.fine, self.unit = lo, mean, near, fine, unit
        self.scale = fine / (hi - lo) if hi > lo else 0.0
        self.m2 = self.sum_abs = 0.0
        self.nonzero = self.near = self.dead = 0
        self.counts: torch.Tensor | None = None

    def __call__(self, chunks: list[Chunk]) -> _Sweep:
        part = _Sweep.__new__(_Sweep)
        part.__dict__.update(self.__dict__)
        for (raw,) in chunks:
            part._add(as_float(raw))
        return part

    def _add(self, c: torch.Tensor) -> None:
        nonzero = int(torch.count_nonzero(c))  # before scaling, which may flush tiny values
        self.nonzero += nonzero
        if c.ndim == 2 and c.numel() - nonzero >= c.shape[1]:  # room for an all-zero row
            self.dead += int((torch.count_nonzero(c, dim=1) == 0).sum())
        if self.unit != 1.0:
            c = c / self.unit
        buf = torch.sub(c, self.mean)
        flat = buf.reshape(-1)
        self.m2 += float(torch.dot(flat, flat))
        torch.abs(c, out=buf)
        # a CPU chunk's float32 sum of magnitudes is exact enough; a GPU sums it all at once
        self.sum_abs += float(buf.sum(dtype=None if c.is_cpu else torch.float64))
        self.near += int(torch.count_nonzero(buf <= self.threshold))
        # c ≥ lo, so indices are ≥ 0; the maximum lands on index `fine`, folded in below
        index = torch.sub(c, self.lo, out=buf).mul_(self.scale).to(torch.int64)
        counts = torch.bincount(index.reshape(-1), minlength=self.fine + 1)
        self.counts = counts if self.counts is None else self.counts.add_(counts)

    @staticmethod
    def merge(parts: list[_Sweep]) -> _Sweep:
        total = parts[0]
        for p in parts[1:]:
            total.m2, total.sum_abs = total.m2 + p.m2, total.sum_abs + p.sum_abs
            total.nonzero, total.near = total.nonzero + p.nonzero, total.near + p.near
            total.dead += p.dead
            if p.counts is not None:
                total.counts = p.counts if total.counts is None else total.counts + p.counts
        return total

    @property
    def fine_hist(self) -> np.ndarray:
        if self.counts is None:
            return np.zeros(self.fine, dtype=np.int64)
        counts = self.counts.cpu().numpy()
        return np.concatenate([counts[: self.fine - 1], [counts[self.fine - 1 :].sum()]])


def _dead_rows(rows: torch.Tensor) -> int:
    if rows.ndim != 2:
        return 0
    return int((torch.count_nonzero(rows, dim=1) == 0).sum())


# --- groups -----------------------------------------------------------------------------


def aggregate(name: str, members: Sequence[TensorStats], bins: int = HIST_BINS) -> GroupStats:
    """Combine tensor statistics exactly (moments, counts) or by sketches (percentiles)."""
    live = [m for m in members if m.finite_count]
    n = sum(m.finite_count for m in live)
    lo = min((m.min for m in live), default=math.nan)
    hi = max((m.max for m in live), default=math.nan)
    unit = _unit(max(abs(lo), abs(hi)), n, torch.float64) if n else 1.0  # as for one tensor
    mean_u = sum(m.mean / unit * m.finite_count for m in live) / n if n else math.nan
    m2_u = sum(
        (m.std / unit) ** 2 * m.finite_count + m.finite_count * (m.mean / unit - mean_u) ** 2
        for m in live
    )
    cdf = MixtureCdf([(m.sketch, m.finite_count) for m in live], unit) if n else None
    edges = np.linspace(lo / unit, hi / unit, bins + 1) if n else np.zeros(bins + 1)
    hist = (np.diff(cdf.between(edges)) * n).tolist() if cdf else [0.0] * bins
    return GroupStats(
        name=name,
        tensors=len(members),
        numel=sum(m.numel for m in members),
        mean=mean_u * unit,
        std=math.sqrt(m2_u / n) * unit if n else math.nan,
        min=lo,
        max=hi,
        mean_abs=sum(m.mean_abs / unit * m.finite_count for m in live) / n * unit
        if n
        else math.nan,
        l2_norm=math.sqrt(sum((m.l2_norm / unit) ** 2 for m in live)) * unit,
        zero_frac=sum(m.zero_frac * m.finite_count for m in live) / n if n else math.nan,
        near_zero_frac=sum(m.near_zero_frac * m.finite_count for m in live) / n if n else math.nan,
        nan_count=sum(m.nan_count for m in members),
        inf_count=sum(m.inf_count for m in members),
        units=sum(m.units for m in members),
        dead_units=sum(m.dead_units for m in members),
        percentiles=cdf.percentiles(members[0].percentiles) if cdf and members else {},
        hist=hist,
        hist_range=(lo, hi),
    )
