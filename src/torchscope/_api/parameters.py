"""``inspect_params`` and ``diff``: the weights of a model or checkpoint, and two compared."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

    from torchscope.analysis.importance import LossFn
    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport

__all__ = ["diff", "inspect_params"]

# Defaults of inspect_params, repeated from analysis.param_stats so importing this stays light.
_HIST_BINS = 64
_NEAR_ZERO = 1e-3


def inspect_params(
    source: Any,
    *,
    spectral: bool = False,
    batch: Any = None,
    loss_fn: LossFn | None = None,
    include_buffers: bool = False,
    device: str | torch.device | None = None,
    bins: int = _HIST_BINS,
    near_zero: float = _NEAR_ZERO,
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
    import torch

    from torchscope.analysis.importance import taylor_importance
    from torchscope.analysis.param_inspection import inspect_source
    from torchscope.sources.checkpoint import tensor_source

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
    taylor = (
        taylor_importance(model, batch, loss_fn)
        if batch is not None and model is not None
        else None
    )
    return inspect_source(
        src,
        spectral=spectral,
        taylor=taylor,
        device=device,
        bins=bins,
        near_zero=near_zero,
        progress=progress,
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
    from torchscope.analysis.param_inspection import compare_sources
    from torchscope.sources.checkpoint import tensor_source

    return compare_sources(
        tensor_source(a, config=config),
        tensor_source(b, config=config),
        device=device,
        progress=progress,
    )


def _model_of(source: Any, config: dict[str, Any] | None) -> nn.Module | None:
    """The model behind a source, building a spec's; None for checkpoints and state dicts."""
    from torch import nn

    from torchscope.sources.checkpoint import is_checkpoint_path

    if isinstance(source, nn.Module):
        return source
    if isinstance(source, str) and not is_checkpoint_path(source):
        from torchscope.sources.spec import load_model

        return load_model(source, config or {}).model
    return None
