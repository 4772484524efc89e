"""The monitor's hooks: which forward hooks a step gets, the optimizer's, and torch.compile.

Hooks stay only while they have work. On sampled steps every module is hooked (activation
statistics, non-finite checks of outputs and their gradients); on module-check steps the
modules whose outputs are checked, by a lean hook; otherwise only the model itself; with
no checks, none. A hook in a compiled graph would force a recompile whenever the set
changes, so a compiled model gets at most the hook on its ``torch.compile`` wrapper (which
runs outside the graph).
"""

from __future__ import annotations

import functools
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from torchscope.monitor._outputs import float_tensors
from torchscope.monitor.activations import ActivationSampler
from torchscope.monitor.nonfinite import NonfiniteTracker, needs_forward_check

__all__ = [
    "ForwardHooks",
    "compiled_inside",
    "install_step_hooks",
    "is_compile_wrapper",
    "model_name",
    "plain_name",
    "warn_compiled",
]

OnError = Callable[[str, Exception], None]


def is_compile_wrapper(module: nn.Module) -> bool:
    """True for the module ``torch.compile(module)`` returns (an ``OptimizedModule``)."""
    return type(module).__module__ == "torch._dynamo.eval_frame"


def compiled_inside(model: nn.Module) -> bool:
    """True if the model or a module in it runs compiled (``torch.compile`` or ``.compile()``)."""
    return any(
        is_compile_wrapper(m) or getattr(m, "_compiled_call_impl", None) is not None
        for m in model.modules()
    )


def plain_name(name: str) -> str:
    """A module or parameter name without the ``_orig_mod.`` a torch.compile wrapper adds."""
    return name.replace("_orig_mod.", "").removesuffix("_orig_mod")


def model_name(model: nn.Module) -> str:
    """The class name of the model (of the module inside a torch.compile wrapper)."""
    inner = getattr(model, "_orig_mod", None) if is_compile_wrapper(model) else None
    return type(inner if isinstance(inner, nn.Module) else model).__name__


def warn_compiled() -> None:
    warnings.warn(
        "torchscope: the model runs compiled (torch.compile); activation statistics and "
        "per-module non-finite checks would hook into the compiled graph and force "
        "recompiles, so they are off. Gradients, weights, updates, scalars and the "
        "model output (of a torch.compile wrapper passed to Monitor) are still recorded.",
        stacklevel=4,
    )


