"""Summary text and HTML, compared with golden files (fixed width, no colour), each golden
output checked against the summary's invariant (rows add up to their parents and totals).

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/render``.
"""

from __future__ import annotations

import pytest
import torch

import torchscope
from tests.models import BrokenMiddle, DemoMLP, Stack, TiedLM
from tests.render.golden import check_golden, summary_invariant, table_rows
from torchscope._display import plain_text
from torchscope.analysis.summary import summarize
from torchscope.examples import DEMO_INPUT_SIZE


@pytest.mark.parametrize("width", [80, 120])
def test_demo_table(width: int) -> None:
    s = torchscope.summary(DemoMLP(), input_size=DEMO_INPUT_SIZE)
    check_golden(f"demo_{width}.txt", plain_text(s, width=width), summary_invariant)


def test_tied_and_folded_table() -> None:
    tied = torchscope.summary(TiedLM(), torch.zeros(1, 3).long())
    check_golden("tied.txt", plain_text(tied), summary_invariant)
    stack = torchscope.summary(Stack(), input_size=(2, 16))
    check_golden("stack.txt", plain_text(stack), summary_invariant)


def test_partial_summary_shows_the_failure() -> None:
    with pytest.raises(torchscope.TraceError) as info:
        torchscope.trace(BrokenMiddle(), input_size=(2, 8))
    assert info.value.partial is not None
    text = plain_text(summarize(info.value.partial))
    assert "Failed" in text and "middle.1" in text
    check_golden("broken.txt", text, summary_invariant)


def test_the_invariant_catches_rows_that_do_not_add_up() -> None:
    text = plain_text(torchscope.summary(DemoMLP(), input_size=DEMO_INPUT_SIZE))
    summary_invariant(text)
    with pytest.raises(AssertionError):
        summary_invariant(text.replace("200,960", "200,961"))


def test_long_names_keep_their_tail_at_80_columns() -> None:
    """Issue 10: a name too long for the column is cut in the middle, never at its end."""
    model = torch.nn.Sequential()
    block = torch.nn.Sequential()
    block.add_module("attention_projection_with_a_long_descriptive_name_a", torch.nn.Linear(4, 4))
    block.add_module("attention_projection_with_a_long_descriptive_name_b", torch.nn.Linear(4, 4))
    model.add_module("blocks", block)
    text = plain_text(torchscope.summary(model, input_size=(1, 4)), width=80)
    rows = table_rows(text, "Module (type)")
    assert sum(row.lstrip().startswith("attenti…") for row in rows) == 2
    assert any("scriptive_name_a (Linear)" in row for row in rows)
    assert any("scriptive_name_b (Linear)" in row for row in rows)
    assert all(len(line) <= 80 for line in text.splitlines())
    summary_invariant(text)


class DecoderLayerWithARatherLongClassName(torch.nn.Sequential):
    """A block whose type name is longer than an 80-column table has room for."""


def test_rolled_blocks_keep_their_total_badge_at_80_columns() -> None:
    """Issue 10: "×4 total" (the figures are the run's total) was cut to "…" at 80 columns;
    the type gives way first."""
    blocks = [DecoderLayerWithARatherLongClassName(torch.nn.Linear(8, 8)) for _ in range(4)]
    model = torch.nn.Sequential()
    model.add_module("layers", torch.nn.Sequential(*blocks))
    text = plain_text(torchscope.summary(model, input_size=(1, 8), depth=2), width=80)
    (row,) = [r for r in table_rows(text, "Module (type)") if "×4" in r]
    assert row.split("[")[0].split() == ["layers.0-3", "(Dec…assName)", "×4", "total"]
    assert all(len(line) <= 80 for line in text.splitlines())
    summary_invariant(text)


def test_html_escapes_model_strings() -> None:
    model = torch.nn.Sequential()
    model.add_module("<img src=x onerror=alert(1)>", torch.nn.Linear(2, 2))
    html = torchscope.summary(model, input_size=(1, 2))._repr_html_()
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_repr_is_one_line() -> None:
    s = torchscope.summary(DemoMLP(), input_size=DEMO_INPUT_SIZE)
    assert repr(s) == "Summary('DemoMLP': 203,530 params, 203,264 MACs, 6 rows to depth 4)"
    view = torchscope.draw(DemoMLP(), input_size=DEMO_INPUT_SIZE)
    assert repr(view) == str(view) and "\n" not in repr(view)
    assert repr(view).startswith("GraphView(DemoMLP, depth")
