"""Health checks of parameter tensors, from their statistics: non-finite values, all-zero
or constant tensors, dead output units, and L2 norms far from their layer type's.

Each flag carries the measured value and the threshold it crossed, so a reader can judge it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from torchscope.analysis.param_stats import TensorStats

__all__ = ["NORM_Z_THRESHOLD", "HealthFlag", "health_flags"]

# The norm-outlier check: modified z-score (Iglewicz & Hoaglin) of log10 L2 norms within
# a layer type, over at least this many tensors.
NORM_Z_THRESHOLD = 3.5
_NORM_MIN_GROUP = 5


@dataclass(frozen=True)
class HealthFlag:
    """A problem found in a tensor, with the measured value and the threshold it crossed.

    ``severity`` is ``error`` (non-finite values), ``warning``, or ``info`` for patterns
    expected at initialisation (all-zero biases, constant norm scales).
    """

    tensor: str
    check: str
    severity: str
    message: str
    value: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def health_flags(tensors: Sequence[TensorStats]) -> list[HealthFlag]:
    """Non-finite values, all-zero or constant tensors, dead units, and norm outliers."""
    flags: list[HealthFlag] = []
    for t in tensors:
        flags.extend(_tensor_flags(t))
    flags.extend(_norm_outliers(tensors))
    return flags


def _tensor_flags(t: TensorStats) -> list[HealthFlag]:
    flags = []
    bad = t.nan_count + t.inf_count
    vector = len(t.shape) <= 1
    if bad:
        flags.append(
            HealthFlag(
                t.name,
                "non_finite",
                "error",
                f"{t.nan_count} NaN and {t.inf_count} Inf of {t.numel} values",
                bad / t.numel,
                0.0,
            )
        )
    if t.finite_count and t.zero_frac == 1.0:
        flags.append(
            HealthFlag(
                t.name, "all_zero", "info" if vector else "warning", "every value is zero", 1.0, 1.0
            )
        )
    elif t.finite_count > 1 and t.min == t.max:
        flags.append(
            HealthFlag(
                t.name,
                "constant",
                "info" if vector else "warning",
                f"every value is {t.min:.6g}",
                0.0,
                0.0,
            )
        )
    elif t.dead_units and "embedding" not in t.kind.lower():
        flags.append(
            HealthFlag(
                t.name,
                "dead_units",
                "warning",
                f"{t.dead_units} of {t.units} rows (output units) are all zero",
                t.dead_units / t.units,
                0.0,
            )
        )
    return flags


def _norm_outliers(tensors: Sequence[TensorStats]) -> list[HealthFlag]:
    groups: dict[str, list[TensorStats]] = {}
    for t in tensors:
        if t.l2_norm > 0 and math.isfinite(t.l2_norm):
            groups.setdefault(t.kind, []).append(t)
    flags = []
    for kind, members in groups.items():
        if len(members) < _NORM_MIN_GROUP:
            continue
        logs = np.log10([m.l2_norm for m in members])
        median = float(np.median(logs))
        mad = float(np.median(np.abs(logs - median)))
        for member, value in zip(members, logs):
            z = 0.6745 * (value - median) / mad if mad > 0 else 0.0
            if abs(z) > NORM_Z_THRESHOLD:
                message = (
                    f"L2 norm {member.l2_norm:.4g} vs median {10**median:.4g} of "
                    f"{len(members)} {kind} tensors (robust z {z:+.1f})"
                )
                flags.append(
                    HealthFlag(member.name, "norm_outlier", "warning", message, z, NORM_Z_THRESHOLD)
                )
    return flags
