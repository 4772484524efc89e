"""Evaluation: the metrics of a model over a whole data loader, and the loop computing them.

``run_evaluation`` (``torchscope.evaluate``) runs the model over the loader under
``torch.inference_mode()`` in eval mode, streams every batch into the task's accumulator
(``eval_stream``: bounded memory, exact counts) and returns an ``Evaluation``: headline
metrics, per-class rows, confusion matrix, calibration, curves, most confused pairs (or,
for regression, per-output rows and a residual sample). It shows itself in a terminal, a
notebook and ``str()`` (render/eval_text.py), draws its figures (render/eval_plots.py) and
goes to JSON and back.

The model is left as it was found: every module's train/eval flag is restored, and the
random state of the CPU (and of the CUDA device evaluated on) is restored too, since
iterating a DataLoader draws from it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from torchscope._display import Displayable, figures_of, save_figures_of
from torchscope._progress import step_progress
from torchscope.analysis.eval_batches import call_model, pick_output, split_batch, to_device
from torchscope.analysis.eval_regression import RegressionStream
from torchscope.analysis.eval_result import (
    Calibration,
    ClassRow,
    ConfusedPair,
    Curve,
    OutputRow,
    Residuals,
    from_plain,
    strict,
)
from torchscope.analysis.eval_stream import ClassificationStream
from torchscope.analysis.eval_tasks import TASKS, detect_task, prepare

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["Evaluation", "run_evaluation"]

LossFn = Callable[[Any, Any], Any]


@dataclass(frozen=True, repr=False)
class Evaluation(Displayable):
    """The metrics of one pass over a data set (``torchscope.evaluate``).

    ``metrics`` holds the headline numbers by name: ``loss`` (with a ``loss_fn``);
    classification: ``accuracy`` (``subset_accuracy`` and ``hamming_loss`` for
    multi-label), ``top{k}_accuracy``, ``macro_``/``weighted_`` (and multi-label
    ``micro_``) ``precision``/``recall``/``f1``, ``roc_auc`` and ``average_precision``
    (macro over classes; binary: the positive class), ``ece``; regression: ``mse``,
    ``rmse``, ``mae``, ``r2`` (averaged over outputs). Undefined values are NaN (``null``
    in JSON).
    """

    task: str  # "multiclass", "binary", "multilabel" or "regression"
    samples: int
    batches: int
    labels: list[str]  # class names (classification) or output names (regression)
    metrics: dict[str, float]
    split: str = "test"
    step: int | None = None
    classes: list[ClassRow] = field(default_factory=list)
    confusion: list[list[int]] | None = None  # rows true, columns predicted
    calibration: Calibration | None = None
    curves: list[Curve] = field(default_factory=list)
    confused_pairs: list[ConfusedPair] = field(default_factory=list)
    outputs: list[OutputRow] = field(default_factory=list)
    residuals: Residuals | None = None
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        shown = ("accuracy", "subset_accuracy", "macro_f1", "r2", "mse", "loss")
        parts = [f"{k}={self.metrics[k]:.4g}" for k in shown if k in self.metrics]
        return f"Evaluation({self.task}, {self.samples} samples, {', '.join(parts)})"

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    def scalars(self) -> dict[str, float]:
        """The headline metrics as stored in a run (NaN where undefined)."""
        return dict(self.metrics)

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain data; NaN and infinities become None (strict JSON)."""
        plain: dict[str, Any] = strict(asdict(self))
        return plain

    def to_json(self, indent: int | None = None) -> str:
        """The evaluation as strict JSON (no NaN: undefined numbers are ``null``)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        """The Evaluation a ``to_dict()`` (or parsed ``to_json()``) came from."""
        parts: dict[str, Any] = {
            "classes": [from_plain(ClassRow, r) for r in data.get("classes") or []],
            "curves": [from_plain(Curve, c) for c in data.get("curves") or []],
            "confused_pairs": [
                from_plain(ConfusedPair, p) for p in data.get("confused_pairs") or []
            ],
            "outputs": [from_plain(OutputRow, r) for r in data.get("outputs") or []],
        }
        for name, cls_ in (("calibration", Calibration), ("residuals", Residuals)):
            parts[name] = from_plain(cls_, data[name]) if data.get(name) else None
        metrics = {k: float("nan") if v is None else float(v) for k, v in data["metrics"].items()}
        return cls(
            task=data["task"],
            samples=int(data["samples"]),
            batches=int(data["batches"]),
            labels=[str(x) for x in data["labels"]],
            metrics=metrics,
            split=str(data.get("split", "test")),
            step=data.get("step"),
            confusion=data.get("confusion"),
            notes=list(data.get("notes") or []),
            **parts,
        )

    def to_dataframe(self) -> pd.DataFrame:
        """One row per class (classification) or per output (regression)."""
        import pandas as pd

        rows = self.classes if self.is_classification else self.outputs
        return pd.DataFrame([asdict(r) for r in rows])

    def figures(self, **options: Any) -> dict[str, Figure]:
        """Every figure of this evaluation, keyed by file stem (render/eval_plots.py)."""
        return figures_of(self, **options)

    def save(self, path: str | Path) -> list[Path]:
        """Write ``evaluation.json`` and every figure as PNG into the directory ``path``, or
        only the JSON when ``path`` ends in ``.json``; the paths written."""
        out = Path(path)
        if out.suffix.lower() == ".json":
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(self.to_json(indent=1) + "\n", encoding="utf-8")
            return [out]
        out.mkdir(parents=True, exist_ok=True)
        path = out / "evaluation.json"
        path.write_text(self.to_json(indent=1) + "\n", encoding="utf-8")
        return [path, *save_figures_of(self, out)]


@contextlib.contextmanager
def _evaluating(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Eval mode and inference mode for the block; each module's flag and the RNG restored."""
    modes = [(m, m.training) for m in model.modules()]
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        model.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            for module, training in modes:
                module.training = training


