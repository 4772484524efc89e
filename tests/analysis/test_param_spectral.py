"""Spectral analysis: ESDs against numpy's SVD, the power-law fit against WeightWatcher's."""

from __future__ import annotations

import contextlib
import io
import logging
import math
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from torchscope.analysis.power_law import _ks, _pruned_ks, _tails, fit_power_law
from torchscope.analysis.spectral import (
    SpectralReport,
    SpectralRunner,
    analyze_weight,
    esd,
    spectral_kind,
)
from torchscope.sources.tensors import module_source

ww_powerlaw = pytest.importorskip("weightwatcher.WW_powerlaw")


def _ww_fit(values: np.ndarray) -> Any:  # WeightWatcher's WWFit
    data = np.sort(values[values > 1e-5])
    with contextlib.redirect_stdout(io.StringIO()):  # it prints for small samples
        return ww_powerlaw.WWFit(data)


def _svd_evals(matrix: torch.Tensor) -> np.ndarray:
    return np.linalg.svd(matrix.double().numpy(), compute_uv=False) ** 2


@pytest.mark.parametrize("shape", [(30, 80), (80, 30), (16, 16)])
def test_dense_esd_is_the_squared_singular_values(shape: tuple[int, int]) -> None:
    w = torch.randn(shape)
    np.testing.assert_allclose(esd(w), np.sort(_svd_evals(w)), rtol=1e-9, atol=1e-10)


def test_conv_esd_pools_kernel_positions_at_half_scale() -> None:
    w = torch.randn(12, 5, 3, 3)
    expected = np.concatenate([_svd_evals(w[:, :, i, j]) for i in range(3) for j in range(3)])
    np.testing.assert_allclose(esd(w, "conv2d"), np.sort(0.5 * expected), rtol=1e-9, atol=1e-12)
    w1 = torch.randn(12, 5, 4)  # Conv1d: one matrix per tap, not scaled
    expected1 = np.concatenate([_svd_evals(w1[:, :, k]) for k in range(4)])
    np.testing.assert_allclose(esd(w1, "conv1d"), np.sort(expected1), rtol=1e-9, atol=1e-12)


def test_low_precision_weights_are_analysed_in_float64() -> None:
    w = torch.randn(40, 60).to(torch.bfloat16)
    np.testing.assert_allclose(esd(w), np.sort(_svd_evals(w.float())), rtol=1e-9, atol=1e-10)


def _samples() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(60):
        n = int(rng.integers(2, 40)) if i % 3 == 0 else int(rng.integers(40, 1500))
        pick = i % 4
        if pick == 0:
            out.append(rng.pareto(rng.uniform(0.5, 4), n) + 1e-3)
        elif pick == 1:
            out.append(rng.chisquare(3, n))
        elif pick == 2:
            out.append(np.round(rng.exponential(1, n), 1) + 1e-4)  # many ties
        else:
            out.append(rng.lognormal(0, 2, n))
    return out


@pytest.mark.parametrize("index", range(60))
def test_fit_agrees_with_weightwatcher(index: int) -> None:
    values = _samples()[index]
    ours = fit_power_law(values)
    if np.count_nonzero(values > 1e-5) < 2:
        assert ours.status == "failed"
        return
    theirs = _ww_fit(values)
    assert pytest.approx(theirs.D, abs=1e-12) == ours.D
    # Both pick xmin from the same sorted values by the smallest KS distance, computed in a
    # different order: two candidates whose distances tie within rounding may swap.
    if ours.xmin == theirs.xmin:
        assert ours.alpha == pytest.approx(theirs.alpha, rel=1e-9, abs=1e-9)


def test_pruned_search_equals_the_full_search() -> None:
    rng = np.random.default_rng(1)
    for values in (rng.pareto(2.0, 3000) + 1, rng.chisquare(4, 2500), rng.lognormal(0, 1, 4000)):
        logs = np.log(np.sort(values))
        n, spread = _tails(logs)
        alphas = 1 + n / spread
        rows = np.arange(len(n))
        full = _ks(logs, alphas, n, rows)
        pruned = _pruned_ks(logs, alphas, n, rows)
        best = int(np.argmin(pruned))
        # the same distances, evaluated in other blocks: equal up to rounding
        assert pruned[best] == pytest.approx(full.min(), rel=1e-12)
        assert full[best] == pytest.approx(full.min(), rel=1e-12)
        evaluated = np.isfinite(pruned)
        np.testing.assert_allclose(pruned[evaluated], full[evaluated], rtol=1e-12)
        assert evaluated.mean() < 0.5  # the bounds rule most candidates out


def test_metrics_follow_weightwatchers_formulas() -> None:
    w = torch.randn(200, 60) / 10
    s = analyze_weight("fc.weight", w)
    assert not isinstance(s, str)
    evals = np.sort(_svd_evals(w))
    assert (s.N, s.M, s.rf, s.num_evals) == (200, 60, 1, 60)
    assert s.lambda_max == pytest.approx(evals[-1]) and s.sv_max == pytest.approx(
        math.sqrt(evals[-1])
    )
    assert s.norm == pytest.approx(evals.sum()) and s.log_norm == pytest.approx(
        np.log10(evals.sum())
    )
    assert s.stable_rank == pytest.approx(evals.sum() / evals[-1])
    assert s.alpha_weighted == pytest.approx(s.alpha * np.log10(evals[-1]))
    assert s.log_alpha_norm == pytest.approx(np.log10(np.sum(evals**s.alpha)))
    # xmin is one of the tool's eigenvalues; numpy's copy of it may be one ulp lower
    assert s.num_pl_spikes == np.count_nonzero(evals >= s.xmin * (1 - 1e-9))
    np.testing.assert_allclose(s.singular_values, np.sqrt(evals), rtol=1e-9)
    assert s.warning == ("under-trained" if s.alpha > 6 else "over-trained" if s.alpha < 2 else "")


