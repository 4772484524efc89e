"""Spectral quality of weight matrices: the ESD and its power-law tail (heavy-tailed SSL).

Follows WeightWatcher 0.7 (Martin, Peng & Mahoney, Nature Communications 12, 4122, 2021)
closely enough to agree with it layer by layer:

* the ESD of a weight W (N × M, N ≥ M) is the M eigenvalues of WᵀW, i.e. its squared
  singular values, computed in float64; a Conv2d kernel (out, in, kh, kw) gives kh·kw
  matrices, one per kernel position, whose eigenvalues are pooled, after scaling W by
  √½ (WeightWatcher's ``conv2d_norm``, so conv eigenvalues are halved);
* layers with M·rf < 8 or > 15 000 eigenvalues, or N > 50 000, are skipped (its defaults);
* a fit on fewer than 50 eigenvalues carries a ``fit_warning``: WeightWatcher switches to a
  small-sample rule below 20 and says so, and its code notes that 50 are "really" needed;
* the tail is fitted by ``analysis.power_law.fit_power_law`` (its module says how).

WeightWatcher runs an SVD per matrix; here the eigenvalues come from the Gram matrix.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from torchscope.analysis.power_law import EVALS_THRESHOLD, PowerLawFit, fit_power_law

__all__ = [
    "ALPHA_RANGE",
    "MIN_FIT_EVALS",
    "LayerSpectrum",
    "SpectralReport",
    "SpectralRunner",
    "analyze_weight",
    "esd",
    "spectral_kind",
]

ALPHA_RANGE = (2.0, 6.0)  # alpha below: over-trained; above: under-trained (WeightWatcher)
MIN_EVALS, MAX_EVALS, MAX_N = 8, 15_000, 50_000
MIN_FIT_EVALS = 50  # fewer eigenvalues above 1e-5 than this: the fit is flagged unreliable
_CONV2D_SCALE = 0.5  # eigenvalues of (√½·W)ᵀ(√½·W)
_GRAM_LIMIT = float(np.finfo(np.float64).max) / 16  # the largest trace of WᵀW computed


@dataclass
class LayerSpectrum:
    """Spectral metrics of one weight (WeightWatcher's names and conventions).

    ``lambda_max`` is the largest eigenvalue of WᵀW (σ_max², which WeightWatcher calls
    ``spectral_norm``); ``norm`` is Σλ (the squared Frobenius norm); ``log_*`` are log10.
    ``evals`` holds the sorted eigenvalues (the ESD) for plots. ``warning`` is
    WeightWatcher's (``over-trained``/``under-trained``); ``fit_warning`` says when the fit
    itself is unreliable (fewer than ``MIN_FIT_EVALS`` eigenvalues).
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    N: int
    M: int
    rf: int
    num_evals: int
    alpha: float
    xmin: float
    xmax: float
    D: float
    sigma: float
    num_pl_spikes: int
    lambda_max: float
    sv_max: float
    norm: float
    log_norm: float
    log_spectral_norm: float
    alpha_weighted: float
    log_alpha_norm: float
    stable_rank: float
    status: str
    warning: str
    fit_warning: str = ""
    evals: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    @property
    def singular_values(self) -> np.ndarray:
        """Singular values of the (unscaled) matrices, ascending."""
        scale = _CONV2D_SCALE if self.kind == "conv2d" else 1.0
        return np.sqrt(self.evals / scale)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "evals"}
        out["shape"] = list(self.shape)
        return out


def spectral_kind(name: str, shape: tuple[int, ...], module_type: str = "") -> str | None:
    """``dense``, ``conv1d`` or ``conv2d`` for weights WeightWatcher analyses, else None.

    From a model: the weight of a Linear, Conv1d/HF Conv1D, Conv2d or Embedding module.
    From a checkpoint (no module types): any 2-, 3- or 4-D tensor not named ``*bias``.
    """
    if module_type:
        typ = module_type.lower()
        if not name.endswith("weight") or not any(
            k in typ for k in ("linear", "conv1d", "conv2d", "embedding")
        ):
            return None
    elif name.rpartition(".")[2].endswith("bias"):
        return None
    return {2: "dense", 3: "conv1d", 4: "conv2d"}.get(len(shape))


