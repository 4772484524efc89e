"""``Monitor``: training-time statistics with two lines in any loop, cheap enough to leave on.

The training thread only launches device kernels and enqueues their results; a background
thread waits for the asynchronous copies and writes the store. Nothing here calls
``.item()`` on a training tensor, draws random numbers or changes a gradient, so the same
seeds give bitwise-identical training with and without the monitor.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from torchscope.monitor import _jobs
from torchscope.monitor._worker import Worker
from torchscope.monitor.activations import ActivationSampler
from torchscope.monitor.dashboard import FirstBatchGraph, can_trace_alone, print_serve_hint
from torchscope.monitor.distributed import is_distributed, rank, reduce_max, reduce_sum
from torchscope.monitor.hooks import (
    ForwardHooks,
    install_step_hooks,
    model_name,
    plain_name,
    warn_compiled,
)
from torchscope.monitor.metrics import ConfusionSplits, Finished
from torchscope.monitor.nonfinite import NonfiniteTracker, forward_note
from torchscope.monitor.param_stats import ParamStats
from torchscope.monitor.run_meta import model_summary, open_writer, param_device, start_meta
from torchscope.monitor.scalars import ScalarBuffer
from torchscope.monitor.step_profile import StepProfile
from torchscope.store.checks import check_step, printable_name

__all__ = ["Monitor"]

_log = logging.getLogger("torchscope.monitor")


class Monitor:
    """Record scalars, layer statistics, activations, histograms and metrics of a training run.

    Args:
        model: the module being trained.
        optimizer: its optimizer; gradient/weight statistics and update ratios are taken in
            its step hooks. Without it they are taken when ``log()`` sees a new step.
        logdir: the run directory (default ``runs/<date-time>``); only rank 0 writes. If
            it already holds a run, this one is written beside it (``logdir-2``…; a notice
            on the ``torchscope.store`` logger says where) unless ``resume`` is true.
        every: steps between gradient/weight/update statistics (and scalar flushes, which
            also happen at least every 0.2 s).
        activations_every: steps between activation samples.
        histograms_every: steps between histograms of weights, gradients and activations.
        check_nonfinite: find the first non-finite value: the model's first output every
            step (so its step is never missed), each module's output every
            ``nonfinite_every`` steps and on sampled steps (so the module is named), and
            the gradient flowing into each module's output on sampled steps.
        nonfinite_every: steps between checks of every module's output; 1 checks every
            step (one more read of each activation: about 2% of a small CNN's CPU step).
        example_input: a tuple of inputs for the model summary stored as run metadata.
        model_graph: without ``example_input``, store the model's graph (for the dashboard's
            Model page) from the first batch's shapes, traced once on the meta device (not
            for FSDP-sharded models, whose forward needs every rank).
        writer: an object with RunWriter's methods (default: a RunWriter on ``logdir``).
        name, tags, note: the run's name (default: its directory's), labels and free text,
            stored with it (``run_name`` is the older spelling of ``name``).
        resume: continue the run in ``logdir`` (after a restart from a checkpoint): its
            points are kept beside the earlier ones, marked with a new segment number.
        start_step: the label of the first optimizer step (1 for frameworks that count
            steps taken, like Lightning's and transformers' ``global_step``).
        clock: the monotonic clock timing the scalar flushes (tests pass a fake one).
        profile_at: profile this step (from the model's forward to the optimizer's step)
            with ``torch.profiler`` and store it as run metadata ``"profile"``: the
            ``Profile.to_dict()`` of that step plus its ``"step"`` (rank 0 only).

    Steps, names and values are checked at the call: ``log`` raises ``LogValueError``
    (a ``ValueError``) for a step that is not a 64-bit integer, a name that is not
    printable text, or a value that is not one real number, and nothing is recorded.

    The defaults keep the monitor cheap enough to leave on: a statistics step reads every
    weight and gradient a few times and copies the weights once (for the update), about
    six passes over the parameters, so every 25th step (every 10th cost 3.8% of a small
    MLP's CPU step); activation statistics add several reductions per module, so every
    100th; histograms read every tensor once more, so every 500th. User scalars are kept
    for every step, buffered on the device and copied in one transfer on statistics steps
    and at least every 0.2 s (in a single process; under torch.distributed only on
    statistics steps, which every rank reaches together). Between module checks, forward
    hooks stay only on the model itself (one sum per step).

    ``Monitor(..., every=1, activations_every=1, histograms_every=1)`` logs everything on
    every step. Statistics of the *n*-th optimizer step (counting from ``start_step``, 0 by
    default) are labelled with step *n*; pass the same numbering to ``log()``.

    Example:
        >>> model = torch.nn.Linear(4, 2)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> with Monitor(model, opt, logdir="runs/doc") as mon:  # doctest: +SKIP
        ...     loss = model(torch.randn(8, 4)).square().mean()
        ...     loss.backward(); opt.step()
        ...     mon.log(0, loss=loss)
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        logdir: str | Path | None = None,
        *,
        every: int = 25,
        activations_every: int = 100,
        histograms_every: int = 500,
        histogram_bins: int = 64,
        check_nonfinite: bool = True,
        nonfinite_every: int = 10,
        config: Mapping[str, Any] | None = None,
        example_input: Sequence[Any] | None = None,
        writer: _jobs.Writer | None = None,
        name: str | None = None,
        tags: Iterable[str] = (),
        note: str | None = None,
        resume: bool = False,
        start_step: int = 0,
        clock: Callable[[], float] = time.monotonic,
        run_name: str | None = None,
        profile_at: int | None = None,
        model_graph: bool = True,
    ) -> None:
        self.model, self.optimizer = model, _unwrap(optimizer)
        self.every, self.activations_every = max(every, 1), max(activations_every, 1)
        self.histograms_every, self.histogram_bins = max(histograms_every, 1), histogram_bins
        self.nonfinite_every = max(nonfinite_every, 1)
        self.step = check_step(start_step)
        self.nonfinite: dict[str, Any] | None = None
        self.errors: list[str] = []
        self._writer = None  # every rank computes and reduces; only rank 0 writes
        if rank() == 0:
            self._writer = writer or open_writer(
                logdir, name=name or run_name, tags=tags, note=note, resume=resume
            )
        self.run_dir: Path | None = getattr(self._writer, "logdir", None)
        self._worker = Worker() if self._writer is not None else None
        # Names come from the model, not the caller: made printable instead of refused.
        params = [(printable_name(plain_name(n)), p) for n, p in model.named_parameters()]
        self._params = ParamStats([(n, p) for n, p in params if p.requires_grad], histogram_bins)
        self._names = [
            printable_name(plain_name(n)) if n else model_name(model)
            for n, _ in model.named_modules()
        ]
        self._nonfinite = (
            NonfiniteTracker(self._names, param_device(model)) if check_nonfinite else None
        )
        self._acts = ActivationSampler(self._names)
        self._hooks = ForwardHooks(
            model, self._names, step=lambda: self.step, nonfinite=self._nonfinite,
            acts=self._acts, histogram_bins=histogram_bins, on_error=self._hook_failed,
            intervals={"activations": self.activations_every, "nonfinite": self.nonfinite_every,
                       "histograms": self.histograms_every},
        )  # fmt: skip
        self._scalars = ScalarBuffer(clock)
        self._confusions = ConfusionSplits()
        self._last_log_step: int | None = None
        self._start = time.time()
        self._optimizer_hooks: list[Any] = []
        self._closed = self._paused = False
        if self._hooks.compiled:
            warn_compiled()
        self._install_hooks()
        self._graph: dict[str, Any] | None = None  # the summary's, when example_input is given
        self._write_meta(config, example_input)
        self._profile = (
            StepProfile(model, profile_at, str(param_device(model)))
            if profile_at is not None and self._writer is not None
            else None
        )
        self._arm_profile()
        # the first batch's shapes, for the model graph (monitor/dashboard.py)
        self._first_batch: FirstBatchGraph | None = None
        if self._writer is not None:
            if model_graph and example_input is None and not self._hooks.compiled:
                self._first_batch = FirstBatchGraph(model) if can_trace_alone(model) else None
            print_serve_hint(self.run_dir)

    # ---- public API -------------------------------------------------------------------

    def log(self, step: int, split: str = "train", **values: torch.Tensor | float) -> None:
        """Record user scalars (tensors stay on the device; no host sync).

        Example:
            >>> mon.log(step, loss=loss, lr=sched.get_last_lr()[0])  # doctest: +SKIP
        """
        self.log_dict(step, values, split=split)

    def log_dict(
        self, step: int, values: Mapping[str, torch.Tensor | float], split: str = "train"
    ) -> None:
        """Record a mapping of user scalars, like ``log`` (for names that are not identifiers)."""
        step = self._scalars.add(step, split, values)
        self._emit(self._confusions.before(step))
        if self._paused:
            return
        if self.optimizer is None and (self._last_log_step is None or step > self._last_log_step):
            self.step = step
            self._last_log_step = step
            self._guard("step", self._end_step)

    def log_classification(
        self,
        step: int,
        outputs: torch.Tensor,
        targets: torch.Tensor,
        split: str = "val",
        *,
        labels: Sequence[str] | None = None,
        num_classes: int | None = None,
    ) -> None:
        """Add a batch to ``split``'s confusion matrix for ``step`` (accumulated on device).

        The matrix and its metrics (accuracy, macro/weighted F1…) are written when a later
        step is logged, on ``flush()`` or on ``close()``.
        """
        self._emit(self._confusions.add(step, split, outputs, targets, labels, num_classes))

    def flush(self) -> None:
        """Send everything buffered to the writer now (still without blocking on the device)."""
        self._emit(self._confusions.all())
        self._flush_scalars()

    def pause(self) -> None:
        """Remove every hook until ``resume()``: model and optimizer run as if unmonitored.

        ``log()`` still records scalars; statistics and non-finite checks stop, and the
        optimizer steps taken meanwhile are not counted.
        """
        if not (self._paused or self._closed):
            self._paused = True
            self._remove_hooks()

    def resume(self) -> None:
        """Install the hooks again after ``pause()``."""
        if self._paused and not self._closed:
            self._paused = False
            self._install_hooks()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """``pause()`` for the ``with`` block (an evaluation loop, a profiled section).

        Example:
            >>> with mon.paused():  # doctest: +SKIP
            ...     evaluate(model)
        """
        self.pause()
        try:
            yield
        finally:
            self.resume()

    @property
    def is_paused(self) -> bool:
        """Whether the hooks are removed by ``pause()`` (until ``resume()``)."""
        return self._paused

    def close(self) -> None:
        """Flush, remove every hook, finish the background writes and close the writer."""
        if self._closed:
            return
        self._closed = True
        self._guard("profile", lambda: self._finish_profile(self.step))
        self.flush()
        self._remove_hooks()
        self._meta("wall_time_s", time.time() - self._start)
        if self._worker is not None:
            self._worker.close()
            self.errors.extend(self._worker.errors)
        if self._writer is not None and rank() == 0:
            self._writer.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- hooks ------------------------------------------------------------------------

    def _install_hooks(self) -> None:
        if self.optimizer is not None:
            self._optimizer_hooks = install_step_hooks(
                self.optimizer,
                lambda: self._guard("pre", self._pre_step),
                lambda: self._guard("post", self._end_step),
            )
        self._hooks.update()

    def _remove_hooks(self) -> None:
        if self._first_batch is not None:
            self._first_batch.remove()
        for handle in self._optimizer_hooks:
            handle.remove()
        self._optimizer_hooks = []
        self._hooks.remove()

    def _guard(self, where: str, fn: Any) -> None:
        try:
            fn()
        except Exception as exc:
            self._hook_failed(where, exc)

    def _hook_failed(self, where: str, exc: Exception) -> None:
        message = f"{where}: {type(exc).__name__}: {exc}"
        if message not in self.errors:
            self.errors.append(message)
            warnings.warn(f"torchscope monitor {message} (training continues)", stacklevel=2)

    # ---- per-step work ----------------------------------------------------------------

    def _due(self, interval: int) -> bool:
        return self.step % interval == 0

    def _pre_step(self) -> None:
        if self._due(self.every):
            self._params.take(histograms=self._due(self.histograms_every), snapshot=True)

    def _arm_profile(self) -> None:
        profile = self._profile
        if profile is not None and not self._paused:
            self._guard("profile", lambda: profile.arm(self.step))

    def _finish_profile(self, step: int) -> None:
        """Store the profile of ``step`` if it was being recorded."""
        if self._profile is None:
            return
        result = self._profile.finish(self._graph)
        if result is not None:
            self._meta("profile", {"step": step, **result.to_dict()})

    def _end_step(self) -> None:
        first = self._first_batch
        if first is not None and (first.saw_compile or self._hooks.traced):
            first.remove()  # with the other hooks, at the one recompile that removes them
            self._first_batch = None
        elif first is not None and first.inputs is not None:
            self._guard("model graph", lambda: self._store_graph(first))
        step = self.step
        self._guard("profile", lambda: self._finish_profile(step))
        if self._due(self.every):
            if self.optimizer is None:
                self._params.take(histograms=self._due(self.histograms_every))
            # Scalars (with the non-finite codes) first: the first failure is then reported
            # before the non-finite gradients it causes.
            self._flush_scalars()
            self._submit_params(step)
        elif self._scalars.overdue() and not is_distributed():
            self._flush_scalars()  # a crash or a live reader then loses at most this long
        if self._due(self.activations_every):
            self._submit_activations(step)
        self.step = step + 1
        self._hooks.update()
        self._arm_profile()

    def _submit_params(self, step: int) -> None:
        taken = self._params.finish()
        if taken is not None:
            tensors, names = taken
            self._submit(
                tensors, _jobs.param_job(self._writer_or_none(), step, names, self._report)
            )

    def _submit_activations(self, step: int) -> None:
        taken = self._acts.take_tensors()
        if taken is not None:
            tensors, layout = taken
            self._submit(tensors, _jobs.activation_job(self._writer_or_none(), step, layout))

    def _flush_scalars(self) -> None:
        tensors, plain = self._scalars.take()
        nonfinite = None
        if self._nonfinite is not None:  # on every rank alike: the reduction is collective
            codes, calls = self._nonfinite.snapshot()
            tensors["codes"] = -reduce_max(-codes) if is_distributed() else codes
            nonfinite = (calls, self._names)
        job = _jobs.scalars_job(self._writer_or_none(), plain, nonfinite, self._report, time.time())
        self._submit(tensors, job)

    def _emit(self, finished: list[Finished]) -> None:
        for step, split, matrix, labels in finished:
            job = _jobs.confusion_job(self._writer_or_none(), step, split, labels)
            self._submit({"matrix": reduce_sum(matrix)}, job)

    # ---- writing ----------------------------------------------------------------------

    def _writer_or_none(self) -> _jobs.Writer:
        assert self._writer is not None or self._worker is None
        return self._writer  # type: ignore[return-value]

    def _submit(self, tensors: Mapping[str, torch.Tensor], callback: Any) -> None:
        if self._worker is not None:  # ranks other than 0 only take part in reductions
            self._worker.submit(tensors, callback)

    def _report(self, event: dict[str, Any]) -> None:
        """Keep and write the first non-finite event (runs on the worker thread)."""
        if self.nonfinite is not None or self._writer is None:
            return
        step = int(event["step"])
        if event["phase"] == "forward" and self._hooks.hook_set(step) not in ("checks", "all"):
            note = forward_note(self._hooks.compiled, self.nonfinite_every)
            event = {**event, "note": note}
        self.nonfinite = event
        payload = {k: v for k, v in event.items() if k != "step"}
        self._writer.log_event(step, "nonfinite", payload)
        _log.warning(
            "torchscope: first non-finite value at step %s in %s (%s)%s",
            step, event["module"], event["phase"],
            f"; {event['note']}" if "note" in event else "",
        )  # fmt: skip

    def _meta(self, key: str, value: Any) -> None:
        writer = self._writer
        if writer is not None:
            self._submit({}, lambda _arrays: writer.set_meta(key, value))

    def _write_meta(
        self, config: Mapping[str, Any] | None, example_input: Sequence[Any] | None
    ) -> None:
        settings = {
            "every": self.every, "activations_every": self.activations_every,
            "histograms_every": self.histograms_every, "histogram_bins": self.histogram_bins,
            "nonfinite_every": self.nonfinite_every if self._nonfinite is not None else None,
        }  # fmt: skip
        resumed = getattr(self._writer, "segment", 0) > 0  # it keeps its first start time
        for key, value in start_meta(self.model, settings, config, self._start, resumed).items():
            self._meta(key, value)
        if example_input is not None and self._writer is not None:
            self._guard("model summary", lambda: self._write_summary(example_input))

    def _store_graph(self, first: FirstBatchGraph) -> None:
        graph = first.write(self._meta)
        if graph is not None and self._graph is None:
            self._graph = graph  # a later profile names modules from it too

    def _write_summary(self, example_input: Sequence[Any]) -> None:
        summary, graph = model_summary(self.model, example_input)
        self._graph = graph
        self._meta("summary", summary)
        self._meta("graph", graph)


def _unwrap(optimizer: Any) -> torch.optim.Optimizer | None:
    """Return the torch optimizer inside framework wrappers (accelerate, Lightning)."""
    for _ in range(4):
        inner = getattr(optimizer, "optimizer", None) or getattr(optimizer, "_optimizer", None)
        if not isinstance(inner, torch.optim.Optimizer):
            break
        optimizer = inner
    return optimizer
