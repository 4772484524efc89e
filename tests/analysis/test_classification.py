"""Classification metrics from a confusion matrix against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from torchscope.analysis.classification import classification_metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    classes = 6
    y_true = rng.integers(0, classes, 300)
    # mostly right, and class 5 is never predicted (zero-division case)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, classes - 1, 300))
    y_pred[y_pred == 5] = 4
    cm = skm.confusion_matrix(y_true, y_pred, labels=range(classes))
    m = classification_metrics(cm)
    p, r, f, s = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=range(classes), zero_division=0
    )
    assert m.accuracy == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert m.precision == pytest.approx(p.tolist())
    assert m.recall == pytest.approx(r.tolist())
    assert m.f1 == pytest.approx(f.tolist())
    assert m.support == s.tolist()
    assert m.macro_f1 == pytest.approx(
        skm.f1_score(y_true, y_pred, average="macro", zero_division=0)
    )
    assert m.weighted_f1 == pytest.approx(
        skm.f1_score(y_true, y_pred, average="weighted", zero_division=0)
    )
    assert m.macro_precision == pytest.approx(
        skm.precision_score(y_true, y_pred, average="macro", zero_division=0)
    )
    assert m.macro_recall == pytest.approx(
        skm.recall_score(y_true, y_pred, average="macro", zero_division=0)
    )


def test_absent_classes_are_left_out_of_macro_averages_like_sklearn() -> None:
    y_true, y_pred = [0, 0, 1, 1], [0, 1, 1, 1]
    cm = np.zeros((4, 4), dtype=int)  # classes 2 and 3 never occur
    cm[:2, :2] = skm.confusion_matrix(y_true, y_pred)
    m = classification_metrics(cm, labels=["a", "b", "c", "d"])
    assert m.macro_f1 == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))
    assert m.labels == ["a", "b", "c", "d"]
    assert m.to_dict()["support"] == [2, 2, 0, 0]


def test_rejects_non_square() -> None:
    with pytest.raises(ValueError, match="square"):
        classification_metrics([[1, 2, 3]])
