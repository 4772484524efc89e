"""``evaluate``: a model over a DataLoader, its metrics, stored in a run when asked."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

    from torchscope.analysis.evaluation import Evaluation
    from torchscope.monitor.monitor import Monitor
    from torchscope.store.writer import RunWriter

__all__ = ["evaluate"]


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