def test_fits_on_few_eigenvalues_carry_a_warning() -> None:
    few = analyze_weight("few", torch.randn(100, 10))
    many = analyze_weight("many", torch.randn(100, 60))
    assert not isinstance(few, str) and not isinstance(many, str)
    assert few.status == "ok" and few.fit_warning == "fit on 10 eigenvalues (< 50): unreliable"
    assert many.fit_warning == "" and few.to_dict()["fit_warning"] == few.fit_warning
    report = SpectralReport([few, many], {})
    assert report.summary()["unreliable"] == 1


def test_layers_outside_the_limits_are_skipped_with_the_reason() -> None:
    assert analyze_weight("a", torch.randn(10, 4)) == "4 eigenvalues < 8"
    assert analyze_weight("b", torch.randn(3, 2, 1, 1), "conv2d") == "2 eigenvalues < 8"
    assert analyze_weight("c", torch.randn(20, 10), max_evals=5) == "10 eigenvalues > 5"
    assert analyze_weight("d", torch.randn(60, 10), max_n=50) == "N = 60 > 50"


def test_which_weights_are_spectral() -> None:
    assert spectral_kind("fc.weight", (4, 4), "Linear") == "dense"
    assert spectral_kind("attn.c_attn.weight", (4, 12), "Conv1D") == "dense"
    assert spectral_kind("conv.weight", (8, 3, 3, 3), "Conv2d") == "conv2d"
    assert spectral_kind("norm.weight", (4,), "LayerNorm") is None
    assert spectral_kind("ln.weight", (4, 4), "LayerNorm") is None
    assert spectral_kind("fc.bias", (4, 4)) is None
    assert spectral_kind("blocks.0.w", (4, 4, 3)) == "conv1d"


class _Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(300, 40)
        self.conv = nn.Conv2d(8, 24, 3)
        self.pointwise = nn.Conv2d(24, 32, 1)
        self.fc1 = nn.Linear(40, 120)
        self.fc2 = nn.Linear(120, 50)
        self.tiny = nn.Linear(40, 4)  # 4 eigenvalues: skipped by both
        self.norm = nn.LayerNorm(50)


@pytest.mark.filterwarnings("ignore:Passing a dict to DataFrame.from_records")
def test_a_model_agrees_with_weightwatcher_layer_by_layer() -> None:
    import weightwatcher

    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    model = _Small()
    with contextlib.redirect_stdout(io.StringIO()):
        details = weightwatcher.WeightWatcher(model=model).analyze()
    theirs = {row.longname: row for row in details.itertuples()}
    with SpectralRunner(workers=2) as runner:
        for entry, tensor in module_source(model):
            kind = spectral_kind(entry.name, entry.shape, entry.module_type)
            if kind:
                runner.submit(entry.name, tensor, kind)
        report = runner.report()
    ours = {layer.name.removesuffix(".weight"): layer for layer in report.layers}
    assert set(ours) == set(theirs) == {"embed", "conv", "pointwise", "fc1", "fc2"}
    assert "tiny.weight" in report.skipped
    for name, row in theirs.items():
        layer = ours[name]
        assert layer.alpha == pytest.approx(row.alpha, abs=1e-9), name
        for field in ("log_norm", "log_spectral_norm", "stable_rank", "alpha_weighted", "xmin"):
            assert getattr(layer, field) == pytest.approx(getattr(row, field), rel=1e-9), field
        assert layer.num_evals == row.num_evals and layer.num_pl_spikes == row.num_pl_spikes


def test_threaded_runner_matches_one_at_a_time() -> None:
    weights = {f"l{i}.weight": torch.randn(64 + 8 * i, 48) for i in range(6)}
    with SpectralRunner(workers=1) as serial:
        for name, w in weights.items():
            serial.submit(name, w, "dense")
    with SpectralRunner(workers=3) as threaded:
        for name, w in weights.items():
            threaded.submit(name, w, "dense")
    a, b = serial.report(), threaded.report()
    assert [x.name for x in b.layers] == list(weights)
    # one BLAS thread per worker vs BLAS's own threads: sums may round differently
    assert [x.alpha for x in b.layers] == pytest.approx([x.alpha for x in a.layers], rel=1e-9)


@pytest.mark.gpu
def test_gpu_weights_give_the_same_spectrum() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    w = torch.randn(512, 256)
    cpu, gpu = analyze_weight("w", w), analyze_weight("w", w.cuda())
    assert not isinstance(cpu, str) and not isinstance(gpu, str)
    np.testing.assert_allclose(gpu.evals, cpu.evals, rtol=1e-9, atol=1e-9)
    assert gpu.alpha == pytest.approx(cpu.alpha, abs=1e-6)


def test_non_finite_weights_are_skipped_not_fitted() -> None:
    w = torch.randn(40, 30)
    w[3, 4] = float("nan")
    assert analyze_weight("w", w) == "non-finite values"


def test_weights_whose_gram_matrix_overflows_float64_are_skipped_not_crashed() -> None:
    """Finite float64 weights near 1.7e308 made numpy's eigvalsh raise LinAlgError."""
    gen = torch.Generator().manual_seed(0)
    w = torch.rand(60, 60, dtype=torch.float64, generator=gen) * 2 - 1  # in [-1, 1)
    huge = w * 1.7e308
    peak = float(huge.abs().max())
    assert (
        analyze_weight("w", huge) == f"values up to {peak:.3g}: their Gram matrix overflows float64"
    )
    f32 = analyze_weight("f32", (w * 3.4e38).float())  # float32's largest: squares fit float64
    assert not isinstance(f32, str) and math.isfinite(f32.alpha)
