"""Text and HTML rendering, compared with golden files (fixed width, no colour).

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/render``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import torchscope
from tests.models import BrokenMiddle, Stack, TiedLM
from torchscope._display import plain_text as summary_to_text
from torchscope.analysis.summary import summarize
from torchscope.examples import DEMO_INPUT_SIZE, DemoMLP

GOLDEN = Path(__file__).parent.parent / "golden"


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("width", [80, 120])
def test_demo_table(width: int) -> None:
    s = torchscope.summary(DemoMLP(), input_size=DEMO_INPUT_SIZE)
    _check(f"demo_{width}.txt", summary_to_text(s, width=width))


def test_tied_and_folded_table() -> None:
    _check("tied.txt", summary_to_text(torchscope.summary(TiedLM(), torch.zeros(1, 3).long())))
    _check("stack.txt", summary_to_text(torchscope.summary(Stack(), input_size=(2, 16))))


def test_partial_summary_shows_the_failure() -> None:
    with pytest.raises(torchscope.TraceError) as info:
        torchscope.trace(BrokenMiddle(), input_size=(2, 8))
    assert info.value.partial is not None
    text = summary_to_text(summarize(info.value.partial))
    assert "Failed" in text and "middle.1" in text
    _check("broken.txt", text)


def test_html_escapes_model_strings() -> None:
    model = torch.nn.Sequential()
    model.add_module("<img src=x onerror=alert(1)>", torch.nn.Linear(2, 2))
    html = torchscope.summary(model, input_size=(1, 2))._repr_html_()
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
