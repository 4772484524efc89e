"""The README's code runs as written (its Monitor snippet once used an undefined name)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from torchscope.store.reader import RunReader

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_block(containing: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    (block,) = [b for b in blocks if containing in b]
    return block


def test_monitor_snippet_accumulates_a_confusion_matrix_over_each_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchscope

    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    x, y = torch.randn(96, 8), torch.randint(0, 3, (96,))
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    names = {
        "torch": torch,
        "torchscope": torchscope,
        "model": model,
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
        "loss_fn": nn.CrossEntropyLoss(),
        "train_loader": [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)],
        "val_loader": [(x[i : i + 10], y[i : i + 10]) for i in range(64, 96, 10)],  # 32 samples
    }
    exec(_python_block("mon.log_classification("), names)  # every name it uses is defined above

    run = RunReader(tmp_path / "runs" / "exp1")
    assert run.scalars("loss").steps.tolist() == list(range(12))  # 3 epochs of 4 batches
    # the Monitor's own statistics carry the loss's step numbers (the snippet once counted
    # from 1, so its gradients and its losses were one step apart)
    assert run.scalars("grad_norm").steps.tolist() == [0]
    for epoch_end in (3, 7, 11):  # one matrix per epoch, over the whole validation set
        confusion = run.confusion("val", step=epoch_end)
        assert confusion is not None and int(confusion.matrix.sum()) == 32
    run.close()


def test_evaluation_snippet_measures_the_whole_test_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchscope

    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    x, y = torch.randn(50, 4), torch.randint(0, 3, (50,))
    model = nn.Linear(4, 3)
    names = {
        "torchscope": torchscope,
        "model": model,
        "test_loader": [(x[i : i + 16], y[i : i + 16]) for i in range(0, 50, 16)],
        "loss_fn": nn.CrossEntropyLoss(),
        "class_names": ["a", "b", "c"],
    }
    exec(_python_block("torchscope.evaluate("), names)
    ev = names["ev"]
    assert isinstance(ev, torchscope.Evaluation) and ev.samples == 50
    predicted = model(x).argmax(1)
    assert ev.metrics["accuracy"] == pytest.approx(float((predicted == y).float().mean()))
    assert (tmp_path / "eval" / "evaluation.json").is_file()
    assert len(list((tmp_path / "eval").glob("*.png"))) >= 3


def test_profile_snippet_names_real_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchscope

    monkeypatch.chdir(tmp_path)
    model = _Encoded()
    names = {
        "torchscope": torchscope,
        "model": model,
        "batch": torch.randn(4, 8),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
    }
    exec(_python_block("torchscope.profile("), names)
    profile, monitor = names["p"], names["mon"]
    assert isinstance(profile, torchscope.Profile) and isinstance(monitor, torchscope.Monitor)
    assert profile.module("encoder.layer.0").macs == 4 * 8 * 8
    assert profile.module("encoder.layer.0").forward_ms > 0
    monitor.close()


class _Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Sequential(nn.Linear(8, 8), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.layer(x)
        return out


class _Encoded(nn.Module):
    """A model with an ``encoder.layer`` module, as the README's profile snippet names."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = _Encoder()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.encoder(x)
        return out
