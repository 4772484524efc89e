"""Real architectures at small configs (transformers): statistics equal numpy's for every
tensor, spectra equal WeightWatcher's, and checkpoints read back give the same report."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from torchscope._api import diff, inspect_params
from torchscope.sources.spec import load_model

pytest.importorskip("transformers")

SMALL = {
    "hf:GPT2LMHeadModel": {"n_layer": 2, "n_embd": 64, "n_head": 4, "vocab_size": 500},
    "hf:BertModel": {
        "num_hidden_layers": 2,
        "hidden_size": 64,
        "num_attention_heads": 4,
        "intermediate_size": 128,
        "vocab_size": 500,
    },
    "hf:ResNetForImageClassification": {
        "embedding_size": 16,
        "hidden_sizes": [16, 32],
        "depths": [1, 1],
        "num_labels": 10,
    },
    "hf:LlamaForCausalLM": {
        "num_hidden_layers": 2,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 500,
    },
}
T5 = {"d_model": 64, "d_kv": 16, "d_ff": 128, "num_layers": 2, "num_heads": 4, "vocab_size": 500}


@pytest.mark.parametrize("spec", list(SMALL))
def test_every_tensor_matches_numpy(spec: str) -> None:
    model = load_model(spec, SMALL[spec]).model
    report = inspect_params(model)
    params = dict(model.named_parameters())
    assert len(report.tensors) == len(params)  # tied weights counted once
    for t in report.tensors:
        values = params[t.name].detach().double().numpy().ravel()
        assert t.mean == pytest.approx(values.mean(), rel=1e-5, abs=1e-9), t.name
        assert t.std == pytest.approx(values.std(), rel=1e-5, abs=1e-12), t.name
        assert (t.min, t.max) == (values.min(), values.max()), t.name
        assert t.l2_norm == pytest.approx(np.linalg.norm(values), rel=1e-5), t.name
    everything = np.concatenate(
        [params[t.name].detach().double().numpy().ravel() for t in report.tensors]
    )
    assert report.total.numel == everything.size
    assert report.total.std == pytest.approx(everything.std(), rel=1e-5)


@pytest.mark.filterwarnings("ignore:Passing a dict to DataFrame.from_records")
@pytest.mark.parametrize("spec", ["hf:GPT2LMHeadModel", "hf:ResNetForImageClassification"])
def test_spectra_match_weightwatcher(spec: str) -> None:
    import weightwatcher

    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    model = load_model(spec, SMALL[spec]).model
    with contextlib.redirect_stdout(io.StringIO()):
        details = weightwatcher.WeightWatcher(model=model).analyze()
    report = inspect_params(model, spectral=True)
    assert report.spectral is not None
    ours = {x.name.removesuffix(".weight"): x for x in report.spectral.layers}
    for t in report.tensors:  # WeightWatcher analyses a tied weight under each of its names
        for alias in t.aliases:
            ours[alias.removesuffix(".weight")] = ours[t.name.removesuffix(".weight")]
    assert set(ours) == set(details.longname)
    for row in details.itertuples():
        assert ours[row.longname].alpha == pytest.approx(row.alpha, abs=1e-6), row.longname


def test_a_saved_checkpoint_reports_like_the_model(tmp_path: Path) -> None:
    model = load_model("hf:GPT2LMHeadModel", SMALL["hf:GPT2LMHeadModel"]).model
    model.save_pretrained(tmp_path, max_shard_size="200KB")  # sharded, with an index
    assert (tmp_path / "model.safetensors.index.json").exists()
    from_model = {t.name: t for t in inspect_params(model).tensors}
    from_files = {t.name: t for t in inspect_params(tmp_path).tensors}
    assert set(from_files) <= set(from_model) | {"lm_head.weight"}
    for name, t in from_files.items():
        ref = from_model.get(name)
        if ref is not None:  # the same values at other addresses: BLAS sums may round apart
            assert t.hist == ref.hist and (t.min, t.max) == (ref.min, ref.max)
            moments = (t.mean, t.std, t.l2_norm)
            assert moments == pytest.approx((ref.mean, ref.std, ref.l2_norm), rel=1e-12, abs=0)
    d = diff(model, tmp_path)
    assert d.rel_change == 0.0 and not d.reshaped and all(c.cosine == 1.0 for c in d.changes)


def test_fine_tuning_one_layer_shows_up_in_the_diff() -> None:
    model = load_model("hf:GPT2LMHeadModel", SMALL["hf:GPT2LMHeadModel"]).model
    tuned = {k: v.clone() for k, v in model.state_dict().items()}
    tuned["transformer.h.1.mlp.c_fc.weight"] += 0.01 * torch.randn_like(
        tuned["transformer.h.1.mlp.c_fc.weight"]
    )
    d = diff(model.state_dict(), tuned)
    changed = [c for c in d.changes if c.rel_change > 0]
    assert [c.name for c in changed] == ["transformer.h.1.mlp.c_fc.weight"]
    assert 0.3 < changed[0].rel_change < 0.7 and changed[0].cosine < 1.0


@pytest.mark.parametrize("spec", [*SMALL, "hf:T5ForConditionalGeneration"])
def test_sound_models_raise_no_flags_and_a_scaled_weight_one(spec: str) -> None:
    """Freshly built models: only the info notes (zero biases, unit norm scales); a weight
    multiplied by 1000 is flagged, and nothing else."""
    model = load_model(spec, SMALL.get(spec, T5)).model
    report = inspect_params(model)
    assert [f for f in report.flags if f.severity != "info"] == [] and not report.has_errors
    weights = [(n, p) for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n]
    name, weight = weights[len(weights) // 2]
    with torch.no_grad():
        weight.mul_(1000)
    flagged = [(f.tensor, f.check) for f in inspect_params(model).flags if f.severity != "info"]
    assert flagged == [(name, "large_scale")]