def _matrices(weight: torch.Tensor, kind: str) -> torch.Tensor:
    """The (rf, M, N) stack of matrices whose singular values make the ESD, M ≤ N."""
    w = weight.detach()
    if kind == "conv2d":
        w = w.flatten(2).permute(2, 0, 1)  # one (out, in) matrix per kernel position
    elif kind == "conv1d" and w.ndim == 3:
        w = w.permute(2, 0, 1)
    else:
        w = w.reshape(1, w.shape[0], -1)
    return w if w.shape[1] <= w.shape[2] else w.mT


def esd(weight: torch.Tensor, kind: str = "dense") -> np.ndarray:
    """Sorted eigenvalues of WᵀW pooled over kernel positions, in float64.

    Computed on the weight's device: the Gram matrix of the smaller side, then its
    eigenvalues (LAPACK through numpy on the CPU, torch on a GPU).

    Example:
        >>> import torch
        >>> esd(torch.diag(torch.tensor([3.0, 2.0]))).tolist()
        [4.0, 9.0]
    """
    return _stack_esd(_matrices(weight, kind), kind)


def _stack_esd(stack: torch.Tensor, kind: str) -> np.ndarray:
    if stack.device.type == "cpu":  # numpy's LAPACK beats torch's MKL on many CPUs
        view = stack if stack.dtype in (torch.float32, torch.float64) else stack.float()
        a = np.ascontiguousarray(view.numpy(), dtype=np.float64)
        evals = np.linalg.eigvalsh(a @ a.swapaxes(1, 2)).ravel()
    else:
        w = stack.to(torch.float64)
        evals = torch.linalg.eigvalsh(w @ w.mT).reshape(-1).cpu().numpy()
    evals = np.sort(np.clip(evals, 0.0, None))
    return evals * _CONV2D_SCALE if kind == "conv2d" else evals


# --- one layer --------------------------------------------------------------------------


def analyze_weight(
    name: str,
    weight: torch.Tensor,
    kind: str = "dense",
    *,
    min_evals: int = MIN_EVALS,
    max_evals: int = MAX_EVALS,
    max_n: int = MAX_N,
) -> LayerSpectrum | str:
    """The spectrum and tail fit of one weight, or the reason it is skipped.

    Example:
        >>> import torch
        >>> s = analyze_weight("fc.weight", torch.randn(300, 100))
        >>> s.num_evals, s.N, s.M, s.status
        (100, 300, 100, 'ok')
    """
    stack = _matrices(weight, kind)
    rf, M, N = stack.shape
    if M * rf < min_evals:
        return f"{M * rf} eigenvalues < {min_evals}"
    if M * rf > max_evals:
        return f"{M * rf} eigenvalues > {max_evals}"
    if max_n < N:
        return f"N = {N} > {max_n}"
    if not bool(torch.isfinite(stack).all()):
        return "non-finite values"
    peak = float(stack.abs().max()) if stack.numel() else 0.0
    if peak * peak * N * M > _GRAM_LIMIT:  # WᵀW or its trace would overflow: no convergence
        return f"values up to {peak:.3g}: their Gram matrix overflows float64"
    try:
        evals = _stack_esd(stack, kind)
    except (np.linalg.LinAlgError, RuntimeError) as exc:  # torch's eigvalsh raises RuntimeError
        return f"eigenvalues not computed ({str(exc).splitlines()[0][:100]})"
    return _spectrum(name, kind, tuple(weight.shape), (N, M, rf), evals, fit_power_law(evals))


