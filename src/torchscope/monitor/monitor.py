"""``Monitor``: training-time statistics with two lines in any loop, cheap enough to leave on.

The training thread only launches device kernels and enqueues their results; a background
thread waits for the asynchronous copies and writes the store. Nothing here calls
``.item()`` on a training tensor, draws random numbers or changes a gradient, so the same
seeds give bitwise-identical training with and without the monitor.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import platform
import time
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from torchscope.model.dtypes import dtype_name
from torchscope.monitor import _jobs
from torchscope.monitor._outputs import float_tensors
from torchscope.monitor._worker import Worker
from torchscope.monitor.activations import ACT_MAX_COLUMNS, ACT_SUM_COLUMNS, ActivationSampler
from torchscope.monitor.dashboard import FirstBatchGraph, can_trace_alone, print_serve_hint
from torchscope.monitor.distributed import (
    is_distributed,
    rank,
    reduce_max,
    reduce_stats,
    reduce_sum,
    world_size,
)
from torchscope.monitor.metrics import ConfusionAccumulator
from torchscope.monitor.nonfinite import NonfiniteTracker, needs_forward_check
from torchscope.monitor.stats import (
    MAX_COLUMNS,
    SUM_COLUMNS,
    WeightSnapshot,
    fused_tensor_stats,
    histogram_counts_many,
)

__all__ = ["Monitor"]

_log = logging.getLogger("torchscope.monitor")

SCALAR_FLUSH_S = 0.5  # user scalars reach the writer at least this often (one process)


class Monitor:
    """Record scalars, layer statistics, activations, histograms and metrics of a training run.

    Args:
        model: the module being trained.
        optimizer: its optimizer; gradient/weight statistics and update ratios are taken in
            its step hooks. Without it they are taken when ``log()`` sees a new step.
        logdir: the run directory (default ``runs/<date-time>``); only rank 0 writes.
        every: steps between gradient/weight/update statistics (and scalar flushes, which
            also happen at least every half second).
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
        start_step: the label of the first optimizer step (1 for frameworks that count
            steps taken, like Lightning's and transformers' ``global_step``).

    The defaults keep the monitor cheap enough to leave on: a statistics step reads every
    weight and gradient a few times and copies the weights once (for the update), about
    six passes over the parameters, so every 25th step (every 10th cost 3.8% of a small
    MLP's CPU step); activation statistics add several reductions per module, so every
    100th; histograms read every tensor once more, so every 500th. User scalars are kept
    for every step, buffered on the device and copied in one transfer on statistics steps
    and at least every half second (in a single process; under torch.distributed only on
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
        logdir: str | None = None,
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
        run_name: str | None = None,
        start_step: int = 0,
        model_graph: bool = True,
    ) -> None:
        self.model, self.optimizer = model, _unwrap(optimizer)
        self.every, self.activations_every = max(every, 1), max(activations_every, 1)
        self.histograms_every, self.histogram_bins = max(histograms_every, 1), histogram_bins
        self.nonfinite_every = max(nonfinite_every, 1)
        self.step = start_step
        self.nonfinite: dict[str, Any] | None = None
        self.errors: list[str] = []
        self._writer = None  # every rank computes and reduces; only rank 0 writes
        if rank() == 0:
            self._writer = writer if writer is not None else _open_writer(logdir, run_name)
        self._worker = Worker() if self._writer is not None else None
        self._compiled = _compiled_inside(model)
        self._params = [(_plain(n), p) for n, p in model.named_parameters() if p.requires_grad]
        self._sharded = any(callable(getattr(p, "to_local", None)) for _, p in self._params)
        modules = list(model.named_modules())
        self._names = [_plain(name) or _model_name(model) for name, _ in modules]
        self._is_leaf = [not any(True for _ in m.children()) for _, m in modules]
        self._checked = [
            index == 0 or needs_forward_check(m) for index, (_, m) in enumerate(modules)
        ]
        self._nonfinite = (
            NonfiniteTracker(self._names, _param_device(model)) if check_nonfinite else None
        )
        self._acts = ActivationSampler(self._names)
        self._scalars: list[tuple[int, str, str, torch.Tensor | float]] = []
        self._confusion: dict[str, tuple[int, ConfusionAccumulator, Sequence[str] | None]] = {}
        self._before_step = WeightSnapshot()
        self._pending_params: dict[str, Any] | None = None
        self._last_log_step: int | None = None
        self._start = time.time()
        self._flushed_at = time.monotonic()
        self._handles: list[Any] = []
        self._forward_handles: list[Any] = []
        self._hooked = "none"  # the forward hooks installed: a value of _hook_set()
        self._last_seen: Callable[[], torch.Tensor | None] = lambda: None
        self._closed = False
        self._paused = False
        self._traced = False  # a hook of ours ran inside a torch.compile trace
        if self._compiled:
            self._warn_compiled()
        self._install_optimizer_hooks()
        self._update_forward_hooks()
        self._write_meta(config, example_input)
        self._graph = None  # the first batch's shapes, for the model graph (monitor/dashboard.py)
        if self._writer is not None:
            if model_graph and example_input is None and not self._compiled:
                self._graph = FirstBatchGraph(model) if can_trace_alone(model) else None
            print_serve_hint(getattr(self._writer, "logdir", None))

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
        self._emit_confusions(before=step)
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                value = value.detach()
                value = (value if value.dim() == 0 else value.reshape(())).clone()
            self._scalars.append((step, split, name, value))
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
        entry = self._confusion.get(split)
        if entry is not None and entry[0] != step:
            self._emit_confusion(split)
            entry = None
        if entry is None:
            entry = (step, ConfusionAccumulator(num_classes), labels)
            self._confusion[split] = entry
        entry[1].update(outputs, targets)

    def flush(self) -> None:
        """Send everything buffered to the writer now (still without blocking on the device)."""
        for split in list(self._confusion):
            self._emit_confusion(split)
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
            self._install_optimizer_hooks()
            self._update_forward_hooks()

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

    def close(self) -> None:
        """Flush, remove every hook, finish the background writes and close the writer."""
        if self._closed:
            return
        self._closed = True
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

    # ---- schedule ---------------------------------------------------------------------

    def _due(self, interval: int, step: int | None = None) -> bool:
        return (self.step if step is None else step) % interval == 0

    def _sampled(self) -> bool:
        return self._due(self.activations_every)

    def _remove_hooks(self) -> None:
        if self._graph is not None:
            self._graph.remove()
        for handle in self._handles + self._forward_handles:
            handle.remove()
        self._handles, self._forward_handles, self._hooked = [], [], "none"

    def _install_optimizer_hooks(self) -> None:
        if self.optimizer is None:
            return
        pre = self.optimizer.register_step_pre_hook(self._on_pre_step)
        post = self.optimizer.register_step_post_hook(
            lambda *a: self._guard("post", self._end_step)
        )
        self._handles += [pre, post]

    def _on_pre_step(self, optimizer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Take gradient statistics before the update; with a closure, right after it runs.

        ``step(closure)`` (LBFGS, Lightning) computes the gradients inside ``step``, after
        this hook, so the closure is wrapped instead of reading stale gradients.
        """
        # ``args`` starts with the optimizer itself; a positional closure comes next.
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)
        if closure is None:
            self._guard("pre", self._pre_step)
            return None
        done = False

        def wrapped() -> Any:
            nonlocal done
            result = closure()
            if not done:
                done = True
                self._guard("pre", self._pre_step)
            return result

        if "closure" in kwargs:
            return args, {**kwargs, "closure": wrapped}
        return (args[0], wrapped, *args[2:]), kwargs

    def _update_forward_hooks(self) -> None:
        """Hooks stay only while they have work.

        On sampled steps every module is hooked (activation statistics, non-finite checks
        of outputs and their gradients); on module-check steps the modules whose outputs
        are checked, by a lean hook; otherwise only the model itself; with no checks, none.
        """
        if self._traced and not self._compiled:
            self._compiled = True
            self._warn_compiled()
        wanted = self._hook_set(self.step)
        if wanted == self._hooked:
            return
        for handle in self._forward_handles:
            handle.remove()
        self._forward_handles = []
        for index, (_, module) in enumerate(self.model.named_modules()):
            hook: Callable[..., None]
            if wanted == "all":
                hook = functools.partial(self._on_forward, index)
            elif wanted == "checks" and self._checked[index]:
                hook = functools.partial(self._check_forward, index)
            elif wanted == "root" and index == 0:
                hook = self._check_model_output
            else:
                continue
            self._forward_handles.append(module.register_forward_hook(hook))
        self._hooked = wanted

    def _warn_compiled(self) -> None:
        warnings.warn(
            "torchscope: the model runs compiled (torch.compile); activation statistics and "
            "per-module non-finite checks would hook into the compiled graph and force "
            "recompiles, so they are off. Gradients, weights, updates, scalars and the "
            "model output (of a torch.compile wrapper passed to Monitor) are still recorded.",
            stacklevel=4,
        )

    def _in_trace(self) -> bool:
        """True (and remembered) when torch.compile is tracing the hook being called.

        The hooks then do nothing; after the step they are removed for good, so the graph
        is compiled once more, without them (the model was compiled outside the Monitor).
        """
        if torch.compiler.is_compiling():
            self._traced = True
            return True
        return False

    def _hook_set(self, step: int) -> str:
        """The forward hooks a step gets: ``all``, ``checks``, ``root`` (the model) or ``none``."""
        if self._compiled:  # a hook on the torch.compile wrapper runs outside the graph
            wrapper = _is_compile_wrapper(self.model)
            return "root" if self._nonfinite is not None and wrapper else "none"
        if self._due(self.activations_every, step):
            return "all"
        if self._nonfinite is None:
            return "none"
        return "checks" if self._due(self.nonfinite_every, step) else "root"

    def _check_forward(self, index: int, module: nn.Module, args: Any, output: Any) -> None:
        """The per-step hook: queue a non-finite check of a new output (device op only)."""
        if self._in_trace():
            return
        try:
            assert self._nonfinite is not None
            if isinstance(output, torch.Tensor):
                tensors: Any = (output,) if output.is_floating_point() else ()
            else:
                tensors = float_tensors(output)
            for t in tensors:
                if not self._seen_last(t):
                    self._nonfinite.check("forward", index, t, self.step)
        except Exception as exc:
            self._hook_failed("forward hook", exc)

    def _check_model_output(self, module: nn.Module, args: Any, output: Any) -> None:
        """The hook between module checks: the model's first floating output only.

        That is the loss when the model returns one (a NaN anywhere in the logits makes it
        NaN), else the logits; other outputs (caches, hidden states) are left to the
        module checks.
        """
        if self._in_trace():
            return
        try:
            first = next(float_tensors(output), None)
            if first is not None:
                assert self._nonfinite is not None
                self._nonfinite.check("forward", 0, first, self.step)
        except Exception as exc:
            self._hook_failed("forward hook", exc)

    def _seen_last(self, t: torch.Tensor) -> bool:
        """True if ``t`` is the output seen last (a container returning its last child's)."""
        if self._last_seen() is t:
            return True
        self._last_seen = weakref.ref(t)
        return False

    def _on_forward(self, index: int, module: nn.Module, args: Any, output: Any) -> None:
        """The hook of sampled steps: activation statistics and gradient checks too."""
        if self._in_trace():
            return
        try:
            tensors = list(float_tensors(output))
            if self._nonfinite is not None:
                for t in tensors:
                    if self._seen_last(t):
                        continue
                    if self._checked[index]:
                        self._nonfinite.check("forward", index, t, self.step)
                    if torch.is_grad_enabled():
                        self._nonfinite.watch_backward(index, t, self.step)
            if self._is_leaf[index]:
                first = next(iter(tensors), None)
                if first is not None:
                    bins = self.histogram_bins if self._due(self.histograms_every) else 0
                    self._acts.record(index, module, first, bins)
        except Exception as exc:
            self._hook_failed("forward hook", exc)

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

    def _pre_step(self) -> None:
        if self._due(self.every):
            self._pending_params = self._param_stats()
            self._before_step.take([p for _, p in self._params])

    def _end_step(self) -> None:
        graph = self._graph
        if graph is not None and (graph.saw_compile or self._traced):
            graph.remove()  # with the other hooks, at the one recompile that removes them
            self._graph = None
        elif graph is not None and graph.inputs is not None:
            self._guard("model graph", lambda: graph.write(self._meta))
        step = self.step
        if self._due(self.every):
            if self.optimizer is None:
                self._pending_params = self._param_stats()
            # Scalars (with the non-finite codes) first: the first failure is then reported
            # before the non-finite gradients it causes.
            self._flush_scalars()
            self._submit_params(step)
        elif time.monotonic() - self._flushed_at >= SCALAR_FLUSH_S and not is_distributed():
            self._flush_scalars()  # a crash or a live reader then loses at most this long
        if self._sampled():
            self._submit_activations(step)
        self.step = step + 1
        self._update_forward_hooks()

    def _param_stats(self) -> dict[str, Any]:
        grads = [(n, p.grad) for n, p in self._params if p.grad is not None]
        tensors: dict[str, torch.Tensor] = {}
        names: dict[str, list[str]] = {"weight": [n for n, _ in self._params]}
        tensors["weight"] = fused_tensor_stats([p for _, p in self._params])
        if grads:
            names["grad"] = [n for n, _ in grads]
            tensors["grad"] = fused_tensor_stats([g for _, g in grads])
        if self._sharded:
            for key in list(tensors):
                tensors[key] = reduce_stats(tensors[key], SUM_COLUMNS, MAX_COLUMNS)
        if self._due(self.histograms_every):
            self._param_histograms(tensors, grads)
        return {"tensors": tensors, "names": names}

    def _param_histograms(
        self, tensors: dict[str, torch.Tensor], grads: list[tuple[str, torch.Tensor]]
    ) -> None:
        sources: dict[str, list[torch.Tensor]] = {
            "weight": [p for _, p in self._params],
            "grad": [g for _, g in grads],
        }
        for kind, items in sources.items():
            if not items:
                continue
            limits = tensors[kind][:, 3]
            counts = histogram_counts_many(items, limits, self.histogram_bins)
            tensors[f"{kind}_hist"] = reduce_sum(counts) if self._sharded else counts

    def _submit_params(self, step: int) -> None:
        pending, self._pending_params = self._pending_params, None
        if pending is None:
            return
        tensors = pending["tensors"]
        update = self._before_step.update_sumsq([p for _, p in self._params])
        if update is not None:
            tensors["update"] = reduce_sum(update) if self._sharded else update
        self._submit(
            tensors, _jobs.param_job(self._writer_or_none(), step, pending["names"], self._report)
        )

    def _submit_activations(self, step: int) -> None:
        names, rows, alive = self._acts.collect()
        if not names:
            return
        rows = reduce_stats(rows, ACT_SUM_COLUMNS, ACT_MAX_COLUMNS)
        tensors = {"rows": rows, "alive": reduce_max(alive)}
        layout: dict[str, Any] = {
            "names": names,
            "alive": self._acts.take_alive_sizes(),
            "saturating": set(self._acts.saturating),
        }
        hists, self._acts.histograms = self._acts.histograms, []
        if hists:
            layout["hist_names"] = [name for name, _, _ in hists]
            tensors["hist"] = reduce_sum(torch.stack([c for _, c, _ in hists]))
            tensors["limits"] = torch.stack([lim for _, _, lim in hists])
        self._submit(tensors, _jobs.activation_job(self._writer_or_none(), step, layout))

    def _flush_scalars(self) -> None:
        self._flushed_at = time.monotonic()
        entries, self._scalars = self._scalars, []
        device_values = [v for *_, v in entries if isinstance(v, torch.Tensor)]
        tensors: dict[str, torch.Tensor] = {}
        if device_values:
            device = device_values[0].device
            stacked = torch.stack([v.to(device, non_blocking=True).float() for v in device_values])
            tensors["scalars"] = reduce_sum(stacked) / world_size() if is_distributed() else stacked
        nonfinite = None
        if self._nonfinite is not None:  # on every rank alike: the reduction is collective
            codes, calls = self._nonfinite.snapshot()
            tensors["codes"] = -reduce_max(-codes) if is_distributed() else codes
            nonfinite = (calls, self._names)
        plain = [
            (s, sp, n, None if isinstance(v, torch.Tensor) else float(v)) for s, sp, n, v in entries
        ]
        job = _jobs.scalars_job(self._writer_or_none(), plain, nonfinite, self._report, time.time())
        self._submit(tensors, job)

    def _emit_confusions(self, before: int) -> None:
        for split, (step, _, _) in list(self._confusion.items()):
            if step < before:
                self._emit_confusion(split)

    def _emit_confusion(self, split: str) -> None:
        step, acc, labels = self._confusion.pop(split)
        matrix = acc.reset()
        if matrix is not None:
            matrix = reduce_sum(matrix)
            self._submit(
                {"matrix": matrix}, _jobs.confusion_job(self._writer_or_none(), step, split, labels)
            )

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
        if event["phase"] == "forward" and self._hook_set(step) not in ("checks", "all"):
            how = (
                "(module outputs are not checked in a compiled model)"
                if self._compiled
                else f"(each module every {self.nonfinite_every} steps); "
                "Monitor(nonfinite_every=1) names the module"
            )
            event = {**event, "note": f"only the model output is checked at this step {how}"}
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
        self._meta("environment", _environment(self.model))
        self._meta("start_time", self._start)
        self._meta("config", dict(config or {}))
        self._meta(
            "monitor",
            {"every": self.every, "activations_every": self.activations_every,
             "histograms_every": self.histograms_every, "histogram_bins": self.histogram_bins,
             "nonfinite_every": self.nonfinite_every if self._nonfinite is not None else None},
        )  # fmt: skip
        if example_input is not None and self._writer is not None:
            self._guard("model summary", lambda: self._write_summary(example_input))

    def _write_summary(self, example_input: Sequence[Any]) -> None:
        from torchscope._api import summary

        with torch.random.fork_rng(devices=[]):
            result = summary(self.model, *example_input)
        self._meta("summary", result.to_dict())
        self._meta("graph", result.graph.to_dict())


def _is_compile_wrapper(module: nn.Module) -> bool:
    """True for the module ``torch.compile(module)`` returns (an ``OptimizedModule``)."""
    return type(module).__module__ == "torch._dynamo.eval_frame"


def _compiled_inside(model: nn.Module) -> bool:
    """True if the model or a module in it runs compiled (``torch.compile`` or ``.compile()``)."""
    return any(
        _is_compile_wrapper(m) or getattr(m, "_compiled_call_impl", None) is not None
        for m in model.modules()
    )


def _plain(name: str) -> str:
    """A module or parameter name without the ``_orig_mod.`` a torch.compile wrapper adds."""
    return name.replace("_orig_mod.", "").removesuffix("_orig_mod")


def _model_name(model: nn.Module) -> str:
    inner = getattr(model, "_orig_mod", None) if _is_compile_wrapper(model) else None
    return type(inner if isinstance(inner, nn.Module) else model).__name__


def _unwrap(optimizer: Any) -> torch.optim.Optimizer | None:
    """Return the torch optimizer inside framework wrappers (accelerate, Lightning)."""
    for _ in range(4):
        inner = getattr(optimizer, "optimizer", None) or getattr(optimizer, "_optimizer", None)
        if not isinstance(inner, torch.optim.Optimizer):
            break
        optimizer = inner
    return optimizer


def _open_writer(logdir: str | None, run_name: str | None) -> _jobs.Writer:
    from torchscope.store.writer import RunWriter

    path = logdir or time.strftime("runs/%Y%m%d-%H%M%S")
    writer: _jobs.Writer = RunWriter(path, run_name=run_name)
    return writer


def _param_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _environment(model: nn.Module) -> dict[str, Any]:
    param = next(model.parameters(), None)
    device = _param_device(model)
    env: dict[str, Any] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
        "world_size": world_size(),
    }
    if device.type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
    dtype = param.dtype if param is not None else None
    env["param_dtype"] = dtype_name(dtype) if dtype is not None else None
    return env
