"""On-device confusion accumulation and the metrics the monitor writes, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from tests.monitor.fake_store import FakeWriter
from torchscope.monitor import Monitor
from torchscope.monitor.metrics import ConfusionAccumulator


def test_accumulated_confusion_equals_sklearn_with_ignored_targets() -> None:
    torch.manual_seed(3)
    acc = ConfusionAccumulator()
    truths, preds = [], []
    for _ in range(4):
        logits = torch.randn(50, 7)
        target = torch.randint(0, 7, (50,))
        target[:5] = -100  # padding, ignored
        acc.update(logits, target)
        keep = target >= 0
        truths.append(target[keep].numpy())
        preds.append(logits.argmax(-1)[keep].numpy())
    expected = skm.confusion_matrix(np.concatenate(truths), np.concatenate(preds), labels=range(7))
    assert acc.matrix is not None
    assert acc.matrix.tolist() == expected.tolist()


def test_integer_predictions_need_num_classes() -> None:
    acc = ConfusionAccumulator(num_classes=3)
    acc.update(torch.tensor([0, 2, 2]), torch.tensor([0, 1, 2]))
    assert acc.matrix is not None and acc.matrix.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 1]]
    with pytest.raises(ValueError, match="num_classes"):
        ConfusionAccumulator().update(torch.tensor([0]), torch.tensor([0]))


def test_monitor_writes_metrics_equal_to_sklearn_per_step_and_split() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 4)
    writer = FakeWriter()
    truth: dict[int, list[np.ndarray]] = {0: [], 1: []}
    pred: dict[int, list[np.ndarray]] = {0: [], 1: []}
    with Monitor(model, writer=writer) as mon:
        for step in range(2):
            for _batch in range(3):  # a validation loop: several batches, one step
                x, y = torch.randn(40, 5), torch.randint(0, 4, (40,))
                logits = model(x)
                mon.log_classification(step, logits, y, split="val", labels=list("abcd"))
                truth[step].append(y.numpy())
                pred[step].append(logits.argmax(-1).numpy())
    assert [(s, sp) for s, sp, _, _ in writer.confusions] == [(0, "val"), (1, "val")]
    for step, split, matrix, labels in writer.confusions:
        t, p = np.concatenate(truth[step]), np.concatenate(pred[step])
        assert matrix == skm.confusion_matrix(t, p, labels=range(4)).tolist()
        assert labels == ["a", "b", "c", "d"]
        scalars = next(v for s, sp, v in writer.scalars if s == step and sp == split)
        assert scalars["accuracy"] == pytest.approx(skm.accuracy_score(t, p))
        assert scalars["macro_f1"] == pytest.approx(
            skm.f1_score(t, p, average="macro", zero_division=0)
        )
        assert scalars["weighted_f1"] == pytest.approx(
            skm.f1_score(t, p, average="weighted", zero_division=0)
        )
