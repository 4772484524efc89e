"""A Profile in a terminal, a notebook and figures: content, and hostile names kept inert."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import torchscope
from tests.fixtures import single_torch_thread
from torchscope._display import figures_of, plain_text
from torchscope.render.profile_html import profile_page

__all__ = ["single_torch_thread"]

HOSTILE = "<script>alert(1)</script>[bold]x"


class Hostile(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.add_module(HOSTILE, nn.Linear(8, 8))
        self.layers = nn.ModuleList(nn.Linear(8, 8) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = getattr(self, HOSTILE)(x)
        for layer in self.layers:
            x = layer(x)
        return x


@pytest.fixture(scope="module")
def hostile() -> torchscope.Profile:
    torch.manual_seed(0)
    return torchscope.profile(Hostile(), input_size=(4, 8), warmup=1, repeat=2)


def test_text_shows_the_table_roll_up_and_totals(hostile: torchscope.Profile) -> None:
    text = plain_text(hostile, width=140)
    assert text.startswith("Hostile on cpu (float32), forward + backward: step")
    assert "layers.0-2 (Linear) ×3" in text
    assert "layers.0-2 ×3:" in text and "ms per copy" in text
    assert "Top 5 modules by self time" in text
    assert "aten::addmm" in text
    assert HOSTILE in text  # shown as text, not read as rich markup


def test_html_escapes_module_names(hostile: torchscope.Profile) -> None:
    for html in (hostile._repr_html_(), profile_page(hostile)):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = profile_page(hostile)
    assert page.count("data:image/png;base64,") == 2


def test_figures_draw_the_roofline_and_the_layers(hostile: torchscope.Profile) -> None:
    figures = figures_of(hostile)
    assert set(figures) == {"roofline", "layer_times"}
    roofline = figures["roofline"].axes[0]
    offsets = roofline.collections[0].get_offsets()
    assert len(offsets) == 4  # four Linear layers with MACs
    bars = figures["layer_times"].axes[0]
    assert [t.get_text() for t in bars.get_yticklabels()] == ["layers.0", "layers.1", "layers.2"]
    assert len(bars.patches) == 6  # forward and backward of each copy