def _model_device(model: nn.Module) -> torch.device:
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _batches(loader: Iterable[Any], max_batches: int | None) -> tuple[Iterable[Any], int | None]:
    try:
        total: int | None = len(loader)  # type: ignore[arg-type]
    except TypeError:
        total = None
    if max_batches is not None:
        total = max_batches if total is None else min(total, max_batches)
        return itertools.islice(loader, max_batches), total
    return loader, total


def _labels(names: Sequence[str] | None, count: int, task: str) -> list[str]:
    if names is None:
        if task == "regression":
            return ["y"] if count == 1 else [f"y{i}" for i in range(count)]
        return [str(i) for i in range(count)]
    if isinstance(names, str):
        raise TypeError("labels must be a sequence of names, not one string")
    out = [str(n) for n in names]
    what = "outputs" if task == "regression" else "classes"
    if len(out) != count:
        raise ValueError(f"{len(out)} labels for the output's {count} {what}")
    return out


@dataclass(frozen=True)
class _Options:
    """How to read and measure the batches (``run_evaluation``'s arguments), checked."""

    task: str
    probabilities: bool
    ignore_index: int | None
    top_k: tuple[int, ...]
    bins: int
    curves: bool
    zero_division: float

    def __post_init__(self) -> None:
        if self.task != "auto" and self.task not in TASKS:
            raise ValueError(f"task must be 'auto' or one of {', '.join(TASKS)}, not {self.task!r}")
        if not (self.zero_division in (0, 1) or math.isnan(self.zero_division)):
            raise ValueError(f"zero_division must be 0, 1 or nan, not {self.zero_division!r}")
        if self.bins < 1 or any(k < 1 for k in self.top_k):
            raise ValueError("bins and every top_k must be at least 1")

    def stream(self, task: str, width: int) -> ClassificationStream | RegressionStream:
        if task == "regression":
            return RegressionStream(width)
        return ClassificationStream(
            task,
            width,
            top_k=self.top_k,
            bins=self.bins,
            curves=self.curves,
            zero_division=self.zero_division,
        )


class _Run:
    """The state of one evaluation pass: the task's stream, the loss sums, the batch count."""

    def __init__(self, options: _Options) -> None:
        self.options = options
        self.task = options.task
        self.stream: ClassificationStream | RegressionStream | None = None
        self.loss_sum, self.loss_count = 0.0, 0
        self.batches = 0

    def add(self, output: torch.Tensor, target: torch.Tensor) -> int:
        """Add one batch's output and target; the number of samples it held."""
        if self.task == "auto":
            self.task = detect_task(output, target)
        o = self.options
        batch = prepare(
            self.task, output, target, probabilities=o.probabilities, ignore_index=o.ignore_index
        )
        if self.stream is None:
            self.stream = o.stream(self.task, batch.probs.shape[-1])
        self.batches += 1
        return self.stream.update(batch)

    def add_loss(self, loss: Any, samples: int) -> None:
        """Add one batch's loss: a mean weighted by the batch's samples, or the values of
        an unreduced loss one by one."""
        value = loss if isinstance(loss, torch.Tensor) else torch.as_tensor(loss)
        if value.numel() == 1:
            self.loss_sum += float(value) * samples
            self.loss_count += samples
        else:
            self.loss_sum += float(value.double().sum())
            self.loss_count += value.numel()

    def result(
        self, labels: Sequence[str] | None, split: str, step: int | None, loss: bool
    ) -> Evaluation:
        if self.stream is None:
            raise ValueError("the loader gave no batches to evaluate")
        stream = self.stream
        width = stream.outputs if isinstance(stream, RegressionStream) else stream.classes
        names = _labels(labels, width, self.task)
        parts = stream.finish(names)
        metrics = parts.pop("metrics")
        if loss:
            mean = self.loss_sum / self.loss_count if self.loss_count else math.nan
            metrics = {"loss": mean, **metrics}
        return Evaluation(
            task=self.task,
            samples=stream.samples,
            batches=self.batches,
            labels=names,
            metrics=metrics,
            split=split,
            step=step,
            **parts,
        )


def run_evaluation(
    model: nn.Module,
    loader: Iterable[Any],
    *,
    task: str = "auto",
    labels: Sequence[str] | None = None,
    loss_fn: LossFn | None = None,
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
    progress: bool = True,
    split: str = "test",
    step: int | None = None,
) -> Evaluation:
    """Run ``model`` over ``loader`` and return its Evaluation (``torchscope.evaluate``)."""
    options = _Options(
        task, probabilities, ignore_index, tuple(top_k), bins, curves, float(zero_division)
    )
    where = torch.device(device) if device is not None else _model_device(model)
    run = _Run(options)
    batches, total = _batches(loader, max_batches)
    with _evaluating(model, where), step_progress("evaluate", total, enabled=progress) as advance:
        for batch in batches:
            inputs, target = split_batch(batch, batch_fn)
            inputs, target = to_device(inputs, where), to_device(target, where)
            output = pick_output(call_model(model, inputs), output_fn)
            if not isinstance(target, torch.Tensor):
                target = torch.as_tensor(target, device=output.device)
            samples = run.add(output, target)
            if loss_fn is not None:
                run.add_loss(loss_fn(output, target), samples)
            advance(samples)
    return run.result(labels, split, step, loss=loss_fn is not None)
