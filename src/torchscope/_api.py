"""The public functions: thin over sources → capture → analysis → render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torchscope.model.graph import ModelGraph

if TYPE_CHECKING:
    import torch
    from torch import nn

    from torchscope.analysis.importance import LossFn
    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport
    from torchscope.analysis.summary import Summary
    from torchscope.render.graph_view import GraphView
    from torchscope.web.server import DashboardURL

__all__ = ["diff", "draw", "inspect_params", "serve", "summary", "trace"]

# Defaults of inspect_params, repeated from analysis.param_stats so importing this stays light.
_HIST_BINS = 64
_NEAR_ZERO = 1e-3


def trace(model: Any, *args: Any, **kwargs: Any) -> ModelGraph:
    """Run one forward pass and return its ModelGraph (see ``torchscope.capture.trace``).

    Example:
        >>> import torch, torchscope
        >>> torchscope.trace(torch.nn.Linear(4, 2), input_size=(1, 4)).total_params
        10
    """
    from torchscope.capture.trace import trace as _trace

    return _trace(model, *args, **kwargs)


def summary(
    model: Any,
    *args: Any,
    depth: int = 4,
    fold: bool = True,
    **kwargs: Any,
) -> Summary:
    """Summarise a model (or an already captured ModelGraph): module table and totals.

    Takes the same inputs as ``trace`` (positional inputs, ``input_size=``, ``device=``,
    ``dtype=``, keyword inputs). Raises ``TraceError`` when the forward fails; its
    ``partial`` graph can still be summarised.

    Example:
        >>> import torch, torchscope
        >>> s = torchscope.summary(torch.nn.Linear(4, 2), input_size=(1, 4))
        >>> s.totals.total_params, s.totals.macs
        (10, 8)
    """
    from torchscope.analysis.summary import summarize

    graph = model if isinstance(model, ModelGraph) else trace(model, *args, **kwargs)
    return summarize(graph, depth=depth, fold=fold)


def draw(
    model_or_graph: Any,
    *inputs: Any,
    depth: int | None = None,
    roll: bool = True,
    hide_trivial: bool = True,
    color_by: str | dict[str, float] | None = None,
    direction: str = "TB",
    title: str | None = None,
    **trace_kwargs: Any,
) -> GraphView:
    """Draw a model (or a captured ModelGraph): modules as nested boxes down to ``depth``.

    Args:
        model_or_graph: an ``nn.Module`` (traced with ``inputs``/``trace_kwargs`` exactly as
            ``torchscope.trace`` takes them) or a ``ModelGraph``.
        depth: deepest module level drawn as a box; deeper modules collapse into one node.
            ``None`` picks the deepest level that keeps the drawing to about 30 nodes.
        roll: draw runs of identical numbered blocks once with a ×N badge.
        hide_trivial: contract views, reshapes, dropout in eval and constant ops.
        color_by: ``"params"``, ``"macs"``, ``"activation"`` or a mapping of module name →
            value; nodes are coloured on that scale and a legend is added.
        direction: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).

    Example:
        >>> import torch, torchscope
        >>> net = torch.nn.Sequential(*[torch.nn.Linear(8, 8) for _ in range(4)])
        >>> view = torchscope.draw(net, input_size=(1, 8), depth=1)
        >>> [(n.label, n.repeat) for n in view.view.nodes if n.kind == "module"]
        [('0-3', 4)]
        >>> view.to_dot().startswith("digraph")
        True
    """
    from torchscope.analysis.visible_graph import COLOR_BY, visible_graph
    from torchscope.render.graph_view import GraphView

    direction = direction.upper()
    if direction not in ("TB", "LR"):
        raise ValueError(f"direction must be 'TB' or 'LR', not {direction!r}")
    if isinstance(color_by, str) and color_by not in COLOR_BY:
        raise ValueError(
            f"color_by must be one of {', '.join(COLOR_BY)} or a mapping, not {color_by!r}"
        )
    if isinstance(model_or_graph, ModelGraph):
        graph = model_or_graph
    else:
        graph = trace(model_or_graph, *inputs, **trace_kwargs)
    view = visible_graph(graph, depth, roll=roll, hide_trivial=hide_trivial, color_by=color_by)
    return GraphView(graph, view, direction=direction, color_by=color_by, title=title)


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


def serve(
    logdir: Any = "runs",
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    open: bool = False,
) -> DashboardURL:
    """Start the live dashboard of the runs under ``logdir`` (one or a list) in the background.

    Returns its URL, a ``str`` that shows the page inline when it is a notebook cell's
    result, with ``.stop()`` to shut the server down. ``port=None`` takes 6007 or the next
    free port; a ``host`` other than loopback requires a token, which the URL carries.

    Example:
        >>> url = torchscope.serve("runs")  # doctest: +SKIP
        >>> url  # doctest: +SKIP
        'http://127.0.0.1:6007/'
    """
    from pathlib import Path

    from torchscope.web.app import DashboardConfig
    from torchscope.web.server import serve_in_background

    logdirs = [logdir] if isinstance(logdir, (str, Path)) else list(logdir)
    url = serve_in_background(DashboardConfig(logdirs, host=host, port=port))
    if open:
        import webbrowser

        webbrowser.open(url)
    return url


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
