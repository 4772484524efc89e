"""Example inputs: dtypes, ranges, the size limits, and meta inputs for meta passes."""

from __future__ import annotations

import pytest
import torch

from torchscope.errors import InputError, SpecError
from torchscope.sources.inputs import MAX_ELEMENTS, InputSpec, make_inputs
from torchscope.sources.spec import load_model, parse_literal


def test_integer_inputs_stay_in_their_range() -> None:
    ids, mask, flags = make_inputs(
        [
            InputSpec((64, 64), "int64", (5, 9)),
            InputSpec((64, 64), "float16", (-2.0, -1.0)),
            InputSpec((64,), "bool"),
        ],
        "cpu",
    )
    assert ids.dtype == torch.int64 and set(ids.unique().tolist()) == {5, 6, 7, 8}
    assert mask.dtype == torch.float16 and bool(((mask >= -2) & (mask < -1)).all())
    assert flags.dtype == torch.bool and set(flags.tolist()) == {False, True}


def test_default_integer_range_is_zero_or_one() -> None:
    (x,) = make_inputs([InputSpec((256,), "int32")], "cpu")
    assert set(x.unique().tolist()) == {0, 1}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (InputSpec((2,), "int64", (0.5, 2)), "integer range"),
        (InputSpec((2,), "uint8", (0, 300)), "HIGH <= 256"),
        (InputSpec((2,), "int8", (-200, 0)), "-128 <= LOW"),
        (InputSpec((2,), "float16", (0, 1e6)), "exceeds what torch.float16 holds"),
        (InputSpec((2, 0), "float32"), "sizes must be positive"),
        (InputSpec((2,), "complex32"), "unknown input dtype"),
        (InputSpec((MAX_ELEMENTS + 1,), "float32"), "over the limit of 268,435,456"),
    ],
)
def test_refused_inputs(spec: InputSpec, message: str) -> None:
    with pytest.raises(InputError, match=message):
        make_inputs([spec], "cpu")


def test_meta_allows_large_inputs_without_memory() -> None:
    (x,) = make_inputs([InputSpec((1, 10**9), "int64", (0, 50257))], "meta")
    assert x.device.type == "meta" and x.shape == (1, 10**9)


def test_hf_inputs_for_a_meta_pass_are_made_on_meta() -> None:
    pytest.importorskip("transformers")
    config = {"n_layer": 1, "n_positions": 10**8}
    loaded = load_model("hf:GPT2LMHeadModel", config, device="meta", seq_len=10**8)
    ids = loaded.kwargs["input_ids"]
    assert ids.device.type == "meta" and tuple(ids.shape) == (1, 10**8)


def test_hf_inputs_over_the_cpu_limit_are_refused_before_building() -> None:
    pytest.importorskip("transformers")
    config = {"n_layer": 1, "n_positions": 10**9}
    with pytest.raises(InputError, match="example input input_ids of shape"):
        load_model("hf:GPT2LMHeadModel", config, seq_len=10**9)


def test_hf_seq_len_default_and_limit() -> None:
    pytest.importorskip("transformers")
    small = {"n_layer": 1, "n_positions": 32}
    assert load_model("hf:GPT2LMHeadModel", small, device="meta").kwargs["input_ids"].shape[1] == 32
    with pytest.raises(InputError, match="longer than the 32 positions"):
        load_model("hf:GPT2LMHeadModel", small, device="meta", seq_len=33)


def test_hf_config_keys_are_checked_aliases_included() -> None:
    pytest.importorskip("transformers")
    ok = load_model("hf:GPT2LMHeadModel", {"num_hidden_layers": 1}, device="meta")
    assert len(ok.model.transformer.h) == 1
    with pytest.raises(SpecError, match="did you mean n_layer"):
        load_model("hf:GPT2LMHeadModel", {"n_layerz": 1}, device="meta")
    # a base-class property with a setter is a setting too
    resnet = load_model("hf:ResNetForImageClassification", {"num_labels": 7}, device="meta")
    assert resnet.model.classifier[-1].out_features == 7


def test_init_reaches_the_constructor_and_meta_builds_on_meta() -> None:
    model = load_model("torch.nn:Linear", init={"in_features": 3, "out_features": 2}, device="meta")
    assert model.model.weight.shape == (2, 3) and model.model.weight.device.type == "meta"


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", 3), ("0.5", 0.5), ("(3, 3)", (3, 3)), ("false", False), ("none", None),
     ("relu", "relu"), ("__import__('os')", "__import__('os')"), ("[" * 1000, "[" * 1000)],
)  # fmt: skip
def test_literals_are_parsed_never_run(text: str, value: object) -> None:
    assert parse_literal(text) == value
