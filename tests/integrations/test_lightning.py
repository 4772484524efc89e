"""The Lightning callback writes a store with losses, layer statistics and a confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

pl = pytest.importorskip("pytorch_lightning")

from torchscope.integrations.lightning import TorchscopeCallback  # noqa: E402
from torchscope.store.reader import RunReader  # noqa: E402


class TinyClassifier(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
        self.losses: list[float] = []
        self.grad_norms: list[float] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.losses.append(loss.item())
        return loss

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        self.grad_norms.append(torch.cat([g.flatten() for g in grads]).norm().item())

    def validation_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y))
        return {"logits": logits, "targets": y}

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.5)


def test_lightning_callback_writes_the_run(tmp_path: Path) -> None:
    torch.manual_seed(0)
    x, y = torch.randn(24, 6), torch.randint(0, 3, (24,))
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    module = TinyClassifier()
    logdir = tmp_path / "run"
    trainer = pl.Trainer(
        max_steps=3,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[TorchscopeCallback(str(logdir), every=1, activations_every=1)],
    )
    trainer.fit(module, loader, loader)
    with RunReader(logdir) as reader:
        loss = reader.scalars("loss")
        assert list(loss.steps) == [1, 2, 3]
        assert list(loss.values) == pytest.approx(module.losses, rel=1e-6)
        grad_norm = reader.scalars("grad_norm")
        # statistics are taken after Lightning's closure ran, so they are this step's grads
        assert list(grad_norm.values) == pytest.approx(module.grad_norms, rel=1e-5)
        val = reader.confusion("val")
        assert val is not None and int(val.matrix.sum()) == 24
        assert reader.scalars("loss", split="val").values[-1] > 0
        assert set(reader.layer_kinds()) >= {"grad", "weight", "update_ratio", "activation"}
        grads = reader.layer_stats("grad", "norm")
        assert "net.0.weight" in grads.layers and list(grads.steps) == [1, 2, 3]
        dead = reader.layer_stats("activation", "dead_fraction")
        assert dead.layers == ["net.1"] and 0 <= dead.values.min() <= dead.values.max() <= 1
        assert reader.meta()["environment"]["torch"] == torch.__version__


def test_metric_names_from_the_framework_are_made_printable() -> None:
    from torchscope.integrations.lightning import _tensors

    metrics = {"val/acc\x1b[2J": torch.tensor(0.5), "loss\n": 2.0, "val_f1": torch.ones(3)}
    assert _tensors(metrics, only="val") == {"acc\\x1b[2J": torch.tensor(0.5)}
    assert _tensors(metrics, exclude="val") == {"loss\\n": 2.0}
