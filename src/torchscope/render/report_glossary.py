"""The report's appendix: what every metric and convention shown in the page means.

Each section names the terms it shows (``Page.use``); the appendix defines exactly those,
in a fixed order, so a reader never meets a number the report does not explain.
``DEFINITIONS`` holds every term any section can use (a test holds the sections to it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markupsafe import Markup

    from torchscope.render.report import Report
    from torchscope.render.report_page import Page

__all__ = ["DEFINITIONS", "appendix_section", "definition"]

# term → (name, definition), in the order the appendix lists them
DEFINITIONS: dict[str, tuple[str, str]] = {
    "params": (
        "Parameters",
        "Every value of the model's weights, counting a tensor shared by "
        "several modules (tied embeddings) once. Buffers (running statistics) are not "
        "parameters.",
    ),
    "macs": (
        "MACs and FLOPs",
        "Multiply–accumulate operations of one forward pass on the "
        "example input, counted at PyTorch's dispatcher (matrix products, convolutions, "
        "attention in full, without causal halving, as the published GPT-2 and ResNet "
        "figures count it). FLOPs = 2 × MACs.",
    ),
    "memory": (
        "Memory estimates",
        "Inference: weights, buffers and the peak of the "
        "activations alive at once. Training with Adam: weights, gradients, two "
        "optimizer states per weight, the activations autograd saved, the outputs, and "
        "the first gradient in flight. Estimates from the captured pass, not measured.",
    ),
    "activation": ("Activation memory", "Bytes of a module's outputs for the example input."),
    "mean_std": (
        "Mean ± std",
        "Over the finite values of a tensor; std is the population standard deviation.",
    ),
    "l2": ("L2 norm", "The square root of the sum of squared values (Frobenius norm of a matrix)."),
    "zero_frac": ("Zeros", "The share of values exactly zero."),
    "near_zero": ("Near 0", "The share of values with |w| ≤ 0.001 × the tensor's largest |w|."),
    "health": (
        "Health flags",
        "Checks of every tensor: NaN or Inf values (error); all-zero or constant weight "
        "matrices; dead units (all-zero rows); weights far larger than any initialisation "
        "gives (std × √fan_in above 20); and tensors whose RMS is at least 10× above or "
        "below that of the other tensors of their layer type (robust z-score of log RMS "
        "above 3.5). All-zero biases and constant norm scales are expected at "
        "initialisation and listed apart.",
    ),
    "histogram": (
        "Value histograms",
        "Counts of a tensor's values in 64 equal bins between its minimum and maximum.",
    ),
    "alpha": (
        "Spectral alpha",
        "The exponent of a power law fitted to the tail of the "
        "eigenvalues of WᵀW (the weight's squared singular values), as WeightWatcher "
        "fits it (Martin & Mahoney, 2021). Well-trained layers usually have "
        "2 ≤ alpha ≤ 6: above 6 the layer looks under-trained (close to random), below "
        "2 over-trained. Random initial weights sit well above 6.",
    ),
    "esd": (
        "Eigenvalue spectrum (ESD)",
        "The density of the eigenvalues of WᵀW on log-log "
        "axes; a straight tail is a power law, whose fit starts at xmin.",
    ),
    "importance_magnitude": (
        "Importance: magnitude",
        "Σ|w| of a layer's weights, as a share of the whole model's; and mean |w| per value, "
        "which does not grow with the layer's size.",
    ),
    "importance_taylor": (
        "Importance: Taylor saliency",
        "Σ|w · ∂L/∂w| on one batch: the "
        "first-order estimate of how much the loss would change if the "
        "weights were removed (Molchanov et al., 2019).",
    ),
    "rel_change": (
        "Relative change",
        "‖b − a‖ / ‖a‖ between two checkpoints' tensors (or "
        "layers, or the whole model): 0 is unchanged.",
    ),
    "cosine": (
        "Cosine",
        "The cosine similarity of two checkpoints' tensors: 1 is the same direction.",
    ),
    "learning_curves": (
        "Learning curves",
        "The scalars logged during training (loss, "
        "metrics, learning rate) against the step; each split (train, val, "
        "test) has its own line style.",
    ),
    "decimation": (
        "Decimation",
        "A series with more than 2,000 points is cut into 2,000 "
        "equal step ranges (buckets); each is drawn as the mean of its points with "
        "a band from their minimum to their maximum, so no spike is lost. The "
        "stored run keeps every point.",
    ),
    "best_last": (
        "Best and last",
        "The last finite value of a metric, and its best: the "
        "lowest for losses and errors, the highest for accuracy, F1 and AUC.",
    ),
    "heatmap": (
        "Layer heatmaps",
        "One row per layer (input at the top) and one column per "
        "step range (at most 400); each cell holds the largest value of its range.",
    ),
    "grad_norm": (
        "Gradient norm",
        "The L2 norm of each parameter's gradient after the "
        "backward pass, sampled every few steps. Vanishing (≪ its history) or "
        "exploding (≫) norms point at optimisation problems.",
    ),
    "update_ratio": (
        "Update-to-weight ratio",
        "‖Δw‖ / ‖w‖ for each parameter over one "
        "optimizer step. Around 1e-3 is the usual rule of thumb; far above, the "
        "learning rate may be too high; far below, the layer barely learns.",
    ),
    "weight_norm": ("Weight norm", "The L2 norm of each parameter, over training."),
    "dead_fraction": (
        "Dead fraction",
        "The share of a module's output activations that are "
        "exactly zero on a sampled batch (dead ReLUs stay at zero).",
    ),
    "distribution": (
        "Distributions",
        "Percentile bands of a tensor's values at each stored "
        "histogram: 0–7–16–31 and 69–84–93–100 (±1.5, ±1 and ±0.5 σ for a normal "
        "distribution), darker towards the median.",
    ),
    "health_timeline": (
        "Health timeline",
        "Spells of non-finite values (NaN, ±inf) in any "
        "logged series; spells where a gradient norm exceeded 10 × or fell "
        "below 0.001 × the median of its 50 points before (exploding, "
        "vanishing); and the step where the monitor first saw a non-finite "
        "value, with the module.",
    ),
    "per_class": (
        "Per-class metrics",
        "Precision = TP / (TP + FP): of the samples predicted "
        "as the class, the share right. Recall = TP / (TP + FN): of the class's "
        "samples, the share found. F1 is their harmonic mean; support is the "
        "number of samples of the class. A rate with nothing to divide by is shown "
        "as –.",
    ),
    "eval_loss": ("Loss", "The loss function averaged over every sample evaluated."),
    "eval_accuracy": (
        "Accuracy",
        "The share of samples whose predicted class (the largest score) is the true class.",
    ),
    "eval_subset_accuracy": (
        "Subset accuracy",
        "Multi-label: the share of samples with every label right.",
    ),
    "eval_hamming_loss": (
        "Hamming loss",
        "Multi-label: the share of (sample, label) decisions that are wrong.",
    ),
    "eval_macro": (
        "Macro, weighted and micro averages",
        "Macro: the unweighted mean over "
        "classes (each class counts the same). Weighted: the mean weighted by each "
        "class's support. Micro: computed from the pooled counts of all classes.",
    ),
    "eval_topk": (
        "Top-k accuracy",
        "The share of samples whose true class is among the k largest scores.",
    ),
    "eval_roc_auc": (
        "ROC AUC",
        "The area under the one-vs-rest ROC curve (true positive "
        "rate against false positive rate), averaged over classes: 0.5 is "
        "chance, 1 perfect.",
    ),
    "eval_average_precision": (
        "Average precision",
        "The area under the precision–recall "
        "curve, as scikit-learn computes it, averaged over classes.",
    ),
    "eval_ece": (
        "Expected calibration error (ECE)",
        "Σ over confidence bins of (bin share) × "
        "|accuracy − mean confidence|: 0 when the confidence the model states is "
        "how often it is right.",
    ),
    "eval_regression": (
        "MSE, RMSE, MAE, R²",
        "Mean squared error, its square root, mean "
        "absolute error, and the coefficient of determination R² = 1 − "
        "SSres/SStot (1 is perfect, 0 is as good as predicting the mean).",
    ),
    "profile_step": (
        "Step time and time outside modules",
        "The wall time of one training step (forward, and backward when profiled), the "
        "median over the profiled steps ± its spread (the median absolute deviation); "
        "data loading is left out. Time outside modules is the step's time not inside any "
        "module's forward or backward: the loss computed outside the model, autograd's "
        "engine, the optimizer step of a Monitor's profile.",
    ),
    "self_time": (
        "Self and inclusive time",
        "A module's inclusive time counts everything that ran while it was active, its "
        "children included; its self time leaves out the time of its child modules. Self "
        "times add up to the time inside modules; inclusive times nest and do not.",
    ),
    "achieved_flops": (
        "Achieved FLOP/s",
        "2 × the MACs a module (or the step) counted, divided by its measured time.",
    ),
    "intensity": (
        "Arithmetic intensity",
        "FLOPs per byte moved (FLOP/B): 2 × MACs over the bytes of a module's inputs, "
        "weights and outputs, from the captured tensor sizes. Low intensity means the "
        "module waits on memory; high means it waits on arithmetic.",
    ),
    "roofline": (
        "Roofline",
        "Achieved FLOP/s against arithmetic intensity on log-log axes. A device can reach "
        "at most min(peak FLOP/s, intensity × memory bandwidth): the roof. A module left "
        "of the ridge (where the two limits meet) is memory-bound, right of it "
        "compute-bound; the distance below the roof is what is left to gain.",
    ),
    "mfu": (
        "MFU (model FLOPs utilisation)",
        "Achieved FLOP/s over the device's peak FLOP/s for the dtype (a table of current "
        "GPUs, or peak_tflops= given): the share of the hardware's arithmetic the step "
        "used. Not known on a CPU or an unlisted device.",
    ),
    "profile_memory": (
        "Peak and kept memory",
        "Peak: the most memory allocated, above where it started, while a module's forward "
        "ran. Kept: what was still allocated when its forward ended, above where it "
        "started: its outputs and the activations autograd saved for backward. Measured "
        "by the profiler's memory records, not estimated.",
    ),
}

_ALIASES = [
    (re.compile(r"^eval_(macro|weighted|micro)_"), "eval_macro"),
    (re.compile(r"^eval_top\d+_accuracy$"), "eval_topk"),
    (re.compile(r"^eval_(mse|rmse|mae|r2)$"), "eval_regression"),
]


def definition(term: str) -> str | None:
    """The key in ``DEFINITIONS`` that explains ``term`` (None if none does).

    Example:
        >>> definition("eval_macro_f1"), definition("eval_top5_accuracy"), definition("alpha")
        ('eval_macro', 'eval_topk', 'alpha')
    """
    if term in DEFINITIONS:
        return term
    for pattern, key in _ALIASES:
        if pattern.search(term):
            return key
    return None


def appendix_section(report: Report, page: Page) -> Markup:
    """Definitions of the terms the other sections used, in ``DEFINITIONS`` order."""
    used = {key for key in map(definition, page.terms) if key is not None}
    rows = [DEFINITIONS[k] for k in DEFINITIONS if k in used]
    return page.render("appendix.html.j2", rows=rows)
