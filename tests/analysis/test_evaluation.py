"""evaluate(): batch layouts, outputs, loss, calibration, memory bound, do-no-harm, JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import torchscope
from torchscope.analysis import eval_regression, eval_stream
from torchscope.analysis.evaluation import Evaluation, run_evaluation


def make_data(
    n: int = 96, classes: int = 4, features: int = 6
) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, features, generator=g), torch.randint(0, classes, (n,), generator=g)


def loader(x: torch.Tensor, y: torch.Tensor, batch_size: int = 16) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size)


def quiet(model: nn.Module, batches: Any, **kw: Any) -> Evaluation:
    return torchscope.evaluate(model, batches, progress=False, **kw)


def test_loss_is_the_data_set_mean_and_metrics_match_one_pass() -> None:
    x, y = make_data(100)
    model = nn.Linear(6, 4)
    ev = quiet(model, loader(x, y, 16), loss_fn=nn.CrossEntropyLoss())  # last batch has 4
    with torch.no_grad():
        logits = model(x)
    assert ev.metrics["loss"] == pytest.approx(
        nn.functional.cross_entropy(logits, y).item(), rel=1e-5
    )
    assert ev.metrics["accuracy"] == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert ev.samples == 100 and ev.batches == 7
    unreduced = quiet(model, loader(x, y, 16), loss_fn=nn.CrossEntropyLoss(reduction="none"))
    assert unreduced.metrics["loss"] == pytest.approx(ev.metrics["loss"], rel=1e-6)


def test_batch_layouts_give_the_same_evaluation() -> None:
    x, y = make_data(48)

    class TwoInputs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 4)

        def forward(self, a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
            return self.fc(a if b is None else a + b)

    model = TwoInputs()
    chunks = [(x[i : i + 12], y[i : i + 12]) for i in range(0, 48, 12)]
    reference = quiet(model, chunks).to_dict()
    zeros = torch.zeros(12, 6)
    layouts: list[tuple[Any, dict[str, Any]]] = [
        ([{"a": a, "labels": t} for a, t in chunks], {}),  # keyword inputs
        ([{"pixels": a, "target": t} for a, t in chunks], {}),  # a name forward does not take
        ([(a, zeros, t) for a, t in chunks], {}),  # (x1, x2, y)
        ([{"img": a, "cls": t} for a, t in chunks], {"batch_fn": lambda b: (b["img"], b["cls"])}),
        ([(a, t) for a, t in chunks], {"batch_fn": lambda b: ((b[0], zeros), b[1])}),
    ]
    for batches, kw in layouts:
        assert quiet(model, batches, **kw).to_dict() == reference


def test_output_fn_and_model_outputs() -> None:
    from transformers.modeling_outputs import SequenceClassifierOutput

    x, y = make_data(32)
    fc = nn.Linear(6, 4)
    reference = quiet(fc, loader(x, y)).metrics

    class HF(nn.Module):
        def forward(self, x: torch.Tensor) -> SequenceClassifierOutput:
            return SequenceClassifierOutput(logits=fc(x))

    class Pair(nn.Module):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return fc(x), torch.zeros(())

    class Custom(nn.Module):
        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"scores": fc(x)}

    assert quiet(HF(), loader(x, y)).metrics == reference
    assert quiet(Pair(), loader(x, y)).metrics == reference
    assert quiet(Custom(), loader(x, y), output_fn=lambda o: o["scores"]).metrics == reference
    with pytest.raises(TypeError, match="output_fn"):
        quiet(Custom(), loader(x, y))


def test_model_is_left_as_it_was() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.BatchNorm1d(8), nn.Linear(8, 4))
    model.train()
    model[2].eval()  # a frozen BatchNorm inside a training model: its own flag is kept
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    x, y = make_data(64)
    data = loader(x, y)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    ev = quiet(model, data)
    assert torch.equal(torch.rand(3), expected_next)  # iterating the loader drew no RNG
    assert [m.training for m in model.modules()] == modes
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    again = quiet(model, data)
    assert again.metrics == ev.metrics  # eval mode: dropout off, BatchNorm statistics fixed


def test_forward_runs_in_eval_and_inference_mode() -> None:
    seen: list[tuple[bool, bool]] = []

    class Probe(nn.Linear):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append((self.training, torch.is_inference_mode_enabled()))
            return super().forward(x)

    x, y = make_data(32)
    quiet(Probe(6, 4), loader(x, y))
    assert seen == [(False, True)] * 2


def test_sequence_outputs_skip_ignored_positions() -> None:
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(4, 10, 5, generator=g)
    target = torch.randint(0, 5, (4, 10), generator=g)
    target[:, 7:] = -100

    class Tokens(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    def token_loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(out.reshape(-1, 5), t.reshape(-1))

    ev = quiet(Tokens(), [(logits[:2], target[:2]), (logits[2:], target[2:])], loss_fn=token_loss)
    keep = target != -100
    assert ev.samples == int(keep.sum()) == 28
    assert ev.metrics["accuracy"] == pytest.approx(
        (logits.argmax(-1)[keep] == target[keep]).float().mean().item()
    )
    expected = nn.functional.cross_entropy(logits.reshape(-1, 5), target.reshape(-1))
    assert ev.metrics["loss"] == pytest.approx(expected.item(), rel=1e-5)


def test_calibration_equals_torchmetrics() -> None:
    from torchmetrics.functional.classification import multiclass_calibration_error

    x, y = make_data(400, classes=5)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 5))
    ev = quiet(model, loader(x, y, 32), bins=10)
    with torch.no_grad():
        probs = model(x).softmax(-1)
    expected = multiclass_calibration_error(probs, y, num_classes=5, n_bins=10, norm="l1")
    assert ev.metrics["ece"] == pytest.approx(expected.item(), abs=1e-6)
    c = ev.calibration
    assert c is not None and sum(c.counts) == 400 and len(c.edges) == 11
    confidence, pred = probs.max(1)
    top = torch.ceil(confidence * 10).long().clamp(1, 10) - 1
    for b in range(10):  # each bin's accuracy, counted directly
        members = top == b
        assert c.counts[b] == int(members.sum())
        if members.any():
            assert c.accuracy[b] == pytest.approx(
                (pred[members] == y[members]).float().mean().item()
            )


def test_memory_does_not_grow_without_curves() -> None:
    stream = eval_stream.ClassificationStream("multiclass", 7, curves=False)
    assert stream.scores is None
    with_curves = eval_stream.ClassificationStream("multiclass", 7, curves=True)
    x, y = make_data(50, classes=7)
    ev = run_evaluation(nn.Linear(6, 7), loader(x, y), curves=False, progress=False)
    assert ev.curves == [] and all(math.isnan(r.roc_auc) for r in ev.classes)
    assert "roc_auc" not in ev.metrics and ev.confusion is not None
    assert with_curves.scores is not None


def test_curve_scores_are_float32_rows_and_kept_only_for_few_classes() -> None:
    from torchscope.analysis.eval_tasks import prepare

    stream = eval_stream.ClassificationStream("multiclass", 3)
    for _ in range(3):
        stream.update(prepare("multiclass", torch.randn(10, 3), torch.randint(0, 3, (10,))))
    assert stream.scores is not None
    scores, target = stream.scores.arrays()
    assert scores.dtype == np.float32 and scores.shape == (30, 3) and target.shape == (30,)
    big = eval_stream.ClassificationStream("multiclass", eval_stream.MAX_CONFUSION_CLASSES + 1)
    assert big.scores is None and big.confusion is None
    assert any("confusion" in n for n in big.notes) and any("curves" in n for n in big.notes)


def test_many_classes_without_confusion_still_count_per_class() -> None:
    classes = eval_stream.MAX_CONFUSION_CLASSES + 5
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, classes, generator=g)
    target = logits.argmax(1)
    target[:8] = (target[:8] + 1) % classes

    class Same(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    ev = quiet(Same(), [(logits, target)])
    assert ev.confusion is None and ev.metrics["accuracy"] == pytest.approx(56 / 64)
    assert sum(r.support for r in ev.classes) == 64 and ev.metrics["top5_accuracy"] >= 56 / 64


def test_task_errors_name_the_shapes() -> None:
    class Same(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    with pytest.raises(ValueError, match=r"output \(4, 3\) and target \(4, 2\)"):
        quiet(Same(), [(torch.randn(4, 3), torch.zeros(4, 2, dtype=torch.long))])
    with pytest.raises(ValueError, match="class 7 is outside"):
        quiet(Same(), [(torch.randn(4, 3), torch.tensor([0, 1, 2, 7]))])
    with pytest.raises(ValueError, match="other than 0 and 1"):
        quiet(
            Same(),
            [(torch.randn(4), torch.tensor([0.0, 1.0, 1.0, 0.0]))] * 2
            + [(torch.randn(4), torch.tensor([0.0, 2.0, 1.0, 0.0]))],
        )
    with pytest.raises(ValueError, match="no batches"):
        quiet(Same(), [])
    with pytest.raises(ValueError, match="2 labels for the output's 3 classes"):
        quiet(Same(), [(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))], labels=["a", "b"])
    with pytest.raises(ValueError, match="task must be"):
        quiet(Same(), [(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))], task="ranking")


def test_float_zero_one_target_of_the_output_shape_is_binary_unless_told() -> None:
    class Same(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    batch = [(torch.tensor([[2.0], [-1.0], [0.5]]), torch.tensor([[1.0], [0.0], [0.0]]))]
    assert quiet(Same(), batch).task == "binary"
    assert quiet(Same(), batch, task="regression").task == "regression"


def test_json_is_strict_and_round_trips() -> None:
    x, y = make_data(40, classes=5)
    y[y == 4] = 0  # class 4 never occurs: its recall and curve areas are undefined
    ev = quiet(
        nn.Linear(6, 5),
        loader(x, y),
        labels=list("abcde"),
        zero_division=math.nan,
        split="val",
        step=3,
        loss_fn=nn.CrossEntropyLoss(),
    )
    text = ev.to_json()
    data = json.loads(text)  # strict: NaN would not parse as JSON elsewhere
    assert "NaN" not in text and data["classes"][4]["recall"] is None
    assert data["split"] == "val" and data["step"] == 3
    back = Evaluation.from_dict(data)
    assert back.to_json() == text
    assert math.isnan(back.classes[4].roc_auc) and back.classes[4].label == "e"
    assert repr(back).startswith("Evaluation(multiclass, 40 samples, accuracy=")


def test_regression_residual_sample_is_bounded_and_reproducible() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(eval_regression.RESIDUAL_SAMPLE + 700, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(len(x), generator=g)
    model = nn.Linear(3, 1)
    batches = [(x[i : i + 256], y[i : i + 256, None]) for i in range(0, len(x), 256)]
    ev = quiet(model, batches)
    again = quiet(model, batches)
    r = ev.residuals
    assert ev.task == "regression" and r is not None and r.total == len(x)
    assert len(r.predicted[0]) == eval_regression.RESIDUAL_SAMPLE
    assert r == again.residuals
    with torch.no_grad():
        pred = model(x)[:, 0]
    pairs = set(zip(pred.double().tolist(), y.double().tolist()))
    assert all(p in pairs for p in zip(r.predicted[0], r.target[0]))  # real rows, not made up


def test_progress_is_silent_when_stderr_is_not_a_terminal(
    capfd: pytest.CaptureFixture[str],
) -> None:
    x, y = make_data(32)
    torchscope.evaluate(nn.Linear(6, 4), loader(x, y), progress=True)
    assert capfd.readouterr().err == ""


def test_max_batches() -> None:
    x, y = make_data(64)
    ev = quiet(nn.Linear(6, 4), loader(x, y, 8), max_batches=3)
    assert ev.batches == 3 and ev.samples == 24


def retained_bytes(obj: object) -> int:
    """Bytes of the numpy arrays an accumulator holds (in its attributes, lists, parts)."""
    total = 0
    for value in vars(obj).values():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, np.ndarray):
                total += item.nbytes
            elif hasattr(item, "__dict__") and type(item).__module__.startswith("torchscope"):
                total += retained_bytes(item)
    return total


@pytest.mark.parametrize("task", ["multiclass", "multilabel", "binary"])
def test_memory_bound_is_the_documented_bytes_per_sample(task: str) -> None:
    """Without curves the state stays the same size; with them it grows by the documented
    4·C + 8 (single-label), 5·C (multi-label) or 4 + 8 (binary) bytes per sample."""
    from torchscope.analysis.eval_tasks import prepare

    classes = 5
    g = torch.Generator().manual_seed(0)

    def batch() -> Any:
        if task == "multilabel":
            out = torch.randn(100, classes, generator=g)
            return prepare(task, out, torch.randint(0, 2, (100, classes), generator=g))
        if task == "binary":
            return prepare(
                task, torch.randn(100, generator=g), torch.randint(0, 2, (100,), generator=g)
            )
        return prepare(
            task, torch.randn(100, classes, generator=g), torch.randint(0, 5, (100,), generator=g)
        )

    width = 2 if task == "binary" else classes
    per_sample = {"multiclass": 4 * classes + 8, "multilabel": 5 * classes, "binary": 4 + 8}[task]
    for curves, growth in ((False, 0), (True, per_sample * 4500)):
        stream = eval_stream.ClassificationStream(task, width, curves=curves)
        for _ in range(5):
            stream.update(batch())
        early = retained_bytes(stream)
        for _ in range(45):
            stream.update(batch())
        assert retained_bytes(stream) - early == growth, curves


def test_regression_memory_is_bounded() -> None:
    from torchscope.analysis.eval_tasks import prepare

    stream = eval_regression.RegressionStream(2, sample=300)
    sizes = []
    for _ in range(20):
        out = torch.randn(100, 2)
        stream.update(prepare("regression", out, out + 1))
        sizes.append(retained_bytes(stream))
    assert len(set(sizes[3:])) == 1  # after the sample fills, nothing grows


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_gives_the_numbers_of_the_cpu() -> None:
    x, y = make_data(256, classes=4)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
    on_cpu = quiet(model, loader(x, y, 64), loss_fn=nn.CrossEntropyLoss())
    model.cuda()
    on_gpu = quiet(model, loader(x, y, 64), loss_fn=nn.CrossEntropyLoss())  # inputs moved
    assert next(model.parameters()).device.type == "cuda"  # the model stays where it was
    assert on_gpu.confusion == on_cpu.confusion
    for name, value in on_cpu.metrics.items():
        assert on_gpu.metrics[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name
