"""The shared figure helpers: labels for long dotted names, ticks, the house style."""

from __future__ import annotations

import pytest

from torchscope.render.figures import figure, log_ticks, short_names, theme, wrap_name

RESNET = [
    f"resnet.encoder.stages.{s}.layers.{i}.layer.{j}.convolution.weight"
    for s in range(4)
    for i in range(3)
    for j in range(3)
] + ["resnet.embedder.embedder.convolution.weight", "classifier.1.weight"]


def test_short_names_are_unique_tails_that_never_start_at_an_index() -> None:
    gpt2 = [f"transformer.h.{i}.{p}.weight" for i in range(12) for p in ("attn.c_attn", "mlp.c_fc")]
    labels = short_names([*gpt2, "transformer.wte.weight", "lm_head.weight"])
    assert labels[:2] == ["h.0.attn.c_attn.weight", "h.0.mlp.c_fc.weight"]
    assert labels[-2:] == ["wte.weight", "lm_head.weight"]
    for names in (gpt2, RESNET):
        labels = short_names(names, limit=36)
        assert len(set(labels)) == len(names)
        assert all(not label.split(".")[0].isdigit() for label in labels)
        assert all(n.endswith(lab) or "…" in lab for n, lab in zip(names, labels))


def test_long_labels_are_elided_in_the_middle_only_while_unique() -> None:
    names = [f"model.{side}.a_rather_long_module_name.inner_block.attention.weight"
             for side in ("encoder", "decoder")]  # fmt: skip
    expected = ["encoder.….attention.weight", "decoder.….attention.weight"]
    assert short_names(names, limit=30) == expected
    # eliding ResNet's middle would drop the stage and block indices: kept whole
    assert short_names(RESNET, limit=36)[0] == "stages.0.layers.0.layer.0.convolution.weight"
    assert short_names(["a.b", "a.b"]) == ["a.b", "a.b"]  # nothing tells them apart


@pytest.mark.parametrize("width", [10, 25, 46])
def test_wrapped_names_break_after_dots(width: int) -> None:
    name = RESNET[5]
    lines = wrap_name(name, width).split("\n")
    assert "".join(lines) == name
    assert all(len(line) <= width or "." not in line.rstrip(".") for line in lines)


def test_log_ticks_label_narrow_ranges_in_plain_numbers() -> None:
    with theme():
        ax = figure(3, 3).subplots()
    ax.set_xscale("log")
    ax.set_xlim(0.25, 0.6)
    log_ticks(ax)
    ticks = [t for t in ax.xaxis.get_major_locator()() if 0.25 <= t <= 0.6]
    assert len(ticks) >= 3
    assert ax.xaxis.get_major_formatter()(0.3, 0) == "0.3"
