"""Graphs of real architectures at tiny configs (transformers), traced on the meta device."""

from __future__ import annotations

from typing import Any

import pytest

import torchscope
from torchscope.model.graph import ModelGraph


def tiny_graph(spec: str, **config: Any) -> ModelGraph:
    """``spec`` (``hf:GPT2LMHeadModel``) built from ``config``, traced on the meta device at
    sequence length 16; skips the test without transformers."""
    pytest.importorskip("transformers")
    from torchscope.sources.spec import load_model

    loaded = load_model(spec, config, device="meta", seq_len=16)
    return torchscope.trace(loaded.model, *loaded.args, device="meta", **loaded.kwargs)


def t5_graph() -> ModelGraph:
    """A two-layer T5 encoder-decoder as built (training mode: its stacks' dropout, called
    twice each, is in the graph); skips the test without transformers."""
    pytest.importorskip("transformers")
    from torchscope.sources.spec import load_model

    config = {"d_model": 16, "d_ff": 32, "d_kv": 8, "num_heads": 2, "num_layers": 2,
              "num_decoder_layers": 2, "vocab_size": 50}  # fmt: skip
    loaded = load_model("hf:T5ForConditionalGeneration", config, device="meta", seq_len=8)
    return torchscope.trace(loaded.model, *loaded.args, device="meta", **loaded.kwargs)
