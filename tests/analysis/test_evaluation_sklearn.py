"""evaluate() equals scikit-learn on every metric they share.

Random cases are drawn by hypothesis (derandomized, so every run checks the same cases):
sizes, class counts, classes absent from the targets, tied scores (rounded to one
decimal), batch sizes and zero_division. Floats of the two computations are compared
within a tolerance; counts exactly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from torchscope.analysis.evaluation import Evaluation, run_evaluation

CASES = settings(max_examples=40, deadline=None, derandomize=True)
TOL = {"rel": 1e-9, "abs": 1e-12}


class Identity(torch.nn.Module):
    """The batch's scores are the model's output, so the test controls every score."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def batches(scores: np.ndarray, target: np.ndarray, size: int) -> list[tuple[torch.Tensor, ...]]:
    s, t = torch.from_numpy(scores), torch.from_numpy(target)
    return [(s[i : i + size], t[i : i + size]) for i in range(0, len(s), size)]


def evaluate(scores: np.ndarray, target: np.ndarray, size: int, **kw: object) -> Evaluation:
    return run_evaluation(Identity(), batches(scores, target, size), progress=False, **kw)  # type: ignore[arg-type]


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == pytest.approx(b, **TOL)


def multiclass_case(
    seed: int, n: int, classes: int, absent: int, ties: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised float32 scores and targets drawn from all but ``absent`` classes."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, classes)) * rng.uniform(0.3, 3)
    scores = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    if ties:
        scores = np.round(scores, 1)
    seen = rng.permutation(classes)[: max(1, classes - absent)]
    return scores.astype(np.float32), rng.choice(seen, size=n).astype(np.int64)


@CASES
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 120),
    classes=st.integers(2, 9),
    absent=st.integers(0, 3),
    ties=st.booleans(),
    size=st.integers(1, 50),
    zero_division=st.sampled_from([0.0, 1.0, math.nan]),
)
def test_multiclass_counts_and_rates(
    seed: int, n: int, classes: int, absent: int, ties: bool, size: int, zero_division: float
) -> None:
    scores, y = multiclass_case(seed, n, classes, absent, ties)
    ev = evaluate(scores, y, size, probabilities=True, zero_division=zero_division, top_k=(2, 3, 5))
    pred = scores.argmax(1)  # numpy's first maximum, as the evaluation takes it
    labels = list(range(classes))
    assert ev.task == "multiclass" and ev.samples == n
    assert ev.confusion == skm.confusion_matrix(y, pred, labels=labels).tolist()
    assert close(ev.metrics["accuracy"], skm.accuracy_score(y, pred))
    zd = "warn" if zero_division == 0 else zero_division
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, s = skm.precision_recall_fscore_support(
            y, pred, labels=labels, average=None, zero_division=zd
        )
        for average in ("macro", "weighted"):
            expected = skm.precision_recall_fscore_support(
                y, pred, average=average, zero_division=zd
            )
            for name, value in zip(("precision", "recall", "f1"), expected[:3]):
                assert close(ev.metrics[f"{average}_{name}"], value), (average, name)
        for k in (2, 3, 5):
            if k < classes:
                expected = skm.top_k_accuracy_score(y, scores, k=k, labels=labels)
                assert close(ev.metrics[f"top{k}_accuracy"], expected), k
            else:
                assert f"top{k}_accuracy" not in ev.metrics
    rows = ev.classes
    assert [row.support for row in rows] == s.tolist()
    for row, pi, ri, fi in zip(rows, p, r, f):
        assert close(row.precision, pi) and close(row.recall, ri) and close(row.f1, fi)


