"""The demo on real data: scikit-learn's digits, SimpleNet, a Monitor, one report."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from torchscope.cli import main
from torchscope.commands.demo import train_digits
from torchscope.examples import SimpleNet, digits
from torchscope.store.reader import RunReader

pytest.importorskip("sklearn")


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Train on one thread, as the demo does (two threads spin-wait on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_simplenet_is_the_seed_network() -> None:
    net = SimpleNet()
    shapes = {n: tuple(p.shape) for n, p in net.named_parameters()}
    assert shapes == {
        "fc1.weight": (128, 784),
        "fc1.bias": (128,),
        "fc2.weight": (10, 128),
        "fc2.bias": (10,),
    }
    assert isinstance(net.relu, torch.nn.ReLU)


def test_digits_are_upsampled_split_and_standardised() -> None:
    from sklearn.datasets import load_digits

    data = digits()
    x, y = data.train.dataset.tensors  # type: ignore[attr-defined]
    x_test, y_test = data.test.dataset.tensors  # type: ignore[attr-defined]
    assert x.shape[1:] == (1, 28, 28) and x_test.shape[1:] == (1, 28, 28)
    assert (data.train_size, data.test_size) == (1347, 450) == (len(y), len(y_test))
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1) < 1e-5
    # stratified: each digit's share of the test set is its share of the whole set
    total = torch.bincount(torch.tensor(load_digits().target), minlength=10).double()
    share = torch.bincount(y_test, minlength=10).double() / len(y_test)
    assert torch.allclose(share, total / total.sum(), atol=0.005)
    again = digits()
    assert torch.equal(again.test.dataset.tensors[0], x_test)  # type: ignore[attr-defined]


def test_the_demo_data_says_how_to_install_scikit_learn(monkeypatch: pytest.MonkeyPatch) -> None:
    from torchscope.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(MissingDependency, match=r"torchscope\[demo\]"):
        digits()


def test_simplenet_learns_the_digits(tmp_path: Path) -> None:
    torch.manual_seed(0)
    data = digits()
    history: list[float] = []
    last = train_digits(
        SimpleNet(),
        data,
        tmp_path / "run",
        epochs=6,
        on_epoch=lambda e, ev: history.append(ev.metrics["accuracy"]),
    )
    assert len(history) == 6 and history[-1] == last.metrics["accuracy"] > 0.93
    assert last.samples == 450 and last.split == "test" and last.labels == list("0123456789")
    with RunReader(tmp_path / "run") as run:
        accuracy = run.scalars("accuracy", split="test")
        assert len(accuracy) == 6
        assert accuracy.values[-1] == pytest.approx(history[-1], abs=1e-6)
        f1 = run.scalars("macro_f1", split="test")
        assert f1.values[-1] == pytest.approx(last.metrics["macro_f1"], abs=1e-6)
        confusion = run.confusion("test")
        assert confusion is not None and int(confusion.matrix.sum()) == 450
        assert run.meta_value("graph") is not None  # the Monitor stored the architecture
        steps_per_epoch = -(-1347 // 32)
        assert int(run.scalars("loss").steps[-1]) == 6 * steps_per_epoch - 1


def test_demo_prints_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--summary-only"]) == 0
    out = capsys.readouterr().out
    assert "SimpleNet" in out and "101,770" in out and "101.63 K" in out


def test_demo_writes_the_report_and_a_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "-o", str(tmp_path), "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    names = {p.name for p in tmp_path.iterdir()}
    assert {"report.html", "graph.html", "run", "evaluation.json"} <= names
    accuracy = re.search(r"final test accuracy (\d+\.\d+)% · macro F1 (\d\.\d+)", out)
    assert accuracy is not None and float(accuracy.group(1)) > 85
    assert str(tmp_path / "report.html") in out and "parameters after training" in out
    saved = json.loads((tmp_path / "evaluation.json").read_text())
    assert float(accuracy.group(1)) == pytest.approx(100 * saved["metrics"]["accuracy"], abs=0.006)
    assert f"macro F1 {saved['metrics']['macro_f1']:.4f}" in out
    with RunReader(tmp_path / "run") as run:
        f1 = float(run.scalars("macro_f1", split="test").values[-1])
    assert f1 == pytest.approx(saved["metrics"]["macro_f1"], abs=1e-6)
    html = (tmp_path / "report.html").read_text()
    for section in ("summary", "architecture", "parameters", "training", "evaluation"):
        assert f'<section id="{section}"' in html
    data = json.loads(_script(html, "ts-report-data"))
    kinds = sorted({c["kind"] for c in data["charts"].values()})
    assert kinds == ["heatmap", "lines"]
    evaluation = html[html.index('id="evaluation"') : html.index('id="environment"')]
    assert "test split at step" in evaluation and evaluation.count("<svg") >= 4


def _script(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}">') + len(f'id="{element_id}">')
    return html[start : html.index("</script>", start)]
