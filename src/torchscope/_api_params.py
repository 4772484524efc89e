"""The public parameter functions, ``inspect_params`` and ``diff``: thin over capture → analysis."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn

from torchscope.analysis.importance import LossFn, taylor_importance
from torchscope.analysis.param_diff import ParamDiff, tensor_change
from torchscope.analysis.param_report import ParamReport, build_report
from torchscope.analysis.param_stats import HIST_BINS, NEAR_ZERO, layer_kind, tensor_stats
from torchscope.analysis.spectral import SpectralRunner, spectral_kind
from torchscope.capture.checkpoint import (
    TensorEntry,
    TensorSource,
    is_checkpoint_path,
    tensor_source,
)

__all__ = ["diff", "inspect_params"]


def inspect_params(
    source: Any,
    *,
    spectral: bool = False,
    batch: Any = None,
    loss_fn: LossFn | None = None,
    include_buffers: bool = False,
    device: str | torch.device | None = None,
    bins: int = HIST_BINS,
    near_zero: float = NEAR_ZERO,
    config: dict[str, Any] | None = None,
    progress: bool = False,
) -> ParamReport:
    """Statistics, health flags and importance of every parameter tensor of ``source``.

    Args:
        source: an ``nn.Module``, a state dict, a checkpoint (``.safetensors``, ``.pt``/
            ``.pth``/``.bin`` read with ``weights_only=True``, or a directory of shards),
            or a model spec such as ``hf:GPT2LMHeadModel`` (built with random weights).
            Checkpoints are read one tensor at a time and never run code.
        spectral: also fit the eigenvalue spectrum of every 2-D/conv weight (alpha…).
        batch, loss_fn: add first-order Taylor saliency |w·∂L/∂w| on this batch (needs a
            model; see ``analysis.importance.taylor_importance`` for the pairings).
        include_buffers: also analyse a model's floating-point buffers.
        device: move each tensor there for the analysis (e.g. ``"cuda"``); default: where
            it is (the CPU for checkpoints).
        bins: display histogram bins; near_zero: |w| ≤ near_zero × max|w| counts as near zero.
        config: ``hf:`` spec overrides, e.g. ``{"n_layer": 2}``.
        progress: show a progress bar on stderr.

    Example:
        >>> import torch, torchscope
        >>> report = torchscope.inspect_params(torch.nn.Linear(4, 2))
        >>> [t.name for t in report.tensors], report.total.numel
        (['weight', 'bias'], 10)
    """
    if device is not None and torch.device(device).type == "meta":
        raise ValueError(
            "parameter statistics need real values and the meta device holds none: "
            "use device='cpu' or 'cuda' (the default reads tensors where they are)"
        )
    model = _model_of(source, config)
    src = tensor_source(
        model if model is not None else source, include_buffers=include_buffers, config=config
    )
    if batch is not None and model is None:
        raise ValueError("Taylor saliency needs a model (nn.Module or spec), not a checkpoint")
    stats, skipped = [], {}
    runner = SpectralRunner() if spectral else None
    with src, runner or contextlib.nullcontext():
        for entry, tensor in _with_progress(src, progress, f"reading {src.label}"):
            reason = _unreadable(entry, tensor)
            if reason:
                skipped[entry.name] = reason
                continue
            if device is not None:
                tensor = tensor.to(device)
            kind = layer_kind(entry.name, entry.shape, entry.module_type)
            stats.append(
                tensor_stats(
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
    taylor = None
    if batch is not None and model is not None:
        taylor = taylor_importance(model, batch, loss_fn)
    settings = {
        "bins": bins,
        "near_zero": near_zero,
        "percentiles": list(stats[0].percentiles) if stats else [],
    }
    return build_report(
        src.label, stats, spectral=spectra, taylor=taylor, skipped=skipped, settings=settings
    )


def diff(
    a: Any,
    b: Any,
    *,
    device: str | torch.device | None = None,
    config: dict[str, Any] | None = None,
    progress: bool = False,
) -> ParamDiff:
    """Compare two models or checkpoints tensor by tensor (any sources ``inspect_params``
    takes); one pair of tensors is in memory at a time.

    Example:
        >>> import torch, torchscope
        >>> net = torch.nn.Linear(4, 2)
        >>> d = torchscope.diff(net, net.state_dict())
        >>> d.identical, d.rel_change
        (True, 0.0)
    """
    with tensor_source(a, config=config) as src_a, tensor_source(b, config=config) as src_b:
        result = ParamDiff(src_a.label, src_b.label, [])
        names_b = {e.name for e in src_b.entries}
        for entry in src_b.entries:
            if entry.name not in src_a:
                result.added[entry.name] = list(entry.shape)
        for entry, ta in _with_progress(src_a, progress, "comparing"):
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


def _model_of(source: Any, config: dict[str, Any] | None) -> nn.Module | None:
    """The model behind a source, building a spec's; None for checkpoints and state dicts."""
    if isinstance(source, nn.Module):
        return source
    if isinstance(source, str) and not is_checkpoint_path(source):
        from torchscope.capture.spec import load_model

        return load_model(source, config or {}).model
    return None


def _unreadable(entry: TensorEntry, tensor: torch.Tensor) -> str:
    if tensor.device.type == "meta":
        return "on the meta device (no values)"
    if not tensor.is_floating_point():
        return f"{entry.dtype} (not floating point)"
    return ""


def _with_progress(
    source: TensorSource, enabled: bool, label: str
) -> Iterator[tuple[TensorEntry, torch.Tensor]]:
    """The source's tensors, with a rich progress bar (bytes, throughput) on stderr."""
    items: Iterable[tuple[TensorEntry, torch.Tensor]] = source
    if not enabled:
        yield from items
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    total = sum(e.nbytes for e in source.entries)
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(label, total=total)
        for entry, tensor in items:
            yield entry, tensor
            bar.advance(task, entry.nbytes)
