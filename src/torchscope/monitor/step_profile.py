"""``Monitor(profile_at=N)``: profile one real training step of the user's loop.

Armed when the monitor's step becomes ``N``: module ranges are hooked and torch.profiler
starts; the step begins at the model's next forward (so data loading is left out) and
ends where the monitor ends the step (after the optimizer's step, which is counted as
time outside modules). The result is a ``Profile`` built like ``torchscope.profile``'s,
from this one step: no repeats, no baseline, and backward MACs are not counted.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from torchscope.capture.profile_live import StepProfiler
from torchscope.capture.profile_trace import Measurement
from torchscope.model.dtypes import dtype_name
from torchscope.model.graph import ModelGraph

__all__ = ["StepProfile"]


class StepProfile:
    """Profiles the step ``at`` of a training loop; ``finish`` returns its Profile."""

    def __init__(self, model: nn.Module, at: int, device: str) -> None:
        self.model = model
        self.at = at
        self.device = device
        self.done = False
        self._live: StepProfiler | None = None
        self._stack: contextlib.ExitStack | None = None
        self._hook: Any = None

    def arm(self, step: int) -> None:
        """Start recording if ``step`` is the one to profile."""
        if self.done or step != self.at or self._live is not None:
            return
        live = StepProfiler(self.model, self.device)
        stack = contextlib.ExitStack()
        stack.enter_context(live.installed())
        stack.enter_context(live.recording())
        self._live, self._stack = live, stack
        # first among the pre-hooks: the step must begin before the root module's range
        self._hook = self.model.register_forward_pre_hook(self._begin, prepend=True)

    def _begin(self, module: nn.Module, args: Any) -> None:
        if self._live is not None and not self._live.in_step and not self._live.traces:
            self._live.begin_step()

    def finish(self, graph: dict[str, Any] | None) -> Any:
        """Stop recording; the step's Profile (None if the model never ran in it).

        ``graph`` is the summary's ModelGraph as a dict (MACs and shapes), if one was made.
        """
        live, stack = self._live, self._stack
        if live is None or stack is None:
            return None
        self.done, self._live, self._stack = True, None, None
        self._hook.remove()
        live.end_step()
        stack.close()
        if not live.traces:
            return None
        from torchscope.analysis.profile import build_profile

        measured = Measurement(
            modules=[path for path, _ in live.hooks.modules],
            steps=live.traces,
            baseline_ns=[],
            device=self.device,
            device_name=torch.cuda.get_device_name(self.device) if live.cuda else "",
            dtype=_param_dtype(self.model),
            compiled=live.hooks.compiled,
        )
        captured = ModelGraph.from_dict(graph) if graph else _static_graph(self.model, self.device)
        return build_profile(captured, measured)


def _param_dtype(model: nn.Module) -> str:
    first = next((p for p in model.parameters() if p.is_floating_point()), None)
    return dtype_name(first.dtype) if first is not None else "float32"


def _static_graph(model: nn.Module, device: str) -> ModelGraph:
    """The module tree alone (no MACs): what a profile needs when no summary was traced."""
    from torchscope.capture.structure import module_tree, unique_tensors

    params, _ = unique_tensors(model)
    return ModelGraph(
        model_type=type(model).__name__,
        device=device,
        modules=module_tree(model, params),
        params=params,
    )
