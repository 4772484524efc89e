"""evaluate(..., monitor=/logdir=) stores the evaluation in the run, at its step and split."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

import torchscope
from torchscope.store.reader import RunReader
from torchscope.store.writer import RunWriter


def data(n: int = 80, classes: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(n, 5, generator=g), torch.randint(0, classes, (n,), generator=g)
    y[y == 2] = 0  # class 2 never occurs: its curve areas are NaN and are not stored
    return [(x[i : i + 20], y[i : i + 20]) for i in range(0, n, 20)]


def stored(run_dir: Path, split: str) -> dict[str, list[tuple[int, float]]]:
    with RunReader(run_dir) as r:
        return {
            name: list(
                zip(
                    r.scalars(name, split=split).steps.tolist(),
                    r.scalars(name, split=split).values.tolist(),
                )
            )
            for s, name in r.scalar_names()
            if s == split
        }


def test_monitor_stores_metrics_and_confusion_at_its_step(tmp_path: Path) -> None:
    model = nn.Linear(5, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    with torchscope.Monitor(model, opt, logdir=str(tmp_path / "run"), every=1) as mon:
        results = []
        for step in range(3):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.log(step, loss=loss)
            ev = torchscope.evaluate(
                model,
                data(),
                monitor=mon,
                split="test",
                progress=False,
                labels=["a", "b", "c"],
                loss_fn=nn.CrossEntropyLoss(),
            )
            results.append(ev)
    steps = [ev.step for ev in results]
    assert steps == [1, 2, 3]  # the monitor's step: optimizer steps taken so far
    series = stored(tmp_path / "run", "test")
    for name in ("loss", "accuracy", "macro_f1", "weighted_f1", "top5_accuracy"):
        if name == "top5_accuracy":
            assert name not in series  # 3 classes: no top-5
            continue
        assert [s for s, _ in series[name]] == steps, name  # one point per evaluation
        assert [v for _, v in series[name]] == pytest.approx([ev.metrics[name] for ev in results])
    assert math.isnan(results[0].classes[2].roc_auc)
    assert [v for _, v in series["roc_auc"]] == pytest.approx(
        [e.metrics["roc_auc"] for e in results]
    )
    with RunReader(tmp_path / "run") as r:
        confusion = r.confusion("test", step=3)
        assert confusion is not None
        assert confusion.matrix.tolist() == results[-1].confusion
        assert confusion.labels == ["a", "b", "c"]
        assert r.confusion_splits() == ["test"]


def test_monitor_hooks_are_paused_during_the_evaluation(tmp_path: Path) -> None:
    model = nn.Linear(5, 3)
    hooks_seen: list[int] = []

    def output_fn(out: torch.Tensor) -> torch.Tensor:
        hooks_seen.append(len(model._forward_hooks))
        return out

    with torchscope.Monitor(model, logdir=str(tmp_path / "run")) as mon:
        installed = len(model._forward_hooks)
        torchscope.evaluate(model, data(), monitor=mon, step=0, output_fn=output_fn, progress=False)
        assert not mon.is_paused and len(model._forward_hooks) == installed > 0
        mon.pause()
        torchscope.evaluate(model, data(), monitor=mon, step=1, progress=False)
        assert mon.is_paused  # a paused monitor stays paused
    assert hooks_seen == [0] * 4


def test_logdir_and_writer(tmp_path: Path) -> None:
    model = nn.Linear(5, 3)
    ev = torchscope.evaluate(
        model, data(), logdir=tmp_path / "run", step=7, split="val", progress=False
    )
    series = stored(tmp_path / "run", "val")
    defined = {k for k, v in ev.metrics.items() if not math.isnan(v)}
    assert set(series) == defined
    assert all(points == [(7, pytest.approx(ev.metrics[k]))] for k, points in series.items())
    with RunReader(tmp_path / "run") as r:
        confusion = r.confusion("val")
        assert confusion is not None and confusion.step == 7
        assert confusion.matrix.tolist() == ev.confusion
    with RunWriter(tmp_path / "other") as writer:
        ev2 = torchscope.evaluate(model, data(), logdir=writer, progress=False)
        assert ev2.step == 0
        writer.log_scalars(1, {"after": 1.0})  # a writer handed in is left open
    assert stored(tmp_path / "other", "test")["accuracy"] == [
        (0, pytest.approx(ev2.metrics["accuracy"]))
    ]


def test_monitor_and_logdir_together_are_refused(tmp_path: Path) -> None:
    model = nn.Linear(5, 3)
    with (
        torchscope.Monitor(model, logdir=str(tmp_path / "run")) as mon,
        pytest.raises(ValueError, match="not both"),
    ):
        torchscope.evaluate(model, data(), monitor=mon, logdir=tmp_path / "x", progress=False)


def test_regression_stores_its_metrics(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g)
    batches = [(x[i : i + 10], x[i : i + 10].sum(1, keepdim=True)) for i in range(0, 40, 10)]
    ev = torchscope.evaluate(nn.Linear(3, 1), batches, logdir=tmp_path / "run", progress=False)
    series = stored(tmp_path / "run", "test")
    assert set(series) == {"mse", "rmse", "mae", "r2"}
    assert series["r2"] == [(0, pytest.approx(ev.metrics["r2"]))]
    with RunReader(tmp_path / "run") as r:
        assert r.confusion_splits() == []


def test_a_second_evaluation_joins_the_run_in_logdir(tmp_path: Path) -> None:
    model = nn.Linear(5, 3)
    for step in (1, 2):
        torchscope.evaluate(model, data(), logdir=tmp_path / "run", step=step, progress=False)
    assert [p[0] for p in stored(tmp_path / "run", "test")["accuracy"]] == [1, 2]
    assert not (tmp_path / "run-2").exists()  # not a new run beside it