def _spectrum(
    name: str,
    kind: str,
    shape: tuple[int, ...],
    dims: tuple[int, int, int],
    evals: np.ndarray,
    fit: PowerLawFit,
) -> LayerSpectrum:
    N, M, rf = dims
    norm = float(evals.sum())
    lambda_max = float(evals[-1])
    log_spectral = math.log10(lambda_max) if lambda_max > 0 else -math.inf
    ok = fit.status == "ok"
    with np.errstate(divide="ignore"):
        log_alpha_norm = (
            float(np.logaddexp.reduce(fit.alpha * np.log(evals)) / math.log(10)) if ok else math.nan
        )
    fitted = int(np.count_nonzero(evals > EVALS_THRESHOLD))
    few = f"fit on {fitted} eigenvalues (< {MIN_FIT_EVALS}): unreliable"
    warning = ""
    if ok and fit.alpha < ALPHA_RANGE[0]:
        warning = "over-trained"
    elif ok and fit.alpha > ALPHA_RANGE[1]:
        warning = "under-trained"
    return LayerSpectrum(
        name=name,
        kind=kind,
        shape=shape,
        N=N,
        M=M,
        rf=rf,
        num_evals=len(evals),
        alpha=fit.alpha,
        xmin=fit.xmin,
        xmax=fit.xmax,
        D=fit.D,
        sigma=fit.sigma,
        num_pl_spikes=fit.num_pl_spikes,
        lambda_max=lambda_max,
        sv_max=math.sqrt(lambda_max),
        norm=norm,
        log_norm=math.log10(norm) if norm > 0 else -math.inf,
        log_spectral_norm=log_spectral,
        alpha_weighted=fit.alpha * log_spectral if ok else math.nan,
        log_alpha_norm=log_alpha_norm,
        stable_rank=norm / lambda_max if lambda_max > 0 else math.nan,
        status=fit.status,
        warning=warning,
        fit_warning=few if ok and fitted < MIN_FIT_EVALS else "",
        evals=evals,
    )


# --- many layers ------------------------------------------------------------------------


@dataclass
class SpectralReport:
    """The spectra of a model's weights, and the weights skipped with the reason."""

    layers: list[LayerSpectrum]
    skipped: dict[str, str]
    seconds: float = 0.0

    def layer(self, name: str) -> LayerSpectrum:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def summary(self) -> dict[str, float]:
        """Means over the fitted layers (WeightWatcher's ``get_summary``), and flag counts."""
        ok = [layer for layer in self.layers if layer.status == "ok"]
        keys = (
            "alpha",
            "alpha_weighted",
            "log_norm",
            "log_spectral_norm",
            "log_alpha_norm",
            "stable_rank",
        )
        out = {k: float(np.mean([getattr(x, k) for x in ok])) if ok else math.nan for k in keys}
        out["layers"] = len(self.layers)
        out["over_trained"] = sum(x.warning == "over-trained" for x in ok)
        out["under_trained"] = sum(x.warning == "under-trained" for x in ok)
        out["unreliable"] = sum(bool(x.fit_warning) for x in ok)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "layers": [layer.to_dict() for layer in self.layers],
            "skipped": self.skipped,
            "seconds": self.seconds,
        }


class SpectralRunner:
    """Analyses weights as they are submitted: on worker threads for CPU tensors, each with
    a single-threaded BLAS (so two cores run two layers), and in place for GPU tensors.

    Use as a context manager; ``report()`` waits for the work and returns the results in
    submission order.
    """

    def __init__(self, workers: int | None = None, **limits: int) -> None:
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.limits = limits
        self._pending: deque[tuple[str, Future[LayerSpectrum | str]]] = deque()
        self._done: list[tuple[str, LayerSpectrum | str]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._blas = contextlib.ExitStack()
        self._start = time.perf_counter()

    def __enter__(self) -> SpectralRunner:
        if self.workers > 1:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="torchscope-esd")
            self._blas.enter_context(_single_threaded_blas())
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._pool is not None:  # on an error, queued work is dropped, not waited for
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
        self._blas.close()

    def submit(self, name: str, weight: torch.Tensor, kind: str) -> None:
        if self._pool is None or weight.device.type != "cpu":
            self._done.append((name, analyze_weight(name, weight, kind, **self.limits)))
            return
        while len(self._pending) >= 2 * self.workers:  # bound the tensors held in the queue
            self._collect_one()
        future = self._pool.submit(analyze_weight, name, weight, kind, **self.limits)
        self._pending.append((name, future))

    def _collect_one(self) -> None:
        name, future = self._pending.popleft()
        self._done.append((name, future.result()))

    def report(self) -> SpectralReport:
        while self._pending:
            self._collect_one()
        layers = [r for _, r in self._done if isinstance(r, LayerSpectrum)]
        skipped = {n: r for n, r in self._done if isinstance(r, str)}
        return SpectralReport(layers, skipped, time.perf_counter() - self._start)


@contextlib.contextmanager
def _single_threaded_blas() -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without it BLAS keeps its threads; results are the same
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield
