"""Evaluation speed: torchscope.evaluate against the loops users write by hand.

One MLP classifier (``--classes`` classes) over ``--samples`` synthetic samples in
batches of ``--batch``, measured in one run (median of ``--repeats``, wall and CPU time of
this process, all threads):

* bare: the inference loop alone (``torch.inference_mode``, no metric);
* torchscope ``evaluate`` with curves (ROC/PR, scores kept) and with ``curves=False``;
* torchmetrics: the same metrics as a ``MetricCollection`` updated in the loop
  (accuracy, top-5, macro/weighted P/R/F1, confusion matrix, ECE, macro AUROC and AP);
* scikit-learn: every output kept, then ``accuracy_score``, ``precision_recall_fscore_support``
  (macro, weighted, per class), ``confusion_matrix``, ``top_k_accuracy_score``,
  ``roc_auc_score`` and ``average_precision_score`` on the whole set.

The overhead column is the time above the bare loop, per 1,000 samples.

    .venv/bin/python benchmarks/evaluate_speed.py
    .venv/bin/python benchmarks/evaluate_speed.py --samples 20000 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

import torchscope


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn``."""
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def bare(model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    with torch.inference_mode():
        for x, _ in batches:
            model(x)


def with_torchmetrics(
    model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]], c: int
) -> None:
    import torchmetrics.classification as tmc
    from torchmetrics import MetricCollection

    metrics = MetricCollection({
        "accuracy": tmc.MulticlassAccuracy(c, average="micro"),
        "top5": tmc.MulticlassAccuracy(c, top_k=5, average="micro"),
        **{f"{a}_{m.__name__}": m(c, average=a)
           for a in ("macro", "weighted")
           for m in (tmc.MulticlassPrecision, tmc.MulticlassRecall, tmc.MulticlassF1Score)},
        "confusion": tmc.MulticlassConfusionMatrix(c),
        "ece": tmc.MulticlassCalibrationError(c, n_bins=15),
        "auroc": tmc.MulticlassAUROC(c),
        "ap": tmc.MulticlassAveragePrecision(c),
    })  # fmt: skip
    with torch.inference_mode():
        for x, y in batches:
            metrics.update(model(x).softmax(-1), y)
        metrics.compute()


def with_sklearn(
    model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]], c: int
) -> None:
    from sklearn import metrics as skm

    outs, ys = [], []
    with torch.inference_mode():
        for x, y in batches:
            outs.append(model(x).softmax(-1).numpy())
            ys.append(y.numpy())
    p, y = np.concatenate(outs), np.concatenate(ys)
    pred = p.argmax(1)
    labels = list(range(c))
    skm.accuracy_score(y, pred)
    skm.confusion_matrix(y, pred, labels=labels)
    for average in ("macro", "weighted", None):
        skm.precision_recall_fscore_support(y, pred, average=average, zero_division=0)
    skm.top_k_accuracy_score(y, p, k=5, labels=labels)
    skm.roc_auc_score(y, p, multi_class="ovr")
    skm.average_precision_score(np.eye(c)[y], p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadier)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    c = args.classes
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, c)).eval()
    x = torch.randn(args.samples, 64)
    y = (x[:, :c].argmax(1) + (torch.rand(args.samples) < 0.2).long()) % c
    batches = [(x[i : i + args.batch], y[i : i + args.batch]) for i in range(0, len(x), args.batch)]
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"load {os.getloadavg()[0]:.1f}; {args.samples:,} samples, {c} classes, "
        f"batch {args.batch}, {args.threads} torch thread(s), median of {args.repeats}"
    )
    runs = {
        "bare inference loop": lambda: bare(model, batches),
        "torchscope evaluate (curves)": lambda: torchscope.evaluate(model, batches, progress=False),
        "torchscope evaluate (curves=False)": lambda: torchscope.evaluate(
            model, batches, curves=False, progress=False
        ),
        "torchmetrics MetricCollection": lambda: with_torchmetrics(model, batches, c),
        "scikit-learn on kept outputs": lambda: with_sklearn(model, batches, c),
    }
    results = {name: timed(fn, args.repeats) for name, fn in runs.items()}
    base_wall, base_cpu = results["bare inference loop"]
    print("| run | wall s | CPU s | overhead wall ms / 1k samples | overhead CPU ms / 1k samples |")
    print("|---|---:|---:|---:|---:|")
    for name, (wall, cpu) in results.items():
        per = 1000 / args.samples * 1000
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {(wall - base_wall) * per:.1f} | "
              f"{(cpu - base_cpu) * per:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
