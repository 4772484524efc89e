"""Diffs of weights: zero against itself, relative change and cosine against numpy."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

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


def test_a_file_holding_nan_and_inf_is_identical_to_itself(tmp_path: Path) -> None:
    """NaN in the same place is no change (it said "relative change inf, not identical")."""
    w = torch.randn(4, 4)
    w[0, 0], w[1, 1], w[2, 2] = math.nan, math.inf, -math.inf
    save_file({"w": w, "b": torch.ones(3)}, str(tmp_path / "f.safetensors"))
    torch.save({"w": w, "b": torch.ones(3)}, tmp_path / "f.pt")
    for path in (tmp_path / "f.safetensors", tmp_path / "f.pt"):
        d = diff(path, path)
        assert d.identical and d.rel_change == 0.0
        change = next(c for c in d.changes if c.name == "w")
        assert change.diff_norm == 0 and change.max_abs_change == 0 and change.cosine == 1.0
        assert math.isnan(change.norm_a)  # the tensor's own norm is still NaN, honestly
        text = " ".join(str(d).split())
        assert ": identical" in text and "relative change" not in text


def test_a_nan_on_one_side_only_is_a_change() -> None:
    a = torch.ones(3)
    b = torch.tensor([1.0, math.nan, 1.0])
    c = tensor_change("w", a, b)
    assert math.isnan(c.diff_norm) and math.isnan(c.max_abs_change)
    assert not diff({"w": a}, {"w": b}).identical
    # a NaN in a later chunk still shows in the largest change (it was lost to max())
    big_a, big_b = torch.zeros(600_000), torch.zeros(600_000)
    big_b[0], big_b[-1] = 5.0, math.nan
    assert math.isnan(tensor_change("big", big_a, big_b).max_abs_change)


def _compiled(model: nn.Module) -> nn.Module:
    compiled = torch.compile(model)
    assert isinstance(compiled, nn.Module)  # the OptimizedModule wrapper
    return compiled


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.compile's own imports
@pytest.mark.parametrize(
    ("wrap", "prefix"),
    [
        (lambda m: torch.nn.DataParallel(m).state_dict(), "module."),
        (lambda m: _compiled(m).state_dict(), "_orig_mod."),
        (
            lambda m: {f"module._orig_mod.{k}": v for k, v in m.state_dict().items()},
            "module._orig_mod.",
        ),
    ],
)
def test_wrapper_prefixes_are_stripped_and_reported(
    wrap: Callable[[nn.Module], dict[str, torch.Tensor]], prefix: str
) -> None:
    """A checkpoint against its DDP or compiled copy said "relative change = 0" while
    matching no tensor at all."""
    model = MLP()
    wrapped = wrap(model)
    assert all(k.startswith(prefix) for k in wrapped)
    d = diff(model.state_dict(), wrapped)
    assert d.prefixes == ("", prefix) and d.identical
    assert sorted(c.name for c in d.changes) == sorted(model.state_dict())
    assert d.to_dict()["prefixes"] == {"a": "", "b": prefix}
    assert f"names of B compared without their prefix {prefix!r}" in str(d)
    assert diff(wrapped, model).prefixes == (prefix, "")


def test_a_task_model_against_its_base_strips_model_dot() -> None:
    task = {"model.layers.0.w": torch.ones(2), "lm_head.w": torch.ones(3)}
    base = {"layers.0.w": torch.ones(2) * 2}
    d = diff(task, base)
    assert d.prefixes == ("model.", "") and [c.name for c in d.changes] == ["layers.0.w"]
    assert d.removed == {"lm_head.w": [3]} and d.added == {}
    both = {"model.x": torch.ones(1)}
    assert diff(both, both).prefixes == ("", "")  # stripping is only for a better match


def test_nothing_matched_is_an_error_not_an_identical_diff() -> None:
    from torchscope.errors import NothingToCompare, TorchscopeError

    with pytest.raises(NothingToCompare, match=r"no tensor of A matches a tensor of B") as info:
        diff(MLP(), {"encoder.weight": torch.ones(2)})
    assert isinstance(info.value, TorchscopeError) and isinstance(info.value, ValueError)
    assert "'fc1.weight'" in str(info.value) and "'encoder.weight'" in str(info.value)
    with pytest.raises(NothingToCompare, match="A holds no tensors"):
        diff(torch.nn.ReLU(), MLP())


def test_dtype_and_shape_changes_are_listed() -> None:
    a = {"w": torch.ones(4, 4), "b": torch.ones(4), "g": torch.ones(3)}
    b = {"w": torch.ones(4, 4).half(), "b": torch.ones(4), "g": torch.ones(5).half()}
    d = diff(a, b)
    assert d.retyped == {"w": ("float32", "float16"), "g": ("float32", "float16")}
    assert d.reshaped == {"g": ([3], [5])} and not d.identical
    assert d.to_dict()["retyped"] == {"w": ["float32", "float16"], "g": ["float32", "float16"]}
    text = str(d)
    assert "0 added, 0 removed, 1 reshaped, 2 retyped" in text
    assert "retyped: w float32 → float16" in text and "reshaped: g [3] → [5]" in text
    # fp16 holds 1.0 exactly: no value changed, yet the dtype change keeps it from "identical"
    assert next(c for c in d.changes if c.name == "w").diff_norm == 0


def test_names_matching_only_reshaped_tensors_compare_no_values() -> None:
    """torch.save(randn(4, 4)) against torch.save(randn(3, 4, 5)) said "relative change = 0"
    with no tensor compared."""
    d = diff({"tensor": torch.randn(4, 4)}, {"tensor": torch.randn(3, 4, 5)})
    assert not d.changes and not d.identical and math.isnan(d.rel_change)
    assert d.verdict == "no values compared (1 reshaped)"
    text = " ".join(str(d).split())
    assert ": no values compared (1 reshaped)" in text and "relative change" not in text
    assert json.loads(d.to_json())["rel_change"] is None


def test_the_json_of_a_diff_is_strict() -> None:
    """NaN norms and an infinite change (a is all zero) were written as NaN and Infinity."""
    w = torch.ones(3)
    w[0] = math.nan
    d = diff({"w": w, "z": torch.zeros(2)}, {"w": w, "z": torch.ones(2)})
    assert math.isinf(d.rel_change)

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in strict JSON")

    data = json.loads(d.to_json(), parse_constant=refuse)
    assert data["rel_change"] is None
    assert {t["name"]: t["norm_a"] for t in data["tensors"]} == {"w": None, "z": 0.0}


def test_sparse_tensors_are_skipped_not_crashed_on() -> None:
    """A sparse tensor in a checkpoint ended in 'reshape is not implemented for sparse'."""
    from torchscope._api import inspect_params

    state = {"s": torch.eye(3).to_sparse(), "w": torch.ones(2)}
    d = diff(state, state)
    assert d.skipped == ["s"] and [c.name for c in d.changes] == ["w"] and d.identical
    assert inspect_params(state).skipped == {"s": "sparse_coo (not dense)"}
