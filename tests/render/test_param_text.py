"""Parameter report and diff as text: golden files at 80 and 120 columns (each checked
against its invariant), names cut in the middle so their distinguishing part stays.

The golden model's weights are multiples of 1/32, so every sum is exact and the text is
the same on every CPU (no BLAS or reduction order can change a printed digit).
Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/render``.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.render.golden import check_golden, diff_invariant, report_invariant, table_rows
from torchscope._api import diff, inspect_params
from torchscope._display import plain_text
from torchscope.analysis.param_diff import ParamDiff
from torchscope.analysis.param_report import ParamReport


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c_attn = nn.Linear(8, 24)
        self.c_proj = nn.Linear(8, 8)


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(8)
        self.attn = Attention()


class TinyGPT(nn.Module):
    """GPT-2's naming (``transformer.h.0.attn.c_attn.weight``) at a tiny size."""

    def __init__(self, layers: int = 2) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(
            {"wte": nn.Embedding(16, 8), "h": nn.ModuleList(Block() for _ in range(layers))}
        )
        self.lm_head = nn.Linear(8, 16, bias=False)


def exact_weights(model: nn.Module) -> nn.Module:
    """Every parameter filled with a fixed pattern of multiples of 1/32 in [-0.5, 0.5]."""
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            k = torch.arange(p.numel(), dtype=torch.float64)
            p.copy_((((k * (3 + i)) % 31 - 15) / 32).reshape(p.shape))
    return model


def golden_report() -> ParamReport:
    model = exact_weights(TinyGPT())
    with torch.no_grad():
        model.get_parameter("transformer.h.1.attn.c_proj.weight")[3] = 0.0  # a dead row
    return inspect_params(model)


def golden_diff() -> ParamDiff:
    a = exact_weights(TinyGPT()).state_dict()
    b = {k: v.clone() for k, v in a.items()}
    b["transformer.h.0.attn.c_attn.weight"][:4] += 0.25
    b["transformer.h.1.attn.c_proj.bias"] *= -1
    b["lm_head.weight"] = b["lm_head.weight"][:12]  # reshaped
    b["transformer.h.2.ln_1.weight"] = torch.ones(8)  # added
    del b["transformer.h.1.ln_1.bias"]  # removed
    return diff(a, b)


@pytest.mark.parametrize("width", [80, 120])
def test_report_golden(width: int) -> None:
    text = plain_text(golden_report(), width=width)
    assert all(len(line) <= width for line in text.splitlines())
    check_golden(f"params_{width}.txt", text, report_invariant)


@pytest.mark.parametrize("width", [80, 120])
def test_diff_golden(width: int) -> None:
    text = plain_text(golden_diff(), width=width)
    assert all(len(line) <= width for line in text.splitlines())
    check_golden(f"diff_{width}.txt", text, diff_invariant)


def test_the_invariants_catch_numbers_that_do_not_add_up() -> None:
    text = plain_text(golden_report(), width=120)
    report_invariant(text)
    with pytest.raises(AssertionError):
        report_invariant(text.replace("f32 24×8", "f32 24×9", 1))
    changed = plain_text(golden_diff(), width=120)
    diff_invariant(changed)
    with pytest.raises(AssertionError):
        diff_invariant(changed.replace("12 tensors compared", "13 tensors compared"))


def test_names_that_differ_inside_stay_apart_at_80_columns() -> None:
    """Issue 10: ``transformer.h.0.attn.c…`` three times; now c_attn and c_proj, and the
    layer index, are visible in every row."""
    rows = table_rows(plain_text(golden_report(), width=80), "Tensor")
    names = [row.split()[0] for row in rows]
    assert len(set(names)) == len(names)  # no two rows look alike
    assert "…h.0.attn.c_attn.weight" in names and "…h.1.attn.c_proj.weight" in names
    assert not any(name.endswith("…") for name in names)


def test_reprs_are_one_line() -> None:
    report, changes = golden_report(), golden_diff()
    assert repr(report) == "ParamReport('TinyGPT': 14 tensors, 864 values, 1 problem)"
    assert repr(changes) == (
        "ParamDiff('state dict' → 'state dict': 12 tensors compared, 1 added, 1 removed, "
        f"relative change {changes.rel_change:.4g})"
    )


def test_html_views_show_the_numbers_not_the_histograms() -> None:
    report = golden_report()
    html = report._repr_html_()
    assert "<b>Values</b> 864 in 14 tensors" in html
    assert html.count("<tr>") == 1 + len(report.tensors)  # header + one row per tensor
    assert "<td>transformer.h.1.attn.c_proj.weight</td><td>8×8</td><td>float32</td>" in html
    assert "dead_units" in html and "hist" not in html
    changes = golden_diff()._repr_html_()
    assert "12 tensors compared, 1 added, 1 removed, 1 reshaped" in changes
    assert "<li>added: transformer.h.2.ln_1.weight [8]</li>" in changes
    assert "<li>reshaped: lm_head.weight [16, 8] → [12, 8]</li>" in changes
