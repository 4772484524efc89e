"""Health checks of parameter tensors, from their statistics: non-finite values, all-zero
or constant tensors, dead output units, weights far larger than any initialisation gives,
and tensors whose scale is far from that of their layer type's other tensors.

Each flag carries the measured value and the threshold it crossed, so a reader can judge it.
The scale checks were tuned to raise nothing on freshly built GPT-2, BERT, ResNet, Llama,
T5 and ViT (transformers' configs), whose initialisations differ by design.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from torchscope.analysis.param_stats import TensorStats

__all__ = ["LARGE_SCALE", "SCALE_RATIO", "SCALE_Z", "HealthFlag", "health_flags", "init_scale"]

# large_scale: std · √fan_in above this. Initialisations keep it near 1 (PyTorch's default
# 0.58, He 1.41, GPT-2/BERT's std 0.02 at width 768: 0.55), so 20 is 14× He's gain.
LARGE_SCALE = 20.0
# scale_outlier: RMS (L2/√n, independent of size) at least this many times above or below
# the median RMS of its layer type, and a modified z-score (Iglewicz & Hoaglin) of log10 RMS
# above SCALE_Z, among at least _MIN_GROUP tensors. The ratio keeps deliberate differences
# (T5's queries are initialised 8× smaller than its keys) from being flagged.
SCALE_RATIO = 10.0
SCALE_Z = 3.5
_MIN_GROUP = 5


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
    """Non-finite values, all-zero or constant tensors, dead units, and scale problems.

    Example:
        >>> import torch
        >>> from torchscope.analysis.param_stats import describe_tensor
        >>> w = describe_tensor("fc.weight", torch.randn(32, 64) / 8 * 1000)
        >>> [(f.check, f.severity) for f in health_flags([w])]
        [('large_scale', 'warning')]
    """
    flags: list[HealthFlag] = []
    for t in tensors:
        flags.extend(_tensor_flags(t))
    large = {f.tensor for f in flags if f.check == "large_scale"}
    flags.extend(f for f in _scale_outliers(tensors) if f.tensor not in large)
    return flags


def init_scale(t: TensorStats) -> float:
    """std · √fan_in of a weight (2+ dimensions), else NaN: about 1 at initialisation.

    The fan-in is the smaller of rows and columns (a checkpoint does not say which side is
    the input; the smaller side errs towards no flag), and 1 for embeddings (one-hot rows).
    """
    if len(t.shape) < 2 or not t.numel or not math.isfinite(t.std):
        return math.nan
    rows = t.shape[0]
    fan_in = 1 if "embedding" in t.kind.lower() else min(rows, t.numel // max(rows, 1))
    return t.std * math.sqrt(fan_in)


def _tensor_flags(t: TensorStats) -> list[HealthFlag]:
    flags = []
    bad = t.nan_count + t.inf_count
    vector = len(t.shape) <= 1
    if bad:
        message = f"{t.nan_count} NaN and {t.inf_count} Inf of {t.numel} values"
        flags.append(HealthFlag(t.name, "non_finite", "error", message, bad / t.numel, 0.0))
    if t.finite_count and t.zero_frac == 1.0:
        severity = "info" if vector else "warning"
        flags.append(HealthFlag(t.name, "all_zero", severity, "every value is zero", 1.0, 1.0))
    elif t.finite_count > 1 and t.min == t.max:
        severity = "info" if vector else "warning"
        message = f"every value is {t.min:.6g}"
        flags.append(HealthFlag(t.name, "constant", severity, message, 0.0, 0.0))
    elif t.dead_units and "embedding" not in t.kind.lower():
        message = f"{t.dead_units} of {t.units} rows (output units) are all zero"
        flags.append(
            HealthFlag(t.name, "dead_units", "warning", message, t.dead_units / t.units, 0.0)
        )
    scale = init_scale(t)
    if scale > LARGE_SCALE:
        message = (
            f"std {t.std:.4g} is {scale:.4g}/√fan_in; initialisations give about 1/√fan_in "
            f"(flagged above {LARGE_SCALE:g})"
        )
        flags.append(HealthFlag(t.name, "large_scale", "warning", message, scale, LARGE_SCALE))
    return flags


def _rms(t: TensorStats) -> float:
    return t.l2_norm / math.sqrt(t.finite_count) if t.finite_count else math.nan


def _scale_outliers(tensors: Sequence[TensorStats]) -> list[HealthFlag]:
    groups: dict[str, list[TensorStats]] = {}
    for t in tensors:
        if _rms(t) > 0 and math.isfinite(_rms(t)):
            groups.setdefault(t.kind, []).append(t)
    flags = []
    for kind, members in groups.items():
        if len(members) < _MIN_GROUP:
            continue
        logs = np.log10([_rms(m) for m in members])
        median = float(np.median(logs))
        mad = float(np.median(np.abs(logs - median)))
        for member, value in zip(members, logs):
            gap = value - median
            z = 0.6745 * gap / mad if mad > 0 else math.copysign(math.inf, gap)
            if abs(gap) < math.log10(SCALE_RATIO) or abs(z) <= SCALE_Z:
                continue
            message = (
                f"RMS {10**value:.4g} is {10 ** abs(gap):.3g}× "
                f"{'above' if gap > 0 else 'below'} the median {10**median:.4g} of "
                f"{len(members)} {kind} tensors (robust z {z:+.1f})"
            )
            flags.append(HealthFlag(member.name, "scale_outlier", "warning", message, z, SCALE_Z))
    return flags