@CASES
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 150),
    classes=st.integers(2, 7),
    absent=st.integers(0, 2),
    ties=st.booleans(),
    size=st.integers(1, 64),
)
def test_multiclass_curve_areas(
    seed: int, n: int, classes: int, absent: int, ties: bool, size: int
) -> None:
    scores, y = multiclass_case(seed, n, classes, absent, ties)
    ev = evaluate(scores, y, size, probabilities=True)
    aucs, aps = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c, row in enumerate(ev.classes):
            positive = y == c
            if positive.any() and not positive.all():
                aucs.append(skm.roc_auc_score(positive, scores[:, c]))
                assert close(row.roc_auc, aucs[-1]), c
            else:
                assert math.isnan(row.roc_auc)
            if positive.any():
                aps.append(skm.average_precision_score(positive, scores[:, c]))
                assert close(row.average_precision, aps[-1]), c
            else:  # scikit-learn says 0 for a class without positives; undefined here
                assert math.isnan(row.average_precision)
    assert close(ev.metrics["roc_auc"], float(np.mean(aucs)) if aucs else math.nan)
    assert close(ev.metrics["average_precision"], float(np.mean(aps)) if aps else math.nan)


@CASES
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 200), classes=st.integers(3, 8))
def test_multiclass_roc_auc_equals_sklearn_ovr(seed: int, n: int, classes: int) -> None:
    rng = np.random.default_rng(seed)
    scores, _ = multiclass_case(seed, n, classes, 0, False)
    y = np.r_[np.arange(classes), rng.integers(0, classes, n - classes)]  # every class present
    probs = scores.astype(np.float64)
    probs = (probs / probs.sum(1, keepdims=True)).astype(np.float32)  # rows summing to one
    ev = evaluate(probs, y, 16, probabilities=True)
    macro = skm.roc_auc_score(y, probs, multi_class="ovr", average="macro")
    assert ev.metrics["roc_auc"] == pytest.approx(macro, rel=1e-9)
    weighted = skm.roc_auc_score(y, probs, multi_class="ovr", average="weighted")
    support = [r.support for r in ev.classes]
    assert np.average([r.roc_auc for r in ev.classes], weights=support) == pytest.approx(
        weighted, rel=1e-9
    )


@CASES
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 150),
    p_one=st.floats(0.0, 1.0),
    ties=st.booleans(),
    column=st.booleans(),
    size=st.integers(1, 40),
)
def test_binary_single_logit(
    seed: int, n: int, p_one: float, ties: bool, column: bool, size: int
) -> None:
    rng = np.random.default_rng(seed)
    logit = rng.normal(size=n).astype(np.float32) * 3
    if ties:
        logit = np.round(logit).astype(np.float32)
    y = (rng.random(n) < p_one).astype(np.int64)
    scores = logit[:, None] if column else logit
    ev = evaluate(scores, y, size)
    pred = (torch.sigmoid(torch.from_numpy(logit)) > 0.5).numpy().astype(np.int64)
    assert ev.task == "binary" and ev.labels == ["0", "1"]
    assert ev.confusion == skm.confusion_matrix(y, pred, labels=[0, 1]).tolist()
    assert close(ev.metrics["accuracy"], skm.accuracy_score(y, pred))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = skm.precision_recall_fscore_support(y, pred, average="macro")
        assert close(ev.metrics["macro_f1"], expected[2])
        p, _, f, _ = skm.precision_recall_fscore_support(y, pred, labels=[0, 1], average=None)
        assert close(ev.classes[1].f1, f[1]) and close(ev.classes[1].precision, p[1])
        both = 0 < y.sum() < n
        auc = skm.roc_auc_score(y, logit) if both else math.nan
        ap = skm.average_precision_score(y, logit) if y.any() else math.nan
    assert close(ev.metrics["roc_auc"], auc)
    assert close(ev.metrics["average_precision"], ap)
    assert math.isnan(ev.classes[0].roc_auc)  # one score ranks the positive class only


