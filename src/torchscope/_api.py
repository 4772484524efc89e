"""The public functions: thin over sources → capture → analysis → render."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchscope.model.graph import ModelGraph

if TYPE_CHECKING:
    import torch
    from torch import nn

    from torchscope.analysis.evaluation import Evaluation
    from torchscope.analysis.importance import LossFn
    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport
    from torchscope.analysis.profile import Profile
    from torchscope.analysis.summary import Summary
    from torchscope.monitor.monitor import Monitor
    from torchscope.render.graph_view import GraphView
    from torchscope.render.report import Report
    from torchscope.store.writer import RunWriter

__all__ = [
    "diff",
    "draw",
    "evaluate",
    "inspect_params",
    "profile",
    "report",
    "summary",
    "trace",
]

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


def profile(
    model: Any,
    *inputs: Any,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    backward: bool = True,
    warmup: int = 3,
    repeat: int = 10,
    depth: int = 3,
    peak_tflops: float | None = None,
    input_size: Any = None,
    **kwargs: Any,
) -> Profile:
    """Profile real training steps (forward and, with ``backward``, backward) per module.

    One captured forward gives MACs and tensor sizes; ``warmup`` plain steps give the
    unprofiled time; ``repeat`` steps under ``torch.profiler`` give medians and spreads of
    each module's time and memory. The model is left as it was (gradients, buffers, RNG).

    Args:
        model: an ``nn.Module`` (a ``torch.compile`` wrapper is profiled as one region).
        *inputs, **kwargs: the forward's inputs, as ``trace`` takes them (or ``input_size``).
        device, dtype: run on copies of the weights there / in that dtype.
        depth: deepest module level of the table (``Profile.modules`` has every module).
        peak_tflops: the device's peak for MFU, when it is not in the built-in table.

    Example:
        >>> import torch, torchscope
        >>> net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU())
        >>> p = torchscope.profile(net, input_size=(8, 64), warmup=1, repeat=2)
        >>> p.module("0").macs, p.module("0").calls
        (32768, 1)
    """
    import time

    from torchscope.analysis.profile import build_profile
    from torchscope.capture.profile import is_compiled, measure, placed_inputs, preserved

    started = time.perf_counter()
    inner = model._orig_mod if is_compiled(model) and hasattr(model, "_orig_mod") else model
    # random inputs draw no numbers from the caller's RNG (trace keeps the model itself)
    with preserved(model):
        run_device, cast, args, kw = placed_inputs(model, inputs, kwargs, input_size, device, dtype)
        graph = trace(inner, *args, device=run_device, dtype=cast, **kw)
    traced = time.perf_counter()
    measured = measure(
        model, args, kw, device=run_device, dtype=cast,
        backward=backward, warmup=warmup, repeat=repeat,
    )  # fmt: skip
    measured_at = time.perf_counter()
    result = build_profile(graph, measured, depth=depth, peak_tflops=peak_tflops)
    result.analysis_s = (traced - started) + (time.perf_counter() - measured_at)
    return result


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


def report(
    model: Any = None,
    inputs: Any = None,
    *,
    run: str | Path | None = None,
    evaluation: Any = None,
    profile: Any = None,
    checkpoint: str | Path | Sequence[str | Path] | None = None,
    title: str | None = None,
    input_size: Any = None,
    config: dict[str, Any] | None = None,
    spectral: bool = True,
    device: str | None = None,
    dtype: str | None = None,
    progress: bool = False,
) -> Report:
    """One self-contained HTML report of a model, its weights, its run and its evaluation.

    Any subset of the inputs gives the sections it can. Args:
        model: an ``nn.Module``, a spec (``hf:GPT2LMHeadModel``, ``pkg.mod:Name``) or a
            ``ModelGraph``; traced with ``inputs`` (a tensor, a tuple of positional inputs
            or a dict of keyword inputs) or ``input_size`` for the architecture; ``hf:``
            specs bring their own example inputs. Its weights give the parameter section.
        run: a run directory written by a Monitor: curves, layer heatmaps, distributions,
            health, configuration; and the architecture when no model is given and the
            Monitor stored its summary.
        evaluation: an ``Evaluation`` from ``torchscope.evaluate``, or the path of its
            saved JSON (``Evaluation.to_json``/``save``).
        profile: a ``Profile`` from ``torchscope.profile``, or the path of its JSON
            (``Profile.to_json``), for the compute profile section; without one, the
            profile a Monitor stored in ``run`` (``profile_at=``) is shown when there is one.
        checkpoint: a checkpoint whose weights the parameter section describes instead of
            the model's; two checkpoints ``(a, b)`` add their diff (statistics of ``b``).
        spectral: fit the spectral alpha of every weight matrix (seconds for GPT-2).

    Example:
        >>> import torch, torchscope
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU())
        >>> r = torchscope.report(net, inputs=torch.randn(1, 4), title="tiny")
        >>> r.section_ids()[:3], r.to_html().startswith("<!DOCTYPE html>")
        (['summary', 'architecture', 'parameters'], True)
    """
    from torchscope.analysis.summary import summarize
    from torchscope.render.report import Report

    checkpoints = _checkpoints(checkpoint)
    if all(x is None for x in (model, run, evaluation, profile)) and not checkpoints:
        raise ValueError(
            "nothing to report: give a model, a checkpoint, a run, an evaluation or a profile"
        )
    sources: dict[str, str] = {}
    notes: list[str] = []
    module, graph = _report_model(model, inputs, input_size, config, device, dtype, sources)
    if graph is None and run is not None:
        graph = _stored_graph(Path(run), notes)
    if module is not None and graph is None:
        notes.append("No architecture: the model needs example inputs (inputs= or input_size=).")
    weights = checkpoints[-1] if checkpoints else module
    for label, path in zip(("checkpoint", "compared with"), checkpoints[::-1]):
        sources[label] = str(path)
    if run is not None:
        sources["run"] = str(run)
    return Report(
        title=title or _report_title(graph, module, checkpoints, run),
        summary=summarize(graph) if graph is not None else None,
        graph=draw(graph) if graph is not None else None,
        params=inspect_params(weights, spectral=spectral, progress=progress)
        if weights is not None
        else None,
        diff=diff(checkpoints[0], checkpoints[1], progress=progress)
        if len(checkpoints) == 2
        else None,
        run=Path(run) if run is not None else None,
        evaluation=_evaluation_of(evaluation),
        profile=_profile_of(profile),
        sources=sources,
        notes=notes,
    )


def _evaluation_of(evaluation: Any) -> Evaluation | None:
    """An Evaluation as given, or read back from its JSON file."""
    import json

    from torchscope.analysis.evaluation import Evaluation

    if evaluation is None or isinstance(evaluation, Evaluation):
        return evaluation
    if isinstance(evaluation, str | Path):
        path = Path(evaluation)
        data = json.loads((path / "evaluation.json" if path.is_dir() else path).read_text())
        return Evaluation.from_dict(data)
    raise TypeError(f"evaluation= takes an Evaluation or a JSON path, not {type(evaluation)}")


def _profile_of(profile: Any) -> Profile | None:
    """A Profile as given, or read back from its JSON file."""
    import json

    from torchscope.analysis.profile import Profile

    if profile is None or isinstance(profile, Profile):
        return profile
    if isinstance(profile, str | Path):
        return Profile.from_dict(json.loads(Path(profile).read_text()))
    raise TypeError(f"profile= takes a Profile or a JSON path, not {type(profile)}")


def _checkpoints(checkpoint: Any) -> list[str | Path]:
    if checkpoint is None:
        return []
    single = isinstance(checkpoint, str | bytes) or hasattr(checkpoint, "__fspath__")
    items = [checkpoint] if single else list(checkpoint)
    if not 1 <= len(items) <= 2:
        raise ValueError(f"checkpoint= takes one path or two (to compare), not {len(items)}")
    return items


def _report_model(
    model: Any,
    inputs: Any,
    input_size: Any,
    config: dict[str, Any] | None,
    device: str | None,
    dtype: str | None,
    sources: dict[str, str],
) -> tuple[nn.Module | None, ModelGraph | None]:
    """The module (built from a spec if need be) and its traced graph, when inputs exist."""
    import torch

    if model is None:
        return None, None
    if isinstance(model, ModelGraph):
        sources["model"] = model.model_type
        return None, model
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if isinstance(model, str):
        from torchscope.sources.spec import load_model

        loaded = load_model(model, config or {})
        sources["model"] = model
        module, args, kwargs = loaded.model, loaded.args, dict(loaded.kwargs)
    else:
        module = model
        sources["model"] = type(model).__name__
    if isinstance(inputs, dict):
        args, kwargs = (), dict(inputs)
    elif isinstance(inputs, torch.Tensor):
        args, kwargs = (inputs,), {}
    elif inputs is not None:
        args, kwargs = tuple(inputs), {}
    if not (args or kwargs or input_size is not None):
        return module, None
    graph = trace(module, *args, input_size=input_size, device=device, dtype=dtype, **kwargs)
    return module, graph


def _stored_graph(run: Path, notes: list[str]) -> ModelGraph | None:
    """The ModelGraph a Monitor stored with the run (``example_input=``), if any."""
    from torchscope.store.reader import RunReader

    with RunReader(run) as reader:
        stored = reader.meta_value("graph")
    if not isinstance(stored, dict):
        return None
    try:
        return ModelGraph.from_dict(stored)
    except (KeyError, TypeError, ValueError) as exc:
        notes.append(f"The model graph stored with the run could not be read ({exc}).")
        return None


def _report_title(graph: ModelGraph | None, module: Any, checkpoints: list[Any], run: Any) -> str:
    if graph is not None:
        return graph.model_type
    if module is not None:
        return type(module).__name__
    if checkpoints:
        return Path(checkpoints[-1]).name
    return Path(run).name if run is not None else "torchscope report"


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


def evaluate(
    model: nn.Module,
    loader: Iterable[Any],
    *,
    loss_fn: Callable[[Any, Any], Any] | None = None,
    labels: Sequence[str] | None = None,
    task: str = "auto",
    batch_fn: Callable[[Any], Any] | None = None,
    output_fn: Callable[[Any], Any] | None = None,
    device: str | torch.device | None = None,
    top_k: Sequence[int] = (5,),
    bins: int = 15,
    curves: bool = True,
    probabilities: bool = False,
    ignore_index: int | None = -100,
    zero_division: float = 0.0,
    max_batches: int | None = None,
    monitor: Monitor | None = None,
    logdir: str | Path | RunWriter | None = None,
    step: int | None = None,
    split: str = "test",
    progress: bool = True,
) -> Evaluation:
    """Run ``model`` over ``loader`` and measure it: an ``Evaluation`` of the whole data set.

    The model runs under ``torch.inference_mode()`` in eval mode on ``device`` (default:
    where its parameters are); each module's train/eval flag and the random state are
    restored afterwards, and nothing else about the model changes. A progress bar
    (batches, samples/s) shows on stderr when it is a terminal.

    Args:
        loader: any iterable of batches: ``(x, y)``, ``(x1, …, y)``, or dicts with the
            target under ``labels``/``label``/``targets``/``target``/``y``.
        loss_fn: ``loss_fn(output, target)``, averaged over the samples (``loss``).
        labels: class names (or, for regression, output names).
        task: ``"auto"`` (from the first batch's shapes and target: see
            ``analysis.eval_tasks``), ``"multiclass"``, ``"binary"``, ``"multilabel"`` or
            ``"regression"``.
        batch_fn: ``batch_fn(batch) -> (inputs, target)`` for other batch layouts; a tuple
            of inputs goes in positionally, a dict as keyword arguments.
        output_fn: picks the scores from the model's output (default: a tensor as it is,
            ``.logits`` of an HF ``ModelOutput``, the first element of a tuple).
        top_k: the k of each ``top{k}_accuracy`` (multiclass, for k below the class count).
        bins: equal-width confidence bins of the calibration (ECE, reliability diagram).
        curves: keep the scores for ROC/PR curves and their areas (4·C + 8 bytes per
            sample); without them memory does not grow with the data set.
        probabilities: the outputs are probabilities, not logits.
        ignore_index: multiclass targets left out (``cross_entropy``'s -100).
        zero_division: precision/recall/F1 of a class with nothing to divide by: 0, 1 or
            NaN, as scikit-learn's ``zero_division``.
        monitor, logdir: store the evaluation in that run (a ``Monitor``, or a run
            directory or ``RunWriter``) at ``step`` (default: the monitor's step, else 0)
            under ``split``: its metrics as scalars and its confusion matrix, so run plots
            and the dashboard show it over time. A monitor's hooks are paused meanwhile.

    Example:
        >>> import torch, torchscope
        >>> x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
        >>> batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
        >>> ev = torchscope.evaluate(torch.nn.Linear(4, 3), batches, progress=False)
        >>> ev.task, ev.samples, 0.0 <= ev.metrics["accuracy"] <= 1.0
        ('multiclass', 64, True)
    """
    from torchscope.analysis.evaluation import EvalOptions, run_evaluation

    if monitor is not None and logdir is not None:
        raise ValueError("store the evaluation through monitor= or logdir=, not both")
    if step is None:
        step = monitor.step if monitor is not None else (0 if logdir is not None else None)
    options = EvalOptions(
        task=task,
        labels=labels,
        loss_fn=loss_fn,
        batch_fn=batch_fn,
        output_fn=output_fn,
        device=device,
        top_k=top_k,
        bins=bins,
        curves=curves,
        probabilities=probabilities,
        ignore_index=ignore_index,
        zero_division=zero_division,
        max_batches=max_batches,
        progress=progress,
        split=split,
        step=step,
    )
    with _monitor_paused(monitor):
        result = run_evaluation(model, loader, options)
    if monitor is not None:
        _store_in_monitor(result, monitor)
    elif logdir is not None:
        _store_in_writer(result, logdir)
    return result


@contextlib.contextmanager
def _monitor_paused(monitor: Monitor | None) -> Iterator[None]:
    """The monitor's hooks removed for the block, unless it is already paused."""
    if monitor is None or monitor.is_paused:
        yield
        return
    with monitor.paused():
        yield


def _finite(values: dict[str, float]) -> dict[str, float]:
    """The defined values: NaN (an undefined metric) is not a non-finite alarm in a run."""
    import math

    return {k: float(v) for k, v in values.items() if math.isfinite(v)}


def _store_in_monitor(result: Evaluation, monitor: Monitor) -> None:
    """Metrics and confusion matrix through the Monitor's public logging calls.

    The confusion matrix goes through ``log_classification`` as (predicted, true) class
    pairs rebuilt from its counts; the monitor then writes the averages it derives from
    the matrix (``classification_metrics``: zero_division 0), so those are not logged twice.
    """
    import numpy as np
    import torch

    from torchscope.analysis.classification import classification_metrics

    assert result.step is not None
    scalars = _finite(result.scalars())
    if result.confusion is not None:
        counts = np.asarray(result.confusion, dtype=np.int64)
        classes = np.arange(len(counts))
        truth = np.repeat(classes, counts.sum(axis=1))
        predicted = np.concatenate([np.repeat(classes, row) for row in counts])
        monitor.log_classification(
            result.step,
            torch.from_numpy(predicted),
            torch.from_numpy(truth),
            split=result.split,
            labels=result.labels,
            num_classes=len(counts),
        )
        for name in classification_metrics(counts).scalars():
            scalars.pop(name, None)
    monitor.log_dict(result.step, scalars, split=result.split)
    monitor.flush()


def _store_in_writer(result: Evaluation, logdir: str | Path | RunWriter) -> None:
    """Metrics and confusion matrix into a run store (a writer given is flushed, not closed)."""
    from torchscope.store.writer import RunWriter

    assert result.step is not None
    # an evaluation belongs to the run in logdir (resumed), not to a new run beside it
    writer = logdir if isinstance(logdir, RunWriter) else RunWriter(logdir, resume=True)
    try:
        writer.log_scalars(result.step, _finite(result.scalars()), split=result.split)
        if result.confusion is not None:
            writer.log_confusion(result.step, result.split, result.confusion, result.labels)
    finally:
        if writer is logdir:
            writer.flush()
        else:
            writer.close()
