"""The Monitor's part in the live dashboard: the serve hint, the model graph of a run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from torchscope.model.graph import ModelGraph
from torchscope.monitor.monitor import Monitor
from torchscope.store import RunReader


def _train(model: nn.Module, logdir: Path, steps: int = 3, **options: object) -> list[float]:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    with Monitor(model, opt, logdir=str(logdir), **options) as mon:  # type: ignore[arg-type]
        for step in range(steps):
            loss = model(torch.randn(8, 6), **({"scale": 2.0} if isinstance(model, Net) else {}))
            loss = loss.square().mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            mon.log(step, loss=loss)
            losses.append(float(loss.detach()))
    return losses


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Dropout(0.5), nn.Linear(5, 2))

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return self.body(x) * scale


def test_the_model_graph_is_stored_from_the_first_batch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Net()
    _train(model, tmp_path / "run")
    meta = RunReader(tmp_path / "run").meta()
    graph = ModelGraph.from_dict(meta["graph"])
    assert graph.device == "meta" and graph.total_params == 6 * 5 + 5 + 5 * 2 + 2
    assert [i.tensor.shape for i in graph.inputs][:1] == [(8, 6)]
    assert [m.path for m in graph.modules if m.path] == ["body", "body.0", "body.1", "body.2",
                                                         "body.3"]  # fmt: skip
    assert meta["summary"]["total_params"] == graph.total_params
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_storing_the_graph_changes_no_number_of_training(tmp_path: Path) -> None:
    torch.manual_seed(0)
    with_graph = _train(Net(), tmp_path / "a", steps=4)
    torch.manual_seed(0)
    without = _train(Net(), tmp_path / "b", steps=4, model_graph=False)
    assert with_graph == without  # dropout draws the same numbers: no RNG was used
    assert "graph" not in RunReader(tmp_path / "b").meta()


def test_monitor_prints_how_to_watch_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _train(nn.Linear(6, 2), tmp_path / "my run", steps=1)
    err = capsys.readouterr().err
    assert err.count("torchscope serve") == 1
    assert f"torchscope serve '{tmp_path / 'my run'}'" in err