@CASES
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 100),
    labels=st.integers(2, 6),
    ties=st.booleans(),
    size=st.integers(1, 30),
    zero_division=st.sampled_from([0.0, 1.0]),
)
def test_multilabel(
    seed: int, n: int, labels: int, ties: bool, size: int, zero_division: float
) -> None:
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(n, labels)) * 2).astype(np.float32)
    if ties:
        logits = np.round(logits).astype(np.float32)
    y = (rng.random((n, labels)) < rng.uniform(0, 0.7, labels)).astype(np.int64)
    ev = evaluate(logits, y, size, zero_division=zero_division)
    pred = (torch.sigmoid(torch.from_numpy(logits)) > 0.5).numpy().astype(np.int64)
    assert ev.task == "multilabel" and ev.confusion is None
    assert close(ev.metrics["subset_accuracy"], skm.accuracy_score(y, pred))
    assert close(ev.metrics["hamming_loss"], skm.hamming_loss(y, pred))
    zd = "warn" if zero_division == 0 else zero_division
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for average in ("macro", "weighted", "micro"):
            expected = skm.precision_recall_fscore_support(
                y, pred, average=average, zero_division=zd
            )
            for name, value in zip(("precision", "recall", "f1"), expected[:3]):
                assert close(ev.metrics[f"{average}_{name}"], value), (average, name)
        mcm = skm.multilabel_confusion_matrix(y, pred)
        for j, row in enumerate(ev.classes):
            assert [
                row.true_positives,
                row.predicted - row.true_positives,
                row.support - row.true_positives,
            ] == [mcm[j, 1, 1], mcm[j, 0, 1], mcm[j, 1, 0]]
            column = y[:, j]
            both = 0 < column.sum() < n
            assert close(row.roc_auc, skm.roc_auc_score(column, logits[:, j]) if both else math.nan)
            if column.any():
                assert close(
                    row.average_precision, skm.average_precision_score(column, logits[:, j])
                )


@pytest.mark.filterwarnings("ignore:R.2 score is not well-defined")  # n = 1: NaN, as here
@CASES
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 200),
    outputs=st.integers(1, 3),
    constant=st.booleans(),
    size=st.integers(1, 64),
)
def test_regression(seed: int, n: int, outputs: int, constant: bool, size: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(5, 3, size=(n, outputs))
    if constant:
        y[:, 0] = 2.5
    pred = y + rng.normal(0, 1, size=y.shape) * rng.uniform(0, 2)
    if constant and outputs > 1:
        pred[:, 0] = 2.5  # a constant target predicted exactly: R² 1 by scikit-learn's rule
    shape = (n,) if outputs == 1 else (n, outputs)
    ev = evaluate(pred.reshape(shape), y.reshape(shape), size, task="regression")
    assert ev.task == "regression" and ev.samples == n
    tol = {"rel": 1e-9, "abs": 1e-9, "nan_ok": True}
    assert ev.metrics["mse"] == pytest.approx(skm.mean_squared_error(y, pred), **tol)
    assert ev.metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred), **tol)
    assert ev.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), **tol)
    assert ev.metrics["r2"] == pytest.approx(skm.r2_score(y, pred), **tol)
    per_output = (
        skm.r2_score(y, pred, multioutput="raw_values")
        if n >= 2
        else np.full(outputs, math.nan)  # scikit-learn: one NaN for fewer than two samples
    )
    assert [r.r2 for r in ev.outputs] == pytest.approx(per_output.tolist(), **tol)


def test_regression_is_recognised_from_a_float_target() -> None:
    x = np.linspace(0, 1, 50, dtype=np.float32)
    ev = evaluate(x * 2, x * 2 + 0.5, 7)
    assert ev.task == "regression"
    assert ev.metrics["mae"] == pytest.approx(0.5) and ev.metrics["mse"] == pytest.approx(0.25)


def test_top_k_ranks_ties_as_sklearn() -> None:
    """Three tied scores: scikit-learn ranks the higher class index first."""
    scores = np.array([[0.3, 0.3, 0.3, 0.1]] * 3, dtype=np.float32)
    y = np.array([0, 1, 2])
    ev = evaluate(scores, y, 3, probabilities=True, top_k=(2,))
    assert (
        ev.metrics["top2_accuracy"]
        == skm.top_k_accuracy_score(y, scores, k=2, labels=range(4))
        == 2 / 3
    )
    assert ev.metrics["accuracy"] == 1 / 3  # argmax takes the first of the tied maxima
