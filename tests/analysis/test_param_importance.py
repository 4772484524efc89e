"""Importance: magnitude from statistics, Taylor saliency against autograd by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.models import MLP, TiedLM
from torchscope.analysis.importance import magnitude_importance, taylor_importance
from torchscope.analysis.param_stats import describe_tensor


def test_magnitude_is_the_l1_norm_per_tensor_and_layer() -> None:
    model = MLP()
    stats = [describe_tensor(n, p) for n, p in model.named_parameters()]
    imp = magnitude_importance(stats)
    expected = {n: float(p.detach().abs().double().sum()) for n, p in model.named_parameters()}
    assert {r.name: r.score for r in imp.tensors} == pytest.approx(expected, rel=1e-6)
    by_layer = {r.name: r.score for r in imp.layers}
    assert by_layer["fc1"] == pytest.approx(expected["fc1.weight"] + expected["fc1.bias"], rel=1e-6)
    assert sum(r.share for r in imp.layers) == pytest.approx(1.0)
    assert [r.score for r in imp.layers] == sorted((r.score for r in imp.layers), reverse=True)


def test_taylor_saliency_matches_a_manual_backward() -> None:
    model = MLP()
    x, y = torch.randn(16, 20), torch.randint(0, 10, (16,))
    imp = taylor_importance(model, (x, y), F.cross_entropy)
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    named = model.named_parameters()
    expected = {n: float((p.detach() * g).abs().sum()) for (n, p), g in zip(named, grads)}
    assert {r.name: r.score for r in imp.tensors} == pytest.approx(expected, rel=1e-5)
    assert imp.loss == pytest.approx(float(loss.detach()))
    assert imp.layers[0].name in ("fc1", "fc2") and imp.method == "taylor"


def test_taylor_leaves_the_model_as_it_was() -> None:
    model = TiedLM().train()
    model.body.weight.grad = torch.full_like(model.body.weight, 7.0)
    frozen = model.body.bias
    frozen.requires_grad_(False)
    ids = torch.randint(0, 50, (4, 6))
    rng = torch.get_rng_state()
    imp = taylor_importance(model, ids, lambda out: out.logsumexp(-1).mean())
    assert torch.equal(torch.get_rng_state(), rng) and model.training
    assert torch.equal(model.body.weight.grad, torch.full_like(model.body.weight, 7.0))
    assert model.embed.weight.grad is None and not frozen.requires_grad
    # tied weights are scored once, frozen ones not at all
    assert sorted(r.name for r in imp.tensors) == ["body.weight", "embed.weight"]


def test_dict_batches_use_the_models_own_loss() -> None:
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=100)
    model = transformers.GPT2LMHeadModel(config)
    ids = torch.randint(0, 100, (2, 8))
    imp = taylor_importance(model, {"input_ids": ids, "labels": ids})
    assert imp.loss == pytest.approx(
        float(model(input_ids=ids, labels=ids).loss.detach()), rel=1e-5
    )
    assert any(r.name.endswith("c_attn.weight") for r in imp.tensors)
    with pytest.raises(ValueError, match=r"no \.loss"):
        taylor_importance(model, {"input_ids": ids})


def test_per_value_ranking_is_mean_magnitude_whatever_the_size() -> None:
    big = torch.full((1000, 10), 0.01)  # Σ|w| 100, mean |w| 0.01
    small = torch.full((4, 5), -0.5)  # Σ|w| 10, mean |w| 0.5
    stats = [describe_tensor("emb.weight", big), describe_tensor("fc.weight", small)]
    imp = magnitude_importance(stats)
    assert [r.name for r in imp.layers] == ["emb", "fc"]  # by Σ|w|: size wins
    assert [r.name for r in imp.by_value()] == ["fc", "emb"]
    assert [r.per_value for r in imp.by_value()] == pytest.approx([0.5, 0.01])
    assert imp.to_dict()["layers"][0]["per_value"] == pytest.approx(0.01)


def test_shares_of_scores_whose_sum_overflows_float64() -> None:
    """Σ|w| of 1.2e308 and 0.9e308 summed to inf with no infinite score: the share of that
    total ended in ZeroDivisionError (inspect_params on such weights raised it)."""
    stats = [
        describe_tensor("a", torch.tensor([1e308, 2e307], dtype=torch.float64)),
        describe_tensor("b", torch.tensor([9e307], dtype=torch.float64)),
    ]
    imp = magnitude_importance(stats)
    shares = {r.name: r.share for r in imp.tensors}
    assert shares == pytest.approx({"a": 1.2 / 2.1, "b": 0.9 / 2.1})
    ((layer, share),) = [(r.name, r.share) for r in imp.layers]  # both at the top level
    assert layer == "" and share == pytest.approx(1.0)
