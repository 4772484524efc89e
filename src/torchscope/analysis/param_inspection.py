"""Statistics of every tensor a source yields, and the comparison of two sources.

A source (``sources.tensors.TensorSource``) lists its tensors before reading them and
yields them one at a time; these loops hold about one tensor (or one pair) in memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from torchscope._progress import byte_progress
from torchscope.analysis.importance import Importance
from torchscope.analysis.param_diff import ParamDiff, tensor_change
from torchscope.analysis.param_report import ParamReport, build_report
from torchscope.analysis.param_stats import HIST_BINS, NEAR_ZERO, describe_tensor, layer_kind
from torchscope.analysis.spectral import SpectralRunner, spectral_kind

if TYPE_CHECKING:
    from torchscope.sources.tensors import TensorEntry, TensorSource

__all__ = ["compare_sources", "inspect_source"]


def inspect_source(
    src: TensorSource,
    *,
    spectral: bool = False,
    taylor: Importance | None = None,
    device: str | torch.device | None = None,
    bins: int = HIST_BINS,
    near_zero: float = NEAR_ZERO,
    progress: bool = False,
) -> ParamReport:
    """A ParamReport of every floating-point tensor of ``src`` (others are listed as skipped)."""
    stats, skipped = [], {}
    runner = SpectralRunner() if spectral else None
    with src, runner or contextlib.nullcontext():
        for entry, tensor in _tensors(src, progress, f"reading {src.label}"):
            reason = _unreadable(entry, tensor)
            if reason:
                skipped[entry.name] = reason
                continue
            if device is not None:
                tensor = tensor.to(device)
            kind = layer_kind(entry.name, entry.shape, entry.module_type)
            stats.append(
                describe_tensor(
                    entry.name,
                    tensor,
                    kind=kind,
                    bins=bins,
                    near_zero=near_zero,
                    aliases=entry.aliases,
                )
            )
            spectral_type = spectral_kind(entry.name, entry.shape, entry.module_type)
            if runner is not None and spectral_type is not None:
                runner.submit(entry.name, tensor, spectral_type)
        spectra = runner.report() if runner is not None else None
    settings: dict[str, Any] = {
        "bins": bins,
        "near_zero": near_zero,
        "percentiles": list(stats[0].percentiles) if stats else [],
    }
    return build_report(
        src.label, stats, spectral=spectra, taylor=taylor, skipped=skipped, settings=settings
    )


def compare_sources(
    src_a: TensorSource,
    src_b: TensorSource,
    *,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> ParamDiff:
    """A ParamDiff of ``src_b`` against ``src_a``, one pair of tensors in memory at a time."""
    with src_a, src_b:
        result = ParamDiff(src_a.label, src_b.label, [])
        names_b = {e.name for e in src_b.entries}
        for entry in src_b.entries:
            if entry.name not in src_a:
                result.added[entry.name] = list(entry.shape)
        for entry, ta in _tensors(src_a, progress, "comparing"):
            if entry.name not in names_b:
                result.removed[entry.name] = list(entry.shape)
                continue
            other = src_b.entry(entry.name)
            if other.shape != entry.shape:
                result.reshaped[entry.name] = (list(entry.shape), list(other.shape))
                continue
            tb = src_b.get(entry.name)
            reason = _unreadable(entry, ta) or _unreadable(other, tb)
            if reason:
                result.skipped.append(entry.name)
                continue
            if device is not None:
                ta = ta.to(device)
            result.changes.append(tensor_change(entry.name, ta, tb))
    return result


def _unreadable(entry: TensorEntry, tensor: torch.Tensor) -> str:
    if tensor.device.type == "meta":
        return "on the meta device (no values)"
    if not tensor.is_floating_point():
        return f"{entry.dtype} (not floating point)"
    return ""


def _tensors(
    src: TensorSource, progress: bool, label: str
) -> Iterator[tuple[TensorEntry, torch.Tensor]]:
    """The source's tensors, with a progress bar in bytes when asked."""
    return byte_progress(src, (e.nbytes for e in src.entries), label, enabled=progress)
