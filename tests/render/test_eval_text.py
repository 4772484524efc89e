"""An Evaluation in a terminal and a notebook: golden text whose numbers add up, and
outside names (class names, split) shown as text, never as markup."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from tests.render.golden import check_golden, table_rows
from torchscope._display import plain_text
from torchscope.analysis.evaluation import Evaluation, run_evaluation


class Same(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def golden_evaluation(labels: list[str] | None = None) -> Evaluation:
    """Scores in eighths (exact in float32), so every number is the same on any CPU."""
    rng = np.random.default_rng(7)
    n, classes = 64, 4
    y = rng.integers(0, classes, n)
    raw = rng.integers(1, 8, size=(n, classes)).astype(np.float64)
    raw[np.arange(n), y] += rng.integers(0, 6, n)  # mostly right
    scores = torch.from_numpy((raw / 8).astype(np.float32))
    target = torch.from_numpy(y)
    batches = [(scores[i : i + 16], target[i : i + 16]) for i in range(0, n, 16)]
    names = labels or ["airplane", "automobile", "bird", "cat"]
    return run_evaluation(
        Same(),
        batches,
        labels=names,
        probabilities=True,
        top_k=(2,),
        progress=False,
        split="test",
        step=12,
        loss_fn=lambda o, t: torch.tensor(0.5),
    )


def evaluation_invariant(text: str) -> None:
    """Supports and predictions each add up to the samples in the heading; the confusion
    matrix rows add up to the supports and its diagonal over n is the accuracy."""
    samples = int(re.search(r"([\d,]+) samples in", text)[1].replace(",", ""))  # type: ignore[index]
    header = next(line for line in text.splitlines() if line.startswith("Class "))
    columns = header.replace("ROC AUC", "ROC-AUC").split()
    rows = [line.split() for line in table_rows(text, "Class")]
    at = {name: columns.index(name) - len(columns) for name in ("Support", "Predicted")}
    support = [int(r[at["Support"]].replace(",", "")) for r in rows]
    predicted = [int(r[at["Predicted"]].replace(",", "")) for r in rows]
    assert sum(support) == sum(predicted) == samples
    matrix = [[int(v) for v in line.split()[-len(rows) :]] for line in table_rows(text, "#")]
    assert [sum(r) for r in matrix] == support
    assert [sum(c) for c in zip(*matrix)] == predicted
    accuracy = float(re.search(r"Accuracy\s+([\d.]+)", text)[1])  # type: ignore[index]
    assert accuracy == pytest.approx(
        sum(matrix[i][i] for i in range(len(rows))) / samples, abs=5e-5
    )


@pytest.mark.parametrize("width", [80, 120])
def test_evaluation_golden(width: int) -> None:
    text = plain_text(golden_evaluation(), width=width)
    assert all(len(line) <= width for line in text.splitlines())
    check_golden(f"evaluation_{width}.txt", text, evaluation_invariant)


def test_the_invariant_catches_numbers_that_do_not_add_up() -> None:
    text = plain_text(golden_evaluation(), width=120)
    evaluation_invariant(text)
    first = table_rows(text, "#")[0]
    broken = first[:-2] + str((int(first[-2:]) + 1) % 10).rjust(2)
    with pytest.raises(AssertionError):
        evaluation_invariant(text.replace(first, broken))


HOSTILE = ["[red]FAKE OK[/red]", "evil\x1b]0;owned\x07", "<script>alert(1)</script>", "[/]"]


def test_hostile_class_names_are_text_in_a_terminal() -> None:
    from rich.console import Console

    ev = golden_evaluation(HOSTILE)
    buffer = Console(record=True, width=120, color_system="truecolor", force_terminal=True)
    buffer.print(ev)  # "[/]" as markup would raise
    out = buffer.export_text()
    assert "[red]FAKE OK[/red]" in out and "\x1b]0" not in out and "\\x1b]0;owned\\x07" in out
    styled = buffer.export_text(styles=True)
    assert "\x1b]0;owned" not in styled


def test_hostile_names_are_escaped_in_html() -> None:
    ev = golden_evaluation(HOSTILE)
    html = ev._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\x07" not in html
    assert html.count("<table") == 4  # metrics, classes, confusion matrix, confused pairs


def test_html_holds_the_numbers() -> None:
    ev = golden_evaluation()
    html = ev._repr_html_()
    assert f"<td>Accuracy</td><td>{ev.metrics['accuracy']:.4f}</td>" in html
    assert f"<td>Top-2 accuracy</td><td>{ev.metrics['top2_accuracy']:.4f}</td>" in html
    row = ev.classes[3]
    assert f"<td>cat</td><td>{row.precision:.4f}</td><td>{row.recall:.4f}</td>" in html
    assert ev.confusion is not None
    cells = re.findall(r'<td style="background:[^"]+">(\d+)</td>', html)
    assert [int(c) for c in cells] == [v for r in ev.confusion for v in r]


def test_regression_text_and_narrow_terminal() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 2, generator=g)
    ev = run_evaluation(nn.Linear(2, 2), [(x, x * 2)], labels=["a[b]", "c"], progress=False)
    text = plain_text(ev, width=60)
    assert "Output" in text and "a[b]" in text and "R²" in text
    assert f"{ev.outputs[0].r2:.4f}" in text
    narrow = plain_text(golden_evaluation(), width=50)
    assert all(len(line) <= 50 for line in narrow.splitlines())
