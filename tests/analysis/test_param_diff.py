"""Diffs of weights: zero against itself, relative change and cosine against numpy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tests.models import MLP
from torchscope._api import diff
from torchscope.analysis.param_diff import tensor_change


def test_a_model_against_itself_is_exactly_unchanged(tmp_path: Path) -> None:
    model = MLP()
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "m.safetensors")
    )
    for other in (model, model.state_dict(), tmp_path / "m.safetensors"):
        d = diff(model, other)
        assert d.identical and d.rel_change == 0.0
        assert all(c.diff_norm == 0 and c.rel_change == 0 and c.cosine == 1.0 for c in d.changes)
        assert all(m.rel_change == 0.0 for m in d.modules)


def test_changes_match_numpy() -> None:
    a = torch.randn(300, 200)
    b = a + 0.01 * torch.randn(300, 200)
    c = tensor_change("w", a, b)
    x, y = a.double().numpy(), b.double().numpy()
    assert c.rel_change == pytest.approx(np.linalg.norm(y - x) / np.linalg.norm(x), rel=1e-10)
    cos = (x * y).sum() / (np.linalg.norm(x) * np.linalg.norm(y))
    assert 1 - c.cosine == pytest.approx(1 - cos, rel=1e-6)
    assert c.max_abs_change == pytest.approx(np.abs(y - x).max(), rel=1e-12)
    assert c.norm_a == pytest.approx(np.linalg.norm(x)) and c.norm_b == pytest.approx(
        np.linalg.norm(y)
    )
    assert tensor_change("z", torch.zeros(3), torch.ones(3)).rel_change == math.inf


def test_added_removed_and_reshaped_tensors() -> None:
    a = {
        "keep.weight": torch.ones(4, 4),
        "gone.weight": torch.ones(2),
        "grow.weight": torch.ones(3),
    }
    b = {
        "keep.weight": torch.ones(4, 4) * 2,
        "new.bias": torch.zeros(5),
        "grow.weight": torch.ones(6),
    }
    d = diff(a, b)
    assert d.added == {"new.bias": [5]} and d.removed == {"gone.weight": [2]}
    assert d.reshaped == {"grow.weight": ([3], [6])}
    assert [c.name for c in d.changes] == ["keep.weight"]
    assert d.changes[0].rel_change == pytest.approx(1.0) and d.changes[0].cosine == pytest.approx(
        1.0
    )
    assert not d.identical
    frame = d.to_dataframe()
    assert list(frame["name"]) == ["keep.weight"] and d.to_dict()["reshaped"] == {
        "grow.weight": [[3], [6]]
    }


def test_per_module_change_combines_its_tensors() -> None:
    a = {"fc.weight": torch.ones(2, 2), "fc.bias": torch.ones(2)}
    b = {"fc.weight": torch.ones(2, 2) * 1.5, "fc.bias": torch.ones(2)}
    (module,) = diff(a, b).modules
    assert module.name == "fc" and module.tensors == 2 and module.numel == 6
    assert module.rel_change == pytest.approx(math.sqrt(4 * 0.25) / math.sqrt(6))
