"""Real architectures from transformers configs, checked against published figures."""

from __future__ import annotations

import pytest
import torch

import torchscope
from torchscope.sources.spec import load_model

pytest.importorskip("transformers")


def _summary(spec: str, device: str = "meta", **config: object) -> torchscope.Summary:
    loaded = load_model(spec, dict(config), device=device)
    return torchscope.summary(loaded.model, device=device, **loaded.kwargs)


def test_gpt2_small_params_tied_once_and_macs_with_attention() -> None:
    s = _summary("hf:GPT2LMHeadModel")
    assert s.totals.total_params == 124_439_808
    assert s.totals.shared_params == {"transformer.wte.weight": ["lm_head.weight"]}
    # 12 layers × 7.08 M + LM head 38.6 M MACs per token, ×128, plus attention matmuls.
    assert s.totals.macs == pytest.approx(16.11e9, rel=0.005)
    attention = sum(op.macs for op in s.graph.ops if op.name == "scaled_dot_product_attention")
    assert attention == 12 * 2 * 12 * 128 * 128 * 64
    outputs = [o.name for o in s.graph.outputs]
    assert outputs[:3] == [
        "logits",
        "past_key_values.layers[0].keys",
        "past_key_values.layers[0].values",
    ]
    assert len(outputs) == 1 + 2 * 12  # the KV cache object's tensors are found too


def test_resnet50_published_figures() -> None:
    s = _summary("hf:ResNetForImageClassification", num_labels=1000)
    assert s.totals.total_params == 25_557_032
    assert s.totals.macs == pytest.approx(4.089e9, rel=0.005)


def test_vit_base_published_figures() -> None:
    # ViT-B/16 at 224²: 86.57 M parameters, 17.58 GMACs (fvcore, DeiT paper's 17.6 "FLOPs").
    s = _summary("hf:ViTForImageClassification", num_labels=1000)
    assert s.totals.total_params == 86_567_656
    assert s.totals.macs == pytest.approx(17.58e9, rel=0.005)


def test_bert_base_parameters() -> None:
    s = _summary("hf:BertModel")
    assert s.totals.total_params == 109_482_240


def test_llama_3_70b_shape_on_meta_folds_80_layers() -> None:
    s = _summary(
        "hf:LlamaForCausalLM",
        hidden_size=8192,
        intermediate_size=28672,
        num_hidden_layers=80,
        num_attention_heads=64,
        num_key_value_heads=8,
        vocab_size=128256,
    )
    assert s.totals.total_params == 70_553_706_496
    folded = [r for r in s.rows if r.repeat > 1]
    assert [(r.label, r.repeat) for r in folded] == [("model.layers.0-79", 80)]
    # every weight but embeddings and the 161 RMSNorms does one MAC per token; plus QK^T, AV.
    embedding = 128256 * 8192
    attention = 80 * 2 * 64 * 128 * 128 * 128
    assert s.totals.macs == 128 * (s.totals.total_params - embedding - 161 * 8192) + attention


def test_llama_small_cpu_and_meta_agree() -> None:
    config = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300}  # fmt: skip
    meta = _summary("hf:LlamaForCausalLM", "meta", **config)
    cpu = _summary("hf:LlamaForCausalLM", "cpu", **config)
    assert meta.totals.macs == cpu.totals.macs > 0
    assert meta.totals.total_params == cpu.totals.total_params
    assert cpu.totals.uncounted_ops == {}


def test_gpt2_training_memory_counts_what_autograd_saves() -> None:
    """Batch 8×1024, fp32, AdamW: an H100 measured a 14.69 GiB peak (DESIGN.md reference)."""
    loaded = load_model("hf:GPT2LMHeadModel", {}, device="meta")
    ids = torch.zeros(8, 1024, dtype=torch.long, device="meta")
    s = torchscope.summary(loaded.model, ids, labels=ids)
    m = s.memory
    assert m.weights == m.gradients == 124_439_808 * 4
    assert m.optimizer_state == 2 * m.weights
    assert m.training / 2**30 == pytest.approx(14.69, rel=0.10)


def test_mixtral_experts_are_counted_per_routed_token() -> None:
    config = {"hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300,
              "num_local_experts": 4, "num_experts_per_tok": 2}  # fmt: skip
    loaded = load_model("hf:MixtralForCausalLM", config, device="meta", seq_len=16)
    s = torchscope.summary(loaded.model, device="meta", dtype="bfloat16", **loaded.kwargs)
    assert s.totals.uncounted_ops == {}
    head_dim = 64 // 4
    attention_proj = 64 * 64 * 2 + 64 * (2 * head_dim) * 2
    experts = 2 * 3 * 64 * 96  # two experts per token, gate/up/down
    router = 64 * 4
    per_token = 2 * (attention_proj + experts + router) + 64 * 300
    attention = 2 * 2 * 4 * 16 * 16 * head_dim
    assert s.totals.macs == 16 * per_token + attention


def test_clip_gets_both_modalities() -> None:
    s = _summary("hf:CLIPModel")
    assert [i.name for i in s.graph.inputs] == ["input_ids", "pixel_values"]
    assert s.graph.inputs[0].tensor.shape == (1, 77)  # clamped to max_position_embeddings
    assert s.totals.total_params == 151_277_313
