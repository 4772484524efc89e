"""A PyTorch Lightning callback that attaches a torchscope ``Monitor`` to ``Trainer.fit``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl
import torch

from torchscope.monitor import Monitor
from torchscope.store.checks import printable_name

__all__ = ["TorchscopeCallback"]


class TorchscopeCallback(pl.Callback):
    """Monitor a Lightning run: losses, metrics, layer statistics, activations, histograms.

    Steps are Lightning's ``global_step`` (optimizer steps taken). Training step outputs
    ``loss`` and every metric logged with ``self.log`` are recorded; a validation step
    that returns ``{"logits": ..., "targets": ...}`` adds to the validation confusion matrix.

    Example:
        >>> trainer = pl.Trainer(callbacks=[TorchscopeCallback("runs/exp1")])  # doctest: +SKIP
    """

    def __init__(self, logdir: str | None = None, **monitor_options: Any) -> None:
        super().__init__()
        self.logdir, self.options = logdir, monitor_options
        self.monitor: Monitor | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        optimizer = trainer.optimizers[0] if trainer.optimizers else None
        options = {"start_step": trainer.global_step + 1, **self.options}
        options.setdefault("config", dict(pl_module.hparams))
        self.monitor = Monitor(pl_module, optimizer, self.logdir, **options)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if self.monitor is None:
            return
        values = _tensors(trainer.callback_metrics, exclude="val")
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if isinstance(loss, torch.Tensor):
            values["loss"] = loss
        if trainer.optimizers:
            values["lr"] = float(trainer.optimizers[0].param_groups[0]["lr"])
        self.monitor.log_dict(trainer.global_step, values)

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self.monitor is None or trainer.sanity_checking or not isinstance(outputs, Mapping):
            return
        if "logits" in outputs and "targets" in outputs:
            self.monitor.log_classification(
                trainer.global_step, outputs["logits"], outputs["targets"], split="val"
            )

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.monitor is None or trainer.sanity_checking:
            return
        values = _tensors(trainer.callback_metrics, only="val")
        if values:
            self.monitor.log_dict(trainer.global_step, values, split="val")

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.teardown(trainer, pl_module, "fit")

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None


def _tensors(
    metrics: Mapping[str, Any], *, only: str | None = None, exclude: str | None = None
) -> dict[str, torch.Tensor | float]:
    """Scalar metrics, keyed without their ``val_``/``val/`` prefix when ``only`` is given.

    Names are made printable (``store.checks.printable_name``): a metric named with a
    control character is recorded under its escaped name instead of stopping the fit.
    """
    out: dict[str, torch.Tensor | float] = {}
    for name, value in metrics.items():
        is_split = name.startswith((f"{only or exclude}_", f"{only or exclude}/"))
        if (only and not is_split) or (exclude and is_split):
            continue
        key = printable_name(name[len(only) + 1 :] if only else name)
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = float(value)
    return out
