"""A transformers ``TrainerCallback`` that attaches a torchscope ``Monitor`` to ``Trainer``."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from torchscope.monitor import Monitor
from torchscope.store.checks import printable_name

__all__ = ["TorchscopeTrainerCallback"]


class TorchscopeTrainerCallback(TrainerCallback):
    """Monitor a ``transformers.Trainer`` run; steps are the Trainer's ``global_step``.

    Everything the Trainer logs (``loss``, ``learning_rate``, ``eval_*``…) is recorded as
    scalars (``eval_*`` under the ``val`` split), along with the monitor's layer statistics,
    activations and histograms; ``grad_norm`` is the monitor's own (the same pre-clipping
    total norm, measured on every statistics step).

    Example:
        >>> cb = TorchscopeTrainerCallback("runs/x")
        >>> trainer = Trainer(model, args, callbacks=[cb])  # doctest: +SKIP
    """

    def __init__(self, logdir: str | None = None, **monitor_options: Any) -> None:
        self.logdir, self.options = logdir, monitor_options
        self.monitor: Monitor | None = None

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        model: Any = None,
        optimizer: Any = None,
        **kwargs: Any,
    ) -> None:
        if self.monitor is not None or model is None:
            return
        options = {"start_step": state.global_step + 1, **self.options}
        options.setdefault("config", _jsonable(args.to_dict()))
        self.monitor = Monitor(model, optimizer, self.logdir, **options)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.monitor is None or not logs:
            return
        # The monitor records its own total ``grad_norm`` (the same pre-clipping value).
        # Names are made printable: an odd one is recorded escaped instead of stopping training.
        train = {
            printable_name(k): float(v)
            for k, v in logs.items()
            if _number(v) and not k.startswith("eval_") and k != "grad_norm"
        }
        val = {
            printable_name(k[5:]): float(v)
            for k, v in logs.items()
            if _number(v) and k.startswith("eval_")
        }
        if train:
            self.monitor.log_dict(state.global_step, train)
        if val:
            self.monitor.log_dict(state.global_step, val, split="val")

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _jsonable(config: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool | type(None)) else str(v)
        for k, v in config.items()
    }
