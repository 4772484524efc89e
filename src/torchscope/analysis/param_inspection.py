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
from torchscope.analysis.param_diff import ParamDiff, match_names, tensor_change
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
    """A ParamReport of every non-empty floating-point tensor of ``src`` (others are listed
    as skipped, with the reason)."""
    stats, skipped = [], {}
    runner = SpectralRunner() if spectral else None
    with src, runner or contextlib.nullcontext():
        for entry, tensor in _tensors(src, progress, f"reading {src.label}"):
            # an empty tensor has no statistics; skipping it also keeps a header of
            # thousands of them from costing a full histogram each
            reason = _unreadable(entry, tensor) or ("empty" if tensor.numel() == 0 else "")
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
    """A ParamDiff of ``src_b`` against ``src_a``, one pair of tensors in memory at a time.

    Names are matched after stripping wrapper prefixes (``match_names``); raises
    NothingToCompare, before reading any tensor, when none match.
    """
    with src_a, src_b:
        match = match_names([e.name for e in src_a.entries], [e.name for e in src_b.entries])
        in_b = {match.key_b(e.name): e for e in src_b.entries}
        in_a = {match.key_a(e.name) for e in src_a.entries}
        result = ParamDiff(src_a.label, src_b.label, [], prefixes=(match.prefix_a, match.prefix_b))
        for key, entry_b in in_b.items():
            if key not in in_a:
                result.added[key] = list(entry_b.shape)
        for entry, ta in _tensors(src_a, progress, "comparing"):
            key = match.key_a(entry.name)
            other = in_b.get(key)
            if other is None:
                result.removed[key] = list(entry.shape)
                continue
            if other.dtype != entry.dtype:
                result.retyped[key] = (entry.dtype, other.dtype)
            if other.shape != entry.shape:
                result.reshaped[key] = (list(entry.shape), list(other.shape))
                continue
            tb = src_b.get(other.name)
            if _unreadable(entry, ta) or _unreadable(other, tb):
                result.skipped.append(key)
                continue
            if device is not None:
                ta = ta.to(device)
            result.changes.append(tensor_change(key, ta, tb))
    return result


def _unreadable(entry: TensorEntry, tensor: torch.Tensor) -> str:
    if tensor.device.type == "meta":
        return "on the meta device (no values)"
    if tensor.layout != torch.strided:
        return f"{str(tensor.layout).removeprefix('torch.')} (not dense)"
    if not tensor.is_floating_point():
        return f"{entry.dtype} (not floating point)"
    return ""


def _tensors(
    src: TensorSource, progress: bool, label: str
) -> Iterator[tuple[TensorEntry, torch.Tensor]]:
    """The source's tensors, with a progress bar in bytes when asked."""
    return byte_progress(src, (e.nbytes for e in src.entries), label, enabled=progress)