class ForwardHooks:
    """The forward hooks of one monitored model, re-chosen by ``update`` after each step.

    ``step`` returns the step being run; ``on_error`` is told of a hook that failed (the
    hook then does nothing and training goes on).
    """

    def __init__(
        self,
        model: nn.Module,
        names: list[str],
        *,
        step: Callable[[], int],
        nonfinite: NonfiniteTracker | None,
        acts: ActivationSampler,
        intervals: dict[str, int],
        histogram_bins: int,
        on_error: OnError,
    ) -> None:
        self.model, self.names = model, names
        self.nonfinite, self.acts = nonfinite, acts
        self.intervals, self.histogram_bins = intervals, histogram_bins
        self._step, self._on_error = step, on_error
        modules = [m for _, m in model.named_modules()]
        self.is_leaf = [not any(True for _ in m.children()) for m in modules]
        self.checked = [index == 0 or needs_forward_check(m) for index, m in enumerate(modules)]
        self.compiled = compiled_inside(model)
        self.traced = False  # a hook of ours ran inside a torch.compile trace
        self.hooked = "none"  # the hooks installed: a value of hook_set()
        self._handles: list[Any] = []
        self._last_seen: Callable[[], torch.Tensor | None] = lambda: None

    def due(self, interval: str, step: int | None = None) -> bool:
        """True if ``step`` (default: the current one) is a multiple of the interval."""
        return (self._step() if step is None else step) % self.intervals[interval] == 0

    def hook_set(self, step: int) -> str:
        """The forward hooks a step gets: ``all``, ``checks``, ``root`` (the model) or ``none``."""
        if self.compiled:  # a hook on the torch.compile wrapper runs outside the graph
            wrapper = is_compile_wrapper(self.model)
            return "root" if self.nonfinite is not None and wrapper else "none"
        if self.due("activations", step):
            return "all"
        if self.nonfinite is None:
            return "none"
        return "checks" if self.due("nonfinite", step) else "root"

    def update(self) -> None:
        """Install the hooks the current step needs (nothing to do when they are in place)."""
        if self.traced and not self.compiled:
            self.compiled = True
            warn_compiled()
        wanted = self.hook_set(self._step())
        if wanted == self.hooked:
            return
        self.remove()
        for index, (_, module) in enumerate(self.model.named_modules()):
            hook: Callable[..., None]
            if wanted == "all":
                hook = functools.partial(self._on_forward, index)
            elif wanted == "checks" and self.checked[index]:
                hook = functools.partial(self._check_forward, index)
            elif wanted == "root" and index == 0:
                hook = self._check_model_output
            else:
                continue
            self._handles.append(module.register_forward_hook(hook))
        self.hooked = wanted

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles, self.hooked = [], "none"

    def _in_trace(self) -> bool:
        """True (and remembered) when torch.compile is tracing the hook being called.

        The hooks then do nothing; after the step they are removed for good, so the graph
        is compiled once more, without them (the model was compiled outside the Monitor).
        """
        if torch.compiler.is_compiling():
            self.traced = True
            return True
        return False

    def _seen_last(self, t: torch.Tensor) -> bool:
        """True if ``t`` is the output seen last (a container returning its last child's)."""
        if self._last_seen() is t:
            return True
        self._last_seen = weakref.ref(t)
        return False

    def _check_forward(self, index: int, module: nn.Module, args: Any, output: Any) -> None:
        """The per-step hook: queue a non-finite check of a new output (device op only)."""
        if self._in_trace():
            return
        try:
            assert self.nonfinite is not None
            if isinstance(output, torch.Tensor):
                tensors: Any = (output,) if output.is_floating_point() else ()
            else:
                tensors = float_tensors(output)
            for t in tensors:
                if not self._seen_last(t):
                    self.nonfinite.check("forward", index, t, self._step())
        except Exception as exc:
            self._on_error("forward hook", exc)

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
                assert self.nonfinite is not None
                self.nonfinite.check("forward", 0, first, self._step())
        except Exception as exc:
            self._on_error("forward hook", exc)

    def _on_forward(self, index: int, module: nn.Module, args: Any, output: Any) -> None:
        """The hook of sampled steps: activation statistics and gradient checks too."""
        if self._in_trace():
            return
        try:
            step = self._step()
            tensors = list(float_tensors(output))
            if self.nonfinite is not None:
                for t in tensors:
                    if self._seen_last(t):
                        continue
                    if self.checked[index]:
                        self.nonfinite.check("forward", index, t, step)
                    if torch.is_grad_enabled():
                        self.nonfinite.watch_backward(index, t, step)
            if self.is_leaf[index]:
                first = next(iter(tensors), None)
                if first is not None:
                    bins = self.histogram_bins if self.due("histograms", step) else 0
                    self.acts.record(index, module, first, bins)
        except Exception as exc:
            self._on_error("forward hook", exc)


def install_step_hooks(
    optimizer: torch.optim.Optimizer, pre: Callable[[], None], post: Callable[[], None]
) -> list[Any]:
    """Call ``pre`` before each optimizer update and ``post`` after it; return the handles.

    ``step(closure)`` (LBFGS, Lightning) computes the gradients inside ``step``, after the
    pre-hook, so the closure is wrapped and ``pre`` runs right after it instead of reading
    stale gradients.
    """

    def on_pre_step(opt: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # ``args`` starts with the optimizer itself; a positional closure comes next.
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)
        if closure is None:
            pre()
            return None
        done = False

        def wrapped() -> Any:
            nonlocal done
            result = closure()
            if not done:
                done = True
                pre()
            return result

        if "closure" in kwargs:
            return args, {**kwargs, "closure": wrapped}
        return (args[0], wrapped, *args[2:]), kwargs

    return [
        optimizer.register_step_pre_hook(on_pre_step),
        optimizer.register_step_post_hook(lambda *a: post()),
    ]
